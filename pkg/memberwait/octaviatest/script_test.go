package octaviatest

import (
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
)

// TestMemberScripts drives scripted members through the API and checks the
// member against its load balancer at each point in time.
func TestMemberScripts(t *testing.T) {
	type point struct {
		at       time.Duration // since the member POST
		lb       string
		member   string
		memberOp string
	}
	tests := []struct {
		name   string
		script MemberScript
		points []point
	}{
		{
			name:   "amphorav2: LB ACTIVE while member PENDING_CREATE until 45s",
			script: MemberScript{Provisioning: []Step{{0, StatusPendingCreate}, {45 * time.Second, StatusActive}}},
			points: []point{
				{0, StatusPendingUpdate, StatusPendingCreate, StatusNoMonitor},
				{700 * time.Millisecond, StatusActive, StatusPendingCreate, StatusNoMonitor},
				{44 * time.Second, StatusActive, StatusPendingCreate, StatusNoMonitor},
				{45 * time.Second, StatusActive, StatusActive, StatusNoMonitor},
			},
		},
		{
			name:   "revert path: member ERROR under an ACTIVE LB",
			script: MemberScript{Provisioning: []Step{{0, StatusPendingCreate}, {5 * time.Second, StatusError}}},
			points: []point{
				{700 * time.Millisecond, StatusActive, StatusPendingCreate, StatusNoMonitor},
				{5 * time.Second, StatusActive, StatusError, StatusNoMonitor},
				{time.Hour, StatusActive, StatusError, StatusNoMonitor},
			},
		},
		{
			name:   "stuck: no ACTIVE step",
			script: MemberScript{Provisioning: []Step{{0, StatusPendingCreate}}},
			points: []point{{time.Hour, StatusActive, StatusPendingCreate, StatusNoMonitor}},
		},
		{
			name:   "HAProxy: ONLINE before the first check, then ERROR",
			script: MemberScript{Operating: []Step{{time.Second, StatusOnline}, {31 * time.Second, StatusError}}},
			points: []point{
				{700 * time.Millisecond, StatusActive, StatusActive, StatusNoMonitor},
				{time.Second, StatusActive, StatusActive, StatusOnline},
				{31 * time.Second, StatusActive, StatusActive, StatusError},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			lbID, _, poolID := e.activeListenerPool()
			e.srv.ScriptMembers(MemberMatch{Address: "10.0.0.20"}, tt.script)
			other := e.createMember(poolID, "unscripted", "10.0.0.19")
			e.step(DefaultDelays().Member)
			start := e.clk.Now()
			m := e.createMember(poolID, "new", "10.0.0.20")
			for _, p := range tt.points {
				e.clk.SetTime(start.Add(p.at))
				if got := e.lbStatus(lbID).prov; got != p.lb {
					t.Errorf("at %v: LB = %s, want %s", p.at, got, p.lb)
				}
				if got := e.memberStatus(poolID, m.ID); got != (statuses{p.member, p.memberOp}) {
					t.Errorf("at %v: member = %v, want %s/%s", p.at, got, p.member, p.memberOp)
				}
			}
			if got := e.memberStatus(poolID, other.ID).prov; got != StatusActive {
				t.Errorf("unscripted member = %s, want ACTIVE", got)
			}
		})
	}
}

func TestScriptMatching(t *testing.T) {
	e := newEnv(t, Options{})
	_, _, poolID := e.activeListenerPool()
	stuck := MemberScript{Provisioning: []Step{{0, StatusPendingCreate}}}
	errored := MemberScript{Provisioning: []Step{{0, StatusError}}}
	e.srv.ScriptMembers(MemberMatch{Name: "cp-1"}, stuck)
	e.srv.ScriptMembers(MemberMatch{PoolID: poolID, ProtocolPort: 6443, Name: "cp-1"}, errored) // newer wins
	e.srv.ScriptMembers(MemberMatch{PoolID: "other-pool"}, errored)

	err := pools.BatchUpdateMembers(e.ctx, e.c, poolID, []pools.BatchUpdateMemberOpts{
		{Address: "10.0.0.1", ProtocolPort: 6443, Name: ptr("cp-1")},
		{Address: "10.0.0.2", ProtocolPort: 6443, Name: ptr("cp-2")},
	}).ExtractErr()
	if err != nil {
		t.Fatal(err)
	}
	e.step(time.Minute)
	got := map[string]string{}
	page, _ := pools.ListMembers(e.c, poolID, nil).AllPages(e.ctx)
	ms, _ := pools.ExtractMembers(page)
	for _, m := range ms {
		got[m.Name] = m.ProvisioningStatus
	}
	if got["cp-1"] != StatusError || got["cp-2"] != StatusActive {
		t.Fatalf("statuses = %v, want cp-1 ERROR (newest script), cp-2 ACTIVE", got)
	}
}

func TestScriptExistingMemberAndSetStatus(t *testing.T) {
	e := newEnv(t, Options{})
	s := e.srv.Seed(LoadBalancerSpec{Listeners: []ListenerSpec{{Pool: &PoolSpec{Monitor: &MonitorSpec{},
		Members: []MemberSpec{{Name: "a", Address: "10.0.0.1"}, {Name: "b", Address: "10.0.0.2"}}}}}})
	poolID, a, b := s.PoolIDs[0], s.MemberIDs[0][0], s.MemberIDs[0][1]

	// Steps are relative to creation (the seed time): one already past, one ahead.
	e.step(10 * time.Second)
	if err := e.srv.ScriptMember(a, MemberScript{Operating: []Step{{5 * time.Second, StatusOnline}, {20 * time.Second, StatusError}}}); err != nil {
		t.Fatal(err)
	}
	if got := e.memberStatus(poolID, a); got != (statuses{StatusActive, StatusOnline}) {
		t.Fatalf("a after script = %v", got)
	}
	e.step(10 * time.Second)
	if got := e.memberStatus(poolID, a).op; got != StatusError {
		t.Fatalf("a at 20s = %s, want ERROR", got)
	}

	// SetMemberStatus sticks: it cancels pending transitions of what it sets.
	if err := e.srv.ScriptMember(b, MemberScript{Operating: []Step{{time.Hour, StatusOnline}}}); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.SetMemberStatus(b, "", StatusDraining); err != nil {
		t.Fatal(err)
	}
	e.step(2 * time.Hour)
	if got := e.memberStatus(poolID, b); got != (statuses{StatusActive, StatusDraining}) {
		t.Fatalf("b = %v, want ACTIVE/DRAINING", got)
	}
	if m, ok := e.srv.Member(b); !ok || m.OperatingStatus != StatusDraining || m.Address != "10.0.0.2" {
		t.Fatalf("Member(b) = %+v, %v", m, ok)
	}

	// Unknown status strings are passed through untouched.
	if err := e.srv.SetMemberStatus(a, "SOMETHING_NEW", ""); err != nil {
		t.Fatal(err)
	}
	if got := e.memberStatus(poolID, a).prov; got != "SOMETHING_NEW" {
		t.Fatalf("a = %s", got)
	}

	for _, err := range []error{
		e.srv.SetMemberStatus("nope", StatusError, ""),
		e.srv.SetLoadBalancerStatus("nope", StatusError, ""),
		e.srv.ScriptMember("nope", MemberScript{}),
	} {
		if err == nil {
			t.Error("unknown ID accepted")
		}
	}
}

// TestStuckLoadBalancer: a load balancer forced into PENDING_UPDATE stays
// there (the worker is "stopped") and every mutation gets 409.
func TestStuckLoadBalancer(t *testing.T) {
	e := newEnv(t, Options{})
	s := e.srv.Seed(LoadBalancerSpec{Listeners: []ListenerSpec{{Pool: &PoolSpec{}}}})
	if err := e.srv.SetLoadBalancerStatus(s.LoadBalancerID, StatusPendingUpdate, StatusOnline); err != nil {
		t.Fatal(err)
	}
	e.step(time.Hour)
	if got := e.lbStatus(s.LoadBalancerID); got != (statuses{StatusPendingUpdate, StatusOnline}) {
		t.Fatalf("LB = %v", got)
	}
	_, err := pools.CreateMember(e.ctx, e.c, s.PoolIDs[0], pools.CreateMemberOpts{Address: "10.0.0.1", ProtocolPort: 6443}).Extract()
	if want := "Load Balancer " + s.LoadBalancerID + " is immutable and cannot be updated."; errCode(err) != 409 || fault(t, errBody(err)).Faultstring != want {
		t.Fatalf("member create on stuck LB: %v", err)
	}
	lb, ok := e.srv.LoadBalancer(s.LoadBalancerID)
	if !ok || lb.ProvisioningStatus != StatusPendingUpdate || len(lb.Listeners) != 1 || len(lb.Pools) != 1 {
		t.Fatalf("LoadBalancer() = %+v, %v", lb, ok)
	}
}

// TestDeletePendingCreateMember: Octavia checks the pool and load balancer,
// not the member, so a member stuck in PENDING_CREATE can be deleted.
func TestDeletePendingCreateMember(t *testing.T) {
	e := newEnv(t, Options{})
	_, _, poolID := e.activeListenerPool()
	e.srv.ScriptMembers(MemberMatch{}, MemberScript{Provisioning: []Step{{0, StatusPendingCreate}, {time.Minute, StatusActive}}})
	m := e.createMember(poolID, "stuck", "10.0.0.1")
	e.step(DefaultDelays().Member)
	if err := pools.DeleteMember(e.ctx, e.c, poolID, m.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	e.step(DefaultDelays().Delete)
	if _, ok := e.srv.Member(m.ID); ok {
		t.Fatal("member survived its delete")
	}
	e.step(time.Minute) // the cancelled script step must not resurrect anything
	if _, ok := e.srv.Member(m.ID); ok {
		t.Fatal("member came back")
	}
}
