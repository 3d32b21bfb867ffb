package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/membergate/membergate/pkg/memberwait"
	"github.com/spf13/cobra"
)

// waitConfig is a parsed "membergate wait" command line.
type waitConfig struct {
	loadBalancer  string
	members       []memberwait.Selector
	pool          string
	all           bool
	target        memberwait.Target
	timeout       time.Duration
	settle        time.Duration
	settleAuto    bool // --settle auto: settle is unused
	heartbeat     time.Duration
	noMonitor     memberwait.NoMonitorPolicy
	notFoundGrace time.Duration
	source        string
	osCloud       string
	osConfigFile  string
	endpoint      string
	output        string
	json          bool
}

const waitLong = `Waits until Octavia pool members are provisioned, serving or gone, judging
each member by its own statuses, not its load balancer's. All members are
watched together with one Octavia request per poll (the load balancer's
status tree). "serving" means ACTIVE and ONLINE held for the settle window:
HAProxy reports a new member UP before its first health check, so one ONLINE
reading is not proof.

A member SELECTOR is a member ID, an ADDRESS, ADDRESS:PORT ([IPv6]:PORT), or
a member NAME. A selector must match exactly one member of the load balancer
(of --pool, if given). Addresses match in any spelling: fd00::a finds a
member created as fd00::0a. Members that do not exist yet are looked for
until --not-found-grace has passed.

Credentials come from clouds.yaml (--os-cloud, OS_CLOUD) or OS_* variables,
as for the openstack CLI. For an Octavia with auth_strategy = noauth use a
cloud with "auth_type: none" and "load_balancer_endpoint_override", or
OS_AUTH_TYPE=none with --endpoint.`

const waitExample = `  membergate wait --os-cloud prod --loadbalancer k8s-clusterapi-cluster-default-demo-kubeapi \
      --member 10.6.0.13:6443 --for serving --timeout 15m
  membergate wait --loadbalancer 3f2a9c1e-... --all --for provisioned --output json`

// addWaitFlags defines wait's flags on cmd, in the order of its usage line.
func (c *cli) addWaitFlags(cmd *cobra.Command, cfg *waitConfig) {
	fs := cmd.Flags()
	fs.SortFlags = false
	stringFlag(cmd, &cfg.loadBalancer, "loadbalancer", "ID|NAME", "the load balancer (a name must match exactly one)")
	fs.Var(membersValue{&cfg.members}, "member", "a member to wait for: ID, NAME, ADDRESS or ADDRESS:PORT; repeatable")
	_ = cmd.RegisterFlagCompletionFunc("member", cobra.NoFileCompletions)
	stringFlag(cmd, &cfg.pool, "pool", "ID|NAME", "look for the members in this pool only")
	fs.BoolVar(&cfg.all, "all", false, "wait for every member of the load balancer (of --pool, if given) as it is at the start")
	cfg.target = memberwait.Serving
	enumFlag(cmd, targetValue{&cfg.target}, "for", "the target: ACTIVE; ACTIVE and ONLINE for --settle; or deleted")
	durationFlag(cmd, &cfg.timeout, "timeout", 10*time.Minute, "give up after this long (exit 4); 0 waits until interrupted")
	cfg.settleAuto = true
	fs.Var(settleValue{&cfg.settleAuto, &cfg.settle}, "settle", "how long a member must stay ACTIVE and ONLINE to count as serving: auto derives it\nfrom each pool's health monitor (delay×max_retries_down+timeout+heartbeat+5s);\na duration fixes it; 0 for no settle window")
	_ = cmd.RegisterFlagCompletionFunc("settle", cobra.FixedCompletions([]string{"auto"}, cobra.ShellCompDirectiveNoFileComp))
	durationFlag(cmd, &cfg.heartbeat, "heartbeat", memberwait.DefaultHeartbeat, "the amphorae's heartbeat interval (Octavia's [health_manager] heartbeat_interval),\nfor --settle auto")
	cfg.noMonitor = memberwait.NoMonitorFail
	enumFlag(cmd, noMonitorValue{&cfg.noMonitor}, "no-monitor", "what NO_MONITOR (the pool has no health monitor) means for --for serving:\nfail at once (exit 1), count it as serving, or wait for a monitor to be added")
	durationFlag(cmd, &cfg.notFoundGrace, "not-found-grace", memberwait.DefaultNotFoundGrace, "how long a missing member, pool or load balancer may stay missing before exit 5")
	enumFlag(cmd, newChoice(&cfg.source, "status-tree", "status-tree", "pool-members"), "source", "how to observe: the status tree (one request per poll), or each pool's member list\n(one request per pool; for pools under no listener)")
	addCloudFlags(cmd, &cfg.osCloud, &cfg.osConfigFile, &cfg.endpoint,
		"the clouds.yaml (default: $OS_CLIENT_CONFIG_FILE, ./clouds.yaml,\n~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml)",
		"Octavia's endpoint, instead of the Keystone catalog's (default: the cloud's\nload_balancer_endpoint_override, $OS_ENDPOINT_OVERRIDE)")
	enumFlag(cmd, newChoice(&cfg.output, "text", "text", "json"), "output", "live progress and a summary, or one JSON document at the end")
}

// addCloudFlags defines the credential flags wait and diagnose share.
func addCloudFlags(cmd *cobra.Command, osCloud, osConfigFile, endpoint *string, configFileUsage, endpointUsage string) {
	stringFlag(cmd, osCloud, "os-cloud", "CLOUD", "the cloud in clouds.yaml (default $OS_CLOUD)")
	cmd.Flags().Var(stringValue{osConfigFile, "FILE"}, "os-config-file", configFileUsage)
	_ = cmd.MarkFlagFilename("os-config-file", "yaml", "yml")
	stringFlag(cmd, endpoint, "endpoint", "URL", endpointUsage)
}

// osCloud is --os-cloud, or $OS_CLOUD when the flag is not given. The
// environment is read here rather than as the flag's default so that
// --help shows "$OS_CLOUD", not whatever cloud the shell has selected.
func (c *cli) osCloud(cmd *cobra.Command, value string) string {
	if cmd.Flags().Changed("os-cloud") {
		return value
	}
	return c.env("OS_CLOUD")
}

// check validates what parsing alone cannot: flags that depend on each
// other.
func (cfg *waitConfig) check() error {
	cfg.json = cfg.output == "json"
	if cfg.loadBalancer == "" {
		return usagef("wait: --loadbalancer is required")
	}
	switch {
	case cfg.all && len(cfg.members) > 0:
		return usagef("wait: --all and --member exclude each other")
	case !cfg.all && len(cfg.members) == 0:
		return usagef("wait: say which members: --member SELECTOR (repeatable) or --all")
	}
	return nil
}

// memberwaitOptions translates the flags; memberwait reads zero durations as
// "the default", the command line as "none".
func (cfg *waitConfig) memberwaitOptions() memberwait.Options {
	o := memberwait.Options{
		Target:        cfg.target,
		SettleWindow:  cfg.settle,
		Heartbeat:     cfg.heartbeat,
		NoMonitor:     cfg.noMonitor,
		NotFoundGrace: cfg.notFoundGrace,
		Timeout:       cfg.timeout,
	}
	switch {
	case cfg.settleAuto:
		o.SettleWindow, o.Settle = 0, memberwait.SettleAuto
	case o.SettleWindow == 0:
		o.SettleWindow = -1
	}
	if o.NotFoundGrace == 0 {
		o.NotFoundGrace = -1
	}
	return o
}

// startingSettle is the settle window for the starting line: negative for
// auto.
func (cfg *waitConfig) startingSettle() time.Duration {
	if cfg.settleAuto {
		return -1
	}
	return cfg.settle
}

// settleValue is --settle: "auto", or a non-negative duration.
type settleValue struct {
	auto *bool
	d    *time.Duration
}

func (v settleValue) String() string {
	if v.auto == nil || *v.auto {
		return "auto"
	}
	return v.d.String()
}

func (v settleValue) Type() string { return "auto|duration" }

func (v settleValue) Set(s string) error {
	if strings.EqualFold(s, "auto") {
		*v.auto, *v.d = true, 0
		return nil
	}
	var d time.Duration
	if err := (durationValue{&d}).Set(s); err != nil {
		return fmt.Errorf("want auto or a duration: %w", err)
	}
	*v.auto, *v.d = false, d
	return nil
}
