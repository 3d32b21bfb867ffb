package octaviatest

import (
	"fmt"
	"net/http"
)

// Listener defaults from Octavia's [haproxy_amphora] options and constants.
const (
	defaultTimeoutClientData    = 50000
	defaultTimeoutMemberConnect = 5000
	defaultTimeoutMemberData    = 50000
	defaultTimeoutTCPInspect    = 0
	maxTimeout                  = 24 * 60 * 60 * 1000
)

var listenerPUTKeys = []string{"name", "description", "admin_state_up", "connection_limit",
	"default_tls_container_ref", "sni_container_refs", "default_pool_id", "insert_headers",
	"timeout_client_data", "timeout_member_connect", "timeout_member_data", "timeout_tcp_inspect",
	"tags", "client_ca_tls_container_ref", "client_authentication", "client_crl_container_ref",
	"allowed_cidrs", "tls_ciphers", "tls_versions", "alpn_protocols"}

func (s *Server) handleListListeners(rq *request) response {
	entries := make([]listEntry, 0, len(s.st.listeners))
	for _, l := range s.st.listeners {
		entries = append(entries, listEntry{id: l.id, created: l.createdAt, v: s.st.renderListener(l),
			extra: map[string]string{"loadbalancer_id": l.lbID}})
	}
	return listResponse(rq, "listeners", entries, listenerFilter)
}

func (s *Server) handleGetListener(rq *request) response {
	l := s.st.listeners[rq.params["id"]]
	if l == nil {
		return faultResponse(errNotFound("Listener", rq.params["id"]))
	}
	return objectResponse(rq, "listener", s.st.renderListener(l))
}

// listenerFields applies the attributes POST and PUT share; on PUT an
// explicit null resets the attribute to its default.
func listenerFields(f *fields, l *listener) {
	if v, p := f.str("name", 255); p != absent {
		l.name = v
	}
	if v, p := f.str("description", 255); p != absent {
		l.description = v
	}
	if v, p := f.boolean("admin_state_up"); p != absent {
		l.adminStateUp = p == set && v
	}
	if v, p := f.integer("connection_limit", -1, noMax); p != absent {
		l.connLimit = -1
		if p == set {
			l.connLimit = v
		}
	}
	timeouts := []struct {
		key string
		dst *int
		def int
	}{
		{"timeout_client_data", &l.timeoutClientData, defaultTimeoutClientData},
		{"timeout_member_connect", &l.timeoutMemberConnect, defaultTimeoutMemberConnect},
		{"timeout_member_data", &l.timeoutMemberData, defaultTimeoutMemberData},
		{"timeout_tcp_inspect", &l.timeoutTCPInspect, defaultTimeoutTCPInspect},
	}
	for _, t := range timeouts {
		if v, p := f.integer(t.key, 0, maxTimeout); p != absent {
			*t.dst = t.def
			if p == set {
				*t.dst = v
			}
		}
	}
	if v, p := f.str("default_tls_container_ref", 255); p != absent {
		l.defaultTLSRef = strPtr(v)
	}
	if v, p := f.strList("sni_container_refs", 255); p != absent {
		l.sniRefs = v
	}
	if v, p := f.strMap("insert_headers"); p != absent {
		l.insertHeaders = v
	}
	if v, p := f.strList("tags", 255); p != absent {
		l.tags = v
	}
	if v, p := f.enum("client_authentication", clientAuthModes...); p != absent {
		l.clientAuth = "NONE"
		if p == set {
			l.clientAuth = v
		}
	}
	if v, p := f.strList("allowed_cidrs", 0); p != absent {
		l.allowedCIDRs = v
	}
	f.str("client_ca_tls_container_ref", 255)
	f.str("client_crl_container_ref", 255)
	f.str("tls_ciphers", 2048)
	f.strList("tls_versions", 32)
	f.strList("alpn_protocols", 0)
}

func (s *Server) handleCreateListener(rq *request) response {
	f, apiErr := parseRoot(rq.body, "listener", "listener_")
	if apiErr != nil {
		return faultResponse(apiErr)
	}
	f.allow(append([]string{"protocol", "protocol_port", "project_id", "default_pool", "l7policies",
		"loadbalancer_id"}, listenerPUTKeys...)...)
	f.mandatory("protocol")
	f.mandatory("protocol_port")
	f.mandatory("loadbalancer_id")
	l := &listener{base: base{adminStateUp: true, op: StatusOffline, prov: StatusPendingCreate},
		connLimit: -1, clientAuth: "NONE", timeoutClientData: defaultTimeoutClientData,
		timeoutMemberConnect: defaultTimeoutMemberConnect, timeoutMemberData: defaultTimeoutMemberData,
		timeoutTCPInspect: defaultTimeoutTCPInspect}
	l.protocol, _ = f.enum("protocol", listenerProtocols...)
	l.port, _ = f.integer("protocol_port", 1, 65535)
	l.lbID, _ = f.uuid("loadbalancer_id")
	poolID, _ := f.uuid("default_pool_id")
	f.str("project_id", 36)
	listenerFields(f, l)
	if _, p := f.lookup("default_pool"); p == set {
		f.fail(errBadRequest("octaviatest: creating a default_pool inside a listener POST is not emulated"))
	}
	if v, p := f.list("l7policies"); p == set && len(v) > 0 {
		f.fail(errBadRequest("octaviatest: L7 policies are not emulated"))
	}
	if f.err != nil {
		return faultResponse(f.err)
	}

	lb := s.st.lbs[l.lbID]
	if lb == nil {
		return faultResponse(errNotFound("Load Balancer", l.lbID))
	}
	if poolID != "" {
		if e := s.validateDefaultPool(lb.id, poolID, l.protocol); e != nil {
			return faultResponse(e)
		}
	}
	if lb.prov != StatusActive {
		return faultResponse(errImmutable("Load Balancer", lb.id))
	}
	if l.protocol == "TERMINATED_HTTPS" && l.defaultTLSRef == nil && len(l.sniRefs) == 0 {
		return faultResponse(errValidation("An SNI or default certificate container reference must be provided for TERMINATED_HTTPS protocol listeners."))
	}
	if l.protocol != "TERMINATED_HTTPS" && l.protocol != "PROMETHEUS" && (l.defaultTLSRef != nil || len(l.sniRefs) > 0) {
		return faultResponse(errValidation(fmt.Sprintf("Certificate container references are not allowed on %s protocol listeners.", l.protocol)))
	}
	for _, lid := range lb.listeners {
		if o := s.st.listeners[lid]; o != nil && o.port == l.port && l4Protocol[o.protocol] == l4Protocol[l.protocol] {
			return faultResponse(errConflict(fmt.Sprintf("Another Listener on this Load Balancer is already using protocol %s and protocol_port %d", o.protocol, l.port)))
		}
	}

	l.id = s.st.newID()
	l.projectID = lb.projectID
	l.createdAt = rq.now
	l.defaultPoolID = poolID
	s.st.listeners[l.id] = l
	lb.listeners = append(lb.listeners, l.id)
	s.st.lockTree(rq.now, s.delays.Listener, lb.id, nil, "")
	s.st.begin(rq.now, s.delays.Listener, kindListener, l.id, StatusPendingCreate)
	return jsonResponse(http.StatusCreated, map[string]listenerJSON{"listener": s.st.renderListener(l)})
}

// validateDefaultPool is ListenersController._validate_pool.
func (s *Server) validateDefaultPool(lbID, poolID, listenerProto string) *apiError {
	p := s.st.pools[poolID]
	if p == nil || p.lbID != lbID {
		return errNotFound("Pool", poolID)
	}
	return validatePoolProtocol(listenerProto, p.protocol)
}

func (s *Server) handleUpdateListener(rq *request) response {
	id := rq.params["id"]
	f, apiErr := parseRoot(rq.body, "listener", "listener_")
	if apiErr != nil {
		return faultResponse(apiErr)
	}
	f.allow(listenerPUTKeys...)
	poolID, poolP := f.uuid("default_pool_id")
	var scratch listener
	listenerFields(f, &scratch)
	if f.err != nil {
		return faultResponse(f.err)
	}
	l := s.st.listeners[id]
	if l == nil {
		return faultResponse(errNotFound("Listener", id))
	}
	if poolP == set {
		if e := s.validateDefaultPool(l.lbID, poolID, l.protocol); e != nil {
			return faultResponse(e)
		}
	}
	lb := s.st.lbs[l.lbID]
	if lb == nil || lb.prov != StatusActive {
		return faultResponse(errImmutable("Load Balancer", l.lbID))
	}
	listenerFields(f, l)
	if poolP != absent {
		l.defaultPoolID = poolID
	}
	s.st.lockTree(rq.now, s.delays.Listener, l.lbID, nil, "")
	s.st.begin(rq.now, s.delays.Listener, kindListener, id, StatusPendingUpdate)
	return jsonResponse(http.StatusOK, map[string]listenerJSON{"listener": s.st.renderListener(l)})
}

func (s *Server) handleDeleteListener(rq *request) response {
	id := rq.params["id"]
	l := s.st.listeners[id]
	if l == nil {
		return faultResponse(errNotFound("Listener", id))
	}
	lb := s.st.lbs[l.lbID]
	if lb == nil || lb.prov != StatusActive {
		return faultResponse(errImmutable("Load Balancer", l.lbID))
	}
	s.st.lockTree(rq.now, s.delays.Delete, l.lbID, nil, "")
	s.st.begin(rq.now, s.delays.Delete, kindListener, id, StatusPendingDelete)
	return emptyResponse(http.StatusNoContent)
}
