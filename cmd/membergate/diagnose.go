package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/membergate/membergate/internal/diagnose"
	"github.com/membergate/membergate/internal/openstackauth"
	"github.com/membergate/membergate/internal/waitreport"
	"github.com/spf13/cobra"
)

// exitMissingRules: diagnose found members whose groups lack a rule, and
// --fix was not given.
const exitMissingRules = 6

const diagnoseLong = `Traces why a load balancer's members fail their health checks, as an
operator would by hand: load balancer, pools, members and their statuses,
the Neutron port holding each member's address, its security groups, and
whether any ingress rule admits TCP to the member's (monitor) port from the
subnet the load balancer reaches it from. Prints the rule that would fix it;
--fix adds it (once per group, after showing it; an existing rule counts as
done). A member whose groups admit the traffic but is still ERROR has its
cause elsewhere: the service on the node, or the monitor.

--fix --wait then waits until the members the new rules admit serve (as
"membergate wait --for serving" judges: ACTIVE and ONLINE for the settle
window) and says how long recovery took. No load-balancer failover is
needed: the amphora's HAProxy keeps checking a DOWN member every monitor
delay, and it turns ONLINE once enough checks pass.

Credentials as for "membergate wait"; with auth_type none give Neutron's
endpoint too (network_endpoint_override, OS_NETWORK_ENDPOINT_OVERRIDE or
--network-endpoint).`

const diagnoseExitCodes = `Exit codes:
  0  no member lacks a rule (or --fix added every missing one, and with
     --wait they serve)
  1  failure: authentication, an OpenStack error
  2  usage: bad flags, malformed clouds.yaml, unknown cloud, no credentials
  3  --wait: a member is provisioning_status ERROR (a rule cannot help it:
     delete and re-create the member)
  4  --wait: --timeout passed before the members served
  5  not found: no load balancer with that ID or name
  6  some member's security groups lack a rule (run again with --fix)`

func (c *cli) newDiagnoseCmd() *cobra.Command {
	var lb, osCloud, osConfigFile, endpoint, networkEndpoint, output string
	var fix, wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "diagnose --loadbalancer ID|NAME [--fix [--wait]] [flags]",
		Short: "Trace why members fail their health checks (security groups); add the missing rule with --fix",
		Long:  diagnoseLong,
		Args:  noArgs("flags only"),
		RunE: runE(func(cmd *cobra.Command) error {
			if lb == "" {
				return usagef("diagnose: --loadbalancer is required")
			}
			if wait && !fix {
				return usagef("diagnose: --wait waits for what --fix changes: give --fix too")
			}
			return c.diagnose(cmd.Context(), lb, fixMode{fix: fix, wait: wait, timeout: timeout}, output == "json", openstackauth.Options{Cloud: c.osCloud(cmd, osCloud), CloudsFile: osConfigFile,
				EndpointOverride: endpoint, NetworkEndpointOverride: networkEndpoint, UserAgent: userAgent()})
		}),
		Annotations: map[string]string{annotationExitCodes: diagnoseExitCodes},
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	stringFlag(cmd, &lb, "loadbalancer", "ID|NAME", "the load balancer (a name must match exactly one)")
	fs.BoolVar(&fix, "fix", false, "add the missing rules")
	fs.BoolVar(&wait, "wait", false, "with --fix: wait until the fixed members serve; say how long it took")
	durationFlag(cmd, &timeout, "timeout", 10*time.Minute, "with --wait: give up after this long (exit 4); 0 waits until interrupted")
	addCloudFlags(cmd, &osCloud, &osConfigFile, &endpoint, "the clouds.yaml (default: clientconfig's search)", "Octavia's endpoint, instead of the catalog's")
	stringFlag(cmd, &networkEndpoint, "network-endpoint", "URL", "Neutron's endpoint, instead of the catalog's")
	enumFlag(cmd, newChoice(&output, "text", "text", "json"), "output", "a table, or one JSON document")
	return cmd
}

// fixMode is what diagnose does about missing rules: report them, add
// them, or add them and wait for the members to serve.
type fixMode struct {
	fix, wait bool
	timeout   time.Duration
}

// diagnose runs the trace, prints it, and adds the missing rules with fix.
// Members that lack a rule when fix is off end it with exitMissingRules.
func (c *cli) diagnose(ctx context.Context, lb string, mode fixMode, asJSON bool, opts openstackauth.Options) error {
	fix := mode.fix
	clients, err := openstackauth.NewClients(ctx, opts)
	if err != nil {
		return err
	}
	trace, err := diagnose.Run(ctx, clients.LoadBalancer, clients.Network, clients.ProjectID, lb)
	if err != nil {
		return err
	}
	missing := 0
	for _, r := range trace.Rows {
		if r.Fix != nil {
			missing++
		}
	}
	var applied []diagnose.Applied
	if !asJSON {
		printTrace(c.stdout, trace)
	}
	if fix && missing > 0 {
		if !asJSON {
			fmt.Fprintln(c.stdout)
		}
		applied, err = diagnose.Fix(ctx, clients.Network, trace)
		for _, a := range applied {
			if !asJSON {
				state := "added"
				if a.Existed {
					state = "already there"
				}
				fmt.Fprintf(c.stdout, "%s: group %s: %s\n", state, a.Rule.SecurityGroupID, a.Rule)
			}
		}
		if err != nil {
			return err
		}
	}
	var rec *recovery
	var werr error
	if mode.wait && missing > 0 {
		rec, werr = c.awaitRecovery(ctx, clients.LoadBalancer, trace, mode.timeout, asJSON)
	}
	if asJSON {
		if err := waitreport.WriteJSON(c.stdout, struct {
			*diagnose.Trace
			Applied  []diagnose.Applied `json:"applied,omitempty"`
			Missing  int                `json:"missingRules"`
			Recovery *recovery          `json:"recovery,omitempty"`
		}{trace, applied, missing, rec}); err != nil {
			return err
		}
	} else if rec != nil {
		rec.write(c.stdout)
	}
	if werr != nil {
		return werr
	}
	if !asJSON && missing > 0 && !fix {
		fmt.Fprintf(c.stdout, "\n%d member(s) lack a rule: run again with --fix to add it.\n", missing)
	}
	if missing > 0 && !fix {
		return exitStatus(exitMissingRules)
	}
	return nil
}

// printTrace renders the trace as one table a person reads in one look.
func printTrace(w io.Writer, t *diagnose.Trace) {
	lb := t.LoadBalancer
	fmt.Fprintf(w, "load balancer %s (%s) %s/%s, VIP %s\n\n", lb.Name, lb.ID, lb.ProvisioningStatus, lb.OperatingStatus, lb.VIPAddress)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "POOL\tMEMBER\tADDRESS\tSTATUS\tFROM\tPORT\tGROUPS\tVERDICT")
	for _, r := range t.Rows {
		pool := r.PoolName
		if pool == "" {
			pool = waitreport.OrDash(waitreport.ShortID(r.PoolID))
		}
		name := r.MemberName
		if name == "" {
			name = waitreport.OrDash(waitreport.ShortID(r.MemberID))
		}
		groups := make([]string, len(r.Groups))
		for i, g := range r.Groups {
			groups[i] = waitreport.OrDash(waitreport.ShortID(g))
		}
		verdict := r.Verdict
		if r.By != nil {
			verdict += " by " + r.By.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s:%d\t%s/%s\t%s\t%s\t%s\t%s\n", pool, name, r.Address, r.CheckPort(), r.ProvisioningStatus,
			r.OperatingStatus, r.Source, waitreport.OrDash(waitreport.ShortID(r.PortID)), strings.Join(groups, ","), verdict)
	}
	_ = tw.Flush()
	for _, r := range t.Rows {
		switch {
		case r.Fix != nil && r.FixProject != "":
			fmt.Fprintf(w, "fix for %s: group %s belongs to project %s, not yours: ask its owner to add %s (--fix leaves it alone)\n",
				r.Address, r.Fix.SecurityGroupID, r.FixProject, r.Fix)
		case r.Fix != nil:
			fmt.Fprintf(w, "fix for %s: add to group %s: %s\n", r.Address, r.Fix.SecurityGroupID, r.Fix)
		}
	}
}
