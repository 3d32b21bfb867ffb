// Package statuspatch writes the part of a MemberGate's status that one
// reconciler owns. Two reconcilers write that status — the gate its rows,
// summary and conditions, the security-group reconciler
// status.securityGroups and its condition — each from a copy read before
// the other's last write, and neither may undo what the other wrote. So a
// Helper patches only the fields its owner declares, from a diff of those
// alone, and applies its owner's condition changes onto the latest list
// with CAPI's conditions patch, under optimistic locking, as CAPI's
// util/patch does for objects that implement its condition interfaces
// (MemberGate, an API of its own, does not).
package statuspatch

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/api/v1alpha1"
)

// Owner says what of the status a reconciler writes.
type Owner struct {
	// Fields returns the owner's fields of a status, every other field
	// zero; conditions are set apart (Conditions).
	Fields func(v1alpha1.MemberGateStatus) v1alpha1.MemberGateStatus
	// Conditions are the types of the conditions the owner sets.
	Conditions []string
}

// Helper patches a MemberGate's status from the copy it was made with.
type Helper struct {
	client client.Client
	// latest reads the object a conditions patch is applied onto: the
	// API server's, as a cached copy would only cost conflicts.
	latest client.Reader
	owner  Owner
	before *v1alpha1.MemberGate
}

// NewHelper remembers mg as read; latest reads the current object when
// conditions are patched (nil means c).
func NewHelper(mg *v1alpha1.MemberGate, c client.Client, latest client.Reader, owner Owner) *Helper {
	if latest == nil {
		latest = c
	}
	return &Helper{client: c, latest: latest, owner: owner, before: mg.DeepCopy()}
}

// backoff is CAPI's for a conditions patch that meets a concurrent write.
var backoff = wait.Backoff{Steps: 5, Duration: 100 * time.Millisecond, Jitter: 1.0}

// Patch writes what the owner changed in mg's status since NewHelper: its
// fields as a merge patch, and, when its conditions changed, those
// conditions set on the latest list, in the same request, conditional on
// that list's resourceVersion. mg is updated from the answer.
func (h *Helper) Patch(ctx context.Context, mg *v1alpha1.MemberGate) error {
	fields, err := h.fieldsPatch(mg)
	if err != nil {
		return err
	}
	before, after := h.ownedConditions(h.before.Status.Conditions), h.ownedConditions(mg.Status.Conditions)
	diff, err := conditions.NewPatch(conditionsOf{&before}, conditionsOf{&after})
	if err != nil {
		return err
	}
	if diff.IsZero() {
		if len(fields) == 0 {
			return nil
		}
		return h.send(ctx, mg, fields, nil, "")
	}
	key := client.ObjectKeyFromObject(mg)
	var sendErr error
	err = wait.ExponentialBackoffWithContext(ctx, backoff, func(ctx context.Context) (bool, error) {
		latest := &v1alpha1.MemberGate{}
		if err := h.latest.Get(ctx, key, latest); err != nil {
			return false, err
		}
		merged := latest.Status.Conditions
		// A nil sort keeps the list in the order the API server has it.
		if err := diff.Apply(conditionsOf{&merged}, conditions.OwnedConditionTypes(h.owner.Conditions), conditions.ConditionSortFunc(nil)); err != nil {
			return false, err
		}
		sendErr = h.send(ctx, mg, fields, merged, latest.ResourceVersion)
		if apierrors.IsConflict(sendErr) {
			return false, nil
		}
		return true, sendErr
	})
	if wait.Interrupted(err) && sendErr != nil {
		return sendErr
	}
	return err
}

// fieldsPatch is the merge patch of the owner's fields, nil when none
// changed.
func (h *Helper) fieldsPatch(mg *v1alpha1.MemberGate) (map[string]any, error) {
	before, after := h.owned(h.before.Status), h.owned(mg.Status)
	data, err := client.MergeFrom(&v1alpha1.MemberGate{Status: before}).Data(&v1alpha1.MemberGate{Status: after})
	if err != nil {
		return nil, err
	}
	var patch map[string]any
	if err := json.Unmarshal(data, &patch); err != nil {
		return nil, err
	}
	status, _ := patch["status"].(map[string]any)
	return status, nil
}

// ownedConditions are the owner's conditions of a list. Only they are
// compared: a copy refreshed mid-reconcile (by a metadata patch, say) shows
// the other owner's newer conditions, which are not this owner's to write.
func (h *Helper) ownedConditions(list []metav1.Condition) []metav1.Condition {
	var out []metav1.Condition
	for _, c := range list {
		if slices.Contains(h.owner.Conditions, c.Type) {
			out = append(out, c)
		}
	}
	return out
}

func (h *Helper) owned(st v1alpha1.MemberGateStatus) v1alpha1.MemberGateStatus {
	st = h.owner.Fields(st)
	st.Conditions = nil
	return st
}

// send writes the status fields and, when given, the whole condition list
// at resourceVersion.
func (h *Helper) send(ctx context.Context, mg *v1alpha1.MemberGate, fields map[string]any, conds []metav1.Condition, resourceVersion string) error {
	status := map[string]any{}
	for k, v := range fields {
		status[k] = v
	}
	patch := map[string]any{"status": status}
	if resourceVersion != "" {
		if conds == nil {
			conds = []metav1.Condition{}
		}
		status["conditions"] = conds
		patch["metadata"] = map[string]any{"resourceVersion": resourceVersion}
	}
	data, err := json.Marshal(patch)
	if err != nil {
		return fmt.Errorf("encoding the status patch of MemberGate %s: %w", client.ObjectKeyFromObject(mg), err)
	}
	return h.client.Status().Patch(ctx, mg, client.RawPatch(types.MergePatchType, data))
}

// conditionsOf lets CAPI's conditions patch read and write a condition list.
type conditionsOf struct{ list *[]metav1.Condition }

func (c conditionsOf) GetConditions() []metav1.Condition  { return *c.list }
func (c conditionsOf) SetConditions(l []metav1.Condition) { *c.list = l }
