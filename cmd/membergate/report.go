package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/membergate/membergate/pkg/memberwait"
)

// waitReport is the --output json document, and the source of the text
// summary. Its field names are an interface: scripts parse them.
type waitReport struct {
	LoadBalancer   *lbReport      `json:"loadBalancer"`
	Target         string         `json:"target"`
	Outcome        string         `json:"outcome"`
	Members        []memberReport `json:"members"`
	Error          *string        `json:"error"`
	ElapsedSeconds float64        `json:"elapsedSeconds"`
	Requests       int            `json:"requests"`
}

type lbReport struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type memberReport struct {
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

// newWaitReport builds the report of a wait that ended with err.
func newWaitReport(cfg *waitConfig, lb *lbReport, results []memberwait.Result, err error, elapsed time.Duration, requests int) *waitReport {
	r := &waitReport{
		LoadBalancer:   lb,
		Target:         strings.ToLower(cfg.target.String()),
		Outcome:        outcomeName(err),
		Members:        []memberReport{},
		ElapsedSeconds: elapsed.Round(time.Millisecond).Seconds(),
		Requests:       requests,
	}
	if err != nil {
		msg := err.Error()
		r.Error = &msg
	}
	for _, res := range results {
		r.Members = append(r.Members, memberReportOf(res, r.Outcome))
	}
	return r
}

func memberReportOf(res memberwait.Result, overall string) memberReport {
	v, sel := res.Verdict, res.Member
	mr := memberReport{ID: cmp.Or(sel.ID, v.Progress.MemberID), Name: sel.Name, Address: sel.Address,
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
		mr.Outcome = "reached"
	case memberwait.Failed:
		mr.Outcome = outcomeName(v.Err)
	default:
		// Still pending when the wait ended: because time ran out, or
		// because another member failed first.
		mr.Outcome = "pending"
		if overall == "timeout" {
			mr.Outcome = "timeout"
		}
	}
	return mr
}

// writeJSON writes v as the one indented JSON document of --output json.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeText prints a headline and a table of the members.
func (r *waitReport) writeText(w io.Writer) {
	lb := "load balancer"
	if r.LoadBalancer != nil {
		lb += " " + lbLabel(r.LoadBalancer.Name, r.LoadBalancer.ID)
	}
	n := countMembers(len(r.Members))
	took := fmt.Sprintf("%.1fs, %d requests", r.ElapsedSeconds, r.Requests)
	if r.Outcome == "reached" {
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
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", orDash(shortID(m.ID)), orDash(m.Name),
			orDash(hostPort(m.Address, m.ProtocolPort)), orDash(shortID(m.PoolID)), status, since, m.Outcome, reason)
	}
	tw.Flush()
}

func lbLabel(name, id string) string {
	switch {
	case name == "":
		return id
	case id == "":
		return name
	}
	return name + " (" + id + ")"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
