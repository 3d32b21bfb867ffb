package securitygroup

import (
	"net/http"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/membergate/membergate/pkg/memberwait"
)

// A Neutron that answers 429 with Retry-After is left alone for as long as
// it asks: the reconcile requeues no sooner, a reconcile that an event
// brings earlier asks it nothing, the condition says when the next pass
// will be, and once the time is up the pass goes on. A Retry-After beyond
// memberwait.MaxRetryAfter waits that long.
func TestSecurityGroupsHonourRetryAfter(t *testing.T) {
	for _, c := range []struct {
		name       string
		code       int
		retryAfter time.Duration
		want       time.Duration
	}{
		{"429 for two minutes", http.StatusTooManyRequests, 2 * time.Minute, 2 * time.Minute},
		{"503 for a day is capped", http.StatusServiceUnavailable, 24 * time.Hour, memberwait.MaxRetryAfter},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, options{machines: 1, cpGroups: []string{"cp"}, sg: enforce()})
			req := ctrl.Request{NamespacedName: types.NamespacedName{Namespace: w.ns, Name: "test"}}
			// The gate publishes the members the pass works from.
			_, err := w.gate.Reconcile(w.ctx, req)
			w.g.Expect(err).NotTo(HaveOccurred())

			w.neutron.Overload("", 1, c.code, c.retryAfter)
			res, err := w.r.Reconcile(w.ctx, req)
			w.g.Expect(err).NotTo(HaveOccurred())
			w.g.Expect(res.RequeueAfter).To(Equal(c.want), "requeued sooner than Neutron asked")
			cond := w.sgCondition()
			w.g.Expect(cond.Reason).To(Equal(ReasonOpenStackUnavailable))
			w.g.Expect(cond.Message).To(ContainSubstring("asked to be left alone for %s (Retry-After), next pass at %s", c.want, w.clk.Now().Add(c.want).UTC().Format(time.RFC3339)))
			w.g.Expect(len(cond.Message)).To(BeNumerically("<=", maxConditionMessage))

			// A change brings the cluster back early: nothing is asked of
			// Neutron, and the requeue is what is left of the wait.
			w.clk.Step(Resync)
			before := w.neutron.Requests()
			res, err = w.r.Reconcile(w.ctx, req)
			w.g.Expect(err).NotTo(HaveOccurred())
			w.g.Expect(w.requestsSince(before)).To(BeEmpty(), "Neutron asked again before its Retry-After")
			w.g.Expect(res.RequeueAfter).To(Equal(c.want - Resync))

			// Once the wait is over the pass runs and converges.
			w.clk.Step(res.RequeueAfter)
			res, err = w.r.Reconcile(w.ctx, req)
			w.g.Expect(err).NotTo(HaveOccurred())
			// Converged, the cluster is looked at when its next pass is due.
			w.g.Expect(res.RequeueAfter).To(Equal(SecurityGroupInterval))
			w.g.Expect(w.ours(w.cp)).NotTo(BeEmpty())
			w.g.Expect(w.sgCondition().Status).To(Equal(metav1.ConditionTrue), "%+v", w.sgCondition())
		})
	}
}
