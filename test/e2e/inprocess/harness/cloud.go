package harness

import (
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/membergate/membergate/pkg/memberwait/octaviatest"
)

// Cloud is one cluster's OpenStack: an Octavia emulator holding the
// cluster's API server load balancer, one listener and one pool with CAPO's
// health monitor, and its Keystone.
type Cloud struct {
	Server           *octaviatest.Server
	LoadBalancerID   string
	LoadBalancerName string
	PoolID           string
}

// Identity is the user the identity Secret's clouds.yaml authenticates as.
const (
	identityUser     = "capo"
	identityPassword = "s3cret"
)

// newCloud starts an emulator on the real clock (the CAPI controllers run in
// real time) with the load balancer CAPO would have built for the cluster.
func newCloud(namespace, cluster string) *Cloud {
	srv := octaviatest.NewServer(octaviatest.Options{Users: map[string]string{identityUser: identityPassword}})
	name := LoadBalancerName(namespace, cluster)
	portName := poolName(name)
	seeded := srv.Seed(octaviatest.LoadBalancerSpec{Name: name, Listeners: []octaviatest.ListenerSpec{{
		Name: portName, Port: APIServerPort,
		// CAPO's default monitor: TCP, delay 10, timeout 5, max_retries 5, max_retries_down 3.
		Pool: &octaviatest.PoolSpec{Name: portName, Monitor: &octaviatest.MonitorSpec{}},
	}}})
	return &Cloud{Server: srv, LoadBalancerID: seeded.LoadBalancerID, LoadBalancerName: name, PoolID: seeded.PoolIDs[0]}
}

// CloudsYAML is a clouds.yaml for this cloud's Keystone, as CAPO's identity
// Secret holds it.
func (c *Cloud) CloudsYAML() string {
	return fmt.Sprintf(`clouds:
  %s:
    auth:
      auth_url: %s
      username: %s
      password: %s
      project_name: capo
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionOne
`, CloudName, c.Server.KeystoneURL(), identityUser, identityPassword)
}

// Healthy is how a member behaves without the amphorav2 quirk: ACTIVE after
// the emulator's usual 0.7 s, ONLINE at the first heartbeat.
func Healthy() octaviatest.MemberScript {
	return octaviatest.MemberScript{Operating: []octaviatest.Step{{After: 0, Status: "OFFLINE"}, {After: time.Second, Status: "ONLINE"}}}
}

// Amphorav2 is the quirk behind the outage: the load balancer is ACTIVE
// again at once while the new member stays PENDING_CREATE for pending, then
// ACTIVE, and ONLINE online later (real Octavia: 45 s and 10 s).
func Amphorav2(pending, online time.Duration) octaviatest.MemberScript {
	return octaviatest.MemberScript{
		Provisioning: []octaviatest.Step{{After: 0, Status: "PENDING_CREATE"}, {After: pending, Status: "ACTIVE"}},
		Operating:    []octaviatest.Step{{After: 0, Status: "OFFLINE"}, {After: pending + online, Status: "ONLINE"}},
	}
}

// StuckPending is a member that never leaves PENDING_CREATE (real Octavia:
// a worker that died mid-flow).
func StuckPending() octaviatest.MemberScript {
	return octaviatest.MemberScript{
		Provisioning: []octaviatest.Step{{After: 0, Status: "PENDING_CREATE"}},
		Operating:    []octaviatest.Step{{After: 0, Status: "OFFLINE"}},
	}
}

// clouds maps clusters to their clouds, for the CAPO stand-in.
type clouds struct {
	mu sync.Mutex
	m  map[types.NamespacedName]*Cloud
}

func (c *clouds) add(key types.NamespacedName, cloud *Cloud) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[types.NamespacedName]*Cloud{}
	}
	c.m[key] = cloud
}

func (c *clouds) get(key types.NamespacedName) *Cloud {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key]
}

func (c *clouds) closeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cloud := range c.m {
		cloud.Server.Close()
	}
}
