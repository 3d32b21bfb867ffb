package securitygroup

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/cloud/scope"
	"github.com/membergate/membergate/internal/statuspatch"
	"github.com/membergate/membergate/pkg/secgroup"
)

// cleanupRetry is how soon a cleanup that left rules behind (Neutron
// failed) is tried again when nothing else brings the cluster back.
const cleanupRetry = 30 * time.Second

// cleanupWithoutCluster removes our rules for a Cluster that is gone while
// its MemberGate, kept by our finalizer, remains: with the identity the
// status recorded.
func (r *Reconciler) cleanupWithoutCluster(ctx context.Context, key types.NamespacedName) (ctrl.Result, error) {
	mg := &v1alpha1.MemberGate{}
	if err := r.reader().Get(ctx, key, mg); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !controllerutil.ContainsFinalizer(mg, v1alpha1.SecurityGroupsFinalizer) {
		return ctrl.Result{}, nil
	}
	helper := statuspatch.NewHelper(mg, r.Client, r.reader(), ownedStatus)
	st := &v1alpha1.SecurityGroupsStatus{}
	if mg.Status.SecurityGroups != nil {
		st = mg.Status.SecurityGroups.DeepCopy()
	}
	out := &outcome{status: st, cleanup: true, now: r.Clock.Now()}
	// key is the gone Cluster's, the name the MemberGate was read by.
	r.cleanup(ctx, out, mg, key, identityOf(mg.Namespace, st), "the cluster is gone")
	out.writeStatus(mg)
	if err := helper.Patch(ctx, mg); client.IgnoreNotFound(err) != nil {
		return ctrl.Result{}, err
	}
	if !out.dropFinalizer {
		return ctrl.Result{RequeueAfter: out.requeueAfter()}, nil
	}
	return ctrl.Result{}, r.releaseFinalizer(ctx, mg, out)
}

// cleanup removes every rule of cluster's enforcement from the groups the
// status knows: on Disabled, opt-out, and deletion of the cluster or the
// MemberGate.
func (r *Reconciler) cleanup(ctx context.Context, out *outcome, mg *v1alpha1.MemberGate, cluster types.NamespacedName, id scope.Identity, why string) {
	st := out.status
	owner := ruleOwner(r.ManagementCluster, cluster)
	st.Mode, st.Diagnoses, st.Changes, st.Sources = v1alpha1.SecurityGroupsDisabled, nil, nil, nil
	prevProblems := st.Problems
	st.Problems = nil
	defer func() {
		r.holdAfter(cluster, out)
		out.cond = readyCondition(st)
		out.cond.Message += " (" + why + ")"
		r.reportProblems(mg, prevProblems, st.Problems)
	}()
	groups := ownedGroups(st)
	if len(groups) == 0 {
		st.OwnedRules, st.Groups = nil, nil
		out.dropFinalizer = true
		return
	}
	if out.retryAfter = r.caches.held(cluster.String(), out.now); out.retryAfter > 0 {
		// What the refused pass found stands until OpenStack may be asked.
		st.Problems = prevProblems
		return
	}
	giveUp := func(err error) {
		// The credentials are gone for good (the Secret was deleted, say
		// with the namespace): waiting would keep the MemberGate forever.
		st.Problems = []string{out.problem(err)}
		out.dropFinalizer = true
		r.Recorder.Eventf(mg, nil, corev1.EventTypeWarning, "SecurityGroupRulesLeft", "SecurityGroups",
			"cannot remove membergate's rules (%v); remove them by hand: %s", err, describeOwned(st.OwnedRules))
	}
	if id.SecretName == "" {
		giveUp(fmt.Errorf("no identity Secret is known"))
		return
	}
	nc, err := r.Networks.Network(ctx, id)
	if err != nil {
		if apierrors.IsNotFound(err) {
			giveUp(err)
			return
		}
		st.Problems = []string{out.problem(err)}
		return
	}
	v := r.caches.view(nc, cluster.String(), "", out.now)
	if err := v.ListRules(ctx, groups); err != nil {
		st.Problems = []string{out.problem(err)}
		return
	}
	acts := secgroup.Diff(owner, secgroup.Disabled, nil, v.Rules(groups...))
	for _, d := range acts.Delete {
		if err := v.DeleteRule(ctx, d); err != nil {
			st.Problems = append(st.Problems, out.problem(err))
			continue
		}
		r.Recorder.Eventf(mg, nil, corev1.EventTypeNormal, "SecurityGroupRuleRemoved", "SecurityGroups",
			"removed %s from group %s: %s", d, d.SecurityGroupID, why)
	}
	st.OwnedRules = ownedRules(v, groups, owner)
	out.dropFinalizer = len(st.OwnedRules) == 0
	if out.dropFinalizer {
		st.Groups = nil
		r.caches.forget(cluster.String(), mg.Status.LoadBalancer.ID)
	}
}

func describeOwned(rules []v1alpha1.OwnedRule) string {
	var parts []string
	for _, r := range rules {
		parts = append(parts, fmt.Sprintf("%s (%s in group %s)", r.ID, r.Rule, r.GroupID))
	}
	if len(parts) == 0 {
		return "none recorded"
	}
	return strings.Join(parts, ", ")
}

// addFinalizer makes the MemberGate wait for the cleanup of our rules.
func (r *Reconciler) addFinalizer(ctx context.Context, mg *v1alpha1.MemberGate) error {
	if controllerutil.ContainsFinalizer(mg, v1alpha1.SecurityGroupsFinalizer) {
		return nil
	}
	orig := mg.DeepCopy()
	controllerutil.AddFinalizer(mg, v1alpha1.SecurityGroupsFinalizer)
	return r.Client.Patch(ctx, mg, finalizerPatch(orig))
}

// releaseFinalizer removes the finalizer once no rule of ours remains.
func (r *Reconciler) releaseFinalizer(ctx context.Context, mg *v1alpha1.MemberGate, o *outcome) error {
	if o == nil || !o.dropFinalizer || !controllerutil.ContainsFinalizer(mg, v1alpha1.SecurityGroupsFinalizer) {
		return nil
	}
	orig := mg.DeepCopy()
	controllerutil.RemoveFinalizer(mg, v1alpha1.SecurityGroupsFinalizer)
	return client.IgnoreNotFound(r.Client.Patch(ctx, mg, finalizerPatch(orig)))
}

// finalizerPatch is a merge patch that applies only to the version it was
// computed from: a merge patch replaces the whole finalizers list, so one
// computed from a stale copy would drop a finalizer another controller
// added since. A conflict makes the reconcile try again on a fresh read.
func finalizerPatch(orig *v1alpha1.MemberGate) client.Patch {
	return client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})
}
