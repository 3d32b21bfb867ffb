package main

import (
	"fmt"
	"io"
	"time"

	"github.com/membergate/membergate/internal/resolve"
	"github.com/membergate/membergate/pkg/memberwait"
)

// waitConfig is a parsed "membergate wait" command line.
type waitConfig struct {
	loadBalancer  string
	members       []memberwait.Member
	pool          string
	all           bool
	target        memberwait.Target
	timeout       time.Duration
	settle        time.Duration
	noMonitor     memberwait.NoMonitorPolicy
	notFoundGrace time.Duration
	source        string
	osCloud       string
	osConfigFile  string
	endpoint      string
	json          bool
}

const waitUsageHead = `Usage:
  membergate wait --loadbalancer ID|NAME (--member SELECTOR... | --all) [flags]

Waits until Octavia pool members are provisioned, serving or gone, judging
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
OS_AUTH_TYPE=none with --endpoint.

Examples:
  membergate wait --os-cloud prod --loadbalancer k8s-clusterapi-cluster-default-demo-kubeapi \
      --member 10.6.0.13:6443 --for serving --timeout 15m
  membergate wait --loadbalancer 3f2a9c1e-... --all --for provisioned --output json

Flags:
`

func (c *cli) waitFlags(args []string) (*waitConfig, bool, error) {
	cfg := &waitConfig{}
	var (
		members                   stringList
		target, noMonitor, output string
	)
	fs := newFlags("wait")
	fs.str(&cfg.loadBalancer, "loadbalancer", "ID|NAME", "", "the load balancer (a name must match exactly one)")
	fs.list(&members, "member", "SELECTOR", "a member to wait for: ID, NAME, ADDRESS or ADDRESS:PORT; repeatable")
	fs.str(&cfg.pool, "pool", "ID|NAME", "", "look for the members in this pool only")
	fs.boolean(&cfg.all, "all", "wait for every member of the load balancer (of --pool, if given) as it is at the start")
	fs.str(&target, "for", "provisioned|serving|gone", "serving", "the target: ACTIVE; ACTIVE and ONLINE for --settle; or deleted")
	fs.duration(&cfg.timeout, "timeout", 10*time.Minute, "give up after this long (exit 4); 0 waits until interrupted")
	fs.duration(&cfg.settle, "settle", memberwait.DefaultSettleWindow, "how long a member must stay ACTIVE and ONLINE to count as serving; 0 for no settle window")
	fs.str(&noMonitor, "no-monitor", "fail|serving|wait", "fail", "what NO_MONITOR (the pool has no health monitor) means for --for serving:\nfail at once (exit 1), count it as serving, or wait for a monitor to be added")
	fs.duration(&cfg.notFoundGrace, "not-found-grace", memberwait.DefaultNotFoundGrace, "how long a missing member, pool or load balancer may stay missing before exit 5")
	fs.str(&cfg.source, "source", "status-tree|pool-members", "status-tree", "how to observe: the status tree (one request per poll), or each pool's member list\n(one request per pool; for pools under no listener)")
	fs.str(&cfg.osCloud, "os-cloud", "CLOUD", c.env("OS_CLOUD"), "the cloud in clouds.yaml (default $OS_CLOUD)")
	fs.str(&cfg.osConfigFile, "os-config-file", "FILE", "", "the clouds.yaml (default: $OS_CLIENT_CONFIG_FILE, ./clouds.yaml,\n~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml)")
	fs.str(&cfg.endpoint, "endpoint", "URL", "", "Octavia's endpoint, instead of the Keystone catalog's (default: the cloud's\nload_balancer_endpoint_override, $OS_ENDPOINT_OVERRIDE)")
	fs.str(&output, "output", "text|json", "text", "live progress and a summary, or one JSON document at the end")

	help, err := fs.parse(args)
	if help || err != nil {
		if help {
			c.waitUsage(c.stdout, fs)
		}
		return nil, help, err
	}

	switch output {
	case "text":
	case "json":
		cfg.json = true
	default:
		return nil, false, usagef("wait: --output %q: want text or json", output)
	}
	if cfg.target, err = memberwait.ParseTarget(target); err != nil {
		return nil, false, usagef("wait: --for: %v", err)
	}
	if cfg.noMonitor, err = memberwait.ParseNoMonitorPolicy(noMonitor); err != nil {
		return nil, false, usagef("wait: --no-monitor: %v", err)
	}
	switch cfg.source {
	case "status-tree", "pool-members":
	default:
		return nil, false, usagef("wait: --source %q: want status-tree or pool-members", cfg.source)
	}
	for name, d := range map[string]time.Duration{"timeout": cfg.timeout, "settle": cfg.settle, "not-found-grace": cfg.notFoundGrace} {
		if d < 0 {
			return nil, false, usagef("wait: --%s %s: must not be negative", name, d)
		}
	}
	if cfg.loadBalancer == "" {
		return nil, false, usagef("wait: --loadbalancer is required")
	}
	switch {
	case cfg.all && len(members) > 0:
		return nil, false, usagef("wait: --all and --member exclude each other")
	case !cfg.all && len(members) == 0:
		return nil, false, usagef("wait: say which members: --member SELECTOR (repeatable) or --all")
	}
	seen := map[memberwait.Member]bool{}
	for _, s := range members {
		m, err := resolve.ParseMember(s)
		if err != nil {
			return nil, false, usagef("wait: --member %q: %v", s, err)
		}
		if !seen[m] {
			seen[m] = true
			cfg.members = append(cfg.members, m)
		}
	}
	return cfg, false, nil
}

func (c *cli) waitUsage(w io.Writer, fs *cmdFlags) {
	fmt.Fprint(w, waitUsageHead)
	fs.print(w)
	fmt.Fprint(w, "\n"+exitCodesHelp+"\n")
}

// memberwaitOptions translates the flags; memberwait reads zero durations as
// "the default", the command line as "none".
func (cfg *waitConfig) memberwaitOptions() memberwait.Options {
	o := memberwait.Options{
		Target:        cfg.target,
		SettleWindow:  cfg.settle,
		NoMonitor:     cfg.noMonitor,
		NotFoundGrace: cfg.notFoundGrace,
		Timeout:       cfg.timeout,
	}
	if o.SettleWindow == 0 {
		o.SettleWindow = -1
	}
	if o.NotFoundGrace == 0 {
		o.NotFoundGrace = -1
	}
	return o
}
