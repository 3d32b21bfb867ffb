package memberwait

import (
	"fmt"
	"time"
)

// Outcome is the kind of a [Verdict].
type Outcome int

const (
	// Pending: not there yet; look again after Verdict.RetryAfter.
	Pending Outcome = iota
	// Done: the target is reached.
	Done
	// Failed: the target cannot be reached; Verdict.Err says why.
	Failed
)

// String returns the outcome's name.
func (o Outcome) String() string {
	switch o {
	case Pending:
		return "Pending"
	case Done:
		return "Done"
	case Failed:
		return "Failed"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// Verdict is the judgement of one observation for one member.
type Verdict struct {
	Outcome Outcome
	// RetryAfter is when to look again, for Pending.
	RetryAfter time.Duration
	// Err is the reason for Failed: a [*MemberError], [*NotFoundError],
	// [*NoMonitorError], [*LoadBalancerError], [*AmbiguousError] or an
	// error Octavia answered that retrying cannot fix.
	Err error
	// Reason says in a few words why the verdict is what it is.
	Reason string
	// Member is the member as last observed, nil if never seen.
	Member *MemberStatus
	// PoolID is the pool the member was found in.
	PoolID string
	// MemberReached is true when the member itself has reached the target
	// and only its load balancer (PENDING_*, or not yet read) keeps the
	// verdict pending: the member serves, but a change made now would get
	// a 409. The gate counts such a member as serving.
	MemberReached bool
	// NeedLoadBalancer asks the next observation to read the load
	// balancer's own status, which the pool-list sources skip until a
	// member is otherwise done.
	NeedLoadBalancer bool
	// At is when the judged observation completed: the moment of the
	// decision, whenever the waiting goroutine gets to read it.
	At time.Time
	// Progress is the state to pass to the next evaluation.
	Progress Progress
}
