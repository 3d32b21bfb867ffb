package securitygroup

import (
	"context"
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/controllers"
	"github.com/membergate/membergate/internal/cloud/scope"
	managerscheme "github.com/membergate/membergate/internal/scheme"
	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
)

// interleaved is a reader that runs the other reconciler right after the
// first read of the MemberGate: the reconciler reading goes on with a copy
// older than the other's write, as it may whenever both run.
type interleaved struct {
	client.Reader
	then func()
	done bool
}

func (r *interleaved) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	err := r.Reader.Get(ctx, key, obj, opts...)
	if _, ok := obj.(*v1alpha1.MemberGate); ok && err == nil && !r.done {
		r.done = true
		r.then()
	}
	return err
}

// The gate and the security-group reconciler write one MemberGate status,
// each from a copy read before the other's write: neither undoes the
// other's fields or conditions.
func TestReconcilersKeepEachOthersStatus(t *testing.T) {
	w := newWorld(t, options{machines: 2, cpGroups: []string{"cp"}, sg: enforce()})
	req := ctrl.Request{NamespacedName: clientKey(w.cluster)}
	run := func(r interface {
		Reconcile(context.Context, ctrl.Request) (ctrl.Result, error)
	}) func() {
		return func() {
			_, err := r.Reconcile(w.ctx, req)
			w.g.Expect(err).NotTo(HaveOccurred())
		}
	}

	// The security groups write theirs while the gate holds a copy without
	// them.
	w.gate.APIReader = &interleaved{Reader: k8sClient, then: run(w.r)}
	run(w.gate)()
	mg := w.memberGate()
	w.g.Expect(mg.Status.Replicas).To(HaveValue(BeEquivalentTo(2)), "the gate's fields")
	w.g.Expect(mg.Status.MemberReadyReplicas).To(HaveValue(BeEquivalentTo(0)), "the gate's fields")
	w.g.Expect(meta.FindStatusCondition(mg.Status.Conditions, v1alpha1.ReadyCondition)).To(HaveField("Reason", "Observed"))
	w.g.Expect(meta.FindStatusCondition(mg.Status.Conditions, v1alpha1.BlockingCondition)).NotTo(BeNil())
	w.g.Expect(mg.Status.SecurityGroups).NotTo(BeNil(), "the gate's patch removed status.securityGroups")
	w.g.Expect(mg.Status.SecurityGroups.OwnedRules).To(HaveLen(1))
	w.g.Expect(w.sgCondition()).To(HaveField("Reason", ReasonSynced), "the gate's patch removed SecurityGroupsReady")

	// Now the gate writes while the security groups hold a copy older
	// than its write: Octavia fails (the gate's Ready turns False) and the
	// policy turns Disabled (the security groups clean up).
	w.octa.InjectFault(octaviatest.Fault{PathContains: "/status", Codes: []int{503}})
	w.setSG(&v1alpha1.SecurityGroupsSpec{Mode: v1alpha1.SecurityGroupsDisabled})
	w.clk.Step(time.Minute)
	w.gate.APIReader = k8sClient
	w.r.APIReader = &interleaved{Reader: k8sClient, then: run(w.gate)}
	run(w.r)()
	mg = w.memberGate()
	ready := meta.FindStatusCondition(mg.Status.Conditions, v1alpha1.ReadyCondition)
	w.g.Expect(ready.Status).To(Equal(metav1.ConditionFalse), "the security groups' patch undid the gate's Ready: %+v", ready)
	w.g.Expect(ready.Reason).To(Equal(gate.ReasonOctaviaUnavailable))
	w.g.Expect(meta.FindStatusCondition(mg.Status.Conditions, v1alpha1.BlockingCondition)).To(HaveField("Message", ContainSubstring("503")),
		"the security groups' patch undid the gate's Blocking condition")
	w.g.Expect(mg.Status.Machines).To(HaveLen(2))
	w.g.Expect(w.sgCondition()).To(HaveField("Reason", ReasonDisabled))
	w.g.Expect(mg.Status.SecurityGroups.Mode).To(Equal(v1alpha1.SecurityGroupsDisabled))
	w.g.Expect(w.ours(w.cp)).To(BeEmpty())
}

// Run by one manager, as cmd/manager runs them, the two reconcilers each
// write their part of the status and leave the other's in place while they
// keep reacting to each other's writes.
func TestReconcilersRunTogether(t *testing.T) {
	w := newWorld(t, options{machines: 2, cpGroups: []string{"cp"}, sg: enforce()})
	w.startManager()

	both := func(g Gomega) {
		mg := w.memberGate()
		g.Expect(meta.FindStatusCondition(mg.Status.Conditions, v1alpha1.ReadyCondition)).To(HaveField("Reason", "Observed"))
		g.Expect(meta.FindStatusCondition(mg.Status.Conditions, v1alpha1.BlockingCondition)).NotTo(BeNil())
		g.Expect(mg.Status.Machines).NotTo(BeEmpty())
		g.Expect(meta.FindStatusCondition(mg.Status.Conditions, v1alpha1.SecurityGroupsReadyCondition)).To(HaveField("Reason", ReasonSynced))
		g.Expect(mg.Status.SecurityGroups).NotTo(BeNil())
		g.Expect(mg.Status.SecurityGroups.OwnedRules).To(HaveLen(1))
	}
	w.g.Eventually(both, time.Minute, 200*time.Millisecond).Should(Succeed())
	// A change each reacts to: a new control-plane Machine (the gate
	// hooks it, the security groups read its port) while both keep their
	// parts. The port exists before the Machine has its address, as CAPO
	// creates them: a pass between the two would find no port and look
	// again only a minute later.
	w.neutron.AddPort("cp-2", w.subnet, w.addr(2), w.cp)
	w.addNode("cp-2", "cp-2", w.addr(2), true)
	w.g.Eventually(func(g Gomega) {
		both(g)
		g.Expect(w.memberGate().Status.SecurityGroups.Groups).To(ContainElement(HaveField("Machines", ContainElement("cp-2"))))
	}, time.Minute, 200*time.Millisecond).Should(Succeed())
	w.g.Consistently(both, 3*time.Second, 200*time.Millisecond).Should(Succeed())
}

// startManager runs both reconcilers in one manager, as cmd/manager runs
// them, on the world's namespace, until the test ends.
func (w *world) startManager() {
	w.t.Helper()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:     managerscheme.New(),
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Cache:      cache.Options{DefaultNamespaces: map[string]cache.Config{w.ns: {}}},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	w.g.Expect(err).NotTo(HaveOccurred())
	sources := &scope.SecretSources{Client: mgr.GetAPIReader(), Budget: rate.Inf}
	w.g.Expect((&controllers.GateReconciler{Client: mgr.GetClient(), Recorder: w.recorder, Sources: sources}).SetupWithManager(mgr)).To(Succeed())
	w.g.Expect((&Reconciler{Client: mgr.GetClient(), Recorder: w.recorder, Networks: sources}).SetupWithManager(mgr)).To(Succeed())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	w.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			w.t.Errorf("manager: %v", err)
		}
	})
	go func() {
		// Nobody reads the events here; the recorder must not block.
		for range w.recorder.Events {
		}
	}()
}
