package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"

	"github.com/membergate/membergate/internal/metrics"
	"github.com/membergate/membergate/pkg/gate"
)

// recordMetrics sets the cluster's gauges from a decision and the input it
// was made on.
func recordMetrics(cluster *clusterv1.Cluster, in gate.Input, d gate.Decision) {
	metrics.MachinesByReason.DeletePartialMatch(prometheus.Labels{"namespace": cluster.Namespace, "cluster": cluster.Name})
	counts := map[string]int{}
	held, alert := 0.0, 0.0
	for _, st := range d.Machines {
		counts[st.Reason]++
		if st.Held {
			if s := in.Now.Sub(st.HeldSince).Seconds(); s > held {
				held = s
			}
			if st.Alerted {
				alert = 1
			}
		}
	}
	for reason, n := range counts {
		metrics.MachinesByReason.WithLabelValues(cluster.Namespace, cluster.Name, reason).Set(float64(n))
	}
	metrics.HeldSeconds.WithLabelValues(cluster.Namespace, cluster.Name).Set(held)
	metrics.HoldAlert.WithLabelValues(cluster.Namespace, cluster.Name).Set(alert)
	unavailable := 0.0
	if lb := in.LoadBalancer; lb.Err != nil && !lb.UnavailableSince.IsZero() {
		unavailable = in.Now.Sub(lb.UnavailableSince).Seconds()
	}
	metrics.OctaviaUnavailableSeconds.WithLabelValues(cluster.Namespace, cluster.Name).Set(unavailable)
	metrics.OrphanMembers.WithLabelValues(cluster.Namespace, cluster.Name).Set(float64(len(in.Orphans)))
}
