package sim

import (
	"math/rand/v2"
)

// Kind is a scenario's main fault; the report has a row per kind.
type Kind string

// The scenario kinds, in report order.
const (
	Clean         Kind = "clean"
	StuckPending  Kind = "stuck-pending"
	StuckForever  Kind = "stuck-forever"
	WorkerOutage  Kind = "worker-outage"
	MemberErr     Kind = "member-error"
	Flap          Kind = "flap"
	SGMissing     Kind = "sg-missing"
	Failover      Kind = "lb-failover"
	APIFaults     Kind = "api-faults"
	Remediate     Kind = "remediation"
	ControllerCut Kind = "controller-crash"
	Recreate      Kind = "member-recreate"
	AddressReuse  Kind = "address-reuse"
	ManualEarly   Kind = "manual-early"
	NoMonitor     Kind = "no-monitor"
	IPv6Spelling  Kind = "ipv6-spelling"
	Mixed         Kind = "mixed"
)

// kinds and their weights: the mixed kind gets the largest share because
// bugs hide in combinations.
var kinds = []struct {
	kind   Kind
	weight int
}{
	{Clean, 6}, {StuckPending, 8}, {StuckForever, 6}, {WorkerOutage, 6}, {MemberErr, 6}, {Flap, 8},
	{SGMissing, 6}, {Failover, 8}, {APIFaults, 8}, {Remediate, 8}, {ControllerCut, 8},
	{Recreate, 6}, {AddressReuse, 6}, {ManualEarly, 6}, {NoMonitor, 6}, {IPv6Spelling, 6}, {Mixed, 22},
}

// Kinds lists the scenario kinds in report order.
func Kinds() []Kind {
	out := make([]Kind, len(kinds))
	for i, k := range kinds {
		out[i] = k.kind
	}
	return out
}

// Forever marks a fault that never ends.
const Forever = -1

// Scenario is everything a seed decides before the run: the cluster, the
// timings of every Machine and member KCP may create, and the faults. Both
// the gated and the ungated run of a seed play the same scenario; timings are
// keyed by creation order, not by clock, so the k-th Machine behaves the same
// in both even when the gate makes it come later.
type Scenario struct {
	Seed     uint64
	Kind     Kind
	Replicas int
	MaxSurge int
	// Trigger is what started the rollout: a version bump or rolloutAfter.
	// Both replace every Machine; it is recorded for the trace only.
	Trigger string
	// CAPO is the provider version, which decides the member ordering:
	// v0.12/v0.13 add the member before the Machine is ready, v0.14+ after.
	CAPO  string
	Pools int
	// RolloutAt is when KCP starts replacing Machines.
	RolloutAt int
	// HeartbeatPhase is the second (mod 10) of the amphora's heartbeats.
	HeartbeatPhase int
	Machines       []MachinePlan
	// Failovers are amphora failovers: the load balancer is
	// PENDING_UPDATE, and the new amphora's HAProxy starts every member UP
	// before its first check.
	Failovers []FailoverPlan
	// APIFaults are windows in which every Octavia request fails.
	APIFaults []APIFault
	// Worker is an octavia-worker outage: members created in it stay
	// PENDING_CREATE until it ends (To may be Forever).
	Worker *Window
	// SGFrom, when >= 0, is the first Machine (by creation index) whose
	// security group does not admit the load balancer's subnet; SGFixAt is
	// when the rule is added (Forever: never).
	SGFrom, SGFixAt int
	// Remediation, when set, kills the kubelet of a Machine: MHC marks it
	// unhealthy and KCP deletes it out of order. Its API server (a static
	// pod) keeps serving until the Machine goes.
	Remediation *Remediation
	// Crashes are controller crashes and leader changes.
	Crashes []Crash
	// ManualAfter, when > 0, is how long a person lets a hold last before
	// releasing it by hand with the annotation.
	ManualAfter int
	// FixErrorAfter, when > 0, is how long after a member went ERROR a
	// person deletes it so that CAPO re-creates it.
	FixErrorAfter int
	// Anchor, when set, schedules faults relative to a moment the random
	// campaign reaches only by chance (drills).
	Anchor *Anchor
	// Recreates delete a member and create it again at the same address
	// (a person by hand, or CAPO after an ERROR) while its Machine's API
	// server does not answer through the load balancer.
	Recreates []RecreatePlan
	// NoMonitor: the pools have no health monitor. HAProxy checks nothing
	// and routes to every server it has; Octavia reports NO_MONITOR.
	NoMonitor bool
	// Monitor is the pools' health monitor: HAProxy's checks, and what the
	// gate's Auto settle window is derived from.
	Monitor Monitor
	// IPv6: the Machines' addresses are IPv6. Respell: the members'
	// addresses are spelled otherwise than the Machines' (leading zeros,
	// zero groups written out), as Octavia keeps an address as submitted.
	IPv6, Respell bool
	// ReuseName: a Machine that takes its predecessor's address
	// (MachinePlan.ReuseAddress) takes its name too, as a control-plane
	// provider that names Machines by index, or a person re-creating one
	// by hand, does.
	ReuseName bool
	// TemplateRelease, when set, is a manual-release annotation in the
	// control plane's machineTemplate.metadata: every Machine carries it
	// from its creation (KCP copies it onto old Machines too).
	TemplateRelease string
	// Errors extends the member-error fault and sets the remediation
	// policy (see remediation.go).
	Errors ErrorPlan
}

// RecreatePlan deletes the members of the k-th Machine After seconds after
// its Node joined (an initial Machine's Node joined at 0) and creates them
// again at the same address. From the delete on, the Machine's API server
// does not answer through the load balancer for Cut seconds. ByCAPO: CAPO
// re-creates them at its next reconcile, CAPODelay seconds after the
// delete; otherwise the person creates them as soon as the delete is done.
// Blind, when > 0: the gate's own requests fail for that long from the
// delete on.
type RecreatePlan struct {
	Machine, After, Cut int
	ByCAPO              bool
	CAPODelay           int
	Blind               int
}

// Anchor schedules faults relative to a moment (On, by default the first
// time the controller records a new Machine's member as ONLINE: the start of
// its settle window, when HAProxy may be saying UP before its first check).
type Anchor struct {
	On       AnchorEvent
	Crash    Crash        // At is relative to the anchor; Down 0: none
	Failover FailoverPlan // relative to the anchor; empty: none
	Outage   Window       // Octavia answers 503, relative; empty: none
	// GateOnly: the outage fails the gate's requests only.
	GateOnly bool
	// Until, when set, ends the anchored crash and outage UntilAfter
	// seconds after that event, if that is sooner than their own length.
	Until      AnchorEvent
	UntilAfter int
}

// AnchorEvent is a moment a drill's faults are anchored to.
type AnchorEvent int

const (
	// AnchorNone: no event (Until unset).
	AnchorNone AnchorEvent = iota
	// AnchorOnline: the controller first records a new Machine's member
	// ONLINE (the default for On).
	AnchorOnline
	// AnchorStart: the start of the run (absolute times).
	AnchorStart
	// AnchorRelease: the gate first releases a hook.
	AnchorRelease
	// AnchorReusedOnline: Octavia first reports ONLINE a member at an
	// address an earlier member had (re-created, or a reused address).
	AnchorReusedOnline
)

// MachinePlan is the timing of the k-th Machine KCP creates, in seconds.
type MachinePlan struct {
	ServerUp  int // creation → the server is ACTIVE with an address
	Boot      int // server up → the Node joins
	APIEarly  int // the API server answers this long before the Node joins
	CAPOReady int // what CAPO waits before marking the machine ready
	// MemberLag: v0.12/v0.13, server up → member create; v0.14+, machine
	// ready → member create.
	MemberLag    int
	Drain        int // hook released → drained
	PreTerminate int // KCP's etcd removal; the API server stops at its start
	InfraDelete  int // members gone → server deleted, Machine gone
	Members      []MemberPlan
	// ReuseAddress: the Machine takes the address of the Machine that went
	// last, when one has gone and no live Machine holds it (Neutron hands
	// out a freed address again).
	ReuseAddress bool
	// FlapFor, when > 0: the API server is unreachable from the load
	// balancer from FlapLead seconds before the member is first configured
	// until FlapFor seconds after — HAProxy says UP before its first check,
	// Octavia reports ONLINE, then ERROR.
	FlapLead, FlapFor int
}

// MemberPlan is the Octavia behaviour of one of a Machine's members (by
// pool). Re-created members behave normally.
type MemberPlan struct {
	Flow int // create flow: LB PENDING_UPDATE this long
	// Stuck keeps the member PENDING_CREATE this long after its flow while
	// the LB is ACTIVE again (amphorav2); Forever never ends.
	Stuck int
	Error bool // the flow reverts: member ERROR, LB ACTIVE
	Check int  // HAProxy's check phase, 0..9
}

// FailoverPlan is one amphora failover. Frozen: no heartbeat comes while
// the amphora is replaced, so Octavia's health manager leaves every member's
// operating status as last reported (octavia/controller/healthmanager/
// health_drivers/update_db.py changes it only on heartbeats); otherwise the
// members read OFFLINE meanwhile (missing from the new amphora's first
// heartbeats).
type FailoverPlan struct {
	Window
	Frozen bool
}

// Window is a span of virtual seconds; To may be Forever.
type Window struct{ From, To int }

// In reports whether t is in the window.
func (w Window) In(t int) bool { return t >= w.From && (w.To == Forever || t < w.To) }

// APIFault is a window in which Octavia answers Code (0: no answer at all).
// GateOnly: only the gate's requests fail (a rate limit per client, a
// network policy, the gate's own credentials); CAPO's go through.
type APIFault struct {
	Window
	Code       int
	RetryAfter int
	GateOnly   bool
}

// Remediation is an unhealthy Machine: At picks, Pick chooses which of the
// live Machines (a fraction of their count), MHCTimeout is when MHC marks it.
type Remediation struct {
	At         int
	Pick       float64
	MHCTimeout int
}

// Crash takes the controller down at At for Down seconds. MidReconcile
// crashes inside the reconcile due at At, after Cut of its patches.
type Crash struct {
	At, Down     int
	Leader       bool
	MidReconcile bool
	Cut          float64
}

// Generate derives a scenario from a seed.
func Generate(seed uint64) Scenario {
	r := rand.New(rand.NewPCG(seed, 0x6d656d62))
	kind := pickKind(r)
	replicas := []int{1, 1, 1, 3, 3, 3, 3, 3, 5, 5}[r.IntN(10)]
	surge := 1
	if replicas >= 3 && r.IntN(2) == 0 {
		// KCP refuses maxSurge 0 below three replicas.
		surge = 0
	}
	capo := []string{"v0.12", "v0.13", "v0.14"}[r.IntN(3)]
	s := cluster(r, seed, replicas, surge, capo)
	s.Kind = kind
	f := faults{r: r, s: &s}
	f.apply(s.Kind)
	s.Monitor = drawMonitor(seed)
	drawErrors(seed, &s)
	return s
}

// cluster draws a fault-free scenario for the given cluster shape.
func cluster(r *rand.Rand, seed uint64, replicas, surge int, capo string) Scenario {
	s := Scenario{Seed: seed, Kind: Clean, Replicas: replicas, MaxSurge: surge, CAPO: capo, SGFrom: -1, SGFixAt: Forever}
	s.Trigger = []string{"version", "rolloutAfter"}[r.IntN(2)]
	s.Pools = 1
	if r.IntN(5) == 0 {
		s.Pools = 2 // an additional API port
	}
	s.RolloutAt = between(r, 10, 60)
	s.HeartbeatPhase = r.IntN(10)
	// Room for the initial Machines, their replacements, a remediation's
	// replacement and spares.
	s.Machines = make([]MachinePlan, 2*s.Replicas+4)
	for k := range s.Machines {
		s.Machines[k] = machinePlan(r, s)
	}
	return s
}

func pickKind(r *rand.Rand) Kind {
	total := 0
	for _, k := range kinds {
		total += k.weight
	}
	n := r.IntN(total)
	for _, k := range kinds {
		if n < k.weight {
			return k.kind
		}
		n -= k.weight
	}
	return Clean
}

func machinePlan(r *rand.Rand, s Scenario) MachinePlan {
	p := MachinePlan{
		ServerUp: between(r, 30, 90), Boot: between(r, 60, 180), APIEarly: between(r, 0, 20),
		CAPOReady: between(r, 1, 5), Drain: between(r, 10, 60), PreTerminate: between(r, 3, 10),
		InfraDelete: between(r, 2, 10),
	}
	if s.CAPO == "v0.14" {
		// Ready first, member later: anywhere from before the Node joins to
		// well after KCP has moved on.
		p.MemberLag = between(r, 5, 240)
	} else {
		p.MemberLag = between(r, 1, 5)
	}
	p.Members = make([]MemberPlan, s.Pools)
	for i := range p.Members {
		p.Members[i] = MemberPlan{Flow: between(r, 1, 3), Check: r.IntN(10)}
	}
	return p
}

// between returns a uniform integer in [lo, hi].
func between(r *rand.Rand, lo, hi int) int { return lo + r.IntN(hi-lo+1) }
