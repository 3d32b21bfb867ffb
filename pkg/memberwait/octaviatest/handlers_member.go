package octaviatest

import (
	"fmt"
	"net/http"
)

// reservedIPs is api_settings.reserved_ips' default: members may not point at
// the metadata service.
var reservedIPs = []string{"169.254.169.254"}

var memberPOSTKeys = []string{"name", "admin_state_up", "address", "protocol_port", "weight", "backup",
	"subnet_id", "project_id", "monitor_port", "monitor_address", "tags"}

// memberSpec is a validated MemberPOST body.
type memberSpec struct {
	f       *fields
	address string
	port    int
}

func (s *Server) handleListMembers(rq *request) response {
	p := s.st.pools[rq.params["id"]]
	if p == nil {
		return faultResponse(errPoolLookup(rq.params["id"]))
	}
	entries := make([]listEntry, 0, len(p.members))
	for _, mid := range p.members {
		if m := s.st.members[mid]; m != nil {
			entries = append(entries, listEntry{id: m.id, created: m.createdAt, v: s.st.renderMember(m),
				extra: map[string]string{"pool_id": m.poolID}})
		}
	}
	return listResponse(rq, "members", entries, memberFilters)
}

// poolAndMember resolves the URL's pool and member; a member of another
// pool is "not found", as in MemberController._validate_pool_id.
func (s *Server) poolAndMember(rq *request) (*pool, *member, *apiError) {
	p := s.st.pools[rq.params["id"]]
	if p == nil {
		return nil, nil, errPoolLookup(rq.params["id"])
	}
	m := s.st.members[rq.params["member_id"]]
	if m == nil || m.poolID != p.id {
		return p, nil, errNotFound("Member", rq.params["member_id"])
	}
	return p, m, nil
}

func (s *Server) handleGetMember(rq *request) response {
	_, m, apiErr := s.poolAndMember(rq)
	if apiErr != nil {
		return faultResponse(apiErr)
	}
	return objectResponse(rq, "member", s.st.renderMember(m))
}

// memberMutable is _test_lb_and_listener_and_pool_statuses: the pool is
// checked before its load balancer, so the 409 may name either.
func (s *Server) memberMutable(p *pool) *apiError {
	if p.prov != StatusActive {
		return errImmutable("Pool", p.id)
	}
	if lb := s.st.lbs[p.lbID]; lb == nil || lb.prov != StatusActive {
		return errImmutable("Load Balancer", p.lbID)
	}
	return nil
}

func parseMemberPOST(f *fields) memberSpec {
	f.allow(memberPOSTKeys...)
	f.mandatory("address")
	f.mandatory("protocol_port")
	addr, _ := f.ip("address")
	port, _ := f.integer("protocol_port", 1, 65535)
	f.uuid("subnet_id")
	f.str("project_id", 36)
	var scratch member
	memberFields(f, &scratch, true)
	if f.err == nil && contains(reservedIPs, addr) {
		f.fail(errInvalidOption(addr, "member address"))
	}
	return memberSpec{f: f, address: addr, port: port}
}

// memberFields applies the updatable attributes; post selects MemberPOST's
// defaults, which the batch update also applies to members it keeps.
func memberFields(f *fields, m *member, post bool) {
	if v, p := f.str("name", 255); p != absent {
		m.name = v
	}
	if v, p := f.boolean("admin_state_up"); p != absent {
		m.adminStateUp = p == set && v
	} else if post {
		m.adminStateUp = true
	}
	if v, p := f.integer("weight", 0, 256); p == set {
		m.weight = v
	} else if p == null || post {
		m.weight = 1
	}
	if v, p := f.boolean("backup"); p != absent || post {
		m.backup = p == set && v
	}
	if v, p := f.integer("monitor_port", 1, 65535); p == set {
		m.monitorPort = &v
	} else if p == null || post {
		m.monitorPort = nil
	}
	if v, p := f.ip("monitor_address"); p != absent || post {
		m.monitorAddress = strPtr(v)
	}
	if v, p := f.strList("tags", 255); p != absent {
		m.tags = v
	}
}

// newMember creates a member from a validated body and starts its timeline:
// the default one, or a script registered with ScriptMembers.
func (s *Server) newMember(rq *request, p *pool, spec memberSpec) *member {
	m := &member{base: base{id: s.st.newID(), projectID: p.projectID, prov: StatusPendingCreate,
		op: StatusNoMonitor, createdAt: rq.now}, poolID: p.id, address: spec.address, port: spec.port}
	if p.monitorID != "" {
		m.op = StatusOffline
	}
	memberFields(spec.f, m, true)
	if sub, pr := spec.f.uuid("subnet_id"); pr == set {
		m.subnetID = &sub
	}
	s.st.members[m.id] = m
	p.members = append(p.members, m.id)
	if script, ok := s.scriptFor(p.id, m); ok {
		s.scheduleScript(m, script)
	} else {
		s.st.schedule(rq.now.Add(s.delays.Member), kindMember, m.id, fieldProv, StatusActive)
	}
	return m
}

func (s *Server) handleCreateMember(rq *request) response {
	p := s.st.pools[rq.params["id"]]
	if p == nil {
		return faultResponse(errPoolLookup(rq.params["id"]))
	}
	f, apiErr := parseRoot(rq.body, "member", "member_")
	if apiErr != nil {
		return faultResponse(apiErr)
	}
	spec := parseMemberPOST(f)
	if f.err != nil {
		return faultResponse(f.err)
	}
	if e := s.memberMutable(p); e != nil {
		return faultResponse(e)
	}
	for _, mid := range p.members {
		if o := s.st.members[mid]; o != nil && o.address == spec.address && o.port == spec.port {
			return faultResponse(errConflict(fmt.Sprintf("Another member on this pool is already using ip %s on protocol_port %d", spec.address, spec.port)))
		}
	}
	m := s.newMember(rq, p, spec)
	s.st.lockTree(rq.now, s.delays.Member, p.lbID, s.st.poolListeners(p), p.id)
	return jsonResponse(http.StatusCreated, map[string]memberJSON{"member": s.st.renderMember(m)})
}

func (s *Server) handleUpdateMember(rq *request) response {
	if s.st.pools[rq.params["id"]] == nil {
		return faultResponse(errPoolLookup(rq.params["id"]))
	}
	f, apiErr := parseRoot(rq.body, "member", "member_")
	if apiErr != nil {
		return faultResponse(apiErr)
	}
	f.allow("name", "admin_state_up", "weight", "backup", "monitor_port", "monitor_address", "tags")
	var scratch member
	memberFields(f, &scratch, false)
	if f.err != nil {
		return faultResponse(f.err)
	}
	p, m, apiErr := s.poolAndMember(rq)
	if apiErr != nil {
		return faultResponse(apiErr)
	}
	if e := s.memberMutable(p); e != nil {
		return faultResponse(e)
	}
	memberFields(f, m, false)
	s.st.lockTree(rq.now, s.delays.Member, p.lbID, s.st.poolListeners(p), p.id)
	s.st.begin(rq.now, s.delays.Member, kindMember, m.id, StatusPendingUpdate)
	return jsonResponse(http.StatusOK, map[string]memberJSON{"member": s.st.renderMember(m)})
}

func (s *Server) handleDeleteMember(rq *request) response {
	p, m, apiErr := s.poolAndMember(rq)
	if apiErr != nil {
		return faultResponse(apiErr)
	}
	if e := s.memberMutable(p); e != nil {
		return faultResponse(e)
	}
	s.st.lockTree(rq.now, s.delays.Delete, p.lbID, s.st.poolListeners(p), p.id)
	s.st.begin(rq.now, s.delays.Delete, kindMember, m.id, StatusPendingDelete)
	return emptyResponse(http.StatusNoContent)
}

// handleBatchMembers is MembersController.put: members are matched by
// (address, protocol_port); listed ones are created or updated, unlisted
// ones deleted unless additive_only is set. The whole batch is one flow.
func (s *Server) handleBatchMembers(rq *request) response {
	p := s.st.pools[rq.params["id"]]
	if p == nil {
		return faultResponse(errPoolLookup(rq.params["id"]))
	}
	outer, apiErr := parseObject(rq.body, "members_")
	if apiErr != nil {
		return faultResponse(apiErr)
	}
	outer.allow("members")
	items, pr := outer.list("members")
	if pr != set {
		outer.fail(errInvalidInput("members", "None", "Mandatory field missing."))
	}
	if outer.err != nil {
		return faultResponse(outer.err)
	}
	var specs []memberSpec
	for _, it := range items {
		spec := parseMemberPOST(it)
		if it.err != nil {
			return faultResponse(it.err)
		}
		specs = append(specs, spec)
	}
	if e := s.memberMutable(p); e != nil {
		return faultResponse(e)
	}
	additive := boolFromString(rq.query.Get("additive_only"))

	type key struct {
		addr string
		port int
	}
	existing := map[key]*member{}
	for _, mid := range p.members {
		if m := s.st.members[mid]; m != nil {
			existing[key{m.address, m.port}] = m
		}
	}
	listed := map[key]bool{}
	var creates []memberSpec
	var updates []*member
	for _, sp := range specs {
		k := key{sp.address, sp.port}
		listed[k] = true
		if m := existing[k]; m != nil {
			memberFields(sp.f, m, true)
			updates = append(updates, m)
			continue
		}
		creates = append(creates, sp)
	}
	var deletes []*member
	if !additive {
		for _, mid := range p.members {
			if m := s.st.members[mid]; m != nil && !listed[key{m.address, m.port}] {
				deletes = append(deletes, m)
			}
		}
	}
	if len(creates) == 0 && len(updates) == 0 && len(deletes) == 0 {
		return emptyResponse(http.StatusAccepted) // Octavia rolls back a no-op batch
	}
	d := s.delays.Member
	for _, sp := range creates {
		s.newMember(rq, p, sp)
	}
	for _, m := range updates {
		s.st.begin(rq.now, d, kindMember, m.id, StatusPendingUpdate)
	}
	for _, m := range deletes {
		s.st.begin(rq.now, d, kindMember, m.id, StatusPendingDelete)
	}
	s.st.lockTree(rq.now, d, p.lbID, s.st.poolListeners(p), p.id)
	return emptyResponse(http.StatusAccepted)
}
