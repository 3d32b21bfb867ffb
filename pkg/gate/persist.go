package gate

import (
	"time"

	"github.com/membergate/membergate/pkg/memberwait"
)

// Persisted is a member's progress as the MemberGate status keeps it
// between reconciles and across restarts, to whole seconds (metav1.Time
// keeps no more): only a member that was seen carries statuses and
// since-when. Since is rounded up — the next evaluation restores the settle
// window's start from it, and a truncated start would let a member count
// as serving up to a second early; LastSeen and MissingSince are truncated,
// so a gap in observation only ever looks longer: the safe side.
func Persisted(pool string, v memberwait.Verdict) memberwait.Progress {
	if v.Member == nil {
		return memberwait.Progress{PoolID: pool}
	}
	p := memberwait.Progress{MemberID: v.Member.ID, PoolID: pool, ProvisioningStatus: v.Member.ProvisioningStatus,
		OperatingStatus: v.Member.OperatingStatus, LoadBalancerPending: v.Progress.LoadBalancerPending}
	if s := v.Progress.Since; !s.IsZero() {
		p.Since = s.Truncate(time.Second)
		if !p.Since.Equal(s) {
			p.Since = p.Since.Add(time.Second)
		}
	}
	p.LastSeen = v.Progress.LastSeen.Truncate(time.Second)
	p.MissingSince = v.Progress.MissingSince.Truncate(time.Second)
	return p
}
