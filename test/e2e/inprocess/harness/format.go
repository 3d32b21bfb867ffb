package harness

import (
	"fmt"
	"strings"
)

// String is the snapshot on one line, for failure messages.
func (s Snapshot) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "serving=%d lb=%s", s.Serving, s.LoadBalancer)
	if s.Reason != "" {
		fmt.Fprintf(&b, " gate=%q", s.Reason)
	}
	for _, m := range s.Machines {
		fmt.Fprintf(&b, " | %s", m.Name)
		var flags []string
		if m.Ready {
			flags = append(flags, "ready")
		}
		if m.Deleting {
			flags = append(flags, "deleting")
		}
		if m.Hooked {
			flags = append(flags, "hook")
		}
		if m.Held {
			flags = append(flags, "held")
		}
		if len(flags) > 0 {
			fmt.Fprintf(&b, " [%s]", strings.Join(flags, ","))
		}
		fmt.Fprintf(&b, " member=%s", m.Member.statuses())
	}
	for _, o := range s.Orphans {
		fmt.Fprintf(&b, " | orphan %s %s", o.Name, o.statuses())
	}
	return b.String()
}

func (m *MemberView) statuses() string {
	if m == nil {
		return "none"
	}
	return m.Provisioning + "/" + m.Operating
}
