// Package clusterobjects reads and watches the Cluster API objects that the
// gate and the security-group reconciler both key on: a Cluster's
// control-plane Machines, and the objects that name their Cluster in the
// cluster-name label.
package clusterobjects

import (
	"context"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/types"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// ControlPlaneMachines lists a Cluster's control-plane Machines, sorted by
// name so that status rows and events come in a stable order.
func ControlPlaneMachines(ctx context.Context, c client.Reader, cluster *clusterv1.Cluster) ([]clusterv1.Machine, error) {
	var list clusterv1.MachineList
	if err := c.List(ctx, &list, client.InNamespace(cluster.Namespace),
		client.MatchingLabels{clusterv1.ClusterNameLabel: cluster.Name}, client.HasLabels{clusterv1.MachineControlPlaneLabel}); err != nil {
		return nil, err
	}
	slices.SortFunc(list.Items, func(a, b clusterv1.Machine) int { return strings.Compare(a.Name, b.Name) })
	return list.Items, nil
}

// EnqueueLabelledCluster maps an object to the Cluster its cluster-name
// label names, in its namespace; an object without the label maps to
// nothing. A MemberGate is named after its Cluster, so the same key serves
// a reconciler of either.
var EnqueueLabelledCluster = handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []ctrl.Request {
	name := o.GetLabels()[clusterv1.ClusterNameLabel]
	if name == "" {
		return nil
	}
	return []ctrl.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: name}}}
})

// ControlPlaneOnly admits the events of control-plane Machines: only they
// are load-balancer members.
var ControlPlaneOnly = predicate.NewPredicateFuncs(func(o client.Object) bool {
	_, cp := o.GetLabels()[clusterv1.MachineControlPlaneLabel]
	return cp
})
