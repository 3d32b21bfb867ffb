package octaviatest

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"
)

// Octavia provisioning and operating statuses (octavia_lib constants).
const (
	StatusActive        = "ACTIVE"
	StatusDeleted       = "DELETED"
	StatusError         = "ERROR"
	StatusPendingCreate = "PENDING_CREATE"
	StatusPendingUpdate = "PENDING_UPDATE"
	StatusPendingDelete = "PENDING_DELETE"

	StatusOnline    = "ONLINE"
	StatusOffline   = "OFFLINE"
	StatusDegraded  = "DEGRADED"
	StatusDraining  = "DRAINING"
	StatusNoMonitor = "NO_MONITOR"
)

type kind int

const (
	kindLB kind = iota
	kindListener
	kindPool
	kindMonitor
	kindMember
)

type field int

const (
	fieldProv field = iota
	fieldOp
	fieldRemove
)

// base holds what every Octavia object has in its database row.
type base struct {
	id, name, description, projectID string
	prov, op                         string
	adminStateUp                     bool
	tags                             []string
	createdAt, updatedAt             time.Time // zero updatedAt renders as null
}

type additionalVip struct{ subnetID, ipAddress string }

type loadBalancer struct {
	base
	vipAddress, vipPortID, vipSubnetID, vipNetworkID string
	vipQosPolicyID, flavorID, availabilityZone       *string
	provider                                         string
	additionalVips                                   []additionalVip
	listeners, pools                                 []string // creation order
}

type listener struct {
	base
	lbID                                    string
	protocol                                string
	port, connLimit                         int
	defaultPoolID                           string
	timeoutClientData, timeoutMemberConnect int
	timeoutMemberData, timeoutTCPInspect    int
	insertHeaders                           map[string]string
	allowedCIDRs                            []string
	defaultTLSRef                           *string
	sniRefs                                 []string
	clientAuth                              string
}

type sessionPersistence struct {
	typ                     string
	cookieName, granularity *string
	timeout                 *int
}

type pool struct {
	base
	lbID        string
	protocol    string
	lbAlgorithm string
	persistence *sessionPersistence
	tlsEnabled  bool
	monitorID   string
	members     []string
}

type monitor struct {
	base
	poolID                                         string
	typ                                            string
	delay, timeout, maxRetries, maxRetriesDown     int
	httpMethod, urlPath, expectedCodes, domainName *string
	httpVersion                                    *float64
}

type member struct {
	base
	poolID                   string
	address                  string
	port, weight             int
	backup                   bool
	subnetID, monitorAddress *string
	monitorPort              *int
}

// transition is one scheduled change, applied lazily once the clock passes at.
type transition struct {
	at     time.Time
	seq    uint64
	kind   kind
	id     string
	field  field
	status string
}

// store is Octavia's database plus the worker's pending work, as a timeline.
type store struct {
	lbs       map[string]*loadBalancer
	listeners map[string]*listener
	pools     map[string]*pool
	monitors  map[string]*monitor
	members   map[string]*member
	pending   []transition // sorted by (at, seq)
	seq       uint64
	ids       *rand.Rand
}

func newStore(seed int64) *store {
	return &store{
		lbs:       map[string]*loadBalancer{},
		listeners: map[string]*listener{},
		pools:     map[string]*pool{},
		monitors:  map[string]*monitor{},
		members:   map[string]*member{},
		ids:       rand.New(rand.NewPCG(uint64(seed), 0x6964730000000001)),
	}
}

// newID returns a version-4 UUID from the seeded source, so runs repeat.
func (st *store) newID() string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := st.ids.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (st *store) object(k kind, id string) *base {
	switch k {
	case kindLB:
		if o := st.lbs[id]; o != nil {
			return &o.base
		}
	case kindListener:
		if o := st.listeners[id]; o != nil {
			return &o.base
		}
	case kindPool:
		if o := st.pools[id]; o != nil {
			return &o.base
		}
	case kindMonitor:
		if o := st.monitors[id]; o != nil {
			return &o.base
		}
	case kindMember:
		if o := st.members[id]; o != nil {
			return &o.base
		}
	}
	return nil
}

func (st *store) schedule(at time.Time, k kind, id string, f field, status string) {
	st.seq++
	t := transition{at: at, seq: st.seq, kind: k, id: id, field: f, status: status}
	i := sort.Search(len(st.pending), func(i int) bool { return st.pending[i].at.After(at) })
	st.pending = append(st.pending, transition{})
	copy(st.pending[i+1:], st.pending[i:])
	st.pending[i] = t
}

// cancel drops pending transitions of one object; fieldProv also drops its
// removal, because a removal is where a delete flow's provisioning ends.
func (st *store) cancel(k kind, id string, f field) {
	kept := st.pending[:0]
	for _, t := range st.pending {
		drop := t.kind == k && t.id == id && (t.field == f || (f == fieldProv && t.field == fieldRemove))
		if !drop {
			kept = append(kept, t)
		}
	}
	st.pending = kept
}

// applyDue applies, in time order, every transition due at now.
func (st *store) applyDue(now time.Time) {
	n := 0
	for n < len(st.pending) && !st.pending[n].at.After(now) {
		n++
	}
	if n == 0 {
		return
	}
	due := make([]transition, n)
	copy(due, st.pending[:n])
	st.pending = append(st.pending[:0], st.pending[n:]...)
	for _, t := range due {
		st.apply(t)
	}
}

func (st *store) apply(t transition) {
	switch t.field {
	case fieldRemove:
		st.remove(t.kind, t.id, t.at)
	case fieldProv, fieldOp:
		o := st.object(t.kind, t.id)
		if o == nil {
			return
		}
		if t.field == fieldProv {
			o.prov = t.status
		} else {
			o.op = t.status
		}
		o.updatedAt = t.at
	}
}

// remove deletes an object and everything below it, as Octavia's worker does
// once a delete flow completes (load balancers are soft-deleted there, but the
// API hides DELETED ones, so removing them is indistinguishable).
func (st *store) remove(k kind, id string, at time.Time) {
	switch k {
	case kindLB:
		lb := st.lbs[id]
		if lb == nil {
			return
		}
		for _, pid := range lb.pools {
			st.remove(kindPool, pid, at)
		}
		for _, lid := range lb.listeners {
			delete(st.listeners, lid)
		}
		delete(st.lbs, id)
	case kindListener:
		l := st.listeners[id]
		if l == nil {
			return
		}
		if lb := st.lbs[l.lbID]; lb != nil {
			lb.listeners = without(lb.listeners, id)
		}
		delete(st.listeners, id)
	case kindPool:
		p := st.pools[id]
		if p == nil {
			return
		}
		for _, mid := range p.members {
			delete(st.members, mid)
		}
		delete(st.monitors, p.monitorID)
		if lb := st.lbs[p.lbID]; lb != nil {
			lb.pools = without(lb.pools, id)
			for _, lid := range lb.listeners {
				if l := st.listeners[lid]; l != nil && l.defaultPoolID == id {
					l.defaultPoolID = ""
				}
			}
		}
		delete(st.pools, id)
	case kindMonitor:
		m := st.monitors[id]
		if m == nil {
			return
		}
		delete(st.monitors, id)
		// The delete flow's UpdatePoolMembersOperatingStatusInDB step.
		if p := st.pools[m.poolID]; p != nil {
			p.monitorID = ""
			for _, mid := range p.members {
				if mb := st.members[mid]; mb != nil {
					mb.op = StatusNoMonitor
					mb.updatedAt = at
				}
			}
		}
	case kindMember:
		m := st.members[id]
		if m == nil {
			return
		}
		if p := st.pools[m.poolID]; p != nil {
			p.members = without(p.members, id)
		}
		delete(st.members, id)
	}
}

func without(ids []string, id string) []string {
	out := ids[:0:0]
	for _, v := range ids {
		if v != id {
			out = append(out, v)
		}
	}
	return out
}

// poolListeners are the listeners whose default pool is p (Octavia derives
// pool.listeners the same way when no L7 policy redirects to the pool).
func (st *store) poolListeners(p *pool) []string {
	var out []string
	if lb := st.lbs[p.lbID]; lb != nil {
		for _, lid := range lb.listeners {
			if l := st.listeners[lid]; l != nil && l.defaultPoolID == p.id {
				out = append(out, lid)
			}
		}
	}
	return out
}

// lockTree is the API half of test_and_set_lb_and_listeners_prov_status: the
// load balancer, the affected listeners and (optionally) the pool go
// PENDING_UPDATE now, and the worker returns them to ACTIVE after d.
func (st *store) lockTree(now time.Time, d time.Duration, lbID string, listenerIDs []string, poolID string) {
	type obj struct {
		k  kind
		id string
	}
	objs := []obj{{kindLB, lbID}}
	for _, lid := range listenerIDs {
		objs = append(objs, obj{kindListener, lid})
	}
	if poolID != "" {
		objs = append(objs, obj{kindPool, poolID})
	}
	for _, o := range objs {
		b := st.object(o.k, o.id)
		if b == nil {
			continue
		}
		st.cancel(o.k, o.id, fieldProv)
		b.prov = StatusPendingUpdate
		b.updatedAt = now
	}
	// Reverse order, as Octavia's flows mark the child before its parents.
	for i := len(objs) - 1; i >= 0; i-- {
		st.schedule(now.Add(d), objs[i].k, objs[i].id, fieldProv, StatusActive)
	}
}

// begin puts one object into a PENDING_* status now and schedules where its
// flow ends: ACTIVE after d, or gone after d for deletes.
func (st *store) begin(now time.Time, d time.Duration, k kind, id, pending string) {
	b := st.object(k, id)
	if b == nil {
		return
	}
	st.cancel(k, id, fieldProv)
	b.prov = pending
	if pending != StatusPendingCreate {
		b.updatedAt = now
	}
	if pending == StatusPendingDelete {
		st.schedule(now.Add(d), k, id, fieldRemove, "")
		return
	}
	st.schedule(now.Add(d), k, id, fieldProv, StatusActive)
}
