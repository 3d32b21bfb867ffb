package octaviatest

import "net/http"

// octaviaVersions is Octavia 11's RootController.index: every API minor
// version, v2.26 CURRENT.
var octaviaVersions = []struct{ id, updated string }{
	{"v2.0", "2016-12-11T00:00:00Z"}, {"v2.1", "2018-04-20T00:00:00Z"},
	{"v2.2", "2018-07-31T00:00:00Z"}, {"v2.3", "2018-12-18T00:00:00Z"},
	{"v2.4", "2018-12-19T00:00:00Z"}, {"v2.5", "2019-01-21T00:00:00Z"},
	{"v2.6", "2019-01-25T00:00:00Z"}, {"v2.7", "2018-01-25T12:00:00Z"},
	{"v2.8", "2019-02-12T00:00:00Z"}, {"v2.9", "2019-03-04T00:00:00Z"},
	{"v2.10", "2019-03-05T00:00:00Z"}, {"v2.11", "2019-06-24T00:00:00Z"},
	{"v2.12", "2019-09-11T00:00:00Z"}, {"v2.13", "2019-09-13T00:00:00Z"},
	{"v2.14", "2019-11-10T00:00:00Z"}, {"v2.15", "2020-03-10T00:00:00Z"},
	{"v2.16", "2020-03-15T00:00:00Z"}, {"v2.17", "2020-04-29T00:00:00Z"},
	{"v2.18", "2020-04-29T01:00:00Z"}, {"v2.19", "2020-05-12T00:00:00Z"},
	{"v2.20", "2020-08-02T00:00:00Z"}, {"v2.21", "2020-09-03T00:00:00Z"},
	{"v2.22", "2020-09-04T00:00:00Z"}, {"v2.23", "2020-09-07T00:00:00Z"},
	{"v2.24", "2020-10-15T00:00:00Z"}, {"v2.25", "2021-10-02T00:00:00Z"},
	{"v2.26", "2022-08-29T00:00:00Z"},
}

type versionJSON struct {
	ID      string     `json:"id"`
	Status  string     `json:"status"`
	Updated string     `json:"updated"`
	Links   []linkJSON `json:"links"`
}

func (s *Server) handleVersions(rq *request) response {
	out := make([]versionJSON, 0, len(octaviaVersions))
	for i, v := range octaviaVersions {
		status := "SUPPORTED"
		if i == len(octaviaVersions)-1 {
			status = "CURRENT"
		}
		out = append(out, versionJSON{ID: v.id, Status: status, Updated: v.updated,
			Links: []linkJSON{{Href: rq.baseURL + "/v2", Rel: "self"}}})
	}
	return jsonResponse(http.StatusOK, map[string]any{"versions": out})
}

// handleV2 answers GET /v2 and /v2/lbaas, which Octavia's V2 controllers
// answer with the bare JSON string "v2".
func (s *Server) handleV2(*request) response { return jsonResponse(http.StatusOK, "v2") }

func (s *Server) handleLBStats(rq *request) response {
	if s.st.lbs[rq.params["id"]] == nil {
		return faultResponse(errNotFound("Load Balancer", rq.params["id"]))
	}
	return jsonResponse(http.StatusOK, map[string]statsJSON{"stats": {}})
}

func (s *Server) handleListenerStats(rq *request) response {
	if s.st.listeners[rq.params["id"]] == nil {
		return faultResponse(errNotFound("Listener", rq.params["id"]))
	}
	return jsonResponse(http.StatusOK, map[string]statsJSON{"stats": {}})
}
