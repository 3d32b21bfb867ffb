package securitygroup

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/cloud/services/loadbalancer"
	"github.com/membergate/membergate/internal/cloud/services/networking"
	"github.com/membergate/membergate/internal/diagnose"
	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/secgroup"
)

// VerdictError is a diagnosis that could not be made (Neutron failed).
const VerdictError = "error"

// failingMember is a member ACTIVE but ERROR or OFFLINE past its settle
// window: the health checks fail, and the groups may be why.
type failingMember struct {
	machine, poolID string
	member          memberwait.MemberStatus
	since           time.Time
}

type failingSet []failingMember

func (f failingSet) has(memberID string) bool {
	return slices.ContainsFunc(f, func(m failingMember) bool { return m.member.ID == memberID })
}

// due returns the failing members to diagnose now: never diagnosed, their
// statuses changed, or last diagnosed DiagnosisInterval ago.
func (f failingSet) due(done []v1alpha1.MemberDiagnosis, now time.Time) []failingMember {
	var out []failingMember
	for _, m := range f {
		i := slices.IndexFunc(done, func(d v1alpha1.MemberDiagnosis) bool { return d.MemberID == m.member.ID })
		if i < 0 || done[i].Statuses != m.member.Statuses() || now.Sub(done[i].At.Time) >= DiagnosisInterval {
			out = append(out, m)
		}
	}
	return out
}

// failingMembers picks the members to diagnose from the gate's, which say
// since when each member has had its statuses.
func failingMembers(mg *v1alpha1.MemberGate, machines []clusterv1.Machine, members map[string][]member, now time.Time) failingSet {
	settle := settleWindow(mg)
	var out failingSet
	for _, m := range machines {
		for _, pm := range members[m.Name] {
			ms := pm.status
			if ms.ProvisioningStatus != memberwait.StatusActive ||
				(ms.OperatingStatus != memberwait.StatusError && ms.OperatingStatus != memberwait.StatusOffline) {
				continue
			}
			if since := pm.since; !since.IsZero() && now.Sub(since) >= settle {
				out = append(out, failingMember{machine: m.Name, poolID: pm.poolID, member: ms, since: since})
			}
		}
	}
	return out
}

// diagnoseMember judges one failing member with internal/diagnose, from
// what the pass read (or reads now: its port and its groups' rules), and
// reports it: in the status, which the gate shows in the Machine's
// condition, and in an event on the Machine.
func (r *Reconciler) diagnoseMember(ctx context.Context, out *outcome, v *networking.Service, topo *loadbalancer.Topology, in input, pol policy, f failingMember) {
	ms := f.member
	row := diagnose.Row{PoolID: f.poolID, MemberID: ms.ID, MemberName: ms.Name, Address: ms.Address, ProtocolPort: ms.ProtocolPort,
		ProvisioningStatus: ms.ProvisioningStatus, OperatingStatus: ms.OperatingStatus, Failing: true, SourceSubnetID: topo.VIPSubnetID}
	hint := map[string]string{}
	if tm, ok := topo.Member(ms.ID); ok {
		row.MonitorPort, row.SourceSubnetID = tm.MonitorPort, tm.SourceSubnet(topo.VIPSubnetID)
		hint[ms.Address] = tm.SubnetID
	}
	err := func() error {
		cidr, err := v.GetSubnetCIDR(ctx, row.SourceSubnetID)
		if err != nil {
			return err
		}
		if err := v.FindPorts(ctx, []string{ms.Address}, hint); err != nil {
			return err
		}
		p := v.Port(ms.Address)
		if p == nil {
			return diagnose.Judge(&row, cidr, nil, nil)
		}
		if err := v.ListRules(ctx, p.SecurityGroups); err != nil {
			return err
		}
		return diagnose.Judge(&row, cidr, &diagnose.Port{ID: p.ID, SecurityGroups: p.SecurityGroups, PortSecurityEnabled: p.PortSecurityEnabled},
			v.Rules(p.SecurityGroups...))
	}()
	d := v1alpha1.MemberDiagnosis{MemberID: ms.ID, Machine: f.machine, PoolID: f.poolID, Address: ms.Address, Port: int32(row.CheckPort()),
		Statuses: ms.Statuses(), Source: row.Source, Groups: row.Groups, Verdict: row.Verdict, At: metav1.NewTime(in.now)}
	if row.Fix != nil {
		d.Fix = fmt.Sprintf("add to group %s: %s", row.Fix.SecurityGroupID, row.Fix)
	}
	d.Message = diagnosisMessage(row, f, pol.Mode, err)
	if err != nil {
		d.Verdict = VerdictError
		out.retryAfter = max(out.retryAfter, memberwait.ServerRetryAfter(err))
	}
	st := out.status
	st.Diagnoses = slices.DeleteFunc(st.Diagnoses, func(o v1alpha1.MemberDiagnosis) bool { return o.MemberID == d.MemberID })
	st.Diagnoses = append(st.Diagnoses, d)
	slices.SortFunc(st.Diagnoses, func(a, b v1alpha1.MemberDiagnosis) int {
		return strings.Compare(a.Machine+"/"+a.PoolID, b.Machine+"/"+b.PoolID)
	})
	var regarding client.Object = in.mg
	for i := range in.machines {
		if in.machines[i].Name == f.machine {
			regarding = &in.machines[i]
		}
	}
	r.Recorder.Eventf(regarding, in.mg, corev1.EventTypeWarning, "MemberDiagnosed", "SecurityGroups", "%s", d.Message)
}

// diagnosisMessage says what the groups tell about a failing member, and
// what to do.
func diagnosisMessage(row diagnose.Row, f failingMember, mode secgroup.EnforcementMode, err error) string {
	lead := fmt.Sprintf("member %s:%d (pool %s) is %s since %s", row.Address, row.ProtocolPort, row.PoolID, f.member.Statuses(),
		f.since.UTC().Format(time.RFC3339))
	groups := strings.Join(row.Groups, ", ")
	switch {
	case err != nil:
		return fmt.Sprintf("%s; its security groups could not be checked: %v", lead, err)
	case row.Verdict == diagnose.MissingRule:
		msg := fmt.Sprintf("%s: no rule of its port's groups (%s) admits TCP port %d from %s, where the load balancer's health checks come from; fix: add to group %s: %s",
			lead, groups, row.CheckPort(), row.Source, row.Fix.SecurityGroupID, row.Fix)
		if mode == secgroup.Audit {
			msg += " (or set spec.securityGroups.mode: Enforce)"
		}
		return msg
	case row.Verdict == diagnose.Admitted:
		return fmt.Sprintf("%s, but its port's groups admit TCP port %d from %s (%s, group %s): the cause is elsewhere — the service on the node, or the health monitor",
			lead, row.CheckPort(), row.Source, row.By, row.By.SecurityGroupID)
	case row.Verdict == diagnose.PortSecurityOff:
		return fmt.Sprintf("%s; its port %s has port security disabled, so no group filters it: the cause is elsewhere — the service on the node, or the health monitor",
			lead, row.PortID)
	default:
		return fmt.Sprintf("%s; no Neutron port holds %s, so no group can be checked: is the member's address right?", lead, row.Address)
	}
}
