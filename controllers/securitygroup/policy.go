package securitygroup

import (
	"net/netip"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/membergate/membergate/pkg/secgroup"
)

// policy is the MemberGate's security-group policy in force.
type policy struct {
	secgroup.Policy
	workers bool
	// sources are the ones configured; none means those derived from the
	// load balancer's subnets.
	sources []secgroup.Source
}

// policyOf reads the spec; unset means Audit with the defaults.
func policyOf(mg *v1alpha1.MemberGate) policy {
	p := policy{Policy: secgroup.Policy{Mode: secgroup.Audit, NodePorts: secgroup.DefaultNodePorts}}
	s := mg.Spec.SecurityGroups
	if s == nil {
		return p
	}
	if s.Mode != "" {
		p.Mode = secgroup.EnforcementMode(s.Mode)
	}
	if r := s.NodePortRange; r != nil {
		p.NodePorts = secgroup.PortRange{Min: int(r.Min), Max: int(r.Max)}
	}
	p.AllTCP, p.AllowAnywhere, p.workers = s.AllTCP, s.AllowAnywhere, s.Workers
	for _, c := range s.Sources {
		// The webhook refuses what does not parse; a source that slipped
		// past it (webhooks off) is left out rather than guessed at.
		if prefix, err := netip.ParsePrefix(c); err == nil {
			p.sources = append(p.sources, secgroup.Source{Prefix: prefix.Masked()})
		}
	}
	return p
}

// ruleOwner marks the rules of one cluster's enforcement, in their
// description. Creation and every cleanup take it from here, from the
// Cluster's namespace and name — the key the controller reads the cluster's
// MemberGate by — and never from spec.clusterName: a MemberGate made before
// the API required the two to agree may name another cluster there, and a
// cleanup looking for that cluster's rules would leave ours behind.
//
// The management cluster is part of the mark: two management clusters
// whose workload clusters share a project (and, as is common, their
// namespace and name) must neither adopt nor delete each other's rules.
func ruleOwner(managementCluster string, cluster types.NamespacedName) secgroup.Owner {
	o := "membergate " + cluster.String()
	if managementCluster != "" {
		o += "@" + managementCluster
	}
	return secgroup.Owner(o)
}

// settleWindow is how long a member must keep its statuses before it
// counts as failing: the MemberGate's settle window, as the gate applies
// it (unset: memberwait's default; zero: none).
func settleWindow(mg *v1alpha1.MemberGate) time.Duration {
	switch d := mg.Spec.SettleWindow; {
	case d == nil:
		return memberwait.DefaultSettleWindow
	case d.Duration < 0:
		return 0
	default:
		return d.Duration
	}
}
