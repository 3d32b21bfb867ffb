package octaviatest

import (
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/monitors"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
)

func TestDefaultDelays(t *testing.T) {
	d := DefaultDelays()
	want := Delays{LoadBalancer: 1200 * time.Millisecond, Listener: 300 * time.Millisecond,
		Pool: 300 * time.Millisecond, HealthMonitor: 300 * time.Millisecond,
		Member: 700 * time.Millisecond, Delete: 500 * time.Millisecond}
	if d != want {
		t.Fatalf("DefaultDelays() = %+v, want %+v", d, want)
	}
}

// TestCreateChainTimeline walks LB → listener → pool → monitor → member and
// checks every object's statuses as the fake clock steps, including the
// parents each child locks while it is pending.
func TestCreateChainTimeline(t *testing.T) {
	e := newEnv(t, Options{})
	ids := map[string]string{}
	get := map[string]func(id string) statuses{
		"lb":       e.lbStatus,
		"listener": e.listenerStatus,
		"pool":     e.poolStatus,
		"monitor": func(id string) statuses {
			m, err := monitors.Get(e.ctx, e.c, id).Extract()
			if err != nil {
				t.Fatalf("get monitor: %v", err)
			}
			return statuses{m.ProvisioningStatus, m.OperatingStatus}
		},
		"member": func(id string) statuses { return e.memberStatus(ids["pool"], id) },
	}
	type checkpoint struct {
		step time.Duration
		want map[string]statuses
	}
	pendUpd := statuses{StatusPendingUpdate, StatusOffline}
	active := statuses{StatusActive, StatusOffline}
	phases := []struct {
		name   string
		act    func() (key, id string)
		checks []checkpoint
	}{
		{
			name: "load balancer",
			act: func() (string, string) {
				lb := e.createLB("lb")
				if lb.ProvisioningStatus != StatusPendingCreate || lb.OperatingStatus != StatusOffline {
					t.Errorf("POST response statuses = %s/%s", lb.ProvisioningStatus, lb.OperatingStatus)
				}
				return "lb", lb.ID
			},
			checks: []checkpoint{
				{0, map[string]statuses{"lb": {StatusPendingCreate, StatusOffline}}},
				{1199 * time.Millisecond, map[string]statuses{"lb": {StatusPendingCreate, StatusOffline}}},
				{time.Millisecond, map[string]statuses{"lb": active}},
			},
		},
		{
			name: "listener",
			act: func() (string, string) {
				l, err := listeners.Create(e.ctx, e.c, listeners.CreateOpts{LoadbalancerID: ids["lb"], Protocol: listeners.ProtocolTCP, ProtocolPort: 6443}).Extract()
				if err != nil {
					t.Fatal(err)
				}
				return "listener", l.ID
			},
			checks: []checkpoint{
				{0, map[string]statuses{"lb": pendUpd, "listener": {StatusPendingCreate, StatusOffline}}},
				{299 * time.Millisecond, map[string]statuses{"lb": pendUpd}},
				{time.Millisecond, map[string]statuses{"lb": active, "listener": active}},
			},
		},
		{
			name: "pool",
			act: func() (string, string) {
				p, err := pools.Create(e.ctx, e.c, pools.CreateOpts{ListenerID: ids["listener"], Protocol: pools.ProtocolTCP, LBMethod: pools.LBMethodRoundRobin}).Extract()
				if err != nil {
					t.Fatal(err)
				}
				return "pool", p.ID
			},
			checks: []checkpoint{
				{0, map[string]statuses{"lb": pendUpd, "listener": pendUpd, "pool": {StatusPendingCreate, StatusOffline}}},
				{300 * time.Millisecond, map[string]statuses{"lb": active, "listener": active, "pool": active}},
			},
		},
		{
			name: "monitor",
			act: func() (string, string) {
				m, err := monitors.Create(e.ctx, e.c, monitors.CreateOpts{PoolID: ids["pool"], Type: "TCP", Delay: 10, Timeout: 5, MaxRetries: 5}).Extract()
				if err != nil {
					t.Fatal(err)
				}
				return "monitor", m.ID
			},
			checks: []checkpoint{
				{0, map[string]statuses{"lb": pendUpd, "listener": pendUpd, "pool": pendUpd, "monitor": {StatusPendingCreate, StatusOffline}}},
				{300 * time.Millisecond, map[string]statuses{"lb": active, "pool": active, "monitor": {StatusActive, StatusOnline}}},
			},
		},
		{
			name: "member",
			act: func() (string, string) {
				m := e.createMember(ids["pool"], "cp-0", "10.0.0.10")
				return "member", m.ID
			},
			checks: []checkpoint{
				{0, map[string]statuses{"lb": pendUpd, "listener": pendUpd, "pool": pendUpd, "member": {StatusPendingCreate, StatusOffline}}},
				{699 * time.Millisecond, map[string]statuses{"lb": pendUpd, "member": {StatusPendingCreate, StatusOffline}}},
				{time.Millisecond, map[string]statuses{"lb": active, "listener": active, "pool": active, "member": {StatusActive, StatusOffline}}},
			},
		},
	}
	for _, ph := range phases {
		key, id := ph.act()
		ids[key] = id
		var elapsed time.Duration
		for _, cp := range ph.checks {
			e.step(cp.step)
			elapsed += cp.step
			for obj, want := range cp.want {
				if got := get[obj](ids[obj]); got != want {
					t.Errorf("%s phase, %v after: %s = %v, want %v", ph.name, elapsed, obj, got, want)
				}
			}
		}
	}
}

func TestUpdatesAndDeletesTimeline(t *testing.T) {
	e := newEnv(t, Options{})
	lbID, listenerID, poolID := e.activeListenerPool()
	m := e.createMember(poolID, "cp-0", "10.0.0.10")
	e.step(DefaultDelays().Member)

	tests := []struct {
		name    string
		act     func() error
		pending map[string]func() statuses
		wait    time.Duration
	}{
		{
			name: "member update",
			act: func() error {
				w := 5
				_, err := pools.UpdateMember(e.ctx, e.c, poolID, m.ID, pools.UpdateMemberOpts{Weight: &w}).Extract()
				return err
			},
			pending: map[string]func() statuses{
				"member": func() statuses { return e.memberStatus(poolID, m.ID) },
				"pool":   func() statuses { return e.poolStatus(poolID) },
			},
			wait: DefaultDelays().Member,
		},
		{
			name: "pool update",
			act: func() error {
				name := "renamed"
				_, err := pools.Update(e.ctx, e.c, poolID, pools.UpdateOpts{Name: &name}).Extract()
				return err
			},
			pending: map[string]func() statuses{
				"pool":     func() statuses { return e.poolStatus(poolID) },
				"listener": func() statuses { return e.listenerStatus(listenerID) },
			},
			wait: DefaultDelays().Pool,
		},
		{
			name: "listener update",
			act: func() error {
				name := "renamed"
				_, err := listeners.Update(e.ctx, e.c, listenerID, listeners.UpdateOpts{Name: &name}).Extract()
				return err
			},
			pending: map[string]func() statuses{
				"listener": func() statuses { return e.listenerStatus(listenerID) },
			},
			wait: DefaultDelays().Listener,
		},
		{
			name: "load balancer update",
			act: func() error {
				name := "renamed"
				_, err := loadbalancers.Update(e.ctx, e.c, lbID, loadbalancers.UpdateOpts{Name: &name}).Extract()
				return err
			},
			pending: map[string]func() statuses{},
			wait:    DefaultDelays().LoadBalancer,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.act(); err != nil {
				t.Fatal(err)
			}
			tt.pending["lb"] = func() statuses { return e.lbStatus(lbID) }
			for name, get := range tt.pending {
				if got := get().prov; got != StatusPendingUpdate {
					t.Errorf("%s provisioning = %s, want PENDING_UPDATE", name, got)
				}
			}
			e.step(tt.wait)
			for name, get := range tt.pending {
				if got := get().prov; got != StatusActive {
					t.Errorf("%s provisioning after %v = %s, want ACTIVE", name, tt.wait, got)
				}
			}
		})
	}
}

func TestMemberDeleteGoesPendingDeleteThen404(t *testing.T) {
	e := newEnv(t, Options{})
	_, _, poolID := e.activeListenerPool()
	m := e.createMember(poolID, "cp-0", "10.0.0.10")
	e.step(DefaultDelays().Member)

	if err := pools.DeleteMember(e.ctx, e.c, poolID, m.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if got := e.memberStatus(poolID, m.ID).prov; got != StatusPendingDelete {
		t.Fatalf("after DELETE provisioning = %s, want PENDING_DELETE", got)
	}
	if got := e.poolStatus(poolID).prov; got != StatusPendingUpdate {
		t.Fatalf("pool during member delete = %s, want PENDING_UPDATE", got)
	}
	e.step(499 * time.Millisecond)
	if got := e.memberStatus(poolID, m.ID).prov; got != StatusPendingDelete {
		t.Fatalf("at 499ms provisioning = %s, want PENDING_DELETE", got)
	}
	e.step(time.Millisecond)
	_, err := pools.GetMember(e.ctx, e.c, poolID, m.ID).Extract()
	if errCode(err) != 404 {
		t.Fatalf("GET after delete: err = %v, want 404", err)
	}
	if got := e.poolStatus(poolID).prov; got != StatusActive {
		t.Fatalf("pool after member delete = %s, want ACTIVE", got)
	}
	if _, ok := e.srv.Member(m.ID); ok {
		t.Fatal("Member() still finds the deleted member")
	}
}

func TestLoadBalancerDeleteCascade(t *testing.T) {
	e := newEnv(t, Options{})
	lbID, listenerID, poolID := e.activeListenerPool()

	err := loadbalancers.Delete(e.ctx, e.c, lbID, loadbalancers.DeleteOpts{}).ExtractErr()
	if errCode(err) != 400 {
		t.Fatalf("delete with children: err = %v, want 400", err)
	}
	want := "Validation failure: Cannot delete Load Balancer " + lbID + " - it has children"
	if got := fault(t, errBody(err)).Faultstring; got != want {
		t.Fatalf("faultstring = %q, want %q", got, want)
	}
	if err := loadbalancers.Delete(e.ctx, e.c, lbID, loadbalancers.DeleteOpts{Cascade: true}).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if got := e.lbStatus(lbID).prov; got != StatusPendingDelete {
		t.Fatalf("provisioning = %s, want PENDING_DELETE", got)
	}
	e.step(DefaultDelays().Delete)
	for name, get := range map[string]func() error{
		"load balancer": func() error { _, err := loadbalancers.Get(e.ctx, e.c, lbID).Extract(); return err },
		"listener":      func() error { _, err := listeners.Get(e.ctx, e.c, listenerID).Extract(); return err },
		"pool":          func() error { _, err := pools.Get(e.ctx, e.c, poolID).Extract(); return err },
	} {
		if err := get(); errCode(err) != 404 {
			t.Errorf("%s after cascade delete: err = %v, want 404", name, err)
		}
	}
}

func TestMonitorDeleteResetsMembersToNoMonitor(t *testing.T) {
	e := newEnv(t, Options{})
	_, _, poolID := e.activeListenerPool()
	hmID := e.addMonitor(poolID)
	m := e.createMember(poolID, "cp-0", "10.0.0.10")
	e.step(DefaultDelays().Member)
	if got := e.memberStatus(poolID, m.ID).op; got != StatusOffline {
		t.Fatalf("member operating with monitor = %s, want OFFLINE", got)
	}
	if err := monitors.Delete(e.ctx, e.c, hmID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	e.step(DefaultDelays().Delete)
	if got := e.memberStatus(poolID, m.ID).op; got != StatusNoMonitor {
		t.Fatalf("member operating after monitor delete = %s, want NO_MONITOR", got)
	}
	p, _ := e.srv.Pool(poolID)
	if p.MonitorID != "" {
		t.Fatalf("pool healthmonitor_id = %q, want empty", p.MonitorID)
	}
}
