// Package webhooks holds the MemberGate admission webhooks: defaulting, and
// validation whose messages say what to change.
package webhooks

import (
	"context"
	"fmt"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/memberwait"
)

// Bounds of the policy's durations. A settle window longer than ten minutes
// would hold every rollout for as long on a healthy cloud; an alert sooner
// than a minute would fire on every ordinary member create.
const (
	MaxSettleWindow = 10 * time.Minute
	MinAlertAfter   = time.Minute
	MaxAlertAfter   = 7 * 24 * time.Hour
	// MaxDrainPeriod bounds spec.drainPeriod: kube-apiserver ends a
	// non-watch request after --request-timeout (1m by default), so ten
	// minutes is more than any drain needs.
	MaxDrainPeriod = 10 * time.Minute
	// DefaultSettleWindow is the window of a pool whose monitor cannot be
	// read; DefaultAlertAfter is what an unset alertAfter means, which the
	// defaulter writes so that users see it.
	DefaultSettleWindow = memberwait.DefaultSettleWindow
	DefaultAlertAfter   = v1alpha1.DefaultAlertAfter
)

// +kubebuilder:webhook:path=/mutate-membergate-io-v1alpha1-membergate,mutating=true,failurePolicy=fail,sideEffects=None,groups=membergate.io,resources=membergates,verbs=create;update,versions=v1alpha1,name=default.membergate.membergate.io,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/validate-membergate-io-v1alpha1-membergate,mutating=false,failurePolicy=fail,sideEffects=None,groups=membergate.io,resources=membergates,verbs=create;update,versions=v1alpha1,name=validate.membergate.membergate.io,admissionReviewVersions=v1

// MemberGate defaults and validates MemberGates.
type MemberGate struct {
	// MinSourcePrefixV4 and MinSourcePrefixV6 are the widest security-group
	// sources admitted without allowAnywhere (the manager's
	// --min-source-prefix-v4/-v6), so that the webhook refuses what the
	// controller would refuse; zero means secgroup's defaults.
	MinSourcePrefixV4, MinSourcePrefixV6 int
}

// SetupWithManager registers both webhooks.
func (w MemberGate) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewWebhookManagedBy(mgr, &v1alpha1.MemberGate{}).WithDefaulter(w).WithValidator(w).Complete()
}

var _ admission.Defaulter[*v1alpha1.MemberGate] = MemberGate{}
var _ admission.Validator[*v1alpha1.MemberGate] = MemberGate{}

// Default fills every unset policy field with its default, so that the
// object shows the policy in force.
func (MemberGate) Default(_ context.Context, mg *v1alpha1.MemberGate) error {
	s := &mg.Spec
	if s.Mode == "" {
		s.Mode = v1alpha1.ModeEnforce
	}
	if s.NoMonitorPolicy == "" {
		s.NoMonitorPolicy = v1alpha1.DefaultNoMonitorPolicy
	}
	// An unset settle window stays unset: it means Auto, a window per pool
	// from its health monitor, which no single duration could show.
	if s.AlertAfter == nil {
		s.AlertAfter = &metav1.Duration{Duration: DefaultAlertAfter}
	}
	if s.DrainPeriod == nil {
		s.DrainPeriod = &metav1.Duration{Duration: v1alpha1.DefaultDrainPeriod}
	}
	defaultSecurityGroups(s)
	return nil
}

// ValidateCreate checks a new MemberGate.
func (w MemberGate) ValidateCreate(_ context.Context, mg *v1alpha1.MemberGate) (admission.Warnings, error) {
	return w.validate(mg, nil)
}

// ValidateUpdate checks a change; the cluster reference cannot change.
func (w MemberGate) ValidateUpdate(_ context.Context, old, mg *v1alpha1.MemberGate) (admission.Warnings, error) {
	return w.validate(mg, old)
}

// ValidateDelete allows deletion: the controller re-creates the MemberGate
// with defaults while the Cluster is gated.
func (MemberGate) ValidateDelete(context.Context, *v1alpha1.MemberGate) (admission.Warnings, error) {
	return nil, nil
}

// validate checks with the default source policy.
func validate(mg, old *v1alpha1.MemberGate) (admission.Warnings, error) {
	return MemberGate{}.validate(mg, old)
}

func (w MemberGate) validate(mg, old *v1alpha1.MemberGate) (admission.Warnings, error) {
	warnings, err := w.check(mg, old)
	// An update that leaves the spec as it is (finalizers, labels,
	// annotations) is not the webhook's to refuse: a MemberGate made
	// before a rule tightened (a source wider than today's minimum, say)
	// must still let its controllers release their finalizers. It still
	// hears what is wrong.
	if err != nil && old != nil && equality.Semantic.DeepEqual(old.Spec, mg.Spec) {
		return append(warnings, "the spec is not valid today, and only a change of it is refused: "+err.Error()), nil
	}
	return warnings, err
}

func (w MemberGate) check(mg, old *v1alpha1.MemberGate) (admission.Warnings, error) {
	var errs field.ErrorList
	var warnings admission.Warnings
	spec := field.NewPath("spec")
	s := mg.Spec
	if s.ClusterName == "" {
		errs = append(errs, field.Required(spec.Child("clusterName"), "name the Cluster to gate, in this namespace"))
	}
	if old != nil && old.Spec.ClusterName != s.ClusterName {
		errs = append(errs, field.Forbidden(spec.Child("clusterName"),
			fmt.Sprintf("is immutable (was %q): create a MemberGate for cluster %q instead", old.Spec.ClusterName, s.ClusterName)))
	}
	// The gate reads the MemberGate named after the Cluster: one named
	// otherwise would be ignored, or applied to the Cluster of its name.
	// Both names are immutable, so checking at creation keeps them equal;
	// one made before this rule stays updatable (its finalizer must be able
	// to go) and is told which Cluster it gates.
	if s.ClusterName != "" && mg.Name != s.ClusterName {
		if old == nil {
			errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), mg.Name,
				fmt.Sprintf("must equal spec.clusterName %q: name the MemberGate after its Cluster, one MemberGate per Cluster", s.ClusterName)))
		} else {
			warnings = append(warnings, fmt.Sprintf("this MemberGate applies to the Cluster named %q, if there is one, not to spec.clusterName %q: "+
				"the gate reads the MemberGate named after each Cluster; create one named %q instead", mg.Name, s.ClusterName, s.ClusterName))
		}
	}
	errs = append(errs, enum(spec.Child("mode"), s.Mode, v1alpha1.ModeEnforce, v1alpha1.ModeAudit, v1alpha1.ModeDisabled)...)
	errs = append(errs, enum(spec.Child("noMonitorPolicy"), s.NoMonitorPolicy, v1alpha1.NoMonitorProvisioned, v1alpha1.NoMonitorFail, v1alpha1.NoMonitorServing, v1alpha1.NoMonitorWait)...)
	if d := s.SettleWindow; d != nil {
		switch {
		case d.Duration < 0 || d.Duration > MaxSettleWindow:
			errs = append(errs, field.Invalid(spec.Child("settleWindow"), d.Duration.String(),
				fmt.Sprintf("must be between 0s and %s; 45s covers CAPO's default health monitor", MaxSettleWindow)))
		case d.Duration < 10*time.Second:
			warnings = append(warnings, fmt.Sprintf("spec.settleWindow %s is shorter than one amphora heartbeat (10s): a member that reads ONLINE before its first health check may be released and then fail", d.Duration))
		}
	}
	if d := s.HeartbeatInterval; d != nil && (d.Duration < time.Second || d.Duration > 5*time.Minute) {
		errs = append(errs, field.Invalid(spec.Child("heartbeatInterval"), d.Duration.String(),
			"must be between 1s and 5m0s: Octavia's [health_manager] heartbeat_interval, 10s by default"))
	}
	if d := s.AlertAfter; d != nil && (d.Duration < MinAlertAfter || d.Duration > MaxAlertAfter) {
		errs = append(errs, field.Invalid(spec.Child("alertAfter"), d.Duration.String(),
			fmt.Sprintf("must be between %s and %s", MinAlertAfter, MaxAlertAfter)))
	}
	if d := s.DrainPeriod; d != nil && (d.Duration < 0 || d.Duration > MaxDrainPeriod) {
		errs = append(errs, field.Invalid(spec.Child("drainPeriod"), d.Duration.String(),
			fmt.Sprintf("must be between 0s (no draining) and %s: every replaced control-plane Machine waits this long", MaxDrainPeriod)))
	}
	if n := s.MinServingMembers; n != nil && *n < 1 {
		errs = append(errs, field.Invalid(spec.Child("minServingMembers"), *n,
			"must be at least 1; leave it unset to require every other control-plane Machine to serve"))
	}
	sgErrs, sgWarnings := validateSecurityGroups(s.SecurityGroups, spec.Child("securityGroups"), w.MinSourcePrefixV4, w.MinSourcePrefixV6)
	errs, warnings = append(errs, sgErrs...), append(warnings, sgWarnings...)
	if len(errs) > 0 {
		return warnings, apierrors.NewInvalid(v1alpha1.GroupVersion.WithKind("MemberGate").GroupKind(), mg.Name, errs)
	}
	return warnings, nil
}

// enum refuses a value that is set and not one of allowed.
func enum[T ~string](path *field.Path, v T, allowed ...T) field.ErrorList {
	if v == "" || slices.Contains(allowed, v) {
		return nil
	}
	return field.ErrorList{field.NotSupported(path, v, allowed)}
}
