package conformance

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/pools"
	. "github.com/onsi/gomega"
	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	infrav1 "sigs.k8s.io/cluster-api-provider-openstack/api/v1beta1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/controllers"
	"github.com/membergate/membergate/internal/cloud/scope"
	"github.com/membergate/membergate/internal/scheme"
	"github.com/membergate/membergate/internal/testenv"
	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/memberwait"
)

// The gate's failure drills: the controller itself (GateReconciler, the
// code the manager runs) against real Octavia, with the faults injected
// where they happen — rows in Octavia's database, a stopped worker, a
// stopped API — and a real kube-apiserver (envtest) holding the Cluster,
// its Machines and the MemberGate. Reconciles are called directly on a fake
// clock, so a drill decides when the controller looks and how much time it
// believes has passed (half an hour of holding costs seconds); Octavia's
// own transitions take their real time. The promise under test: nothing is
// released before the new member has served through a settle window that
// the gate observed, nothing the status recorded is lost, and every
// condition says what is true.

var (
	gateEnvOnce sync.Once
	gateEnv     *envtest.Environment
	gateClient  client.Client
	gateEnvErr  error
)

// kube returns a client of the envtest API server the drills share,
// starting it on first use (TestMain stops it).
func kube(t *testing.T) client.Client {
	t.Helper()
	gateEnvOnce.Do(func() {
		ctrl.SetLogger(logr.Discard())
		root, err := testenv.RepoRoot()
		if err != nil {
			gateEnvErr = err
			return
		}
		env, err := testenv.New(root, "", testenv.GateSources...)
		if err != nil {
			gateEnvErr = err
			return
		}
		cfg, err := env.Start()
		if err != nil {
			gateEnvErr = fmt.Errorf("starting envtest: %w", err)
			return
		}
		gateEnv = env
		gateClient, gateEnvErr = client.New(cfg, client.Options{Scheme: scheme.New()})
	})
	if gateEnvErr != nil {
		t.Fatal(gateEnvErr)
	}
	return gateClient
}

func stopGateEnv() {
	if gateEnv != nil {
		_ = gateEnv.Stop()
	}
}

// drillEpoch is where the gate's fake clock starts.
var drillEpoch = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// drill is one CAPO cluster in envtest whose API server load balancer is in
// real Octavia: a listener on 6443, a pool with CAPO's TCP monitor, and a
// member per control-plane Machine.
type drill struct {
	t        *testing.T
	g        Gomega
	b        *backend
	kc       client.Client
	ns       string
	clk      *clocktesting.FakeClock
	recorder *events.FakeRecorder
	r        *controllers.GateReconciler
	lbID     string
	poolID   string
	members  map[int]string // Machine index → member ID
	events   []string       // drained by everything()
	// logs gathers every line the gate logs, at every verbosity, for the
	// drills that check no secret reaches a log.
	logs *logLines
}

// logLines is a logr sink's output, a line per call.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) add(prefix, args string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, prefix+" "+args)
}

// take returns the lines gathered since the last take.
func (l *logLines) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.lines
	l.lines = nil
	return out
}

// drillMachines is the control plane before the rollout: cp-0 and cp-1,
// both serving.
const drillMachines = 2

func newDrill(t *testing.T) *drill {
	t.Helper()
	s := realStack(t)
	return newDrillAs(t, s.stackClouds(), cloudAppCred)
}

// newDrillAs is newDrill with the identity Secret's clouds.yaml and cloud
// name given: CAPO's identityRef, read by the manager's SecretSources.
func newDrillAs(t *testing.T, clouds, cloudName string) *drill {
	t.Helper()
	b := newOctaviaBackend(t)
	d := &drill{t: t, g: NewWithT(t), b: b, kc: kube(t), clk: clocktesting.NewFakeClock(drillEpoch),
		recorder: events.NewFakeRecorder(1000), members: map[int]string{}, logs: &logLines{}}
	d.ns = fmt.Sprintf("drill-%d", time.Now().UnixNano())
	d.g.Expect(d.kc.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: d.ns}})).To(Succeed())

	d.lbID, d.poolID = buildTree(t, b, true)
	// The identity Secret CAPO would hold: a clouds.yaml for the stack's
	// Keystone, no endpoint overrides (the catalog names Octavia).
	d.g.Expect(d.kc.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: d.ns, Name: "cloud-config"},
		Data: map[string][]byte{"clouds.yaml": []byte(clouds)}})).To(Succeed())
	osc := &infrav1.OpenStackCluster{ObjectMeta: metav1.ObjectMeta{Namespace: d.ns, Name: "test"},
		Spec: infrav1.OpenStackClusterSpec{IdentityRef: infrav1.OpenStackIdentityReference{Name: "cloud-config", CloudName: cloudName}}}
	d.g.Expect(d.kc.Create(ctx, osc)).To(Succeed())
	osc.Status.APIServerLoadBalancer = &infrav1.LoadBalancer{ID: d.lbID, IP: "192.0.2.10", InternalIP: "10.0.1.2"}
	d.g.Expect(d.kc.Status().Update(ctx, osc)).To(Succeed())
	cluster := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: d.ns, Name: "test"},
		Spec: clusterv1.ClusterSpec{
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.SchemeGroupVersion.Group, Kind: "OpenStackCluster", Name: "test"},
			ControlPlaneRef:   clusterv1.ContractVersionedObjectReference{APIGroup: "controlplane.cluster.x-k8s.io", Kind: "KubeadmControlPlane", Name: "test"},
		}}
	d.g.Expect(d.kc.Create(ctx, cluster)).To(Succeed())
	for i := 0; i < drillMachines; i++ {
		d.addMachine(i)
		d.serving(d.addMember(i))
	}
	d.r = d.reconciler()
	// The starting point: both members serve, and the gate has seen them
	// do so for a settle window.
	d.run("both Machines member-ready", 5*time.Minute, func() bool { return d.ready(0) && d.ready(1) })
	return d
}

// reconciler is a fresh controller, as after a restart of the manager.
func (d *drill) reconciler() *controllers.GateReconciler {
	return &controllers.GateReconciler{Client: d.kc, Recorder: d.recorder, Clock: d.clk, Rand: func() float64 { return 0.5 },
		Sources: &scope.SecretSources{Client: d.kc, Budget: rate.Inf}}
}

func drillAddr(i int) string { return fmt.Sprintf("10.0.1.%d", 10+i) }

// addMachine creates control-plane Machine cp-i with its Node and address;
// a finalizer keeps it, once deleted, for the gate's hook to hold.
func (d *drill) addMachine(i int) {
	m := &clusterv1.Machine{ObjectMeta: metav1.ObjectMeta{Namespace: d.ns, Name: fmt.Sprintf("cp-%d", i),
		Labels:     map[string]string{clusterv1.ClusterNameLabel: "test", clusterv1.MachineControlPlaneLabel: ""},
		Finalizers: []string{"test.membergate.io/keep"}},
		Spec: clusterv1.MachineSpec{ClusterName: "test", Bootstrap: clusterv1.Bootstrap{DataSecretName: ptr.To("bootstrap")},
			InfrastructureRef: clusterv1.ContractVersionedObjectReference{APIGroup: infrav1.SchemeGroupVersion.Group, Kind: "OpenStackMachine", Name: fmt.Sprintf("cp-%d", i)}}}
	d.g.Expect(d.kc.Create(ctx, m)).To(Succeed())
	m.Status.NodeRef = clusterv1.MachineNodeReference{Name: fmt.Sprintf("node-%d", i)}
	m.Status.Addresses = clusterv1.MachineAddresses{{Type: clusterv1.MachineInternalIP, Address: drillAddr(i)}}
	d.g.Expect(d.kc.Status().Update(ctx, m)).To(Succeed())
}

// addMember creates cp-i's member through the Octavia API, as CAPO does,
// without waiting for it.
func (d *drill) addMember(i int) string {
	m, err := pools.CreateMember(ctx, d.b.client, d.poolID, pools.CreateMemberOpts{
		Name: fmt.Sprintf("cp-%d", i), Address: drillAddr(i), ProtocolPort: 6443}).Extract()
	d.g.Expect(err).NotTo(HaveOccurred())
	d.members[i] = m.ID
	return m.ID
}

// serving waits for the worker to finish the member and then marks it
// ONLINE in the database, as the health manager would after a heartbeat
// (the noop amphora driver sends none).
func (d *drill) serving(memberID string) {
	d.t.Helper()
	waitActive(d.t, d.b, d.lbID, "lb")
	d.b.eventually(d.t, "member ACTIVE", 30*time.Second, func() (bool, string) {
		st := d.b.stack.sql(d.t, "SELECT provisioning_status FROM member WHERE id='%s'", memberID)
		return st == memberwait.StatusActive, st
	})
	d.b.setMemberStatus(d.t, memberID, "", memberwait.StatusOnline)
}

func (d *drill) reconcile() ctrl.Result {
	d.t.Helper()
	logger := funcr.New(d.logs.add, funcr.Options{Verbosity: 10})
	res, err := d.r.Reconcile(logr.NewContext(ctx, logger), ctrl.Request{NamespacedName: types.NamespacedName{Namespace: d.ns, Name: "test"}})
	d.g.Expect(err).NotTo(HaveOccurred())
	return res
}

// run reconciles, stepping the fake clock by each requested requeue, until
// cond holds; it fails after limit of virtual time and returns the virtual
// time it took.
func (d *drill) run(what string, limit time.Duration, cond func() bool) time.Duration {
	d.t.Helper()
	start := d.clk.Now()
	for {
		res := d.reconcile()
		if cond() {
			return d.clk.Since(start)
		}
		if d.clk.Since(start) > limit {
			d.t.Fatalf("%s: not reached after %s of virtual time; status: %s", what, limit, d.describe())
		}
		d.clk.Step(res.RequeueAfter)
	}
}

// hold reconciles for span of virtual time and checks at every step that
// cp-i keeps the hook and check holds.
func (d *drill) hold(i int, span time.Duration, check func()) {
	d.t.Helper()
	start := d.clk.Now()
	for d.clk.Since(start) < span {
		res := d.reconcile()
		d.g.Expect(d.hooked(i)).To(BeTrue(), "cp-%d released after %s: %s", i, d.clk.Since(start), d.describe())
		if check != nil {
			check()
		}
		d.clk.Step(res.RequeueAfter)
	}
}

func (d *drill) machine(i int) *clusterv1.Machine {
	m := &clusterv1.Machine{}
	d.g.Expect(d.kc.Get(ctx, types.NamespacedName{Namespace: d.ns, Name: fmt.Sprintf("cp-%d", i)}, m)).To(Succeed())
	return m
}

func (d *drill) hooked(i int) bool {
	return d.machine(i).Annotations[v1alpha1.PreDrainHookAnnotation] == v1alpha1.HookOwner
}

func (d *drill) condition(i int) metav1.Condition {
	for _, c := range d.machine(i).Status.Conditions {
		if c.Type == v1alpha1.MemberReadyCondition {
			return c
		}
	}
	return metav1.Condition{}
}

func (d *drill) ready(i int) bool { return d.condition(i).Status == metav1.ConditionTrue }

func (d *drill) memberGate() *v1alpha1.MemberGate {
	mg := &v1alpha1.MemberGate{}
	d.g.Expect(d.kc.Get(ctx, types.NamespacedName{Namespace: d.ns, Name: "test"}, mg)).To(Succeed())
	return mg
}

func (d *drill) row(i int) v1alpha1.MachineMembers {
	for _, r := range d.memberGate().Status.Machines {
		if r.Name == fmt.Sprintf("cp-%d", i) {
			return r
		}
	}
	d.t.Fatalf("no status row for cp-%d: %s", i, d.describe())
	return v1alpha1.MachineMembers{}
}

// startRollout is KCP's first step with maxSurge 1: a new Machine cp-2
// with its member (made by CAPO), then the oldest Machine deleted.
func (d *drill) startRollout() {
	d.addMachine(drillMachines)
	d.addMember(drillMachines)
}

func (d *drill) deleteMachine(i int) {
	d.g.Expect(d.kc.Delete(ctx, d.machine(i))).To(Succeed())
}

// describe is the MemberGate's status in one line, for failures.
func (d *drill) describe() string {
	mg := &v1alpha1.MemberGate{}
	if err := d.kc.Get(ctx, types.NamespacedName{Namespace: d.ns, Name: "test"}, mg); err != nil {
		return err.Error()
	}
	var b strings.Builder
	lb, blocking := mg.Status.LoadBalancer, ""
	if c := meta.FindStatusCondition(mg.Status.Conditions, v1alpha1.BlockingCondition); c != nil {
		blocking = string(c.Status) + ": " + c.Message
	}
	fmt.Fprintf(&b, "LB %s/%s, member-ready %d of %d, blocking %q;", lb.ProvisioningStatus, lb.OperatingStatus,
		ptr.Deref(mg.Status.MemberReadyReplicas, 0), ptr.Deref(mg.Status.Replicas, 0), blocking)
	for _, r := range mg.Status.Machines {
		fmt.Fprintf(&b, " %s[held=%v reason=%s", r.Name, r.Held, r.Reason)
		for _, m := range r.Members {
			fmt.Fprintf(&b, " %s/%s", m.ProvisioningStatus, m.OperatingStatus)
		}
		b.WriteString("]")
	}
	return b.String()
}

// warnings drains the recorded events and returns the Warning reasons.
func (d *drill) warnings() []string {
	var out []string
	for {
		select {
		case e := <-d.recorder.Events:
			if strings.HasPrefix(e, corev1.EventTypeWarning+" ") {
				out = append(out, strings.Fields(e)[1])
			}
		default:
			return out
		}
	}
}

// finish marks cp-2's member serving and runs until cp-0 is released,
// checking the release comes no sooner than a settle window after the gate
// first saw the member serve. It returns that time.
func (d *drill) finish(what string) time.Duration {
	d.t.Helper()
	d.b.setMemberStatus(d.t, d.members[drillMachines], memberwait.StatusActive, memberwait.StatusOnline)
	var firstServing time.Time
	took := d.run(what, 10*time.Minute, func() bool {
		if firstServing.IsZero() && d.row(drillMachines).MemberReady {
			firstServing = d.clk.Now()
		}
		if firstServing.IsZero() {
			// Not serving yet in the gate's eyes: nothing may be released.
			d.g.Expect(d.hooked(0)).To(BeTrue(), "cp-0 released before cp-2's member was seen serving: %s", d.describe())
		}
		return !d.hooked(0)
	})
	settle := d.settleWindow()
	// The member counts as ready (MemberReady) once it served a settle
	// window; the serving itself began at its Since.
	since := d.row(drillMachines).Members[0].Since.Time
	d.g.Expect(d.clk.Now().Sub(since)).To(BeNumerically(">=", settle), "released %s after cp-2's member began serving, settle window %s",
		d.clk.Now().Sub(since), settle)
	for i := 1; i <= drillMachines; i++ {
		d.g.Expect(d.ready(i)).To(BeTrue(), "cp-%d not member-ready after the release: %s", i, d.condition(i).Message)
	}
	return took
}

// settleWindow is the MemberGate's, or memberwait's default when unset.
func (d *drill) settleWindow() time.Duration {
	if w := d.memberGate().Spec.SettleWindow; w != nil {
		return w.Duration
	}
	return memberwait.DefaultSettleWindow
}

// TestGateDrillStuckPendingCreate: the amphorav2 quirk, made permanent in
// Octavia's database — the load balancer ACTIVE, the new member
// PENDING_CREATE. The gate holds the old Machine for good (half an hour of
// virtual time), says why on the new Machine, raises the alert once, and
// lets go only after the member has served a settle window.
func TestGateDrillStuckPendingCreate(t *testing.T) {
	d := newDrill(t)
	d.startRollout()
	d.serving(d.members[drillMachines])
	d.b.setMemberStatus(t, d.members[drillMachines], memberwait.StatusPendingCreate, memberwait.StatusOffline)
	d.deleteMachine(0)
	heldSince := time.Time{}
	d.hold(0, 30*time.Minute, func() {
		c := d.condition(drillMachines)
		d.g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		d.g.Expect(c.Reason).To(Equal(gate.ReasonMemberPending))
		d.g.Expect(c.Message).To(ContainSubstring(memberwait.StatusPendingCreate))
		d.g.Expect(d.ready(1)).To(BeTrue(), "cp-1 still serves: %s", d.condition(1).Message)
		row := d.row(0)
		d.g.Expect(row.Held).To(BeTrue())
		if heldSince.IsZero() {
			heldSince = row.HeldSince.Time
		}
		d.g.Expect(row.HeldSince.Time).To(Equal(heldSince), "the hold's start changed")
	})
	d.g.Expect(d.row(0).Alerted).To(BeTrue())
	d.g.Expect(d.warnings()).To(HaveExactElements(gate.EventHeldTooLong), "one alert for the hold")
	took := d.finish("release after the stuck member flips")
	report.timing("octavia", "gate drill: stuck PENDING_CREATE row flipped → release (virtual time, settle window 45 s)", took)
}

// TestGateDrillMemberError: the member's provisioning ERROR (Octavia's
// revert path), then a member ACTIVE but failing its health checks
// (operating ERROR: the security-group case). Both hold, each with its own
// reason; neither is ever mistaken for serving.
func TestGateDrillMemberError(t *testing.T) {
	d := newDrill(t)
	d.startRollout()
	d.serving(d.members[drillMachines])
	d.deleteMachine(0)
	for _, tc := range []struct{ prov, op, reason string }{
		{memberwait.StatusError, memberwait.StatusOffline, gate.ReasonMemberError},
		{memberwait.StatusActive, memberwait.StatusError, gate.ReasonMemberNotServing},
	} {
		d.b.setMemberStatus(t, d.members[drillMachines], tc.prov, tc.op)
		d.hold(0, 10*time.Minute, func() {
			c := d.condition(drillMachines)
			d.g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			d.g.Expect(c.Reason).To(Equal(tc.reason), "%s/%s", tc.prov, tc.op)
			d.g.Expect(c.Message).To(ContainSubstring(tc.prov + "/" + tc.op))
		})
	}
	d.finish("release after the member is repaired")
}

// TestGateDrillWorkerDown: octavia-worker stopped when CAPO adds the new
// member. The API accepts it (PENDING_CREATE, the load balancer
// PENDING_UPDATE) and the work waits in RabbitMQ; the gate holds for as
// long as that lasts and lets go after the worker is back and the member
// has served a settle window.
func TestGateDrillWorkerDown(t *testing.T) {
	d := newDrill(t)
	d.b.stopWorker(t)
	d.startRollout()
	d.deleteMachine(0)
	d.hold(0, 10*time.Minute, func() {
		c := d.condition(drillMachines)
		d.g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
		d.g.Expect(c.Reason).To(BeElementOf(gate.ReasonMemberPending, gate.ReasonLoadBalancerNotReady))
		d.g.Expect(d.memberGate().Status.LoadBalancer.ProvisioningStatus).To(Equal("PENDING_UPDATE"))
	})
	started := time.Now()
	d.b.startWorker(t)
	d.serving(d.members[drillMachines])
	report.timing("octavia", "gate drill: octavia-worker back → queued member ACTIVE", time.Since(started))
	d.finish("release after the worker is back")
}

// TestGateDrillAPIDown: octavia-api stopped while the new member settles,
// and the manager restarted during the outage. Every reconcile fails to
// read Octavia: the gate holds, says Octavia is unavailable on the
// MemberGate, keeps every Machine's last known verdict (saying it is one)
// and the hold's record. When the API is back the settle window starts
// again: statuses not observed cannot be credited as served.
func TestGateDrillAPIDown(t *testing.T) {
	d := newDrill(t)
	d.startRollout()
	d.serving(d.members[drillMachines])
	d.deleteMachine(0)
	// The new member serves; the gate sees it and starts its settle window.
	d.run("cp-2's member seen ACTIVE/ONLINE", 2*time.Minute, func() bool {
		m := d.row(drillMachines).Members
		return len(m) == 1 && m[0].ProvisioningStatus+"/"+m[0].OperatingStatus == "ACTIVE/ONLINE"
	})
	d.g.Expect(d.hooked(0)).To(BeTrue())
	before := d.row(0)

	d.b.stack.ctl(t, "stop", "octavia-api")
	t.Cleanup(func() { d.b.stack.ensureRunning(t, "octavia-api") })
	// Between polls the gate judges on its last observation; the next poll
	// its schedule asks for finds the API gone.
	noticed := d.run("the outage noticed", 15*time.Second, func() bool {
		d.g.Expect(d.hooked(0)).To(BeTrue())
		ready := meta.FindStatusCondition(d.memberGate().Status.Conditions, v1alpha1.ReadyCondition)
		return ready != nil && ready.Reason == gate.ReasonOctaviaUnavailable
	})
	t.Logf("outage noticed after %s (virtual)", noticed)
	d.hold(0, 10*time.Minute, func() {
		for i := 1; i <= drillMachines; i++ {
			c := d.condition(i)
			d.g.Expect(c.Message).To(ContainSubstring("last known, Octavia could not be read since"), "cp-%d", i)
		}
		// The settling member is not credited with what nobody saw.
		d.g.Expect(d.condition(drillMachines).Status).NotTo(Equal(metav1.ConditionTrue))
		ready := meta.FindStatusCondition(d.memberGate().Status.Conditions, v1alpha1.ReadyCondition)
		d.g.Expect(ready).NotTo(BeNil())
		d.g.Expect(ready.Status).To(Equal(metav1.ConditionFalse))
		d.g.Expect(ready.Message).To(ContainSubstring("connection refused"))
	})
	// The manager restarts while Octavia is still down: all it knew in
	// memory is gone, the status is all it has.
	d.r = d.reconciler()
	d.hold(0, time.Minute, nil)
	after := d.row(0)
	d.g.Expect(after.HeldSince).To(Equal(before.HeldSince), "the hold's record changed across the outage and the restart")
	d.g.Expect(after.Held).To(BeTrue())

	d.b.stack.ctl(t, "start", "octavia-api")
	back := d.clk.Now()
	took := d.finish("release after the API is back")
	settle := d.settleWindow()
	d.g.Expect(took).To(BeNumerically(">=", settle), "released %s after the API came back; the settle window (%s) must be observed again", took, settle)
	t.Logf("released %s (virtual) after octavia-api came back at %s", took, back.Format(time.TimeOnly))
}
