package webhooks

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/membergate/membergate/api/v1alpha1"
)

func gateWith(mod func(*v1alpha1.MemberGateSpec)) *v1alpha1.MemberGate {
	mg := &v1alpha1.MemberGate{ObjectMeta: metav1.ObjectMeta{Name: "prod"}, Spec: v1alpha1.MemberGateSpec{ClusterName: "prod"}}
	if mod != nil {
		mod(&mg.Spec)
	}
	return mg
}

// named renames a MemberGate.
func named(name string, mg *v1alpha1.MemberGate) *v1alpha1.MemberGate {
	mg.Name = name
	return mg
}

func dur(d time.Duration) *metav1.Duration { return &metav1.Duration{Duration: d} }
func i32(n int32) *int32                   { return &n }

func TestValidate(t *testing.T) {
	cases := []struct {
		name    string
		mg      *v1alpha1.MemberGate
		old     *v1alpha1.MemberGate
		errs    []string // substrings the error must contain; none = valid
		warning string
	}{
		{name: "defaults are valid", mg: gateWith(nil)},
		{name: "every field set sensibly", mg: gateWith(func(s *v1alpha1.MemberGateSpec) {
			s.Mode, s.NoMonitorPolicy, s.SettleWindow, s.AlertAfter, s.MinServingMembers = v1alpha1.ModeAudit, "Serving", dur(time.Minute), dur(time.Hour), i32(2)
		})},
		{name: "no cluster", mg: gateWith(func(s *v1alpha1.MemberGateSpec) { s.ClusterName = "" }), errs: []string{"spec.clusterName", "name the Cluster"}},
		{name: "cluster changed", mg: gateWith(func(s *v1alpha1.MemberGateSpec) { s.ClusterName = "other" }), old: gateWith(nil),
			errs: []string{"immutable", `was "prod"`}},
		{name: "unknown mode", mg: gateWith(func(s *v1alpha1.MemberGateSpec) { s.Mode = "Enforcing" }), errs: []string{"spec.mode", `"Enforce"`}},
		{name: "unknown NO_MONITOR policy", mg: gateWith(func(s *v1alpha1.MemberGateSpec) { s.NoMonitorPolicy = "Ignore" }), errs: []string{"spec.noMonitorPolicy"}},
		{name: "negative settle window", mg: gateWith(func(s *v1alpha1.MemberGateSpec) { s.SettleWindow = dur(-time.Second) }), errs: []string{"spec.settleWindow", "between 0s and 10m0s"}},
		{name: "zero heartbeat", mg: gateWith(func(s *v1alpha1.MemberGateSpec) { s.HeartbeatInterval = dur(0) }), errs: []string{"spec.heartbeatInterval", "between 1s and 5m0s"}},
		{name: "hour-long heartbeat", mg: gateWith(func(s *v1alpha1.MemberGateSpec) { s.HeartbeatInterval = dur(time.Hour) }), errs: []string{"spec.heartbeatInterval"}},
		{name: "hour-long settle window", mg: gateWith(func(s *v1alpha1.MemberGateSpec) { s.SettleWindow = dur(time.Hour) }), errs: []string{"spec.settleWindow"}},
		{name: "short settle window warns", mg: gateWith(func(s *v1alpha1.MemberGateSpec) { s.SettleWindow = dur(5 * time.Second) }), warning: "heartbeat"},
		{name: "negative drain period", mg: gateWith(func(s *v1alpha1.MemberGateSpec) { s.DrainPeriod = dur(-time.Second) }), errs: []string{"spec.drainPeriod", "between 0s (no draining) and 10m0s"}},
		{name: "hour-long drain period", mg: gateWith(func(s *v1alpha1.MemberGateSpec) { s.DrainPeriod = dur(time.Hour) }), errs: []string{"spec.drainPeriod"}},
		{name: "no draining", mg: gateWith(func(s *v1alpha1.MemberGateSpec) { s.DrainPeriod = dur(0) })},
		{name: "alert too soon", mg: gateWith(func(s *v1alpha1.MemberGateSpec) { s.AlertAfter = dur(10 * time.Second) }), errs: []string{"spec.alertAfter", "between 1m0s"}},
		{name: "zero serving members", mg: gateWith(func(s *v1alpha1.MemberGateSpec) { s.MinServingMembers = i32(0) }), errs: []string{"spec.minServingMembers", "at least 1", "leave it unset"}},
		{name: "named otherwise than its cluster", mg: named("prod-policy", gateWith(nil)),
			errs: []string{"metadata.name", `"prod-policy"`, `spec.clusterName "prod"`, "name the MemberGate after its Cluster"}},
		{name: "named after another cluster", mg: named("staging", gateWith(nil)), errs: []string{"metadata.name", "name the MemberGate after its Cluster"}},
		// Both names are immutable: an update cannot make them differ, and
		// one made before the rule stays updatable (its finalizer can go),
		// with a warning that says which Cluster it gates.
		{name: "an old MemberGate named otherwise can still be updated", mg: named("prod-policy", gateWith(nil)), old: named("prod-policy", gateWith(nil)),
			warning: `applies to the Cluster named "prod-policy"`},
		{name: "several errors at once", mg: gateWith(func(s *v1alpha1.MemberGateSpec) { s.Mode = "x"; s.MinServingMembers = i32(-1) }),
			errs: []string{"spec.mode", "spec.minServingMembers"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { expectValidate(t, tc.mg, tc.old, tc.errs, tc.warning) })
	}
}

// expectValidate validates mg (an update from old, if any): an error that
// contains every one of errs, or none when errs is empty, and a warning that
// contains warning, if given. It returns the warnings.
func expectValidate(t *testing.T, mg, old *v1alpha1.MemberGate, errs []string, warning string) admission.Warnings {
	g := NewWithT(t)
	warnings, err := validate(mg, old)
	if len(errs) == 0 {
		g.Expect(err).NotTo(HaveOccurred())
	} else {
		g.Expect(err).To(HaveOccurred())
		for _, want := range errs {
			g.Expect(err.Error()).To(ContainSubstring(want))
		}
	}
	if warning != "" {
		g.Expect(strings.Join(warnings, " ")).To(ContainSubstring(warning))
	}
	return warnings
}

func TestDefault(t *testing.T) {
	g := NewWithT(t)
	mg := gateWith(nil)
	g.Expect(MemberGate{}.Default(context.Background(), mg)).To(Succeed())
	g.Expect(mg.Spec.Mode).To(Equal(v1alpha1.ModeEnforce))
	g.Expect(mg.Spec.NoMonitorPolicy).To(BeEquivalentTo("Provisioned"))
	g.Expect(mg.Spec.SettleWindow).To(BeNil(), "unset means Auto, from the health monitor, and must stay unset")
	g.Expect(mg.Spec.AlertAfter.Duration).To(Equal(15 * time.Minute))
	g.Expect(mg.Spec.MinServingMembers).To(BeNil(), "unset means all, and must stay unset")
	g.Expect(mg.Spec.DrainPeriod.Duration).To(Equal(30 * time.Second))

	set := gateWith(func(s *v1alpha1.MemberGateSpec) { s.Mode, s.SettleWindow = v1alpha1.ModeAudit, dur(0) })
	g.Expect(MemberGate{}.Default(context.Background(), set)).To(Succeed())
	g.Expect(set.Spec.Mode).To(Equal(v1alpha1.ModeAudit))
	g.Expect(set.Spec.SettleWindow.Duration).To(BeZero(), "an explicit 0s is kept")
}
