package inprocess

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	"github.com/membergate/membergate/test/e2e/inprocess/harness"
)

// alertAfter is the MemberGate's alert threshold here (default 15 min).
const alertAfter = 15 * time.Second

// A member that never leaves PENDING_CREATE: the gate holds the old Machine
// for good — never because time passed — and raises the alert, and the load
// balancer keeps every serving member it had.
func TestStuckMemberHoldsTheRolloutAndAlerts(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	c, err := h.CreateCluster(ctx, harness.ClusterSpec{Namespace: "stuck-member", Name: "cp", Replicas: replicas,
		SettleWindow: settleWindow, AlertAfter: alertAfter})
	g.Expect(err).NotTo(HaveOccurred())
	before, err := c.WaitStable(ctx, replicas)
	g.Expect(err).NotTo(HaveOccurred())

	rec := c.Record(ctx, replicas, 100*time.Millisecond, nil)
	defer rec.Stop()
	g.Expect(c.StartRollout(ctx, 1, harness.StuckPending())).To(Succeed())

	// The first old Machine is deleted, held, and the hold alerts.
	var held v1alpha1.MachineMembers
	g.Eventually(func() bool {
		var mg v1alpha1.MemberGate
		if err := h.Client.Get(ctx, c.Key(), &mg); err != nil {
			return false
		}
		for _, row := range mg.Status.Machines {
			if row.Held && row.Alerted {
				held = row
				return true
			}
		}
		return false
	}).WithContext(ctx).WithTimeout(3*time.Minute).WithPolling(250*time.Millisecond).Should(BeTrue(), "no alerted hold; last seen: %s", rec.Last())
	g.Expect(held.HeldSince).NotTo(BeNil())
	t.Logf("%s held since %s, alerted", held.Name, held.HeldSince.Format(time.RFC3339))
	g.Eventually(func() []string { return warnings(ctx, c.Namespace, held.Name) }).WithContext(ctx).WithTimeout(30 * time.Second).
		Should(ContainElement(gate.EventHeldTooLong))

	// Time passing releases nothing, and the gate's polling stays cheap.
	c.Cloud.Server.ResetCounters()
	const watch = 10 * time.Second
	g.Consistently(func() bool {
		m := machineView(rec.Last().Machines, held.Name)
		return m != nil && m.Deleting && m.Hooked
	}).WithContext(ctx).WithTimeout(watch).WithPolling(500*time.Millisecond).Should(BeTrue(), "the held Machine lost its hook")
	statusReads := c.Cloud.Server.RequestCount(octaviatest.OpGetLoadBalancerStatus)
	t.Logf("while held: %d status-tree reads in %s", statusReads, watch)

	s := rec.Last()
	var replacements []harness.MachineView
	for _, m := range s.Machines {
		if machineView(before.Machines, m.Name) == nil {
			replacements = append(replacements, m)
		}
	}
	g.Expect(replacements).To(HaveLen(1), "the rollout went on past the held Machine: %s", s)
	g.Expect(replacements[0].Member).NotTo(BeNil())
	g.Expect(replacements[0].Member.Provisioning).To(Equal("PENDING_CREATE"))
	g.Expect(replacements[0].GateReason).To(Equal(gate.ReasonMemberPending))

	got := rec.Stop()
	g.Expect(got.Errors).To(BeZero())
	g.Expect(got.Below).To(BeZero(), "serving members dropped below %d; first at %s", replicas, got.FirstBelow)
	g.Expect(got.MinServing).To(Equal(replicas))
}

// warnings lists the reasons of the Warning events about an object.
func warnings(ctx context.Context, namespace, name string) []string {
	var list eventsv1.EventList
	if err := h.Client.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil
	}
	var out []string
	for _, e := range list.Items {
		if e.Type == "Warning" && e.Regarding.Name == name {
			out = append(out, e.Reason)
		}
	}
	return out
}
