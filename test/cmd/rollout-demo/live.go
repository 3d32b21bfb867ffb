package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

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

// table renders the Machines, their members and the gate's view; it holds
// no clock, so that an unchanged cluster renders the same.
func (l *live) table(s harness.Snapshot) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MACHINE\tSTATE\tHOOK\tMEMBER (prov/op)\tSERVING\tGATE")
	for _, m := range s.Machines {
		state := "provisioning"
		switch {
		case m.Deleting:
			state = "deleting"
		case m.Ready:
			state = "ready"
		}
		hook := "-"
		switch {
		case m.Held:
			hook = "HELD"
		case m.Hooked:
			hook = "hook"
		}
		member := "none yet"
		if m.Deleting {
			member = "removed"
		}
		if m.Member != nil {
			member = m.Member.Provisioning + "/" + m.Member.Operating
		}
		serving := "no"
		if m.Member.Serving() {
			serving = "yes"
		}
		gate := m.GateReason
		if gate == "" {
			gate = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, state, hook, member, serving, gate)
	}
	for _, o := range s.Orphans {
		fmt.Fprintf(tw, "(no machine)\t-\t-\t%s/%s\t-\torphan %s\n", o.Provisioning, o.Operating, o.Name)
	}
	_ = tw.Flush()
	if s.Blocking || s.Reason != "" {
		fmt.Fprintf(&b, "gate: %s\n", s.Reason)
	}
	return b.String()
}
