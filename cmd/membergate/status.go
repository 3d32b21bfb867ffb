package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/tools/clientcmd"
	clusterv1 "sigs.k8s.io/cluster-api/api/core/v1beta2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/membergate/membergate/api/v1alpha1"
	"github.com/membergate/membergate/internal/statusview"
	"github.com/membergate/membergate/internal/waitreport"
)

// exitWouldHold: --what-if-delete found that the gate would hold the
// Machine, so that a script can delete only when it would not.
const exitWouldHold = 7

const statusLong = `Shows what the gate last observed of gated clusters, from their MemberGate
status and their control-plane Machines (it never calls OpenStack): each
Machine's phase, whether it carries the gate's pre-drain hook or is held,
its member in each pool with their statuses and since when, whether each
serves, and the gate's LoadBalancerMemberReady reason; then who is held,
since when and why (the hook annotation and the Machine's condition), and
what the gate waits for.

--what-if-delete MACHINE answers whether deleting that control-plane
Machine now would be held, and what the gate would wait for: the gate's own
release rule applied to its last observation, as if the Machine were being
deleted. The answer is as fresh as that observation, whose age it reports.

The kubeconfig is found as kubectl finds it (--kubeconfig, $KUBECONFIG,
~/.kube/config; --context, -n). Installed as kubectl-membergate on the PATH,
it runs as "kubectl membergate status".`

const statusExitCodes = `Exit codes:
  0  shown; with --what-if-delete, the deletion would not be held
  1  failure: the API server could not be read
  2  usage: bad flags, no kubeconfig
  5  not found: no MemberGate for --cluster, or no such Machine
  7  --what-if-delete: the deletion would be held`

type statusOptions struct {
	kubeconfig, context, namespace, cluster, whatIf, output string
	all                                                     bool
}

func (c *cli) newStatusCmd() *cobra.Command {
	var o statusOptions
	cmd := &cobra.Command{
		Use:   "status [--cluster [NAMESPACE/]NAME | -A] [--what-if-delete MACHINE] [flags]",
		Short: "Show gated clusters' Machines, members and holds; ask whether deleting a Machine would be held",
		Long:  statusLong,
		Args:  noArgs("name the cluster with --cluster"),
		RunE: runE(func(cmd *cobra.Command) error {
			if o.all && o.cluster != "" {
				return usagef("status: --all-namespaces and --cluster exclude each other")
			}
			if o.whatIf != "" && o.all {
				return usagef("status: --what-if-delete needs one cluster: give --cluster, or none to take the Machine's")
			}
			return c.status(cmd.Context(), o)
		}),
		Annotations: map[string]string{annotationExitCodes: statusExitCodes},
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	stringFlag(cmd, &o.cluster, "cluster", "[NAMESPACE/]NAME", "one gated cluster (default: every one in the namespace)")
	fs.BoolVarP(&o.all, "all-namespaces", "A", false, "gated clusters in every namespace")
	stringFlag(cmd, &o.whatIf, "what-if-delete", "MACHINE", "whether deleting this control-plane Machine now would be held, and what for")
	fs.VarP(stringValue{&o.namespace, "NAMESPACE"}, "namespace", "n", "the namespace (default: the kubeconfig context's)")
	fs.Var(stringValue{&o.kubeconfig, "FILE"}, "kubeconfig", "the kubeconfig (default: $KUBECONFIG, ~/.kube/config)")
	stringFlag(cmd, &o.context, "context", "NAME", "the kubeconfig context (default: its current one)")
	out := newChoice(&o.output, "text", "text", "json")
	fs.VarP(out, "output", "o", "a table, or one JSON document")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// kubeClient loads the kubeconfig as kubectl does and returns a client and
// the namespace to use.
func kubeClient(o statusOptions) (client.Client, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: o.context}
	overrides.Context.Namespace = o.namespace
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", usagef("status: loading the kubeconfig: %v", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, "", usagef("status: the kubeconfig's namespace: %v", err)
	}
	cfg.UserAgent = userAgent()
	c, err := client.New(cfg, client.Options{Scheme: statusScheme()})
	if err != nil {
		return nil, "", fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	return c, ns, nil
}

// statusScheme has only the types status reads (Clusters, Machines,
// MemberGates): the manager's, with every Kubernetes API, would make the
// binary several times larger.
func statusScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clusterv1.AddToScheme(s))
	utilruntime.Must(v1alpha1.AddToScheme(s))
	return s
}

// notFound ends the command with exitNotFound, the message said once.
func (c *cli) notFound(format string, args ...any) error {
	fmt.Fprintf(c.stderr, "membergate: "+format+"\n", args...)
	return exitStatus(exitNotFound)
}

func (c *cli) status(ctx context.Context, o statusOptions) error {
	kc, ns, err := kubeClient(o)
	if err != nil {
		return err
	}
	if o.cluster != "" {
		if before, after, ok := strings.Cut(o.cluster, "/"); ok {
			ns, o.cluster = before, after
		}
	}
	if o.whatIf != "" && o.cluster == "" {
		// The Machine names its cluster.
		var m clusterv1.Machine
		if err := kc.Get(ctx, client.ObjectKey{Namespace: ns, Name: o.whatIf}, &m); err != nil {
			if apierrors.IsNotFound(err) {
				return c.notFound("no Machine %s/%s", ns, o.whatIf)
			}
			return err
		}
		o.cluster = m.Spec.ClusterName
	}
	var gates []v1alpha1.MemberGate
	switch {
	case o.cluster != "":
		var mg v1alpha1.MemberGate
		if err := kc.Get(ctx, client.ObjectKey{Namespace: ns, Name: o.cluster}, &mg); err != nil {
			if apierrors.IsNotFound(err) {
				return c.notFound("no MemberGate %s/%s: the cluster is not gated, or does not exist", ns, o.cluster)
			}
			return err
		}
		gates = append(gates, mg)
	default:
		var list v1alpha1.MemberGateList
		var opts []client.ListOption
		if !o.all {
			opts = append(opts, client.InNamespace(ns))
		}
		if err := kc.List(ctx, &list, opts...); err != nil {
			return err
		}
		gates = list.Items
	}
	now := c.clock.Now()
	views := []statusview.Cluster{}
	for i := range gates {
		mg := &gates[i]
		cluster, machines, err := clusterObjects(ctx, kc, mg)
		if err != nil {
			return err
		}
		if o.whatIf != "" {
			return c.whatIf(mg, cluster, machines, o, now)
		}
		views = append(views, statusview.FromObjects(mg, cluster, machines))
	}
	if o.output == "json" {
		return waitreport.WriteJSON(c.stdout, struct {
			Clusters []statusview.Cluster `json:"clusters"`
		}{views})
	}
	if len(views) == 0 {
		where := "namespace " + ns
		if o.all {
			where = "any namespace"
		}
		fmt.Fprintf(c.stdout, "No gated cluster (MemberGate) in %s.\n", where)
	}
	for i, v := range views {
		if i > 0 {
			fmt.Fprintln(c.stdout)
		}
		if err := statusview.WriteTable(c.stdout, v, now); err != nil {
			return err
		}
	}
	return nil
}

// clusterObjects reads a MemberGate's Cluster (nil when gone) and the
// cluster's control-plane Machines, by name.
func clusterObjects(ctx context.Context, kc client.Client, mg *v1alpha1.MemberGate) (*clusterv1.Cluster, []clusterv1.Machine, error) {
	cluster := &clusterv1.Cluster{}
	if err := kc.Get(ctx, client.ObjectKey{Namespace: mg.Namespace, Name: mg.Spec.ClusterName}, cluster); apierrors.IsNotFound(err) {
		cluster = nil
	} else if err != nil {
		return nil, nil, err
	}
	var machines clusterv1.MachineList
	if err := kc.List(ctx, &machines, client.InNamespace(mg.Namespace),
		client.MatchingLabels{clusterv1.ClusterNameLabel: mg.Spec.ClusterName}, client.HasLabels{clusterv1.MachineControlPlaneLabel}); err != nil {
		return nil, nil, err
	}
	slices.SortFunc(machines.Items, func(a, b clusterv1.Machine) int { return strings.Compare(a.Name, b.Name) })
	return cluster, machines.Items, nil
}

func (c *cli) whatIf(mg *v1alpha1.MemberGate, cluster *clusterv1.Cluster, machines []clusterv1.Machine, o statusOptions, now time.Time) error {
	w, err := statusview.WhatIfDelete(mg, cluster, machines, o.whatIf, now)
	if errors.Is(err, statusview.ErrNotControlPlane) {
		return c.notFound("%v", err)
	}
	if err != nil {
		return err
	}
	if o.output == "json" {
		if err := waitreport.WriteJSON(c.stdout, w); err != nil {
			return err
		}
	} else {
		verdict := "would not be held"
		if w.Held {
			verdict = "would be HELD"
		}
		fmt.Fprintf(c.stdout, "Deleting %s of %s now %s: %s\n", w.Machine, w.Cluster, verdict, w.Why)
		if w.Stale != "" {
			fmt.Fprintln(c.stdout, "Note: "+w.Stale)
		}
	}
	if w.Held {
		return exitStatus(exitWouldHold)
	}
	return nil
}

// pluginName is the name the command shows in its help: "kubectl
// membergate" when it runs as the kubectl plugin kubectl-membergate (kubectl
// execs the binary of that name on the PATH for "kubectl membergate"),
// else "membergate".
func pluginName(argv0 string) string {
	if strings.TrimSuffix(filepath.Base(argv0), ".exe") == "kubectl-membergate" {
		return "kubectl membergate"
	}
	return "membergate"
}
