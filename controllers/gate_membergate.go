package controllers

import (
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/gate/cycle"
	"github.com/membergate/membergate/pkg/memberwait"
)

// memoryOf is the gate's memory as the previous reconcile left it in the
// MemberGate status, so a restart loses no settle time, hold or sighting.
func memoryOf(mg *v1alpha1.MemberGate) cycle.Memory {
	rows := make(map[string]cycle.Row, len(mg.Status.Machines))
	for _, row := range mg.Status.Machines {
		if _, ok := rows[row.Name]; !ok {
			rows[row.Name] = rowFrom(row)
		}
	}
	return cycle.Memory{Rows: rows, ReportedOrphans: reportedOrphans(mg), UnavailableSince: unavailableSince(mg)}
}

func rowFrom(in v1alpha1.MachineMembers) cycle.Row {
	row := cycle.Row{Name: in.Name, Deleting: in.Deleting, MemberReadiness: gate.MemberReadiness{MemberReady: in.MemberReady, Reason: in.Reason, Message: in.Message},
		Held: in.Held, HeldSince: timeOf(in.HeldSince), Alerted: in.Alerted}
	if r := in.Release; r != nil {
		row.Release = &cycle.Sighting{Value: r.Value, SeenAt: r.SeenAt.Time, BeforeDeletion: r.BeforeDeletion}
	}
	for _, m := range in.Members {
		row.Members = append(row.Members, cycle.Member{Progress: memberwait.Progress{MemberID: m.ID, PoolID: m.PoolID,
			ProvisioningStatus: m.ProvisioningStatus, OperatingStatus: m.OperatingStatus, Since: timeOf(m.Since),
			MissingSince: timeOf(m.MissingSince), LastSeen: timeOf(m.LastSeen), LoadBalancerPending: m.LoadBalancerPending},
			Name: m.Name, Address: m.Address, ProtocolPort: int(m.ProtocolPort), Serving: m.Serving, Message: m.Message})
	}
	return row
}

func rowTo(row cycle.Row) v1alpha1.MachineMembers {
	out := v1alpha1.MachineMembers{Name: row.Name, Deleting: row.Deleting, MemberReady: row.MemberReady, Reason: row.Reason,
		Message: row.Message, Held: row.Held, HeldSince: timeOrNil(row.HeldSince), Alerted: row.Alerted}
	if r := row.Release; r != nil {
		out.Release = &v1alpha1.ReleaseSighting{Value: r.Value, SeenAt: metav1.NewTime(r.SeenAt), BeforeDeletion: r.BeforeDeletion}
	}
	for _, m := range row.Members {
		p := m.Progress
		out.Members = append(out.Members, v1alpha1.Member{PoolID: p.PoolID, ID: p.MemberID, Name: m.Name, Address: m.Address,
			ProtocolPort: int32(m.ProtocolPort), ProvisioningStatus: p.ProvisioningStatus, OperatingStatus: p.OperatingStatus,
			Since: timeOrNil(p.Since), MissingSince: timeOrNil(p.MissingSince), LastSeen: timeOrNil(p.LastSeen),
			LoadBalancerPending: p.LoadBalancerPending, Serving: m.Serving, Message: m.Message})
	}
	return out
}

func timeOf(t *metav1.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}

func timeOrNil(t time.Time) *metav1.Time {
	if t.IsZero() {
		return nil
	}
	mt := metav1.NewTime(t)
	return &mt
}

// reportedOrphans are the orphan members the status already lists, by ID,
// with the statuses they were reported with.
func reportedOrphans(mg *v1alpha1.MemberGate) map[string]string {
	out := make(map[string]string, len(mg.Status.Orphans))
	for _, o := range mg.Status.Orphans {
		out[o.ID] = memberwait.MemberStatus{ProvisioningStatus: o.ProvisioningStatus, OperatingStatus: o.OperatingStatus}.Statuses()
	}
	return out
}

// unavailableSince is when the outage the MemberGate's Ready condition
// reports began; zero when it reports none.
func unavailableSince(mg *v1alpha1.MemberGate) time.Time {
	c := meta.FindStatusCondition(mg.Status.Conditions, v1alpha1.ReadyCondition)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != gate.ReasonOctaviaUnavailable {
		return time.Time{}
	}
	return c.LastTransitionTime.Time
}

// waitOptions turns the MemberGate policy into memberwait options.
func waitOptions(mg *v1alpha1.MemberGate) memberwait.Options {
	o := memberwait.Options{Target: memberwait.Serving}
	// An unset settle window is Auto: memberwait derives it from each
	// pool's monitor.
	if d := mg.Spec.SettleWindow; d != nil {
		o.SettleWindow = d.Duration
		if d.Duration == 0 {
			o.SettleWindow = -1
		}
	}
	if h := mg.Spec.HeartbeatInterval; h != nil {
		o.Heartbeat = h.Duration
	}
	switch mg.Spec.NoMonitorPolicy {
	case v1alpha1.NoMonitorFail:
		o.NoMonitor = memberwait.NoMonitorFail
	case v1alpha1.NoMonitorWait:
		o.NoMonitor = memberwait.NoMonitorWait
	default:
		// Provisioned and Serving: the gate says in the Machine's
		// condition that Octavia cannot tell whether the member answers.
		o.NoMonitor = memberwait.NoMonitorServing
	}
	// A member missing from its pool is the gate's business (the Machine is
	// not member-ready), not a failure: no grace period ends it.
	o.NotFoundGrace = 365 * 24 * time.Hour
	return o
}

func policyOf(mg *v1alpha1.MemberGate) gate.Policy {
	p := gate.Policy{Mode: gate.Mode(mg.Spec.Mode), AlertAfter: v1alpha1.DefaultAlertAfter}
	if n := mg.Spec.MinServingMembers; n != nil {
		p.MinServingMembers = int(*n)
	}
	if p.Mode == "" {
		p.Mode = gate.Enforce
	}
	if mg.Spec.AlertAfter != nil {
		p.AlertAfter = mg.Spec.AlertAfter.Duration
	}
	return p
}
