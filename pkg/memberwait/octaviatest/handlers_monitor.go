package octaviatest

import (
	"fmt"
	"net/http"
)

var monitorPUTKeys = []string{"name", "delay", "timeout", "max_retries_down", "max_retries", "http_method",
	"url_path", "expected_codes", "admin_state_up", "tags", "http_version", "domain_name"}

func (s *Server) handleListMonitors(rq *request) response {
	entries := make([]listEntry, 0, len(s.st.monitors))
	for _, m := range s.st.monitors {
		entries = append(entries, listEntry{id: m.id, created: m.createdAt, v: s.st.renderMonitor(m),
			extra: map[string]string{"pool_id": m.poolID}})
	}
	return listResponse(rq, "healthmonitors", entries, monitorFilters)
}

func (s *Server) handleGetMonitor(rq *request) response {
	m := s.st.monitors[rq.params["id"]]
	if m == nil {
		return faultResponse(errNotFound("Health Monitor", rq.params["id"]))
	}
	return objectResponse(rq, "healthmonitor", s.st.renderMonitor(m))
}

// monitorFields applies the attributes POST and PUT share.
func monitorFields(f *fields, m *monitor) {
	if v, p := f.str("name", 255); p != absent {
		m.name = v
	}
	if v, p := f.integer("delay", 0, noMax); p == set {
		m.delay = v
	}
	if v, p := f.integer("timeout", 0, noMax); p == set {
		m.timeout = v
	}
	if v, p := f.integer("max_retries", 1, 10); p == set {
		m.maxRetries = v
	}
	if v, p := f.integer("max_retries_down", 1, 10); p == set {
		m.maxRetriesDown = v
	} else if p == null {
		m.maxRetriesDown = 3
	}
	if v, p := f.enum("http_method", httpMethods...); p != absent {
		m.httpMethod = strPtr(v)
	}
	if v, p := f.str("url_path", 0); p != absent {
		m.urlPath = strPtr(v)
	}
	if v, p := f.str("expected_codes", 0); p != absent {
		m.expectedCodes = strPtr(v)
	}
	if v, p := f.boolean("admin_state_up"); p != absent {
		m.adminStateUp = p == set && v
	}
	if v, p := f.strList("tags", 255); p != absent {
		m.tags = v
	}
	if v, p := f.number("http_version"); p == set {
		if v != 1.0 && v != 1.1 {
			f.fail(errInvalidInput("http_version", fmt.Sprint(v), "Value should be one of: 1.0, 1.1"))
		}
		m.httpVersion = &v
	} else if p == null {
		m.httpVersion = nil
	}
	if v, p := f.str("domain_name", 255); p != absent {
		m.domainName = strPtr(v)
	}
}

// httpOnlyFields rejects HTTP attributes on other monitor types, as
// _validate_create_hm and _validate_update_hm do.
func httpOnlyFields(f *fields, typ string) *apiError {
	if typ == "HTTP" || typ == "HTTPS" {
		return nil
	}
	for _, k := range []string{"http_method", "url_path", "expected_codes"} {
		if _, p := f.lookup(k); p == set {
			return errInvalidOption(k, "health monitors of type "+typ)
		}
	}
	return nil
}

// monitorOnline is MarkHealthMonitorActiveInDB's operating status.
func monitorOnline(m *monitor) string {
	if m.adminStateUp {
		return StatusOnline
	}
	return StatusOffline
}

func (s *Server) handleCreateMonitor(rq *request) response {
	f, apiErr := parseRoot(rq.body, "healthmonitor", "health_monitor_")
	if apiErr != nil {
		return faultResponse(apiErr)
	}
	f.allow(append([]string{"type", "project_id", "pool_id"}, monitorPUTKeys...)...)
	for _, k := range []string{"type", "delay", "timeout", "max_retries", "pool_id"} {
		f.mandatory(k)
	}
	m := &monitor{base: base{adminStateUp: true, prov: StatusPendingCreate, op: StatusOffline}, maxRetriesDown: 3}
	m.typ, _ = f.enum("type", monitorTypes...)
	m.poolID, _ = f.uuid("pool_id")
	f.str("project_id", 36)
	monitorFields(f, m)
	if f.err != nil {
		return faultResponse(f.err)
	}
	p := s.st.pools[m.poolID]
	if p == nil {
		return faultResponse(errNotFound("Pool", m.poolID))
	}
	if e := s.memberMutable(p); e != nil {
		return faultResponse(e)
	}
	if e := httpOnlyFields(f, m.typ); e != nil {
		return faultResponse(e)
	}
	if m.typ == "HTTP" || m.typ == "HTTPS" {
		for _, d := range []struct {
			dst **string
			def string
		}{{&m.httpMethod, "GET"}, {&m.urlPath, "/"}, {&m.expectedCodes, "200"}} {
			if *d.dst == nil {
				v := d.def
				*d.dst = &v
			}
		}
	}
	if p.monitorID != "" {
		return faultResponse(errConflict("This pool already has a health monitor"))
	}
	m.id = s.st.newID()
	m.projectID = p.projectID
	m.createdAt = rq.now
	s.st.monitors[m.id] = m
	p.monitorID = m.id
	s.st.lockTree(rq.now, s.delays.HealthMonitor, p.lbID, s.st.poolListeners(p), p.id)
	s.st.begin(rq.now, s.delays.HealthMonitor, kindMonitor, m.id, StatusPendingCreate)
	s.st.schedule(rq.now.Add(s.delays.HealthMonitor), kindMonitor, m.id, fieldOp, monitorOnline(m))
	return jsonResponse(http.StatusCreated, map[string]monitorJSON{"healthmonitor": s.st.renderMonitor(m)})
}

func (s *Server) handleUpdateMonitor(rq *request) response {
	id := rq.params["id"]
	f, apiErr := parseRoot(rq.body, "healthmonitor", "health_monitor_")
	if apiErr != nil {
		return faultResponse(apiErr)
	}
	f.allow(monitorPUTKeys...)
	var scratch monitor
	monitorFields(f, &scratch)
	if f.err != nil {
		return faultResponse(f.err)
	}
	m := s.st.monitors[id]
	if m == nil {
		return faultResponse(errNotFound("Health Monitor", id))
	}
	p := s.st.pools[m.poolID]
	if p == nil {
		return faultResponse(errNotFound("Pool", m.poolID))
	}
	if e := httpOnlyFields(f, m.typ); e != nil {
		return faultResponse(e)
	}
	if e := s.memberMutable(p); e != nil {
		return faultResponse(e)
	}
	monitorFields(f, m)
	s.st.lockTree(rq.now, s.delays.HealthMonitor, p.lbID, s.st.poolListeners(p), p.id)
	s.st.begin(rq.now, s.delays.HealthMonitor, kindMonitor, id, StatusPendingUpdate)
	s.st.cancel(kindMonitor, id, fieldOp)
	s.st.schedule(rq.now.Add(s.delays.HealthMonitor), kindMonitor, id, fieldOp, monitorOnline(m))
	return jsonResponse(http.StatusOK, map[string]monitorJSON{"healthmonitor": s.st.renderMonitor(m)})
}

func (s *Server) handleDeleteMonitor(rq *request) response {
	id := rq.params["id"]
	m := s.st.monitors[id]
	if m == nil {
		return faultResponse(errNotFound("Health Monitor", id))
	}
	p := s.st.pools[m.poolID]
	if p == nil {
		return faultResponse(errNotFound("Pool", m.poolID))
	}
	if e := s.memberMutable(p); e != nil {
		return faultResponse(e)
	}
	s.st.lockTree(rq.now, s.delays.Delete, p.lbID, s.st.poolListeners(p), p.id)
	s.st.begin(rq.now, s.delays.Delete, kindMonitor, id, StatusPendingDelete)
	return emptyResponse(http.StatusNoContent)
}
