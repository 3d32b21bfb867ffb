package inprocess

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/gate/remediate"
	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
	"github.com/membergate/membergate/test/e2e/inprocess/harness"
)

// A new member goes to provisioning ERROR (Octavia's create flow
// reverted), and the MemberGate asks for remediation: Recreate. The gate
// deletes the member through Octavia and annotates the Machine's
// infrastructure Machine; CAPO's own member code, reconciling it at once,
// creates the member again; the gate waits for that member to serve and
// the rollout completes, with no person and no serving member lost.
func TestMemberInErrorIsRecreatedAndTheRolloutCompletes(t *testing.T) {
	t.Parallel()
	g := NewWithT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	c, err := h.CreateCluster(ctx, harness.ClusterSpec{Namespace: "member-remediation", Name: "cp", Replicas: replicas,
		SettleWindow: settleWindow, AlertAfter: alertAfter})
	g.Expect(err).NotTo(HaveOccurred())
	var mg v1alpha1.MemberGate
	g.Expect(h.Client.Get(ctx, c.Key(), &mg)).To(Succeed())
	orig := mg.DeepCopy()
	mg.Spec.Remediation = v1alpha1.RemediationRecreate
	g.Expect(h.Client.Patch(ctx, &mg, client.MergeFrom(orig))).To(Succeed())
	before, err := c.WaitStable(ctx, replicas)
	g.Expect(err).NotTo(HaveOccurred())
	var old []string
	for _, m := range before.Machines {
		old = append(old, m.Name)
	}

	// The first new member goes ERROR as soon as it exists, as Octavia's
	// revert leaves it; every later member (the one CAPO creates again
	// included) follows the amphorav2 script.
	var (
		mu                              sync.Mutex
		errored, erroredOn, newMember   string // the member put in ERROR, its Machine, its replacement
		erroredAt, deletedAt, createdAt time.Time
		servedAt                        time.Time
	)
	onSample := func(s harness.Snapshot) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range s.Machines {
			switch {
			case slices.Contains(old, m.Name):
			case errored == "" && m.Member != nil:
				if err := c.Cloud.Server.SetMemberStatus(m.Member.ID, memberwait.StatusError, memberwait.StatusOffline); err != nil {
					t.Errorf("putting member %s in ERROR: %v", m.Member.ID, err)
					return
				}
				errored, erroredOn, erroredAt = m.Member.ID, m.Name, s.At
			case m.Name == erroredOn:
				if deletedAt.IsZero() && (m.Member == nil || m.Member.ID != errored) {
					deletedAt = s.At
				}
				if createdAt.IsZero() && m.Member != nil && m.Member.ID != errored {
					createdAt, newMember = s.At, m.Member.ID
				}
				if servedAt.IsZero() && m.Member != nil && m.Member.ID == newMember && m.Member.Serving() {
					servedAt = s.At
				}
			}
		}
	}
	r, err := c.Rollout(ctx, harness.RolloutSpec{MaxSurge: 1, Script: harness.Amphorav2(quirkPending, quirkOnline), OnSample: onSample})
	g.Expect(err).NotTo(HaveOccurred())
	rec := r.Recording
	logTimelines(t, rec)
	g.Expect(rec.Errors).To(BeZero(), "the sampler could not read the cluster")
	g.Expect(rec.Below).To(BeZero(), "serving members dropped below %d; first at %s", rec.Required, rec.FirstBelow)
	g.Expect(oldMachinesReplaced(rec)).To(Equal(replicas), "every old Machine is gone")

	mu.Lock()
	defer mu.Unlock()
	g.Expect(errored).NotTo(BeEmpty(), "no new member was put in ERROR")
	g.Expect(newMember).NotTo(BeEmpty(), "the member in ERROR was never replaced")
	g.Expect(deletedAt.IsZero()).To(BeFalse())

	// The record: one attempt, which saw its member replaced.
	g.Expect(h.Client.Get(ctx, c.Key(), &mg)).To(Succeed())
	g.Expect(mg.Status.Remediation).NotTo(BeNil())
	g.Expect(mg.Status.Remediation.Attempts).To(HaveLen(1))
	a := mg.Status.Remediation.Attempts[0]
	g.Expect(a.MemberID).To(Equal(errored))
	g.Expect(a.Phase).To(Equal(string(remediate.Recreated)))
	g.Expect(a.NewMemberID).NotTo(BeEmpty())
	g.Expect(reasons(ctx, c.Namespace)).To(ContainElements(remediate.EventRecreating, remediate.EventRecreated))
	// CAPO created a member for each new Machine, and one more.
	g.Expect(r.Requests[octaviatest.OpCreateMember]).To(Equal(replicas + 1))

	g.Expect(servedAt.IsZero()).To(BeFalse(), "the new member was never seen serving")
	t.Logf("member %s of %s put in ERROR at +0s; gone by +%s; new member %s (CAPO's reconcile) by +%s, serving by +%s (its amphorav2 script: %s); rollout complete %s after its start, every member serving at %s",
		errored, erroredOn, deletedAt.Sub(erroredAt).Round(100*time.Millisecond), newMember, createdAt.Sub(erroredAt).Round(100*time.Millisecond),
		servedAt.Sub(erroredAt).Round(100*time.Millisecond), quirkPending+quirkOnline, r.Duration.Round(time.Second), r.Served.Round(time.Second))
}

// reasons lists the reasons of the events in a namespace.
func reasons(ctx context.Context, namespace string) []string {
	var list eventsv1.EventList
	if err := h.Client.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil
	}
	var out []string
	for _, e := range list.Items {
		out = append(out, e.Reason)
	}
	return out
}
