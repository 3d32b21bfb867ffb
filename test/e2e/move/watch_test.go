package move

import (
	"context"
	"strconv"
	"sync"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	clusterctlv1 "sigs.k8s.io/cluster-api/cmd/clusterctl/api/v1alpha3"
	"sigs.k8s.io/cluster-api/util/conditions"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/api/v1alpha1"
)

// gateWrites are the writes a gate makes that the source's gate must not
// make once clusterctl has paused the Cluster.
type gateWrites struct {
	// paused says the Cluster was seen paused at all.
	paused bool
	// hookRemovals are Machines whose hook went while they were not being
	// deleted for the move (clusterctl's own delete-for-move patch replaces
	// every annotation).
	hookRemovals []string
	// conditionChanges are changes of a Machine's LoadBalancerMemberReady
	// condition.
	conditionChanges []string
	// gateStatusWrites are changes of the MemberGate status.
	gateStatusWrites int
	// gateCreations are MemberGates created.
	gateCreations int
}

// gateWatch records, from the API server's watches, the changes to a
// namespace's Clusters, Machines and MemberGates from the moment it
// starts. What happened after the pause is told apart by resource version:
// the API server's is etcd's revision, one sequence for every kind.
type gateWatch struct {
	watches  []watch.Interface
	stopOnce sync.Once
	wg       sync.WaitGroup
	// recorded are each watch's events, in order.
	recorded [][]watch.Event
	seen     gateWrites
	// before are the Machines and MemberGates as listed at the start.
	machines map[string]*clusterv1.Machine
	gates    map[string]*v1alpha1.MemberGate
}

func watchGateWrites(ctx context.Context, cfg *rest.Config, namespace string) (*gateWatch, error) {
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: newScheme()})
	if err != nil {
		return nil, err
	}
	var ms clusterv1.MachineList
	if err := c.List(ctx, &ms, client.InNamespace(namespace)); err != nil {
		return nil, err
	}
	var mgs v1alpha1.MemberGateList
	if err := c.List(ctx, &mgs, client.InNamespace(namespace)); err != nil {
		return nil, err
	}
	w := &gateWatch{machines: map[string]*clusterv1.Machine{}, gates: map[string]*v1alpha1.MemberGate{}}
	for i := range ms.Items {
		w.machines[ms.Items[i].Name] = &ms.Items[i]
	}
	for i := range mgs.Items {
		w.gates[mgs.Items[i].Name] = &mgs.Items[i]
	}
	for _, l := range []struct {
		list client.ObjectList
		rv   string
	}{{&clusterv1.ClusterList{}, ms.ResourceVersion}, {&clusterv1.MachineList{}, ms.ResourceVersion}, {&v1alpha1.MemberGateList{}, mgs.ResourceVersion}} {
		wi, err := c.Watch(ctx, l.list, client.InNamespace(namespace), &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: l.rv}})
		if err != nil {
			w.Stop()
			return nil, err
		}
		w.watches = append(w.watches, wi)
	}
	w.recorded = make([][]watch.Event, len(w.watches))
	for i, wi := range w.watches {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for e := range wi.ResultChan() {
				w.recorded[i] = append(w.recorded[i], e)
			}
		}()
	}
	return w, nil
}

// Stop ends the watches and returns what happened after the Cluster was
// paused; it may be called again.
func (w *gateWatch) Stop() gateWrites {
	w.stopOnce.Do(func() {
		for _, wi := range w.watches {
			wi.Stop()
		}
		w.wg.Wait()
		if len(w.recorded) == 3 {
			w.seen = w.afterPause(w.recorded[0], w.recorded[1], w.recorded[2])
		}
	})
	return w.seen
}

func (w *gateWatch) afterPause(clusters, machines, gates []watch.Event) gateWrites {
	var out gateWrites
	var pausedAt uint64
	for _, e := range clusters {
		if c, ok := e.Object.(*clusterv1.Cluster); ok && ptr.Deref(c.Spec.Paused, false) {
			out.paused, pausedAt = true, revision(c)
			break
		}
	}
	if !out.paused {
		return out
	}
	for _, e := range machines {
		m, ok := e.Object.(*clusterv1.Machine)
		if !ok {
			continue
		}
		was := w.machines[m.Name]
		w.machines[m.Name] = m
		if e.Type != watch.Modified || was == nil || revision(m) <= pausedAt {
			continue
		}
		_, forMove := m.Annotations[clusterctlv1.DeleteForMoveAnnotation]
		if was.Annotations[v1alpha1.PreDrainHookAnnotation] != "" && m.Annotations[v1alpha1.PreDrainHookAnnotation] == "" && !forMove {
			out.hookRemovals = append(out.hookRemovals, m.Name)
		}
		if !equality.Semantic.DeepEqual(conditions.Get(was, v1alpha1.MemberReadyCondition), conditions.Get(m, v1alpha1.MemberReadyCondition)) {
			out.conditionChanges = append(out.conditionChanges, m.Name)
		}
	}
	for _, e := range gates {
		mg, ok := e.Object.(*v1alpha1.MemberGate)
		if !ok {
			continue
		}
		was := w.gates[mg.Name]
		w.gates[mg.Name] = mg
		if revision(mg) <= pausedAt {
			continue
		}
		switch {
		case e.Type == watch.Added:
			out.gateCreations++
		case e.Type == watch.Modified && was != nil && !equality.Semantic.DeepEqual(was.Status, mg.Status):
			out.gateStatusWrites++
		}
	}
	return out
}

// revision is an object's resource version as etcd's revision.
func revision(o client.Object) uint64 {
	n, _ := strconv.ParseUint(o.GetResourceVersion(), 10, 64)
	return n
}
