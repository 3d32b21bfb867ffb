package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/membergate/membergate/pkg/gate"
)

var (
	machinesByReason = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "membergate_machines",
		Help: "Control-plane Machines by LoadBalancerMemberReady reason.",
	}, []string{"namespace", "cluster", "reason"})
	heldSeconds = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "membergate_held_seconds",
		Help: "How long the cluster's rollout has been held (0 when not held).",
	}, []string{"namespace", "cluster"})
	alerts = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "membergate_hold_alert",
		Help: "1 while a hold has lasted past the MemberGate's alertAfter.",
	}, []string{"namespace", "cluster"})
)

// Every metric the controllers export is registered here, once, with
// controller-runtime's registry (served on the manager's metrics endpoint).
func init() {
	metrics.Registry.MustRegister(machinesByReason, heldSeconds, alerts, octaviaRequests, neutronRequests, memberDiagnosis)
}

func recordMetrics(cluster *clusterv1.Cluster, in gate.Input, d gate.Decision) {
	machinesByReason.DeletePartialMatch(prometheus.Labels{"namespace": cluster.Namespace, "cluster": cluster.Name})
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
		machinesByReason.WithLabelValues(cluster.Namespace, cluster.Name, reason).Set(float64(n))
	}
	heldSeconds.WithLabelValues(cluster.Namespace, cluster.Name).Set(held)
	alerts.WithLabelValues(cluster.Namespace, cluster.Name).Set(alert)
}
