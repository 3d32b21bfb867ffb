package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/membergate/membergate/internal/statusview"
	"github.com/membergate/membergate/test/e2e/inprocess/harness"
)

// live prints the rollout as a table: on a terminal it redraws in place
// every second and on change; otherwise it prints a new table on change.
type live struct {
	out      io.Writer
	required int
	terminal bool
	start    time.Time

	mu      sync.Mutex
	last    string
	drawn   time.Time
	minSeen int
}

func newLive(out io.Writer, required int) *live {
	l := &live{out: out, required: required, start: time.Now(), minSeen: -1}
	if f, ok := out.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			l.terminal = true
		}
	}
	return l
}

// sample receives every snapshot from the recorder.
func (l *live) sample(s harness.Snapshot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.minSeen < 0 || s.Serving < l.minSeen {
		l.minSeen = s.Serving
	}
	body := l.table(s)
	changed := body != l.last
	if !changed && !(l.terminal && time.Since(l.drawn) >= time.Second) {
		return
	}
	l.last, l.drawn = body, time.Now()
	head := fmt.Sprintf("t=+%5.1fs  load balancer %s  serving members %d (must stay >= %d; fewest so far %d)",
		s.At.Sub(l.start).Seconds(), s.LoadBalancer, s.Serving, l.required, l.minSeen)
	if s.Serving < l.required {
		head += "  <-- OUTAGE RISK: fewer serving members than required"
	}
	if l.terminal {
		fmt.Fprint(l.out, "\033[H\033[2J")
	}
	fmt.Fprintf(l.out, "%s\n%s\n", head, body)
}

// table renders the Machines, their members and the gate's view with the
// table of "membergate status"; it holds no clock, so that an unchanged
// cluster renders the same.
func (l *live) table(s harness.Snapshot) string {
	var b strings.Builder
	var machines []statusview.Machine
	for _, m := range s.Machines {
		vm := statusview.Machine{Name: m.Name, Phase: "provisioning", Deleting: m.Deleting, Hooked: m.Hooked, Held: m.Held, Observed: true}
		if m.Ready {
			vm.Phase = "ready"
		}
		if m.GateReason != "" {
			vm.Condition = &statusview.Condition{Reason: m.GateReason}
		}
		if m.Member != nil {
			vm.Members = []statusview.Member{member(*m.Member)}
		}
		machines = append(machines, vm)
	}
	var orphans []statusview.Member
	for _, o := range s.Orphans {
		orphans = append(orphans, member(o))
	}
	_ = statusview.WriteMachines(&b, machines, orphans, time.Time{})
	if s.Blocking || s.Reason != "" {
		fmt.Fprintf(&b, "gate: %s\n", s.Reason)
	}
	return b.String()
}

func member(m harness.MemberView) statusview.Member {
	return statusview.Member{ID: m.ID, Name: m.Name, ProvisioningStatus: m.Provisioning, OperatingStatus: m.Operating, Serving: m.Serving()}
}
