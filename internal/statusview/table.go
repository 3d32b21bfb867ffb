package statusview

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable writes a cluster as "membergate status" shows it: a heading
// line, a row per member of each control-plane Machine, then who is held
// and why, and what the gate waits for. Durations are relative to now.
func WriteTable(w io.Writer, c Cluster, now time.Time) error {
	head := fmt.Sprintf("Cluster %s/%s  mode %s", c.Namespace, c.Name, c.Mode)
	if c.Paused {
		head += " (paused)"
	}
	lb := c.LoadBalancer
	switch {
	case lb.ID == "":
		head += "  load balancer: none yet"
	case lb.ProvisioningStatus == "":
		head += "  load balancer " + lb.ID + " not found"
	default:
		head += fmt.Sprintf("  load balancer %s %s/%s", lb.ID, lb.ProvisioningStatus, lb.OperatingStatus)
	}
	if c.ObservedAt == nil {
		head += "  never observed"
	} else {
		head += "  observed " + ago(now, *c.ObservedAt)
	}
	if _, err := fmt.Fprintln(w, head); err != nil {
		return err
	}
	if !c.Observed && c.Observation != "" {
		fmt.Fprintln(w, "Not observed: "+c.Observation)
	}
	if err := WriteMachines(w, c.Machines, c.Orphans, now); err != nil {
		return err
	}
	for _, m := range c.Machines {
		if !m.Held && !(m.Deleting && m.Hooked) {
			continue
		}
		line := "Deleting, hooked: " + m.Name
		if m.Held {
			line = "Held: " + m.Name
			if m.HeldSince != nil {
				line += " for " + since(now, *m.HeldSince) + " (since " + stamp(*m.HeldSince) + ")"
			}
			if m.Alerted {
				line += ", past the MemberGate's alertAfter"
			}
		}
		fmt.Fprintln(w, line)
		if m.Hooked {
			fmt.Fprintln(w, "  hook:      "+HookAnnotation)
		}
		if c := m.Condition; c != nil {
			fmt.Fprintf(w, "  condition: %s=%s %s: %s\n", "LoadBalancerMemberReady", c.Status, c.Reason, c.Message)
		}
		if m.Release != "" {
			fmt.Fprintln(w, "  release:   "+m.Release)
		}
	}
	if c.Blocking {
		fmt.Fprintln(w, "Waiting for: "+c.WaitingFor)
	}
	return nil
}

// WriteMachines writes the Machines and orphan members as a table, a row
// per member (a Machine without members gets one row). A column no row has
// a value for is left out, so that a caller that knows less (the demo's
// view of the emulator) gets a narrower table from the same code.
func WriteMachines(w io.Writer, machines []Machine, orphans []Member, now time.Time) error {
	header := []string{"MACHINE", "PHASE", "HOOK", "POOL", "MEMBER", "STATUSES", "SINCE", "SERVING", "GATE"}
	var rows [][]string
	for _, m := range machines {
		hook := "-"
		switch {
		case m.Held:
			hook = "HELD"
		case m.Hooked:
			hook = "hook"
		}
		gate := "-"
		if m.Condition != nil {
			gate = m.Condition.Reason
		}
		if !m.Observed && len(m.Members) == 0 {
			gate += " (not observed yet)"
		}
		phase := m.Phase
		if m.Deleting {
			// The deletion timestamp is what counts; CAPI's phase follows.
			phase = "Deleting"
		}
		members := m.Members
		if len(members) == 0 {
			members = []Member{{}}
		}
		for i, mem := range members {
			row := append([]string{m.Name, phase, hook}, memberCells(mem, now)...)
			row = append(row, gate)
			if i > 0 {
				row[0], row[1], row[2], row[len(row)-1] = "", "", "", ""
			}
			rows = append(rows, row)
		}
	}
	for _, o := range orphans {
		gate := "orphan"
		if o.Name != "" {
			gate += " " + o.Name
		}
		rows = append(rows, append(append([]string{"(no machine)", "", ""}, memberCells(o, now)...), gate))
	}
	keep := make([]bool, len(header))
	for _, row := range rows {
		for i, cell := range row {
			keep[i] = keep[i] || (cell != "" && cell != "-")
		}
	}
	keep[0] = true
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, row := range append([][]string{header}, rows...) {
		var cells []string
		for i, cell := range row {
			if keep[i] {
				if cell == "" {
					cell = "-"
				}
				cells = append(cells, cell)
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// memberCells are a member's POOL, MEMBER, STATUSES, SINCE and SERVING.
func memberCells(m Member, now time.Time) []string {
	if m == (Member{}) {
		return []string{"", "none", "", "", "no"}
	}
	// A member whose address the caller does not know leaves the cell
	// empty; "none" is for a Machine without a member.
	addr := m.Address
	if addr != "" && m.Port != 0 {
		addr = net.JoinHostPort(addr, strconv.Itoa(int(m.Port)))
	}
	statuses := ""
	if m.ProvisioningStatus != "" || m.OperatingStatus != "" {
		statuses = m.ProvisioningStatus + "/" + m.OperatingStatus
	}
	sinceCell := ""
	if m.Since != nil && !now.IsZero() {
		sinceCell = since(now, *m.Since)
	}
	serving := "no"
	if m.Serving {
		serving = "yes"
	}
	return []string{m.Pool, addr, statuses, sinceCell, serving}
}

// since is how long ago t was, to the second.
func since(now, t time.Time) string {
	return now.Sub(t).Round(time.Second).String()
}

func ago(now, t time.Time) string { return since(now, t) + " ago" }

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
