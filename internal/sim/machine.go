package sim

import (
	"fmt"
	"net/netip"
	"strings"
)

// machine is a control-plane Machine with its OpenStackMachine and Node.
// Times are -1 until they happen.
type machine struct {
	name     string
	k        int // creation index: which MachinePlan
	ip       string
	plan     MachinePlan
	outdated bool
	created  int

	serverUp, ready, node int
	joinAt, apiUp         int // when the Node joins, when the API server answers
	memberDue             int // when CAPO next tries to add members
	members               []*member
	firstConfig           int // first member configured (flap anchor)

	kubeletDead int // remediation: the Node goes NotReady
	remediated  bool

	deleting int
	hook     bool   // the gate's pre-drain hook
	release  string // the manual-release annotation
	byPerson bool   // release is the scripted person's, set after deletion
	// hookOff is when the deletion stopped waiting for the gate: its
	// release, or the deletion itself when nothing gates it.
	hookOff int
	// cutFrom..cutTo: the API server does not answer through the load
	// balancer (a recreate fault); healed once it truly serves again
	// afterwards.
	cutFrom, cutTo int
	healed         bool
	drainEnd       int
	preTerm        int // the API server stops (etcd member removed)
	infraDel       int
	goneAt         int
	gone           bool
	sgBlocked      bool // its security group lacks the rule (until SGFixAt)
	// exposed counts the seconds HAProxy would send new connections to it
	// after its API server stopped; drained: the gate released it after
	// its members were out of rotation.
	exposed int
	drained bool
	// byRule: the gate's release rule let it go (not a person, not the
	// cluster's deletion): only such a release is drained first.
	byRule bool
}

func newMachine(w *world, t, k int, outdated bool) *machine {
	m := &machine{name: w.machineName(), k: k, ip: address(w.sc, k), plan: w.sc.Machines[k], outdated: outdated, created: t,
		serverUp: -1, ready: -1, node: -1, memberDue: -1, firstConfig: -1, kubeletDead: -1, deleting: -1, drainEnd: -1, preTerm: -1,
		infraDel: -1, goneAt: -1, hookOff: -1, cutFrom: -1, cutTo: -1, release: w.sc.TemplateRelease}
	if m.plan.ReuseAddress {
		if f, ok := w.takeFreed(); ok {
			m.ip = f.ip
			if w.sc.ReuseName {
				m.name = f.name
			}
		}
	}
	m.joinAt = t + m.plan.ServerUp + m.plan.Boot
	m.apiUp = m.joinAt - m.plan.APIEarly
	m.sgBlocked = w.sc.SGFrom >= 0 && k >= w.sc.SGFrom
	m.members = make([]*member, w.sc.Pools)
	return m
}

// configured records the first time one of the Machine's members entered
// HAProxy: the flap fault is anchored there.
func (m *machine) configured(t int) {
	if m.firstConfig < 0 {
		m.firstConfig = t
	}
}

// address is the k-th Machine's own address.
func address(sc Scenario, k int) string {
	if sc.IPv6 {
		return fmt.Sprintf("fd00::%x", 10+k)
	}
	return fmt.Sprintf("10.6.0.%d", 10+k)
}

// spell writes an address as a member of it may have been submitted:
// Octavia keeps it as given. Only IPv6 has other spellings Octavia
// accepts; which one is drawn from n.
func spell(sc Scenario, ip string, n int) string {
	a, err := netip.ParseAddr(ip)
	if !sc.Respell || err != nil || !a.Is6() {
		return ip
	}
	switch n % 3 {
	case 0:
		return a.StringExpanded() // fd00:0000:0000:0000:0000:0000:0000:000a
	case 1:
		b := a.As16()
		return fmt.Sprintf("fd00:0:0::%02x", b[15]) // fd00:0:0::0a
	}
	return strings.ToUpper(a.String()) // FD00::A
}

// hasAddress: the Machine lists its address (CAPO copies it once the
// server is up).
func (m *machine) hasAddress(t int) bool { return m.serverUp >= 0 && t >= m.serverUp }

// hasNode is what the gate and KCP see: the Machine's nodeRef.
func (m *machine) hasNode(t int) bool { return m.node >= 0 && t >= m.node }

// isDeleting: the Machine has a deletion timestamp and is not gone.
func (m *machine) isDeleting() bool { return m.deleting >= 0 && !m.gone }

// healthy is KCP's view: a Node, the control-plane pods up, the kubelet
// reporting. KCP knows nothing of load-balancer members.
func (m *machine) healthy(t int) bool {
	return m.hasNode(t) && t >= m.apiUp && (m.kubeletDead < 0 || t < m.kubeletDead)
}

// backendHealthy is the ground truth of the API server as the load balancer
// reaches it: up, not yet stopped by the etcd removal, reachable through
// its security group, not in a flap window.
func (w *world) backendHealthy(m *machine, t int) bool {
	if t < m.apiUp || (m.preTerm >= 0 && t >= m.preTerm) || m.gone {
		return false
	}
	if m.cutFrom >= 0 && t >= m.cutFrom && t < m.cutTo {
		return false
	}
	if m.sgBlocked && (w.sc.SGFixAt == Forever || t < w.sc.SGFixAt) {
		return false
	}
	if m.plan.FlapFor > 0 {
		anchor := m.firstConfig
		if anchor < 0 {
			// Not configured yet: the window starts FlapLead before the
			// first configuration, which may be now.
			return false
		}
		if t >= anchor-m.plan.FlapLead && t < anchor+m.plan.FlapFor {
			return false
		}
	}
	return true
}

// serving is the ground truth of one member: HAProxy routes to it (it has
// the server and the server is UP — always, in a pool without a monitor)
// and the API server behind it answers.
func (w *world) serving(mb *member, t int) bool {
	return mb != nil && mb.configured && !mb.removed && mb.up && w.backendHealthy(mb.m, t)
}

// servingIn reports whether a Machine truly serves in a pool: any of its
// members there (an old one may linger PENDING_DELETE beside a new one).
func (w *world) servingIn(m *machine, pool, t int) bool {
	for _, mb := range w.lb.members {
		if mb.m == m && mb.pool == pool && w.serving(mb, t) {
			return true
		}
	}
	return false
}
