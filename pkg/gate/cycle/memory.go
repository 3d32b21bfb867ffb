package cycle

import (
	"time"

	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/memberwait"
)

// Memory is what the gate remembers between cycles, across restarts: the
// MemberGate status in the controller. A cycle reads it and never writes
// it; the caller keeps [Outcome.Rows] once the decision is carried out.
type Memory struct {
	// Rows are the Machines' rows, by Machine name.
	Rows map[string]Row
	// ReportedOrphans are the orphan members already reported, by member
	// ID, with the statuses they were reported with.
	ReportedOrphans map[string]string
	// UnavailableSince is when the outage of Octavia now reported began;
	// zero when none is.
	UnavailableSince time.Time
}

// Row is one Machine as the last cycle left it (status.machines[]).
type Row struct {
	Name     string
	Deleting bool
	// Verdict is the Machine's condition. Through an outage it is the last
	// good observation's, so it is read back as the Machine's last verdict
	// unless it says Octavia could not be read.
	gate.MemberReadiness
	Held      bool
	HeldSince time.Time
	Alerted   bool
	Release   *Sighting
	// Members are the Machine's member in each pool, with its progress.
	Members []Member
}

// Sighting is when the gate first saw a value of the manual-release
// annotation, and whether the Machine was not deleting then.
type Sighting struct {
	Value          string
	SeenAt         time.Time
	BeforeDeletion bool
}

// Member is a Machine's member in one pool.
type Member struct {
	// Progress is the member's progress as gate.Persisted keeps it: the
	// pool always, the rest only for a member that was seen.
	Progress      memberwait.Progress
	Name, Address string
	ProtocolPort  int
	Serving       bool
	Message       string
}

func (r Row) last() *gate.MemberReadiness {
	if r.Reason == "" || r.Reason == gate.ReasonOctaviaUnavailable {
		return nil
	}
	v := r.MemberReadiness
	return &v
}

func (r Row) progress(pool string) memberwait.Progress {
	for _, m := range r.Members {
		if m.Progress.PoolID == pool {
			return m.Progress
		}
	}
	return memberwait.Progress{}
}

// Rows are the Machines' rows the decision leaves, from the previous ones
// by Machine name. A failed read of Octavia says nothing about the members:
// a Machine whose verdict is the remembered one keeps its member rows (its
// settle window goes on, or restarts by memberwait's own rule after a gap)
// and its last verdict's message; one without keeps no members. The hold
// and the manual-release sighting are written either way.
func (o Outcome) Rows(prev map[string]Row) []Row {
	in := o.Input
	rows := make([]Row, 0, len(o.Decision.Machines))
	for _, st := range o.Decision.Machines {
		row := Row{Name: st.Name, MemberReadiness: gate.MemberReadiness{MemberReady: st.MemberReady, Reason: st.Reason, Message: st.Message},
			Held: st.Held, Alerted: st.Alerted}
		for _, gm := range in.Machines {
			if gm.Name == st.Name {
				row.Deleting = gm.Deleting
				if gm.ManualRelease != "" {
					row.Release = &Sighting{Value: gm.ManualRelease, SeenAt: st.ManualReleaseSeen, BeforeDeletion: st.ManualReleaseEarly}
				}
			}
		}
		if st.Held {
			row.HeldSince = st.HeldSince
		}
		if p, ok := prev[st.Name]; ok && st.Remembered {
			row.Members, row.Message = p.Members, p.Message
		} else if in.LoadBalancer.Err == nil {
			for _, pool := range in.PoolIDs {
				row.Members = append(row.Members, member(pool, o.Verdicts[st.Name][pool]))
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func member(pool string, v memberwait.Verdict) Member {
	row := Member{Progress: gate.Persisted(pool, v), Serving: v.Outcome == memberwait.Done || (v.Outcome == memberwait.Pending && v.MemberReached),
		Message: v.Reason}
	if v.Member == nil {
		row.Message = "no member for this Machine"
		return row
	}
	row.Name, row.Address, row.ProtocolPort = v.Member.Name, v.Member.Address, v.Member.ProtocolPort
	return row
}
