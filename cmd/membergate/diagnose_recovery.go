package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/membergate/membergate/internal/diagnose"
	"github.com/membergate/membergate/internal/waitreport"
	"github.com/membergate/membergate/pkg/memberwait"
)

// recovery is what "diagnose --fix --wait" saw after the fix: each member
// the new rules admit, when it first read ONLINE and when it served.
type recovery struct {
	Outcome string            `json:"outcome"`
	Members []recoveredMember `json:"members"`
}

type recoveredMember struct {
	ID       string `json:"id"`
	Name     string `json:"name,omitempty"`
	Address  string `json:"address"`
	Port     int    `json:"protocolPort"`
	Statuses string `json:"statuses,omitempty"`
	// OnlineAfter and ServingAfter count from the end of the fix; zero
	// when the member never got there.
	OnlineAfter  float64 `json:"onlineAfterSeconds,omitempty"`
	ServingAfter float64 `json:"servingAfterSeconds,omitempty"`
}

// awaitRecovery waits, as "membergate wait --for serving" does, for the
// members whose missing rule --fix added; members whose group belongs to
// another project were left alone and are not waited for.
func (c *cli) awaitRecovery(ctx context.Context, lb *gophercloud.ServiceClient, t *diagnose.Trace, timeout time.Duration, asJSON bool) (*recovery, error) {
	var sels []memberwait.Selector
	rec := &recovery{}
	for _, r := range t.Rows {
		if r.Fix == nil || r.FixProject != "" {
			continue
		}
		sels = append(sels, memberwait.Selector{PoolID: r.PoolID, ID: r.MemberID})
		rec.Members = append(rec.Members, recoveredMember{ID: r.MemberID, Name: r.MemberName, Address: r.Address, Port: r.ProtocolPort})
	}
	if len(sels) == 0 {
		return nil, nil
	}
	start := c.clock.Now()
	var mu sync.Mutex
	online := map[string]time.Time{}
	var progress func(memberwait.Update)
	if !asJSON {
		w := c.progressWriter()
		fmt.Fprintf(w, "\nwaiting for %d member%s to serve (timeout %s)\n", len(sels), plural(len(sels)), timeout)
		progress = waitreport.NewProgress(c.clock, start, waitreport.Lines(w)).Update
	}
	opts := memberwait.Options{Target: memberwait.Serving, Timeout: timeout, Clock: c.clock,
		OnUpdate: func(u memberwait.Update) {
			if m := u.Verdict.Member; m != nil && m.OperatingStatus == memberwait.StatusOnline {
				mu.Lock()
				if _, ok := online[u.Selector.ID]; !ok {
					online[u.Selector.ID] = c.clock.Now()
				}
				mu.Unlock()
			}
			if progress != nil {
				progress(u)
			}
		}}
	if timeout == 0 {
		opts.Timeout = -1
	}
	src := memberwait.WithClock(memberwait.StatusTree(lb), c.clock)
	results, err := memberwait.NewPoller(src, c.clock).Wait(ctx, t.LoadBalancer.ID, sels, opts)
	end := c.clock.Now()
	rec.Outcome = waitreport.Outcome(err)
	mu.Lock()
	defer mu.Unlock()
	for i := range rec.Members {
		m := &rec.Members[i]
		if at, ok := online[m.ID]; ok {
			m.OnlineAfter = at.Sub(start).Seconds()
		}
		for _, r := range results {
			if r.Selector.ID != m.ID {
				continue
			}
			if r.Verdict.Member != nil {
				m.Statuses = r.Verdict.Member.Statuses()
			}
			if r.Verdict.Outcome == memberwait.Done {
				m.ServingAfter = end.Sub(start).Seconds()
			}
		}
	}
	return rec, err
}

// write says how recovery went, one line per member.
func (r *recovery) write(w io.Writer) {
	served := 0
	for _, m := range r.Members {
		if m.ServingAfter > 0 {
			served++
		}
	}
	if served == len(r.Members) {
		fmt.Fprintf(w, "\nrecovered: %d member%s serving\n", served, plural(served))
	} else {
		fmt.Fprintf(w, "\nnot recovered (%s): %d of %d members serving\n", r.Outcome, served, len(r.Members))
	}
	for _, m := range r.Members {
		name := waitreport.OrDash(m.Name)
		switch {
		case m.ServingAfter > 0:
			fmt.Fprintf(w, "  %s %s:%d: ONLINE %s after the fix, serving %s after it\n", name, m.Address, m.Port, seconds(m.OnlineAfter), seconds(m.ServingAfter))
		case m.OnlineAfter > 0:
			fmt.Fprintf(w, "  %s %s:%d: ONLINE %s after the fix, not yet serving (%s)\n", name, m.Address, m.Port, seconds(m.OnlineAfter), m.Statuses)
		default:
			fmt.Fprintf(w, "  %s %s:%d: still %s\n", name, m.Address, m.Port, waitreport.OrDash(m.Statuses))
		}
	}
}

func seconds(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(100 * time.Millisecond).String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
