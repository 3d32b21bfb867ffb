// Package waitreport renders a wait on Octavia pool members for people and
// scripts: live progress, one line per change, while memberwait polls; and
// at the end a summary table or one JSON document whose field names are an
// interface scripts parse. "membergate wait" and the memberwait demo print
// through it, so the two read alike.
package waitreport

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/membergate/membergate/internal/resolve"
	"github.com/membergate/membergate/pkg/memberwait"
)

// The outcomes of a wait, and of each member in its report.
const (
	Reached     = "reached"
	MemberError = "member_error"
	Timeout     = "timeout"
	NotFound    = "not_found"
	Failed      = "failed"
	// Pending is a member's outcome when the wait ended on another
	// member's failure before this one was judged.
	Pending = "pending"
)

// Outcome classifies the error a wait ended with.
func Outcome(err error) string {
	var (
		member   *memberwait.MemberError
		timeout  *memberwait.TimeoutError
		notFound *memberwait.NotFoundError
		noLookup *resolve.NotFoundError
		noneAll  *resolve.NoMembersError
	)
	switch {
	case err == nil:
		return Reached
	case errors.As(err, &member):
		return MemberError
	case errors.As(err, &timeout):
		return Timeout
	case errors.As(err, &notFound), errors.As(err, &noLookup), errors.As(err, &noneAll):
		return NotFound
	}
	return Failed
}

// Report is the JSON document of a wait, and the source of its text
// summary. Its field names are an interface: scripts parse them.
type Report struct {
	LoadBalancer   *LoadBalancer `json:"loadBalancer"`
	Target         string        `json:"target"`
	Outcome        string        `json:"outcome"`
	Members        []Member      `json:"members"`
	Error          *string       `json:"error"`
	ElapsedSeconds float64       `json:"elapsedSeconds"`
	Requests       int           `json:"requests"`
}

// LoadBalancer names the load balancer waited on.
type LoadBalancer struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Label is "name (ID)", or whichever of the two is known.
func (lb LoadBalancer) Label() string {
	switch {
	case lb.Name == "":
		return lb.ID
	case lb.ID == "":
		return lb.Name
	}
	return lb.Name + " (" + lb.ID + ")"
}

// Member is one member's line of the report.
type Member struct {
	ID                 string     `json:"id"`
	Name               string     `json:"name"`
	Address            string     `json:"address"`
	ProtocolPort       int        `json:"protocolPort"`
	PoolID             string     `json:"poolID"`
	ProvisioningStatus string     `json:"provisioningStatus"`
	OperatingStatus    string     `json:"operatingStatus"`
	Since              *time.Time `json:"since"`
	Outcome            string     `json:"outcome"`
	Reason             string     `json:"reason"`
}

// New builds the report of a wait for target on lb (nil if it was never
// found) that ended with err after elapsed and requests Octavia requests.
//
// It lists only the members that were judged: a wait that failed before
// its first poll (bad credentials, no Octavia, an unknown load balancer)
// knows nothing of its members, and a row for each would claim an outcome
// for members nobody looked at.
func New(target memberwait.Target, lb *LoadBalancer, results []memberwait.Result, err error, elapsed time.Duration, requests int) *Report {
	r := &Report{
		LoadBalancer:   lb,
		Target:         strings.ToLower(target.String()),
		Outcome:        Outcome(err),
		Members:        []Member{},
		ElapsedSeconds: elapsed.Round(time.Millisecond).Seconds(),
		Requests:       requests,
	}
	if err != nil {
		msg := err.Error()
		r.Error = &msg
	}
	for _, res := range results {
		if !res.Verdict.At.IsZero() {
			r.Members = append(r.Members, memberOf(res, r.Outcome))
		}
	}
	return r
}

func memberOf(res memberwait.Result, overall string) Member {
	v, sel := res.Verdict, res.Selector
	mr := Member{ID: cmp.Or(sel.ID, v.Progress.MemberID), Name: sel.Name, Address: sel.Address,
		ProtocolPort: sel.ProtocolPort, PoolID: cmp.Or(v.PoolID, sel.PoolID, v.Progress.PoolID), Reason: v.Reason}
	if m := v.Member; m != nil {
		mr.ID, mr.Name, mr.Address, mr.ProtocolPort = m.ID, m.Name, m.Address, m.ProtocolPort
		mr.ProvisioningStatus, mr.OperatingStatus = m.ProvisioningStatus, m.OperatingStatus
		if !v.Progress.Since.IsZero() {
			since := v.Progress.Since.UTC()
			mr.Since = &since
		}
	}
	switch v.Outcome {
	case memberwait.Done:
		mr.Outcome = Reached
	case memberwait.Failed:
		mr.Outcome = Outcome(v.Err)
	default:
		// Still pending when the wait ended: because time ran out, or
		// because another member failed first.
		mr.Outcome = Pending
		if overall == Timeout {
			mr.Outcome = Timeout
		}
	}
	return mr
}

// WriteJSON writes v as one indented JSON document.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteText prints a headline and a table of the members.
func (r *Report) WriteText(w io.Writer) {
	lb := "load balancer"
	if r.LoadBalancer != nil {
		lb += " " + r.LoadBalancer.Label()
	}
	n := countMembers(len(r.Members))
	took := fmt.Sprintf("%.1fs, %d requests", r.ElapsedSeconds, r.Requests)
	if r.Outcome == Reached {
		fmt.Fprintf(w, "reached: %s of %s %s (%s)\n", n, lb, r.Target, took)
	} else {
		fmt.Fprintf(w, "%s: %s of %s not %s (%s)\n", r.Outcome, n, lb, r.Target, took)
	}
	if len(r.Members) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  MEMBER\tNAME\tADDRESS\tPOOL\tSTATUS\tSINCE\tOUTCOME\tREASON")
	for _, m := range r.Members {
		reason := m.Reason
		if r.Error != nil && reason == *r.Error {
			reason = "(the error below)"
		}
		status, since := "-", "-"
		if m.ProvisioningStatus != "" {
			status = m.ProvisioningStatus + "/" + m.OperatingStatus
		}
		if m.Since != nil {
			since = m.Since.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", OrDash(ShortID(m.ID)), OrDash(m.Name),
			OrDash(hostPort(m.Address, m.ProtocolPort)), OrDash(ShortID(m.PoolID)), status, since, m.Outcome, reason)
	}
	_ = tw.Flush()
}

// Starting is the line a wait prints as it starts: how many members of
// which load balancer, the target, and the settle window (for serving) and
// timeout, where 0 means none and a negative settle window means Auto (from
// each pool's health monitor).
func Starting(members int, lb LoadBalancer, target memberwait.Target, settle, timeout time.Duration) string {
	var parts []string
	switch {
	case target != memberwait.Serving:
	case settle < 0:
		parts = append(parts, "settle window from the health monitor")
	default:
		parts = append(parts, "settle window "+settle.String())
	}
	if timeout > 0 {
		parts = append(parts, "timeout "+timeout.String())
	} else {
		parts = append(parts, "no timeout")
	}
	return fmt.Sprintf("waiting for %s of load balancer %s to be %s (%s)",
		countMembers(members), lb.Label(), strings.ToLower(target.String()), strings.Join(parts, ", "))
}

func countMembers(n int) string {
	if n == 1 {
		return "1 member"
	}
	return fmt.Sprintf("%d members", n)
}

// OrDash is s, or "-" for a table cell with nothing in it.
func OrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
