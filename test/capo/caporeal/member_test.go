package caporeal

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	"sigs.k8s.io/cluster-api-provider-openstack/pkg/cloud/services/loadbalancer"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/membergate/membergate/test/capo/caposcope"
)

// reportVar names a file the observed sequence is appended to, one
// Markdown table row per CAPO call; test/capo/run.sh collects them.
const reportVar = "CAPOREAL_REPORT"

// TestCAPOMember drives CAPO's ReconcileLoadBalancerMember and
// DeleteLoadBalancerMember through the three situations of the incident:
// a new member PENDING_CREATE behind an ACTIVE load balancer (amphorav2),
// a member in provisioning ERROR (Octavia's revert path), and a member
// still PENDING_DELETE behind an ACTIVE load balancer. Unpatched CAPO is
// expected to report success in all three — that is the hazard, asserted —
// and the patched CAPO to wait for the member itself.
func TestCAPOMember(t *testing.T) {
	t.Run("emulator", func(t *testing.T) { scenario(t, newEmulator(t)) })
	t.Run("octavia", func(t *testing.T) { scenario(t, newOctavia(t)) })
}

const (
	machineName = "cp-1"
	machineIP   = "10.0.0.11"
	// callTimeout bounds one CAPO call; unpatched CAPO's own wait gives up
	// after about 274 s, which no scenario may get near.
	callTimeout = 90 * time.Second
	// quickCall is what "returns a requeue quickly" means: a few requests,
	// no waiting on Octavia.
	quickCall = 5 * time.Second
	// acceptWithin bounds the patched CAPO's acceptance of a serving
	// member: memberwait's settle window (45 s) plus its longest poll gap.
	acceptWithin = 2 * time.Minute
)

type run struct {
	t       *testing.T
	g       Gomega
	r       rig
	rec     *recorder
	svc     *loadbalancer.Service
	crn     string // CAPO's clusterResourceName
	member  string // CAPO's name for the machine's member
	tree    tree
	cluster *infrav1.OpenStackCluster
	machine *infrav1.OpenStackMachine
	report  *reporter
}

func scenario(t *testing.T, r rig) {
	g := NewWithT(t)
	crn := fmt.Sprintf("caporeal-%d", time.Now().UnixNano()%1_000_000_000)
	// CAPO's names: getLoadBalancerName, and the pool, listener and
	// monitor named after the load balancer and the API port.
	lbName := "k8s-clusterapi-cluster-" + crn + "-kubeapi"
	portName := fmt.Sprintf("%s-%d", lbName, 6443)
	tr := r.build(t, lbName, portName)

	rec := &recorder{project: r.project(), auth: r.client(), lbPath: "/lbaas/loadbalancers/" + tr.lbID}
	sc := &caposcope.Scope{OctaviaURL: r.url(), HTTPClient: &http.Client{Transport: rec, Timeout: 30 * time.Second}, Project: r.project()}
	svc, err := loadbalancer.NewService(sc.WithLogger(logr.Discard()))
	g.Expect(err).NotTo(HaveOccurred())

	x := &run{t: t, g: g, r: r, rec: rec, svc: svc, crn: crn, member: portName + "-" + machineName, tree: tr,
		cluster: openStackCluster(t, tr.lbID, lbName),
		// One object for every call, as CAPO's controller persists it:
		// the patched CAPO keeps its progress in an annotation on it.
		machine: &infrav1.OpenStackMachine{ObjectMeta: metav1.ObjectMeta{Name: machineName, Namespace: "default"}},
		report:  newReporter(t, r.name())}

	x.pendingCreate()
	x.memberError()
	x.pendingDelete()
}

// openStackCluster is what CAPO's cluster controller has filled in by the
// time it adds members. It is decoded from JSON, strictly, because the
// type of Spec.ControlPlaneEndpoint moved between CAPI releases.
func openStackCluster(t *testing.T, lbID, lbName string) *infrav1.OpenStackCluster {
	doc := fmt.Sprintf(`{
	  "metadata": {"name": "caporeal", "namespace": "default"},
	  "spec": {"controlPlaneEndpoint": {"host": "203.0.113.10", "port": 6443}},
	  "status": {
	    "network": {"id": "5d1c4e2a-8f3b-4a6c-9e7d-0b1a2c3d4e5f", "name": "caporeal",
	                "subnets": [{"id": %q, "name": "caporeal", "cidr": "10.0.0.0/24"}]},
	    "apiServerLoadBalancer": {"id": %q, "name": %q, "ip": "203.0.113.10", "internalIP": "10.0.0.5"}
	  }}`, vipSubnet, lbID, lbName)
	c := &infrav1.OpenStackCluster{}
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	g := NewWithT(t)
	g.Expect(dec.Decode(c)).To(Succeed())
	g.Expect(c.Spec.ControlPlaneEndpoint.IsValid()).To(BeTrue())
	g.Expect(c.Status.Network.Subnets).To(HaveLen(1))
	return c
}

// call is one CAPO call as the scenario saw it.
type call struct {
	res    *ctrl.Result
	err    error
	took   time.Duration
	ended  time.Time
	lbSeen []string // the load balancer's provisioning status in each of CAPO's GETs of it
	lb     string   // the load balancer right after the call, PROV/OP
	mem    member   // the machine's member right after the call
	// lookErr: reading Octavia after the call failed.
	lookErr error
}

// lastSeen is the load balancer status CAPO's verdict rested on.
func (c call) lastSeen() string {
	if len(c.lbSeen) == 0 {
		return ""
	}
	return c.lbSeen[len(c.lbSeen)-1]
}

func (c call) accepted() bool { return c.err == nil && c.res == nil }

func (c call) outcome() string {
	switch {
	case c.err != nil:
		return "error: " + c.err.Error()
	case c.res != nil:
		return fmt.Sprintf("requeue after %s", c.res.RequeueAfter.Round(time.Millisecond))
	}
	return "success"
}

type member struct{ id, prov, op string }

func (m member) String() string {
	if m.id == "" {
		return "absent"
	}
	return m.prov + "/" + m.op
}

// observe reads the load balancer and the machine's member, by CAPO's name.
func (x *run) observe() (lb string, m member) {
	x.t.Helper()
	lb, m, err := x.look()
	x.g.Expect(err).NotTo(HaveOccurred())
	return lb, m
}

// look is observe for goroutines, which must not fail the test themselves.
func (x *run) look() (lb string, m member, err error) {
	ctx := context.Background()
	l, err := loadbalancers.Get(ctx, x.r.client(), x.tree.lbID).Extract()
	if err != nil {
		return "", m, err
	}
	pages, err := pools.ListMembers(x.r.client(), x.tree.poolID, pools.ListMembersOpts{Name: x.member}).AllPages(ctx)
	if err != nil {
		return "", m, err
	}
	ms, err := pools.ExtractMembers(pages)
	if err != nil {
		return "", m, err
	}
	if len(ms) > 1 {
		return "", m, fmt.Errorf("%d members named %s", len(ms), x.member)
	}
	if len(ms) == 1 {
		m = member{id: ms[0].ID, prov: ms[0].ProvisioningStatus, op: ms[0].OperatingStatus}
	}
	return l.ProvisioningStatus + "/" + l.OperatingStatus, m, nil
}

// async starts a CAPO call; the channel yields it with Octavia's state
// read as soon as it returned.
func (x *run) async(f func() (*ctrl.Result, error)) <-chan call {
	ch := make(chan call, 1)
	x.rec.loadBalancerSeen()
	go func() {
		start := time.Now()
		res, err := f()
		c := call{res: res, err: err, took: time.Since(start), ended: time.Now(), lbSeen: x.rec.loadBalancerSeen()}
		c.lb, c.mem, c.lookErr = x.look()
		ch <- c
	}()
	return ch
}

func (x *run) wait(ch <-chan call) call {
	x.t.Helper()
	select {
	case c := <-ch:
		x.g.Expect(c.lookErr).NotTo(HaveOccurred(), "reading Octavia after CAPO's call")
		return c
	case <-time.After(callTimeout):
		x.t.Fatalf("CAPO's call did not return within %s", callTimeout)
	}
	return call{}
}

func (x *run) reconcileAsync() <-chan call {
	return x.async(func() (*ctrl.Result, error) {
		return reconcileMember(x.svc, x.cluster, x.machine, x.crn, machineIP)
	})
}

func (x *run) reconcile(step string) call {
	x.t.Helper()
	c := x.wait(x.reconcileAsync())
	x.report.row(step, "Reconcile", c)
	return c
}

func (x *run) deleteAsync() <-chan call {
	return x.async(func() (*ctrl.Result, error) {
		return nil, x.svc.DeleteLoadBalancerMember(x.cluster, x.machine, x.crn)
	})
}

// memberIs waits until the machine's member reads prov (any operating
// status) and returns it.
func (x *run) memberIs(prov string, timeout time.Duration) member {
	x.t.Helper()
	var m member
	x.g.Eventually(func() string {
		_, m = x.observe()
		return m.prov
	}, timeout, 20*time.Millisecond).Should(Equal(prov), "the member %s", x.member)
	return m
}

// requeue is the patched CAPO's requested delay; it is what CAPO's
// controller would wait before the next reconcile.
func requeue(c call) time.Duration {
	if c.res == nil {
		return 0
	}
	return c.res.RequeueAfter
}

// pendingCreate: CAPO adds the member while Octavia holds its work; once
// the API has accepted it (member PENDING_CREATE, load balancer
// PENDING_UPDATE) the load balancer turns ACTIVE while the member stays
// PENDING_CREATE, which is how amphorav2 reports it.
func (x *run) pendingCreate() {
	g := x.g
	x.r.hold(x.t)
	first := x.reconcileAsync()
	x.memberIs("PENDING_CREATE", 30*time.Second)
	x.r.setLoadBalancer(x.t, x.tree.lbID, "ACTIVE")
	c := x.wait(first)
	x.report.row("create; LB turned ACTIVE under a PENDING_CREATE member", "Reconcile", c)
	g.Expect(c.mem.prov).To(Equal("PENDING_CREATE"))
	if !patched {
		// The incident, on CAPO's own code: success, based on an ACTIVE
		// load balancer, with the member not serving.
		g.Expect(c.err).NotTo(HaveOccurred())
		g.Expect(c.accepted()).To(BeTrue(), "unpatched CAPO returned %s", c.outcome())
		g.Expect(c.lastSeen()).To(Equal("ACTIVE"), "CAPO's last look at the load balancer")
		g.Expect(c.lb).To(HavePrefix("ACTIVE/"))
	} else {
		g.Expect(c.err).NotTo(HaveOccurred())
		g.Expect(c.res).NotTo(BeNil(), "patched CAPO accepted a PENDING_CREATE member")
		g.Expect(c.took).To(BeNumerically("<", quickCall))
	}

	// Called again with the member still held: the same situation, the
	// load balancer ACTIVE for certain now.
	for i := 0; i < 2; i++ {
		if patched {
			time.Sleep(requeue(c))
		}
		c = x.reconcile("again, member still held PENDING_CREATE")
		g.Expect(c.err).NotTo(HaveOccurred())
		g.Expect(c.lb).To(HavePrefix("ACTIVE/"))
		g.Expect(c.mem.prov).To(Equal("PENDING_CREATE"))
		if patched {
			g.Expect(c.res).NotTo(BeNil(), "patched CAPO accepted a PENDING_CREATE member")
			g.Expect(c.took).To(BeNumerically("<", quickCall))
		} else {
			g.Expect(c.accepted()).To(BeTrue())
		}
	}

	// Octavia finishes the member: ACTIVE, and OFFLINE under CAPO's
	// monitor until a heartbeat (which the noop amphora never sends).
	x.r.release(x.t)
	x.memberIs("ACTIVE", 30*time.Second)
	if patched {
		time.Sleep(requeue(c))
	}
	c = x.reconcile("member ACTIVE, not yet ONLINE")
	g.Expect(c.err).NotTo(HaveOccurred())
	g.Expect(c.accepted()).To(Equal(!patched), "%s with the member %s", c.outcome(), c.mem)
	if !patched {
		return
	}

	// The health manager's verdict, written as it would write it.
	x.r.setMember(x.t, c.mem.id, "", "ONLINE")
	online := time.Now()
	calls := 0
	for !c.accepted() {
		g.Expect(time.Since(online)).To(BeNumerically("<", acceptWithin), "not accepted %s after the member went ONLINE: %s",
			time.Since(online), c.outcome())
		time.Sleep(requeue(c))
		c = x.wait(x.reconcileAsync())
		calls++
		g.Expect(c.err).NotTo(HaveOccurred())
		g.Expect(c.mem.String()).To(Equal("ACTIVE/ONLINE"))
	}
	x.report.row(fmt.Sprintf("member ONLINE: accepted after %d calls, %s after ONLINE", calls, time.Since(online).Round(100*time.Millisecond)),
		"Reconcile", c)
}

// memberError: Octavia's revert path leaves the member in provisioning
// ERROR under an ACTIVE load balancer.
func (x *run) memberError() {
	g := x.g
	_, old := x.observe()
	g.Expect(old.id).NotTo(BeEmpty())
	x.r.setMember(x.t, old.id, "ERROR", "")
	broken := time.Now()
	c := x.wait(x.reconcileAsync())
	same := "same member"
	if c.mem.id != old.id {
		same = "new member"
	}
	x.report.row("member set to ERROR; after the call: "+same, "Reconcile", c)
	g.Expect(c.err).NotTo(HaveOccurred())
	if !patched {
		// Left alone: same member, still ERROR, and CAPO satisfied.
		g.Expect(c.accepted()).To(BeTrue())
		g.Expect(c.mem.id).To(Equal(old.id))
		g.Expect(c.mem.prov).To(Equal("ERROR"))
		return
	}
	// Re-created: a new member under the same name; never accepted before
	// it serves. The scenario follows CAPO's requeues until the new member
	// is ACTIVE, which is when the outage the ERROR means is repaired.
	for c.mem.id == old.id || c.mem.prov != "ACTIVE" {
		g.Expect(c.res).NotTo(BeNil(), "patched CAPO accepted member %s (%s) after the ERROR", c.mem.id, c.mem)
		g.Expect(time.Since(broken)).To(BeNumerically("<", callTimeout), "no ACTIVE replacement; last: %s", c.mem)
		time.Sleep(requeue(c))
		c = x.wait(x.reconcileAsync())
		g.Expect(c.err).NotTo(HaveOccurred())
	}
	repaired := time.Since(broken)
	g.Expect(c.res).NotTo(BeNil(), "patched CAPO accepted a re-created member that is not ONLINE")
	x.report.row(fmt.Sprintf("replacement ACTIVE %s after the ERROR", repaired.Round(100*time.Millisecond)), "Reconcile", c)
}

// pendingDelete: CAPO deletes the member while Octavia holds the work; the
// load balancer turns ACTIVE while the member is still PENDING_DELETE.
func (x *run) pendingDelete() {
	g := x.g
	x.r.hold(x.t)
	ch := x.deleteAsync()
	x.memberIs("PENDING_DELETE", 30*time.Second)
	flipped := time.Now()
	x.r.setLoadBalancer(x.t, x.tree.lbID, "ACTIVE")
	if !patched {
		c := x.wait(ch)
		x.report.row("delete; LB turned ACTIVE under a PENDING_DELETE member", "Delete", c)
		g.Expect(c.err).NotTo(HaveOccurred())
		g.Expect(c.lastSeen()).To(Equal("ACTIVE"))
		g.Expect(c.mem.prov).To(Equal("PENDING_DELETE"), "unpatched CAPO returned with the member still there")
		x.r.release(x.t)
		x.memberIs("", 30*time.Second)
		return
	}
	// While the member is still there CAPO keeps looking and does not
	// return: three more requests of its own after the flip, the member
	// still PENDING_DELETE, the call still running.
	g.Eventually(func() int { return x.rec.requestsSince(flipped) }, 30*time.Second, 20*time.Millisecond).
		Should(BeNumerically(">=", 3))
	g.Expect(ch).NotTo(Receive(), "patched CAPO's delete returned with the member PENDING_DELETE")
	_, m := x.observe()
	g.Expect(m.prov).To(Equal("PENDING_DELETE"))
	released := time.Now()
	x.r.release(x.t)
	// Watch the member go while CAPO waits, to tell how long after it
	// went CAPO noticed.
	var gone time.Time
	var c call
	for done := false; !done; {
		select {
		case c = <-ch:
			done = true
		case <-time.After(20 * time.Millisecond):
			g.Expect(time.Since(released)).To(BeNumerically("<", callTimeout), "the delete did not return")
			if _, m := x.observe(); m.id == "" && gone.IsZero() {
				gone = time.Now()
			}
		}
	}
	g.Expect(c.lookErr).NotTo(HaveOccurred())
	g.Expect(c.err).NotTo(HaveOccurred())
	g.Expect(c.mem.id).To(BeEmpty(), "patched CAPO's delete returned with the member %s", c.mem)
	note := "gone before the test's next look"
	if !gone.IsZero() {
		note = fmt.Sprintf("%s after the member was gone", c.ended.Sub(gone).Round(10*time.Millisecond))
	}
	x.report.row(fmt.Sprintf("delete; LB ACTIVE under a PENDING_DELETE member; returned %s after Octavia resumed, %s",
		c.ended.Sub(released).Round(10*time.Millisecond), note), "Delete", c)
}

// reporter writes one row per CAPO call to the test log and, when asked,
// to the report file.
type reporter struct {
	t      *testing.T
	prefix string
	mu     sync.Mutex
}

func newReporter(t *testing.T, backend string) *reporter {
	variant := "unpatched"
	if patched {
		variant = "patched"
	}
	return &reporter{t: t, prefix: fmt.Sprintf("| %s | %s | %s ", capoVersion(), variant, backend)}
}

func (r *reporter) row(step, what string, c call) {
	lbSeen := runs(c.lbSeen)
	if lbSeen == "" {
		lbSeen = "—"
	}
	line := fmt.Sprintf("%s| %s | %s: %s | %s | %s | %s | %s |", r.prefix, step, what, c.outcome(),
		c.took.Round(time.Millisecond), lbSeen, c.lb, c.mem)
	r.t.Log(line)
	path := os.Getenv(reportVar)
	if path == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		r.t.Errorf("report: %v", err)
		return
	}
	defer f.Close()
	fmt.Fprintln(f, line)
}

// capoVersion is the CAPO release this binary was built with: run.sh says
// which; otherwise the module cache directory CAPO's source was built
// from names it.
func capoVersion() string {
	if v := os.Getenv("CAPOREAL_CAPO_VERSION"); v != "" {
		return v
	}
	file, _ := runtime.FuncForPC(reflect.ValueOf(loadbalancer.NewService).Pointer()).FileLine(0)
	if _, v, ok := strings.Cut(file, "cluster-api-provider-openstack@"); ok {
		return strings.SplitN(v, "/", 2)[0]
	}
	return "unknown"
}
