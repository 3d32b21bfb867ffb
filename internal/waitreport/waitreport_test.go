package waitreport

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/membergate/membergate/internal/resolve"
	"github.com/membergate/membergate/pkg/memberwait"
	clocktesting "k8s.io/utils/clock/testing"
)

var epoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestOutcome(t *testing.T) {
	for err, want := range map[error]string{
		nil:                                            Reached,
		&memberwait.MemberError{}:                      MemberError,
		&memberwait.TimeoutError{}:                     Timeout,
		&memberwait.NotFoundError{}:                    NotFound,
		&resolve.NotFoundError{}:                       NotFound,
		&resolve.NoMembersError{}:                      NotFound,
		&resolve.AmbiguousError{}:                      Failed,
		errors.New("connection refused"):               Failed,
		fmt.Errorf("x: %w", &memberwait.MemberError{}): MemberError,
	} {
		if got := Outcome(err); got != want {
			t.Errorf("Outcome(%T) = %q, want %q", err, got, want)
		}
	}
}

// The report lists the members a poll judged, and no others.
func TestReportListsOnlyJudgedMembers(t *testing.T) {
	seen := memberwait.MemberStatus{ID: "0b3c5d7e-0000-4000-8000-000000000001", Name: "cp-1", Address: "fd00::a",
		ProtocolPort: 6443, ProvisioningStatus: "PENDING_CREATE", OperatingStatus: "OFFLINE"}
	err := &memberwait.TimeoutError{Target: memberwait.Serving}
	results := []memberwait.Result{
		{Selector: memberwait.Selector{Address: "fd00::a"}, Verdict: memberwait.Verdict{At: epoch, Member: &seen, PoolID: "pool-1",
			Progress: memberwait.Progress{Since: epoch}}},
		{Selector: memberwait.Selector{Name: "never-polled"}},
	}
	r := New(memberwait.Serving, &LoadBalancer{ID: "lb-id", Name: "kubeapi"}, results, err, 30*time.Second, 4)
	if r.Outcome != Timeout || r.Target != "serving" || len(r.Members) != 1 || r.Members[0].Outcome != Timeout || r.Members[0].ID != seen.ID {
		t.Fatalf("report = %+v", r)
	}
	var out bytes.Buffer
	r.WriteText(&out)
	for _, want := range []string{"timeout: 1 member of load balancer kubeapi (lb-id) not serving (30.0s, 4 requests)",
		"0b3c5d7e", "cp-1", "[fd00::a]:6443", "PENDING_CREATE/OFFLINE", epoch.Format(time.RFC3339)} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestStarting(t *testing.T) {
	lb := LoadBalancer{ID: "lb-id", Name: "kubeapi"}
	if got, want := Starting(2, lb, memberwait.Serving, 45*time.Second, 0),
		"waiting for 2 members of load balancer kubeapi (lb-id) to be serving (settle window 45s, no timeout)"; got != want {
		t.Errorf("Starting = %q, want %q", got, want)
	}
	if got, want := Starting(1, LoadBalancer{ID: "lb-id"}, memberwait.Serving, -1, time.Minute),
		"waiting for 1 member of load balancer lb-id to be serving (settle window from the health monitor, timeout 1m0s)"; got != want {
		t.Errorf("auto settle:\n got %q\nwant %q", got, want)
	}
	if got, want := Starting(1, LoadBalancer{ID: "lb-id"}, memberwait.Gone, 0, time.Minute),
		"waiting for 1 member of load balancer lb-id to be gone (timeout 1m0s)"; got != want {
		t.Errorf("Starting = %q, want %q", got, want)
	}
}

// Progress prints a line when something changes, not per poll: the settle
// window counting down is not a change.
func TestProgressPrintsChangesOnly(t *testing.T) {
	clk := clocktesting.NewFakeClock(epoch)
	var out bytes.Buffer
	p := NewProgress(clk, epoch, Lines(&out))
	sel := memberwait.Selector{Address: "10.6.0.13", ProtocolPort: 6443}
	ms := memberwait.MemberStatus{ID: "0b3c5d7e-0000-4000-8000-000000000001", Address: "10.6.0.13", ProtocolPort: 6443,
		ProvisioningStatus: "ACTIVE", OperatingStatus: "ONLINE"}
	p.Update(memberwait.Update{Selector: sel, Verdict: memberwait.Verdict{Reason: "member not found yet"}})
	for i := range 3 {
		clk.Step(time.Second)
		p.Update(memberwait.Update{Selector: sel, Verdict: memberwait.Verdict{Member: &ms,
			Reason: fmt.Sprintf("member ACTIVE/ONLINE, for %ds of the 45s settle window", i)}})
	}
	clk.Step(time.Second)
	p.Update(memberwait.Update{Selector: sel, Verdict: memberwait.Verdict{Member: &ms, Outcome: memberwait.Done, Reason: "member ACTIVE/ONLINE, serving"}})
	want := "[   0.0s] 10.6.0.13:6443  -  member not found yet\n" +
		"[   1.0s] 0b3c5d7e 10.6.0.13:6443  ACTIVE/ONLINE  for 0s of the 45s settle window\n" +
		"[   4.0s] 0b3c5d7e 10.6.0.13:6443  ACTIVE/ONLINE  reached: serving\n"
	if out.String() != want {
		t.Errorf("progress:\n%s\nwant:\n%s", out.String(), want)
	}
}
