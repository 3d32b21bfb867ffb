package main

import (
	"fmt"
	"io"
	"math"
	"time"

	"github.com/membergate/membergate/internal/waitreport"
	"github.com/membergate/membergate/pkg/memberwait"
)

// demoReport is the --output json document of the demo, and the source of
// its text summary. Times are virtual seconds after the member create.
type demoReport struct {
	Speed        float64                 `json:"speed"`
	LoadBalancer waitreport.LoadBalancer `json:"loadBalancer"`
	Member       demoMember              `json:"member"`
	Timeline     demoTimeline            `json:"timeline"`
	Outcome      string                  `json:"outcome"`
	Error        *string                 `json:"error"`
	Requests     demoRequests            `json:"requests"`
	RealSeconds  float64                 `json:"realSeconds"`
	Events       []demoEvent             `json:"events"`
}

type demoMember struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Address      string `json:"address"`
	ProtocolPort int    `json:"protocolPort"`
}

type demoTimeline struct {
	LoadBalancerActive               *float64 `json:"loadBalancerActive"`
	MemberStatusAtLoadBalancerActive string   `json:"memberStatusAtLoadBalancerActive"`
	MemberActive                     *float64 `json:"memberActive"`
	MemberOnline                     *float64 `json:"memberOnline"`
	MemberwaitReturned               *float64 `json:"memberwaitReturned"`
}

type demoRequests struct {
	// Memberwait is memberwait's: one status tree per poll.
	Memberwait int `json:"memberwait"`
	// LoadBalancerOnly is the LB-only waiter's: GET load balancer until
	// ACTIVE, and one GET of the member.
	LoadBalancerOnly int `json:"loadBalancerOnly"`
}

func (d *demoRun) report(err error) *demoReport {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := &demoReport{
		Speed:        d.cfg.speed,
		LoadBalancer: d.lb,
		Member:       demoMember{ID: d.member.ID, Name: d.member.Name, Address: d.member.Address, ProtocolPort: d.member.ProtocolPort},
		Timeline: demoTimeline{
			LoadBalancerActive:               secs(d.lbActiveAt),
			MemberStatusAtLoadBalancerActive: d.memberAtLBActive,
			MemberActive:                     secs(d.memberActiveAt),
			MemberOnline:                     secs(d.memberOnlineAt),
			MemberwaitReturned:               secs(d.memberwaitReturnedAt),
		},
		Outcome:     waitreport.Outcome(err),
		Requests:    demoRequests{LoadBalancerOnly: d.lbOnlyRequests},
		RealSeconds: d.realTook.Round(time.Millisecond).Seconds(),
		Events:      append([]demoEvent{}, d.events...),
	}
	if d.poller != nil {
		r.Requests.Memberwait = d.poller.Stats().Requests
	}
	if err != nil {
		msg := err.Error()
		r.Error = &msg
	}
	return r
}

func secs(d *time.Duration) *float64 {
	if d == nil {
		return nil
	}
	s := tenths(*d)
	return &s
}

// tenths is d in seconds, rounded to a tenth.
func tenths(d time.Duration) float64 {
	return math.Round(d.Seconds()*10) / 10
}

// writeSummary prints when each thing happened, side by side.
func (r *demoReport) writeSummary(w io.Writer) {
	t := r.Timeline
	fmt.Fprintf(w, "\nsummary (virtual seconds after the member create; %v× speed, %.1fs real):\n", r.Speed, r.RealSeconds)
	fmt.Fprintf(w, "  %s  load balancer ACTIVE        an LB-only waiter (CAPO <= v0.13) returns here; the member is %s\n",
		at(t.LoadBalancerActive), waitreport.OrDash(t.MemberStatusAtLoadBalancerActive))
	fmt.Fprintf(w, "  %s  member ACTIVE (first seen)  provisioning done (scripted at %s)\n", at(t.MemberActive), demoActiveAfter)
	fmt.Fprintf(w, "  %s  member ONLINE (first seen)  health checks pass (scripted at %s)\n", at(t.MemberOnline), demoOnlineAfter)
	fmt.Fprintf(w, "  %s  memberwait returned         %s\n", at(t.MemberwaitReturned), r.returnedWhy())
	fmt.Fprintf(w, "requests: memberwait %d (one status tree per poll, however many members); LB-only waiter %d (polling every %s to time the LB)\n",
		r.Requests.Memberwait, r.Requests.LoadBalancerOnly, demoLBPollEvery)
}

func (r *demoReport) returnedWhy() string {
	if r.Outcome == waitreport.Reached {
		return fmt.Sprintf("ONLINE held for the %s settle window: now the old members may go", memberwait.DefaultSettleWindow)
	}
	return r.Outcome
}

func at(s *float64) string {
	if s == nil {
		return "t=     -"
	}
	return fmt.Sprintf("t=%5.1fs", *s)
}
