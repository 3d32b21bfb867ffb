package securitygroup

import (
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/memberwait"
)

// member is a control-plane Machine's member in one pool as the gate last
// saw it.
type member struct {
	poolID string
	status memberwait.MemberStatus
	// since is when the member was first seen with these statuses.
	since time.Time
}

// gateMembers are the load balancer's members as the gate publishes them in
// the MemberGate status: each control-plane Machine's member in every pool,
// by Machine name, and a key naming every member, orphans included, that
// changes when members come or go. While the gate reports Octavia
// unavailable, its rows keep the last good observation, which says nothing
// about now: there are no members then, as when the gate observed nothing.
func gateMembers(mg *v1alpha1.MemberGate) (map[string][]member, string) {
	if c := meta.FindStatusCondition(mg.Status.Conditions, v1alpha1.ReadyCondition); c != nil &&
		c.Status == metav1.ConditionFalse && c.Reason == gate.ReasonOctaviaUnavailable {
		return nil, ""
	}
	byMachine := map[string][]member{}
	var ids []string
	for _, row := range mg.Status.Machines {
		for _, m := range row.Members {
			if m.ID == "" {
				continue
			}
			byMachine[row.Name] = append(byMachine[row.Name], member{poolID: m.PoolID, since: timeOf(m.Since),
				status: memberwait.MemberStatus{ID: m.ID, Name: m.Name, Address: m.Address, ProtocolPort: int(m.ProtocolPort),
					ProvisioningStatus: m.ProvisioningStatus, OperatingStatus: m.OperatingStatus}})
			ids = append(ids, m.PoolID+"/"+m.ID)
		}
	}
	for _, o := range mg.Status.Orphans {
		ids = append(ids, "/"+o.ID)
	}
	for name := range byMachine {
		slices.SortFunc(byMachine[name], func(a, b member) int { return strings.Compare(a.poolID, b.poolID) })
	}
	slices.Sort(ids)
	return byMachine, strings.Join(ids, ",")
}

func timeOf(t *metav1.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}
