package controllers

import (
	"errors"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/membergate/membergate/internal/metrics"
	"github.com/membergate/membergate/pkg/gate"
	"github.com/membergate/membergate/pkg/memberwait"
)

// How long Octavia has been unreadable for a cluster and how many orphan
// members it has are exported per cluster, at 0 when there are none, so
// that an alert can say which cluster and a dashboard draws a line.
func TestGateMetricsSayHowLongOctaviaIsUnreadableAndCountOrphans(t *testing.T) {
	g := NewWithT(t)
	c := &clusterv1.Cluster{ObjectMeta: metav1.ObjectMeta{Namespace: "metrics", Name: "c"}}
	unreadable := func() float64 {
		return testutil.ToFloat64(metrics.OctaviaUnavailableSeconds.WithLabelValues("metrics", "c"))
	}
	orphans := func() float64 { return testutil.ToFloat64(metrics.OrphanMembers.WithLabelValues("metrics", "c")) }

	now := epoch.Add(time.Hour)
	recordMetrics(c, gate.Input{Now: now}, gate.Decision{})
	g.Expect(unreadable()).To(BeZero())
	g.Expect(orphans()).To(BeZero())

	in := gate.Input{Now: now, LoadBalancer: gate.LoadBalancer{Err: errors.New("503"), UnavailableSince: now.Add(-7 * time.Minute)},
		Orphans: []memberwait.MemberStatus{{ID: "a"}, {ID: "b"}}}
	recordMetrics(c, in, gate.Decision{})
	g.Expect(unreadable()).To(Equal(420.0))
	g.Expect(orphans()).To(Equal(2.0))

	// The first failed read: unavailable since now.
	in.LoadBalancer.UnavailableSince = time.Time{}
	recordMetrics(c, in, gate.Decision{})
	g.Expect(unreadable()).To(BeZero())

	metrics.ForgetCluster("metrics", "c")
	g.Expect(metrics.OctaviaUnavailableSeconds.DeleteLabelValues("metrics", "c")).To(BeFalse(), "ForgetCluster left the series")
	g.Expect(metrics.OrphanMembers.DeleteLabelValues("metrics", "c")).To(BeFalse(), "ForgetCluster left the series")
}
