package octaviatest

import "net/http"

var poolPUTKeys = []string{"name", "description", "admin_state_up", "lb_algorithm", "session_persistence",
	"tags", "tls_container_ref", "ca_tls_container_ref", "crl_container_ref", "tls_enabled", "tls_ciphers",
	"tls_versions", "alpn_protocols"}

func (s *Server) handleListPools(rq *request) response {
	entries := make([]listEntry, 0, len(s.st.pools))
	for _, p := range s.st.pools {
		entries = append(entries, listEntry{id: p.id, created: p.createdAt, v: s.st.renderPool(p),
			extra: map[string]string{"loadbalancer_id": p.lbID}})
	}
	return listResponse(rq, "pools", entries, poolFilters)
}

func (s *Server) handleGetPool(rq *request) response {
	p := s.st.pools[rq.params["id"]]
	if p == nil {
		return faultResponse(errNotFound("Pool", rq.params["id"]))
	}
	return objectResponse(rq, "pool", s.st.renderPool(p))
}

// poolFields applies the attributes POST and PUT share.
func poolFields(f *fields, p *pool) {
	if v, pr := f.str("name", 255); pr != absent {
		p.name = v
	}
	if v, pr := f.str("description", 255); pr != absent {
		p.description = v
	}
	if v, pr := f.boolean("admin_state_up"); pr != absent {
		p.adminStateUp = pr == set && v
	}
	if v, pr := f.enum("lb_algorithm", lbAlgorithms...); pr == set {
		p.lbAlgorithm = v
	}
	if v, pr := f.strList("tags", 255); pr != absent {
		p.tags = v
	}
	if v, pr := f.boolean("tls_enabled"); pr != absent {
		p.tlsEnabled = pr == set && v
	}
	if sp, pr := f.object("session_persistence"); pr != absent {
		p.persistence = nil
		if pr == set {
			sp.allow("type", "cookie_name", "persistence_timeout", "persistence_granularity")
			t, _ := sp.enum("type", spTypes...)
			cookie, _ := sp.str("cookie_name", 255)
			timeout, timeoutP := sp.integer("persistence_timeout", noMin, noMax)
			gran, _ := sp.ip("persistence_granularity")
			if sp.err != nil {
				f.fail(sp.err)
			}
			p.persistence = &sessionPersistence{typ: t, cookieName: strPtr(cookie), granularity: strPtr(gran)}
			if timeoutP == set {
				p.persistence.timeout = &timeout
			}
		}
	}
	for _, k := range []string{"tls_container_ref", "ca_tls_container_ref", "crl_container_ref"} {
		f.str(k, 255)
	}
	f.str("tls_ciphers", 2048)
	f.strList("tls_versions", 32)
	f.strList("alpn_protocols", 0)
}

func (s *Server) handleCreatePool(rq *request) response {
	f, apiErr := parseRoot(rq.body, "pool", "pool_")
	if apiErr != nil {
		return faultResponse(apiErr)
	}
	f.allow(append([]string{"listener_id", "loadbalancer_id", "protocol", "project_id", "healthmonitor",
		"members"}, poolPUTKeys...)...)
	f.mandatory("protocol")
	f.mandatory("lb_algorithm")
	p := &pool{base: base{adminStateUp: true, prov: StatusPendingCreate, op: StatusOffline}}
	p.protocol, _ = f.enum("protocol", poolProtocols...)
	lbID, _ := f.uuid("loadbalancer_id")
	listenerID, _ := f.uuid("listener_id")
	f.str("project_id", 36)
	poolFields(f, p)
	if _, pr := f.lookup("healthmonitor"); pr == set {
		f.fail(errBadRequest("octaviatest: creating a healthmonitor inside a pool POST is not emulated"))
	}
	if v, pr := f.list("members"); pr == set && len(v) > 0 {
		f.fail(errBadRequest("octaviatest: creating members inside a pool POST is not emulated"))
	}
	if f.err != nil {
		return faultResponse(f.err)
	}

	var l *listener
	if listenerID != "" {
		if l = s.st.listeners[listenerID]; l == nil {
			return faultResponse(errNotFound("Listener", listenerID))
		}
	}
	switch {
	case lbID != "":
		if s.st.lbs[lbID] == nil {
			return faultResponse(errNotFound("Load Balancer", lbID))
		}
	case l != nil:
		lbID = l.lbID
	default:
		return faultResponse(errValidation("Must provide at least one of: loadbalancer_id, listener_id"))
	}
	lb := s.st.lbs[lbID]
	if l != nil {
		if e := validatePoolProtocol(l.protocol, p.protocol); e != nil {
			return faultResponse(e)
		}
		if l.defaultPoolID != "" {
			return faultResponse(errConflict("This listener already has a default pool"))
		}
	}
	if lb == nil || lb.prov != StatusActive {
		return faultResponse(errImmutable("Load Balancer", lbID))
	}

	p.id = s.st.newID()
	p.lbID = lbID
	p.projectID = lb.projectID
	p.createdAt = rq.now
	s.st.pools[p.id] = p
	lb.pools = append(lb.pools, p.id)
	var affected []string
	if l != nil {
		l.defaultPoolID = p.id
		affected = []string{l.id}
	}
	s.st.lockTree(rq.now, s.delays.Pool, lbID, affected, "")
	s.st.begin(rq.now, s.delays.Pool, kindPool, p.id, StatusPendingCreate)
	return jsonResponse(http.StatusCreated, map[string]poolJSON{"pool": s.st.renderPool(p)})
}

func (s *Server) handleUpdatePool(rq *request) response {
	id := rq.params["id"]
	f, apiErr := parseRoot(rq.body, "pool", "pool_")
	if apiErr != nil {
		return faultResponse(apiErr)
	}
	f.allow(poolPUTKeys...)
	var scratch pool
	poolFields(f, &scratch)
	if f.err != nil {
		return faultResponse(f.err)
	}
	p := s.st.pools[id]
	if p == nil {
		return faultResponse(errNotFound("Pool", id))
	}
	if lb := s.st.lbs[p.lbID]; lb == nil || lb.prov != StatusActive {
		return faultResponse(errImmutable("Load Balancer", p.lbID))
	}
	poolFields(f, p)
	s.st.lockTree(rq.now, s.delays.Pool, p.lbID, s.st.poolListeners(p), "")
	s.st.begin(rq.now, s.delays.Pool, kindPool, id, StatusPendingUpdate)
	return jsonResponse(http.StatusOK, map[string]poolJSON{"pool": s.st.renderPool(p)})
}

func (s *Server) handleDeletePool(rq *request) response {
	id := rq.params["id"]
	p := s.st.pools[id]
	if p == nil {
		return faultResponse(errNotFound("Pool", id))
	}
	if lb := s.st.lbs[p.lbID]; lb == nil || lb.prov != StatusActive {
		return faultResponse(errImmutable("Load Balancer", p.lbID))
	}
	s.st.lockTree(rq.now, s.delays.Delete, p.lbID, s.st.poolListeners(p), "")
	s.st.begin(rq.now, s.delays.Delete, kindPool, id, StatusPendingDelete)
	return emptyResponse(http.StatusNoContent)
}
