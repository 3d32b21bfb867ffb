package conformance

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/listeners"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/monitors"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	"k8s.io/utils/ptr"
)

// vipSubnet is any UUID: the noop network driver takes it as it is, and the
// emulator does the same.
const vipSubnet = "0f6b3a2c-1d4e-4f5a-8b6c-7d8e9f0a1b2c"

// missingID names no object on either backend.
const missingID = "11111111-2222-4333-8444-555555555555"

// fixture is the load balancer tree a scenario builds, object IDs by the
// names the status tree shows them under.
type fixture struct {
	b      *backend
	lbName string
	ids    map[string]string
}

// expand replaces {name} with the ID of that object, and {missing}.
func (f *fixture) expand(s string) string {
	pairs := []string{"{missing}", missingID, "{lbname}", f.lbName}
	for k, v := range f.ids {
		pairs = append(pairs, "{"+k+"}", v)
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// Status pairs the table uses: provisioning/operating.
const (
	pendingCreateOffline   = "PENDING_CREATE/OFFLINE"
	pendingCreateNoMonitor = "PENDING_CREATE/NO_MONITOR"
	pendingUpdateOffline   = "PENDING_UPDATE/OFFLINE"
	pendingDeleteOffline   = "PENDING_DELETE/OFFLINE"
	activeOffline          = "ACTIVE/OFFLINE"
	activeOnline           = "ACTIVE/ONLINE"
	activeNoMonitor        = "ACTIVE/NO_MONITOR"
)

// parents is the sequence a child's change puts its load balancer, listener
// and (for members and monitors) pool through.
var parents = []string{pendingUpdateOffline, activeOffline}

// lifecycleStep is one mutation of the shared tree and the status sequences
// it must produce, as observed through the status tree from the moment the
// API has answered until every object reaches its last status. The worker
// is paused from before the mutation until the first tree has been read, so
// the API's PENDING_* states are always seen, however fast the worker.
type lifecycleStep struct {
	name string
	act  func(t *testing.T, f *fixture)
	want map[string][]string
	// then checks more of the state the step left behind.
	then func(t *testing.T, f *fixture)
}

// TestOctaviaLifecycle walks a load balancer through create, update, batch
// update and delete of every object memberwait depends on, on both backends,
// and checks the same status sequences, 409s, 404 bodies, tree shape and list
// filters along the way.
func TestOctaviaLifecycle(t *testing.T) {
	backends(t, func(t *testing.T, b *backend) {
		f := &fixture{b: b, lbName: fmt.Sprintf("conformance-%d", time.Now().UnixNano()), ids: map[string]string{}}
		if b.real() {
			t.Cleanup(func() { cleanupLB(t, b, f.ids["lb"]) })
		}
		for _, st := range lifecycleSteps() {
			if !t.Run(st.name, func(t *testing.T) {
				b.pauseWorker(t)
				st.act(t, f)
				var resumed time.Time
				got, _ := b.watch(t, f.ids["lb"], st.want, 30*time.Second, func() {
					b.resumeWorker(t)
					resumed = b.now()
				})
				report.timing(b.name, st.name+": worker resumed → all final", b.now().Sub(resumed))
				for k, seq := range st.want {
					if g := got[k]; strings.Join(g, " → ") != strings.Join(seq, " → ") {
						t.Errorf("%s: %s went %s, want %s", b.name, k, strings.Join(got[k], " → "), strings.Join(seq, " → "))
					}
				}
				if st.then != nil && !t.Failed() {
					st.then(t, f)
				}
			}) {
				t.FailNow() // later steps build on this one
			}
		}
	})
}

func lifecycleSteps() []lifecycleStep {
	return []lifecycleStep{
		{
			name: "create load balancer",
			act: func(t *testing.T, f *fixture) {
				lb, err := loadbalancers.Create(ctx, f.b.client, loadbalancers.CreateOpts{Name: f.lbName, VipSubnetID: vipSubnet}).Extract()
				if err != nil {
					t.Fatal(err)
				}
				f.ids["lb"] = lb.ID
				wantPair(t, f.b, "POST load balancer", lb.ProvisioningStatus, lb.OperatingStatus, pendingCreateOffline)
			},
			want: map[string][]string{"lb": {pendingCreateOffline, activeOffline}},
		},
		{
			name: "create listener",
			act: func(t *testing.T, f *fixture) {
				l, err := listeners.Create(ctx, f.b.client, listeners.CreateOpts{LoadbalancerID: f.ids["lb"], Name: "l1",
					Protocol: listeners.ProtocolTCP, ProtocolPort: 6443}).Extract()
				if err != nil {
					t.Fatal(err)
				}
				f.ids["l1"] = l.ID
				wantPair(t, f.b, "POST listener", l.ProvisioningStatus, l.OperatingStatus, pendingCreateOffline)
			},
			want: map[string][]string{"listener l1": {pendingCreateOffline, activeOffline}, "lb": parents},
		},
		{
			name: "create pool",
			act: func(t *testing.T, f *fixture) {
				p, err := pools.Create(ctx, f.b.client, pools.CreateOpts{ListenerID: f.ids["l1"], Name: "p1",
					Protocol: pools.ProtocolTCP, LBMethod: pools.LBMethodRoundRobin}).Extract()
				if err != nil {
					t.Fatal(err)
				}
				f.ids["p1"] = p.ID
				wantPair(t, f.b, "POST pool", p.ProvisioningStatus, p.OperatingStatus, pendingCreateOffline)
			},
			want: map[string][]string{"pool p1": {pendingCreateOffline, activeOffline}, "listener l1": parents, "lb": parents},
		},
		{
			name: "create member without monitor",
			act: func(t *testing.T, f *fixture) {
				f.ids["m1"] = createMember(t, f, "m1", "10.0.0.1", pendingCreateNoMonitor)
			},
			want: map[string][]string{"member m1": {pendingCreateNoMonitor, activeNoMonitor},
				"pool p1": parents, "listener l1": parents, "lb": parents},
			then: func(t *testing.T, f *fixture) {
				checkProbes(t, f, errorProbes())
				checkTreeShape(t, f, false)
			},
		},
		{
			name: "create health monitor",
			act: func(t *testing.T, f *fixture) {
				hm, err := monitors.Create(ctx, f.b.client, monitors.CreateOpts{PoolID: f.ids["p1"], Name: "hm1", Type: "TCP",
					Delay: 10, Timeout: 5, MaxRetries: 5, MaxRetriesDown: 3}).Extract()
				if err != nil {
					t.Fatal(err)
				}
				f.ids["hm1"] = hm.ID
				wantPair(t, f.b, "POST health monitor", hm.ProvisioningStatus, hm.OperatingStatus, pendingCreateOffline)
			},
			// A member created before the monitor keeps NO_MONITOR: only
			// heartbeats would change it.
			want: map[string][]string{"monitor hm1": {pendingCreateOffline, activeOnline}, "member m1": {activeNoMonitor},
				"pool p1": parents, "listener l1": parents, "lb": parents},
		},
		{
			name: "create member with monitor",
			act: func(t *testing.T, f *fixture) {
				f.ids["m2"] = createMember(t, f, "m2", "10.0.0.2", pendingCreateOffline)
			},
			want: map[string][]string{"member m2": {pendingCreateOffline, activeOffline}, "member m1": {activeNoMonitor},
				"pool p1": parents, "listener l1": parents, "lb": parents},
			then: func(t *testing.T, f *fixture) {
				checkTreeShape(t, f, true)
				checkObjectKeys(t, f)
			},
		},
		{
			// Weight 0, as the gate's drain sets it: the change shows at
			// once in the member, which is ACTIVE again when applied.
			name: "update member",
			act: func(t *testing.T, f *fixture) {
				w := 0
				m, err := pools.UpdateMember(ctx, f.b.client, f.ids["p1"], f.ids["m2"], pools.UpdateMemberOpts{Weight: &w}).Extract()
				if err != nil {
					t.Fatal(err)
				}
				wantPair(t, f.b, "PUT member", m.ProvisioningStatus, m.OperatingStatus, pendingUpdateOffline)
				if m.Weight != 0 {
					t.Errorf("%s: PUT member answered weight %d, want 0", f.b.name, m.Weight)
				}
			},
			want: map[string][]string{"member m2": {pendingUpdateOffline, activeOffline},
				"pool p1": parents, "listener l1": parents, "lb": parents},
			then: func(t *testing.T, f *fixture) {
				m, err := pools.GetMember(ctx, f.b.client, f.ids["p1"], f.ids["m2"]).Extract()
				if err != nil {
					t.Fatal(err)
				}
				if m.Weight != 0 || m.ProvisioningStatus != "ACTIVE" {
					t.Errorf("%s: member after the update: weight %d %s, want weight 0 ACTIVE", f.b.name, m.Weight, m.ProvisioningStatus)
				}
			},
		},
		{
			// The batch keeps m2 (listed), creates m3 and deletes m1 (not
			// listed), in one flow.
			name: "batch update members",
			act: func(t *testing.T, f *fixture) {
				w := 5
				err := pools.BatchUpdateMembers(ctx, f.b.client, f.ids["p1"], []pools.BatchUpdateMemberOpts{
					{Address: "10.0.0.2", ProtocolPort: 6443, Name: ptr.To("m2"), Weight: &w},
					{Address: "10.0.0.3", ProtocolPort: 6443, Name: ptr.To("m3")},
				}).ExtractErr()
				if err != nil {
					t.Fatal(err)
				}
			},
			want: map[string][]string{
				"member m1": {"PENDING_DELETE/NO_MONITOR", absent},
				"member m2": {pendingUpdateOffline, activeOffline},
				"member m3": {pendingCreateOffline, activeOffline},
				"pool p1":   parents, "listener l1": parents, "lb": parents,
			},
			then: func(t *testing.T, f *fixture) {
				f.ids["m3"] = memberID(t, f, "m3")
				checkListFilters(t, f)
				checkProbes(t, f, []probe{{
					name: "delete a load balancer with children", method: "DELETE", path: "/v2/lbaas/loadbalancers/{lb}",
					code: 400, want: fault("Validation failure: Cannot delete Load Balancer {lb} - it has children"),
				}})
			},
		},
		{
			// While a member create holds the tree in PENDING_UPDATE (the
			// worker paused) every other mutation gets a 409.
			name: "409 while PENDING",
			act: func(t *testing.T, f *fixture) {
				f.ids["m4"] = createMember(t, f, "m4", "10.0.0.4", pendingCreateOffline)
				checkImmutable(t, f)
				f.b.pass(2 * time.Second) // nothing moves without the worker
				if got := f.b.tree(t, f.ids["lb"]).get("member m4"); got != pendingCreateOffline {
					t.Errorf("%s: m4 2 s later with the worker paused = %s, want %s", f.b.name, got, pendingCreateOffline)
				}
			},
			want: map[string][]string{"member m4": {pendingCreateOffline, activeOffline}, "pool p1": parents, "listener l1": parents, "lb": parents},
		},
		{
			name: "delete member",
			act: func(t *testing.T, f *fixture) {
				if err := pools.DeleteMember(ctx, f.b.client, f.ids["p1"], f.ids["m3"]).ExtractErr(); err != nil {
					t.Fatal(err)
				}
			},
			want: map[string][]string{"member m3": {pendingDeleteOffline, absent},
				"pool p1": parents, "listener l1": parents, "lb": parents},
			then: func(t *testing.T, f *fixture) {
				checkProbes(t, f, []probe{{name: "deleted member", method: "GET", path: "/v2/lbaas/pools/{p1}/members/{m3}",
					code: 404, want: fault("Member {m3} not found.")}})
			},
		},
		{
			// Deleting the monitor puts the members back to NO_MONITOR.
			name: "delete health monitor",
			act: func(t *testing.T, f *fixture) {
				if err := monitors.Delete(ctx, f.b.client, f.ids["hm1"]).ExtractErr(); err != nil {
					t.Fatal(err)
				}
			},
			want: map[string][]string{"monitor hm1": {"PENDING_DELETE/ONLINE", absent},
				"member m2": {activeOffline, activeNoMonitor}, "member m4": {activeOffline, activeNoMonitor},
				"pool p1": parents, "listener l1": parents, "lb": parents},
		},
		{
			name: "delete pool",
			act: func(t *testing.T, f *fixture) {
				if err := pools.Delete(ctx, f.b.client, f.ids["p1"]).ExtractErr(); err != nil {
					t.Fatal(err)
				}
			},
			want: map[string][]string{"pool p1": {pendingDeleteOffline, absent}, "member m2": {activeNoMonitor, absent},
				"listener l1": parents, "lb": parents},
			then: func(t *testing.T, f *fixture) {
				checkProbes(t, f, []probe{
					{name: "deleted pool", method: "GET", path: "/v2/lbaas/pools/{p1}", code: 404, want: fault("Pool {p1} not found.")},
					{name: "member of a deleted pool", method: "GET", path: "/v2/lbaas/pools/{p1}/members/{m2}", code: 404,
						want: `{"code": 404, "title": "Bad Request", "description": "Pool {p1} not found."}`},
				})
			},
		},
		{
			name: "delete listener",
			act: func(t *testing.T, f *fixture) {
				if err := listeners.Delete(ctx, f.b.client, f.ids["l1"]).ExtractErr(); err != nil {
					t.Fatal(err)
				}
			},
			want: map[string][]string{"listener l1": {pendingDeleteOffline, absent}, "lb": parents},
		},
		{
			name: "delete load balancer",
			act: func(t *testing.T, f *fixture) {
				if err := loadbalancers.Delete(ctx, f.b.client, f.ids["lb"], loadbalancers.DeleteOpts{}).ExtractErr(); err != nil {
					t.Fatal(err)
				}
			},
			want: map[string][]string{"lb": {pendingDeleteOffline, notFound}},
			then: func(t *testing.T, f *fixture) {
				// Octavia keeps the row as DELETED; the API hides it everywhere.
				checkProbes(t, f, []probe{
					{name: "deleted load balancer", method: "GET", path: "/v2/lbaas/loadbalancers/{lb}", code: 404,
						want: fault("Load Balancer {lb} not found.")},
				})
				checkList(t, f, "/v2/lbaas/loadbalancers?name={lbname}", "loadbalancers", nil)
			},
		},
	}
}

func wantPair(t *testing.T, b *backend, what, prov, op, want string) {
	t.Helper()
	if got := prov + "/" + op; got != want {
		t.Errorf("%s: %s answered %s, want %s", b.name, what, got, want)
	}
}

func createMember(t *testing.T, f *fixture, name, addr, want string) string {
	t.Helper()
	m, err := pools.CreateMember(ctx, f.b.client, f.ids["p1"], pools.CreateMemberOpts{Name: name, Address: addr,
		ProtocolPort: 6443, SubnetID: vipSubnet}).Extract()
	if err != nil {
		t.Fatal(err)
	}
	wantPair(t, f.b, "POST member "+name, m.ProvisioningStatus, m.OperatingStatus, want)
	return m.ID
}

func memberID(t *testing.T, f *fixture, name string) string {
	t.Helper()
	all, err := pools.ListMembers(f.b.client, f.ids["p1"], pools.ListMembersOpts{Name: name}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := pools.ExtractMembers(all)
	if err != nil || len(ms) != 1 {
		t.Fatalf("%s: member %s: %v %v", f.b.name, name, ms, err)
	}
	return ms[0].ID
}

// cleanupLB cascade-deletes what a failed run left on real Octavia, so the
// next run starts from a clean project.
func cleanupLB(t testing.TB, b *backend, id string) {
	if id == "" {
		return
	}
	b.stack.ensureRunning(t, "octavia-worker", "octavia-api")
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		r := b.raw(t, http.MethodDelete, "/v2/lbaas/loadbalancers/"+id+"?cascade=true", "")
		if r.code == http.StatusNoContent || r.code == http.StatusNotFound {
			return
		}
		time.Sleep(200 * time.Millisecond) // 409 while PENDING_*: the worker is finishing
	}
	t.Logf("could not delete load balancer %s", id)
}

// probe is one raw request and the exact answer real Octavia gives to it.
// Paths, request bodies and answers may hold {placeholders} (see expand).
type probe struct {
	name, method, path string
	send               string // the request body
	code               int
	want               string // the JSON body; "" checks the code only
	// textOnly: the code must match; a different body is reported, not
	// failed (409 wording, which clients must not depend on).
	textOnly bool
	// header: a header that must be present, "Name: value".
	header string
}

func fault(msg string) string {
	return `{"faultcode": "Client", "faultstring": "` + msg + `", "debuginfo": null}`
}

func checkProbes(t *testing.T, f *fixture, probes []probe) {
	t.Helper()
	for _, p := range probes {
		r := f.b.raw(t, p.method, f.expand(p.path), f.expand(p.send))
		if r.code != p.code {
			t.Errorf("%s: %s: %s %s = %d, want %d: %s", f.b.name, p.name, p.method, p.path, r.code, p.code, r.body)
			continue
		}
		if p.header != "" {
			k, v, _ := strings.Cut(p.header, ": ")
			if got := r.header.Get(k); got != v {
				t.Errorf("%s: %s: header %s = %q, want %q", f.b.name, p.name, k, got, v)
			}
		}
		if p.want == "" {
			continue
		}
		want := f.expand(p.want)
		if jsonEqual([]byte(want), r.body) {
			continue
		}
		if p.textOnly {
			report.difference(t, f.b.name, p.name, want, string(r.body))
			continue
		}
		t.Errorf("%s: %s: %s %s body\n  got  %s\n  want %s", f.b.name, p.name, p.method, p.path, r.body, want)
	}
}
