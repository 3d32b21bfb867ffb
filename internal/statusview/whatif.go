package statusview

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/cluster-api/util/annotations"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/memberwait"
)

// WhatIf is the answer to "would deleting this Machine now be held?".
type WhatIf struct {
	Cluster string `json:"cluster"`
	Machine string `json:"machine"`
	// Held: the gate would keep its pre-drain hook on the Machine.
	Held bool `json:"held"`
	// Why is what the gate would wait for when held, or why it would let
	// the Machine go.
	Why string `json:"why"`
	// ObservedAt is the observation the answer rests on; Stale says when
	// it is older than a hook may trust (the controller is not keeping up).
	ObservedAt *time.Time `json:"observedAt,omitempty"`
	Stale      string     `json:"stale,omitempty"`
}

// ErrNotControlPlane is returned for a Machine that is not one of the
// cluster's control-plane Machines: the gate holds no other.
var ErrNotControlPlane = errors.New("not a control-plane Machine of the cluster")

// WhatIfDelete answers whether deleting the Machine named name now would be
// held, and what the gate would wait for: gate.Decide, the controller's own
// release rule, on the gate's last observation (the MemberGate status) and
// the Machines as they are, with that Machine deleting. Nothing is read
// from OpenStack: the answer is as fresh as the observation, which it
// reports.
func WhatIfDelete(mg *v1alpha1.MemberGate, cluster *clusterv1.Cluster, machines []clusterv1.Machine, name string, now time.Time) (WhatIf, error) {
	w := WhatIf{Cluster: mg.Namespace + "/" + mg.Spec.ClusterName, Machine: name, ObservedAt: timePtr(mg.Status.LastChecked)}
	switch {
	case w.ObservedAt == nil:
		w.Stale = "the gate has not observed the load balancer yet"
	case now.Sub(*w.ObservedAt) > gate.DefaultMaxObservationAge:
		w.Stale = fmt.Sprintf("the gate's last observation is %s old: the answer may have changed since", now.Sub(*w.ObservedAt).Round(time.Second))
	}
	in := input(mg, cluster, machines, now)
	i := slices.IndexFunc(in.Machines, func(m gate.Machine) bool { return m.Name == name })
	if i < 0 {
		var names []string
		for _, m := range in.Machines {
			names = append(names, m.Name)
		}
		return w, fmt.Errorf("machine %s: %w %s (it has: %s)", name, ErrNotControlPlane, w.Cluster, strings.Join(names, ", "))
	}
	target := &in.Machines[i]
	if !target.HasHook && in.Policy.Mode == gate.Enforce && !in.Paused && !in.Deleting {
		w.Why = "it carries no pre-drain hook of the gate yet (the gate adds it on its next reconcile): CAPI would drain and delete it at once"
		return w, nil
	}
	if !target.Deleting && target.ManualRelease != "" && target.ManualReleaseSeen.IsZero() {
		// On the Machine before its deletion: it would not release it.
		target.ManualReleaseSeen, target.ManualReleaseEarly = now, true
	}
	// A hold that starts now, so that the decision says what it waits for.
	target.Deleting, target.HeldSince, target.Alerted = true, time.Time{}, false
	d := gate.Decide(in)
	for _, r := range d.Release {
		if r.Machine == name {
			w.Why = "would be released: " + r.Reason
			return w, nil
		}
	}
	for _, e := range d.Events {
		if e.Machine == name && e.Reason == gate.EventHeld {
			w.Held, w.Why = true, strings.TrimPrefix(e.Message, "holding the rollout: ")
			return w, nil
		}
	}
	if in.Paused {
		w.Held, w.Why = true, "the cluster is paused: the gate changes nothing (and CAPI deletes nothing) until it is unpaused"
		return w, nil
	}
	w.Why = "not held: the gate holds nothing in mode " + string(in.Policy.Mode)
	return w, nil
}

// input is the gate's input as the controller would build it from the
// MemberGate status it wrote (its last observation) and the Machines now.
func input(mg *v1alpha1.MemberGate, cluster *clusterv1.Cluster, machines []clusterv1.Machine, now time.Time) gate.Input {
	s := &mg.Status
	in := gate.Input{Now: now, Policy: policyOf(mg)}
	if cluster != nil {
		in.Paused = annotations.IsPaused(cluster, cluster)
		in.Deleting = !cluster.DeletionTimestamp.IsZero()
		if cluster.Annotations[v1alpha1.SkipAnnotation] == "true" {
			in.Policy.Mode = gate.Disabled
		}
	}
	in.LoadBalancer = gate.LoadBalancer{ID: s.LoadBalancer.ID, Found: s.LoadBalancer.ProvisioningStatus != ""}
	if ready := meta.FindStatusCondition(s.Conditions, v1alpha1.ReadyCondition); ready != nil && ready.Status == metav1.ConditionFalse {
		switch ready.Reason {
		case gate.ReasonLoadBalancerNotCreated:
			in.LoadBalancer.NotCreated = true
		case gate.ReasonOctaviaUnavailable:
			in.LoadBalancer.Err = errors.New(ready.Message)
			in.LoadBalancer.UnavailableSince = ready.LastTransitionTime.Time
		}
	}
	rows := rowsByName(mg)
	for _, row := range s.Machines {
		for _, m := range row.Members {
			if !slices.Contains(in.PoolIDs, m.PoolID) {
				in.PoolIDs = append(in.PoolIDs, m.PoolID)
			}
		}
	}
	for i := range machines {
		m := &machines[i]
		gm := gate.Machine{Name: m.Name, Deleting: !m.DeletionTimestamp.IsZero(), HasNode: m.Status.NodeRef.IsDefined(),
			HasHook: m.Annotations[v1alpha1.PreDrainHookAnnotation] != "", ManualRelease: m.Annotations[v1alpha1.ReleaseAnnotation]}
		row := rows[m.Name]
		gm.HeldSince, gm.Alerted = timeOf(row.HeldSince), row.Alerted
		if r := row.Release; r != nil && r.Value == gm.ManualRelease {
			gm.ManualReleaseSeen, gm.ManualReleaseEarly = r.SeenAt.Time, r.BeforeDeletion
		}
		gm.Members = verdicts(row.Members)
		in.Machines = append(in.Machines, gm)
	}
	return in
}

// verdicts are a Machine's members as the gate judged them last: serving
// (the waiter's Done) or not yet, with the waiter's words; a pool row
// without a member is no entry, as a member that is missing.
func verdicts(members []v1alpha1.Member) map[string]memberwait.Verdict {
	out := map[string]memberwait.Verdict{}
	for _, m := range members {
		if m.ID == "" {
			continue
		}
		v := memberwait.Verdict{Outcome: memberwait.Pending, Reason: m.Message, PoolID: m.PoolID,
			Member: &memberwait.MemberStatus{ID: m.ID, Name: m.Name, Address: m.Address, ProtocolPort: int(m.ProtocolPort),
				ProvisioningStatus: m.ProvisioningStatus, OperatingStatus: m.OperatingStatus},
			Progress: memberwait.Progress{Since: timeOf(m.Since)}}
		if m.Serving {
			v.Outcome = memberwait.Done
		}
		out[m.PoolID] = v
	}
	return out
}

func timeOf(t *metav1.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}
