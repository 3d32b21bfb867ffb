package gate

import (
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

func readyMachine(name string) HookMachine {
	return HookMachine{Name: name, MemberReady: true, Reason: ReasonServing, Members: []HookMember{{PoolID: pool, ID: "m-" + name,
		Address: "10.0.0.1", Port: 6443, ProvisioningStatus: "ACTIVE", OperatingStatus: "ONLINE", Serving: true}}}
}

// pendingMachine is the amphorav2 quirk: the load balancer is ACTIVE, the
// new member is still PENDING_CREATE.
func pendingMachine(name string) HookMachine {
	return HookMachine{Name: name, Reason: ReasonMemberPending, Members: []HookMember{{PoolID: pool, ID: "m-" + name,
		Address: "10.0.0.9", Port: 6443, ProvisioningStatus: "PENDING_CREATE", OperatingStatus: "OFFLINE",
		Since: now.Add(-3 * time.Minute), Message: "waiting for ACTIVE"}}}
}

func hookInput(hook Hook, machines ...HookMachine) HookInput {
	return HookInput{Hook: hook, Now: now, Mode: Enforce, ObservedAt: now.Add(-10 * time.Second),
		LoadBalancer: HookLoadBalancer{ID: "lb-1", ProvisioningStatus: "ACTIVE", OperatingStatus: "ONLINE"}, Machines: machines}
}

func TestDecideHook(t *testing.T) {
	orphan := HookMember{PoolID: pool, ID: "m-gone", Address: "10.0.0.5", Port: 6443, ProvisioningStatus: "ACTIVE", OperatingStatus: "ERROR"}
	tests := []struct {
		name  string
		in    HookInput
		allow bool
		// want are substrings of the message.
		want []string
	}{
		{name: "all member-ready: allowed",
			in: hookInput(BeforeClusterUpgrade, readyMachine("cp-0"), readyMachine("cp-1"), readyMachine("cp-2")), allow: true,
			want: []string{"load balancer lb-1 is ACTIVE", "3 control-plane Machine(s) are member-ready"}},
		{name: "amphorav2 quirk: LB ACTIVE, new member PENDING_CREATE blocks the upgrade",
			in:   hookInput(BeforeClusterUpgrade, readyMachine("cp-0"), pendingMachine("cp-1")),
			want: []string{"1 of 2 control-plane Machine(s) not member-ready", "cp-1 (MemberPending)", "member m-cp-1 (10.0.0.9:6443) in pool pool-6443 is PENDING_CREATE/OFFLINE since 2026-11-21T11:57:00Z (waiting for ACTIVE)"}},
		{name: "a deleting Machine whose member does not serve blocks too, and says it is deleting",
			in: func() HookInput {
				m := pendingMachine("cp-old")
				m.Deleting = true
				return hookInput(BeforeClusterUpgrade, readyMachine("cp-0"), m)
			}(),
			want: []string{"cp-old (MemberPending, deleting)"}},
		{name: "BeforeControlPlaneUpgrade blocks on the same rule",
			in:   hookInput(BeforeControlPlaneUpgrade, pendingMachine("cp-0")),
			want: []string{"cp-0 (MemberPending)"}},
		{name: "load balancer PENDING_UPDATE blocks although every member serves",
			in: func() HookInput {
				in := hookInput(BeforeClusterUpgrade, readyMachine("cp-0"))
				in.LoadBalancer.ProvisioningStatus = "PENDING_UPDATE"
				return in
			}(),
			want: []string{"load balancer lb-1 is PENDING_UPDATE/ONLINE, not ACTIVE"}},
		{name: "Octavia unreadable blocks and says why",
			in: func() HookInput {
				in := hookInput(BeforeClusterUpgrade, readyMachine("cp-0"))
				in.LoadBalancer = HookLoadBalancer{ID: "lb-1", Unavailable: "Octavia answered 503"}
				return in
			}(),
			want: []string{"could not be observed: Octavia answered 503"}},
		{name: "a Machine without a member in a pool",
			in:   hookInput(BeforeClusterUpgrade, HookMachine{Name: "cp-3", Reason: ReasonMemberMissing, Members: []HookMember{{PoolID: pool}}}),
			want: []string{"cp-3 (MemberMissing): pool pool-6443 has no member for it"}},
		{name: "orphans do not block BeforeClusterUpgrade",
			in: func() HookInput {
				in := hookInput(BeforeClusterUpgrade, readyMachine("cp-0"))
				in.Orphans = []HookMember{orphan}
				return in
			}(), allow: true},
		{name: "AfterControlPlaneUpgrade blocks the workers while an orphan remains",
			in: func() HookInput {
				in := hookInput(AfterControlPlaneUpgrade, readyMachine("cp-0"))
				in.Orphans = []HookMember{orphan}
				return in
			}(),
			want: []string{"1 orphan member(s) belong to no control-plane Machine: member m-gone (10.0.0.5:6443) in pool pool-6443 is ACTIVE/ERROR"}},
		{name: "an orphan whose pool is not recorded is still named",
			in: func() HookInput {
				in := hookInput(AfterControlPlaneUpgrade, readyMachine("cp-0"))
				o := orphan
				o.PoolID = ""
				in.Orphans = []HookMember{o}
				return in
			}(),
			want: []string{"member m-gone (10.0.0.5:6443) is ACTIVE/ERROR"}},
		{name: "AfterControlPlaneUpgrade blocks until every control-plane Machine is member-ready",
			in:   hookInput(AfterControlPlaneUpgrade, readyMachine("cp-0"), pendingMachine("cp-new")),
			want: []string{"cp-new (MemberPending)"}},
		{name: "AfterControlPlaneUpgrade allows once all serve and no orphan remains",
			in: hookInput(AfterControlPlaneUpgrade, readyMachine("cp-0"), readyMachine("cp-1")), allow: true,
			want: []string{"no orphan member"}},
		{name: "never observed: waiting for a fresh observation",
			in: func() HookInput {
				in := hookInput(BeforeClusterUpgrade, readyMachine("cp-0"))
				in.ObservedAt = time.Time{}
				return in
			}(),
			want: []string{"waiting for a fresh observation: the gate has not observed the load balancer yet"}},
		{name: "an idle cluster's observation, one idle resync old, still answers",
			in: func() HookInput {
				in := hookInput(BeforeClusterUpgrade, readyMachine("cp-0"))
				in.ObservedAt = now.Add(-5*time.Minute - 50*time.Second)
				return in
			}(), allow: true},
		{name: "stale observation: an old 'serving' proves nothing",
			in: func() HookInput {
				in := hookInput(BeforeClusterUpgrade, readyMachine("cp-0"))
				in.ObservedAt = now.Add(-9 * time.Minute)
				return in
			}(),
			want: []string{"waiting for a fresh observation: the last one is 9m0s old (at 2026-11-21T11:51:00Z), more than 8m0s"}},
		{name: "a custom max age",
			in: func() HookInput {
				in := hookInput(BeforeClusterUpgrade, readyMachine("cp-0"))
				in.ObservedAt, in.MaxAge = now.Add(-3*time.Minute), 5*time.Minute
				return in
			}(), allow: true},
		{name: "Audit reports what Enforce would block on, and allows",
			in: func() HookInput {
				in := hookInput(BeforeClusterUpgrade, pendingMachine("cp-1"))
				in.Mode = Audit
				return in
			}(), allow: true,
			want: []string{"Audit mode, not blocking; Enforce would block:", "cp-1 (MemberPending)"}},
		{name: "Disabled allows without looking, even at a stale observation",
			in: func() HookInput {
				in := hookInput(BeforeClusterUpgrade, pendingMachine("cp-1"))
				in.Mode, in.ObservedAt = Disabled, time.Time{}
				return in
			}(), allow: true, want: []string{"gating is disabled"}},
		{name: "no control-plane Machine: nothing to protect",
			in: hookInput(BeforeClusterUpgrade), allow: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewWithT(t)
			v := DecideHook(tt.in)
			g.Expect(v.Allow).To(Equal(tt.allow), v.Message)
			if tt.allow {
				g.Expect(v.RetryAfter).To(BeZero())
			} else {
				g.Expect(v.RetryAfter).To(Equal(HookRetry))
			}
			for _, w := range tt.want {
				g.Expect(v.Message).To(ContainSubstring(w))
			}
		})
	}
}

// TestDecideHookMessageStaysShort: CAPI copies the message into a
// condition; a hundred pending Machines must not make it unreadable.
func TestDecideHookMessageStaysShort(t *testing.T) {
	g := NewWithT(t)
	var machines []HookMachine
	for i := range 100 {
		machines = append(machines, pendingMachine(fmt.Sprintf("cp-%d", i)))
	}
	v := DecideHook(hookInput(BeforeClusterUpgrade, machines...))
	g.Expect(v.Allow).To(BeFalse())
	g.Expect(v.Message).To(ContainSubstring("100 of 100 control-plane Machine(s) not member-ready"))
	g.Expect(v.Message).To(ContainSubstring("cp-0 (MemberPending)"))
	g.Expect(v.Message).To(ContainSubstring("and 97 more"))
	g.Expect(v.Message).NotTo(ContainSubstring("cp-3 (MemberPending)"))
	g.Expect(len(v.Message)).To(BeNumerically("<", 1000))
}
