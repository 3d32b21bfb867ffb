package sim

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/membergate/membergate/pkg/memberwait"
)

// HAProxy's timing the monitor does not set: rise (CAPO's max_retries 5),
// and the amphora's heartbeat ([health_manager] heartbeat_interval).
const (
	rise      = 5
	heartbeat = 10
)

// octavia is the load balancer: its provisioning status, the members with
// what Octavia reports of them, and what HAProxy really does.
type octavia struct {
	w         *world
	busyUntil int // a member flow holds the LB PENDING_UPDATE until then
	failover  *FailoverPlan
	hbPhase   int
	members   []*member // creation order, every pool
	nextID    int
	// addrSeen: the addresses members have had, to tell a member at an
	// address an earlier one had (AnchorReusedOnline).
	addrSeen map[string]bool
}

// member is one pool member. prov and op are what Octavia reports;
// configured, up and the counters are HAProxy's own state on the amphora.
type member struct {
	id   string
	pool int
	m    *machine
	plan MemberPlan
	prov string
	op   string
	addr string // as submitted (see spell)
	// reused: an earlier member had this address; wasOnline: Octavia has
	// reported it ONLINE.
	reused, wasOnline bool
	doneAt            int // end of PENDING_CREATE (Forever: never)
	delAt             int // end of PENDING_DELETE, -1 while not deleting
	removed           bool
	// configured: HAProxy has the server; up is its check state.
	configured   bool
	up           bool
	fails, rises int
	nextCheck    int
	failDue      int
	// weight0: its weight is 0 (drained); an update flow to weight 0
	// (updZero) or back ends at updAt.
	weight0, updZero bool
	updAt            int
}

func poolID(p int) string { return "pool-" + strconv.Itoa(6443+p) }

// status is the load balancer's provisioning status at t.
func (o *octavia) status(t int) string {
	if t < o.busyUntil || (o.failover != nil && o.failover.In(t)) {
		return memberwait.StatusPendingUpdate
	}
	return memberwait.StatusActive
}

// healthy is the operating status Octavia reports for a server HAProxy
// has UP: NO_MONITOR in a pool without a health monitor.
func (o *octavia) healthy() string {
	if o.w.sc.NoMonitor {
		return memberwait.StatusNoMonitor
	}
	return memberwait.StatusOnline
}

// apiError is what an Octavia request gets at t, nil when it works; gate:
// the request is the gate's.
func (o *octavia) apiError(t int, gate bool) error {
	for _, f := range o.w.sc.APIFaults {
		if !f.In(t) || (f.GateOnly && !gate) {
			continue
		}
		if f.Code == 0 {
			return fmt.Errorf("dial tcp 10.0.0.5:9876: connect: connection refused")
		}
		e := gophercloud.ErrUnexpectedResponseCode{Method: "GET", Actual: f.Code, Body: []byte("upstream error"), ResponseHeader: http.Header{}}
		if f.RetryAfter > 0 {
			e.ResponseHeader.Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
		return e
	}
	return nil
}

// create starts a member's create flow, as CAPO's POST does. It fails like
// Octavia would: 409 while the LB is PENDING_*, or the API fault of the
// moment.
func (o *octavia) create(t int, m *machine, pool int, plan MemberPlan) (*member, bool) {
	if o.apiError(t, false) != nil || o.status(t) != memberwait.StatusActive {
		return nil, false
	}
	o.nextID++
	mb := &member{id: fmt.Sprintf("mem-%03d", o.nextID), pool: pool, m: m, plan: plan, prov: memberwait.StatusPendingCreate,
		op: memberwait.StatusOffline, delAt: -1, failDue: -1, addr: spell(o.w.sc, m.ip, o.nextID), reused: o.addrSeen[m.ip]}
	o.addrSeen[m.ip] = true
	o.busyUntil = t + plan.Flow
	mb.doneAt = t + plan.Flow
	switch {
	case o.w.sc.Worker != nil && o.w.sc.Worker.In(t):
		// The flow waits for a worker; amphorav2 still lets the LB go
		// ACTIVE in this model, as in the quirk.
		mb.doneAt = o.w.sc.Worker.To
	case plan.Stuck == Forever:
		mb.doneAt = Forever
	case plan.Stuck > 0:
		mb.doneAt += plan.Stuck
	}
	o.members = append(o.members, mb)
	o.w.tracef(t, "octavia", "member %s of %s in %s created: PENDING_CREATE until %s", mb.id, m.name, poolID(pool), when(mb.doneAt))
	return mb, true
}

// remove starts a member's delete flow (CAPO's or a person's DELETE).
func (o *octavia) remove(t int, mb *member) bool {
	if o.apiError(t, false) != nil || o.status(t) != memberwait.StatusActive || memberwait.IsPending(mb.prov) {
		return false
	}
	mb.prov, mb.delAt = memberwait.StatusPendingDelete, t+mb.plan.Flow
	o.busyUntil = t + mb.plan.Flow
	return true
}

// step advances flows, HAProxy's checks and the heartbeats by one second.
func (o *octavia) step(t int) {
	o.stepFailover(t)
	for _, mb := range o.members {
		if mb.removed {
			continue
		}
		o.finishUpdate(t, mb)
		switch {
		case mb.prov == memberwait.StatusPendingCreate && mb.doneAt != Forever && t >= mb.doneAt:
			o.finishCreate(t, mb)
		case mb.prov == memberwait.StatusPendingDelete && t >= mb.delAt:
			mb.removed, mb.configured = true, false
			o.w.tracef(t, "octavia", "member %s of %s deleted", mb.id, mb.m.name)
			continue
		}
		if mb.configured && !o.failing(t) && !o.w.sc.NoMonitor {
			o.check(t, mb)
		}
	}
	if !o.failing(t) && (t-o.hbPhase)%heartbeat == 0 {
		for _, mb := range o.members {
			if mb.configured && !mb.removed {
				op := o.healthy()
				switch {
				case !mb.up:
					op = memberwait.StatusError
				case mb.weight0:
					// HAProxy's DRAIN state, as the amphora reports it.
					op = memberwait.StatusDraining
				}
				if op != mb.op {
					o.w.tracef(t, "octavia", "member %s of %s reported %s/%s (truly serving: %v)", mb.id, mb.m.name, mb.prov, op, o.w.serving(mb, t))
				}
				mb.op = op
				if op == memberwait.StatusOnline && !mb.wasOnline {
					mb.wasOnline = true
					if mb.reused {
						o.w.event(t, AnchorReusedOnline)
					}
				}
			}
		}
	}
}

func (o *octavia) failing(t int) bool { return o.failover != nil && o.failover.In(t) }

func (o *octavia) finishCreate(t int, mb *member) {
	if mb.plan.Error {
		mb.prov = memberwait.StatusError
		o.w.tracef(t, "octavia", "member %s of %s ERROR (flow reverted; LB ACTIVE)", mb.id, mb.m.name)
		o.w.memberErrored(t, mb)
		return
	}
	mb.prov = memberwait.StatusActive
	// HAProxy adds the server UP, before any check (and, in a pool without
	// a monitor, never checks it).
	mb.configured, mb.up, mb.fails, mb.rises = true, true, 0, 0
	mb.nextCheck = t + 1 + o.w.sc.Monitor.firstCheck(mb.plan.Check)
	mb.m.configured(t)
	o.w.tracef(t, "octavia", "member %s of %s ACTIVE, HAProxy UP before its first check (backend healthy: %v)", mb.id, mb.m.name, o.w.backendHealthy(mb.m, t))
}

// check runs HAProxy's health check of one server.
func (o *octavia) check(t int, mb *member) {
	// A check that times out lands before the next one starts: with a
	// timeout equal to the delay (Octavia allows it) both fall on the same
	// second, and the next check must not cancel the failure.
	if t == mb.failDue {
		mb.failDue = -1
		switch {
		case o.w.backendHealthy(mb.m, t):
			// The kernel retransmits the check's SYN within its timeout:
			// a backend that came back before the timeout answers it.
			checkPassed(mb)
		case !mb.up:
			mb.rises = 0
		default:
			if mb.fails++; mb.fails >= o.w.sc.Monitor.down() {
				mb.up, mb.fails = false, 0
			}
		}
	}
	if t == mb.nextCheck {
		mb.nextCheck += o.w.sc.Monitor.delay()
		if o.w.backendHealthy(mb.m, t) {
			mb.failDue = -1
			checkPassed(mb)
		} else {
			// A failing check lands when it times out: the slowest fall.
			mb.failDue = t + o.w.sc.Monitor.timeout()
		}
	}
}

// checkPassed counts a successful check: an UP server's failures start
// again, a DOWN one rises.
func checkPassed(mb *member) {
	if mb.up {
		mb.fails = 0
	} else if mb.rises++; mb.rises >= rise {
		mb.up, mb.rises = true, 0
	}
}

// stepFailover starts and ends failovers: no heartbeat comes while the
// amphora is replaced (members keep their last status, or read OFFLINE);
// the new HAProxy starts every server UP.
func (o *octavia) stepFailover(t int) {
	for i := range o.w.sc.Failovers {
		f := &o.w.sc.Failovers[i]
		switch t {
		case f.From:
			o.failover = f
			if !f.Frozen {
				for _, mb := range o.members {
					if !mb.removed {
						mb.op = memberwait.StatusOffline
					}
				}
			}
			o.w.tracef(t, "octavia", "failover: LB PENDING_UPDATE until %d, member statuses frozen: %v (else OFFLINE)", f.To, f.Frozen)
		case f.To:
			o.failover = nil
			o.hbPhase = (t + 3) % heartbeat
			for _, mb := range o.members {
				if mb.configured && !mb.removed {
					mb.up, mb.fails, mb.rises, mb.failDue = true, 0, 0, -1
					mb.nextCheck = t + 1 + o.w.sc.Monitor.firstCheck(mb.plan.Check)
				}
			}
			o.w.tracef(t, "octavia", "failover done: new amphora, every server UP before its first check")
		}
	}
}

// snapshot is the status tree at t, as memberwait's StatusTree source
// decodes it.
func (o *octavia) snapshot(t int) *memberwait.Snapshot {
	s := &memberwait.Snapshot{LoadBalancerID: "lb-api", Found: true, ProvisioningStatus: o.status(t), OperatingStatus: memberwait.StatusOnline,
		Provider: "amphora", Complete: true, Requests: 1}
	for p := 0; p < o.w.sc.Pools; p++ {
		ps := memberwait.PoolStatus{ID: poolID(p), ProvisioningStatus: memberwait.StatusActive, OperatingStatus: memberwait.StatusOnline,
			Monitor: memberwait.MonitorPresent, HealthMonitor: o.w.sc.Monitor.healthMonitor()}
		if o.w.sc.NoMonitor {
			ps.Monitor, ps.HealthMonitor = memberwait.MonitorAbsent, nil
		}
		for _, mb := range o.members {
			if mb.pool == p && !mb.removed {
				ps.Members = append(ps.Members, memberwait.MemberStatus{ID: mb.id, Name: fmt.Sprintf("k8s-api-%d-%s", 6443+p, mb.m.name),
					Address: mb.addr, ProtocolPort: 6443 + p, ProvisioningStatus: mb.prov, OperatingStatus: mb.op})
			}
		}
		s.Pools = append(s.Pools, ps)
	}
	return s
}

func when(t int) string {
	if t == Forever {
		return "forever"
	}
	return strconv.Itoa(t)
}

// Monitor is the pools' health monitor, in seconds; zero fields are CAPO's
// defaults (delay 10, timeout 5, max_retries_down 3).
type Monitor struct {
	Delay, Timeout, Down int
}

func (m Monitor) delay() int   { return cmp.Or(m.Delay, 10) }
func (m Monitor) timeout() int { return cmp.Or(m.Timeout, 5) }
func (m Monitor) down() int    { return cmp.Or(m.Down, 3) }

// firstCheck spreads a server's first check over the monitor's delay, as
// HAProxy does: draw is a member's draw in [0, 10).
func (m Monitor) firstCheck(draw int) int { return draw * m.delay() / 10 }

// healthMonitor is the monitor as the gate's source reads it.
func (m Monitor) healthMonitor() *memberwait.HealthMonitor {
	return &memberwait.HealthMonitor{ID: "hm", Type: "TCP", Delay: time.Duration(m.delay()) * time.Second,
		Timeout: time.Duration(m.timeout()) * time.Second, MaxRetriesDown: m.down()}
}

// String is delay/timeout/max_retries_down.
func (m Monitor) String() string { return fmt.Sprintf("%d/%d/%d", m.delay(), m.timeout(), m.down()) }

// drawMonitor draws a monitor from a range that includes fast ones and slow
// ones (delay 30 s: a fixed 45 s window is too short for them), from its own
// stream so that the rest of a seed's scenario is what it always was.
func drawMonitor(seed uint64) Monitor {
	r := rand.New(rand.NewPCG(seed, 0x6d6f6e))
	m := Monitor{Delay: []int{5, 10, 10, 10, 15, 20, 30}[r.IntN(7)], Down: []int{2, 3, 3, 4}[r.IntN(4)]}
	m.Timeout = min([]int{3, 5, 10}[r.IntN(3)], m.Delay)
	return m
}
