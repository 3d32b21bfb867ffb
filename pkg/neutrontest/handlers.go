package neutrontest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 2 || parts[0] != "v2.0" {
		writeError(w, http.StatusNotFound, "HTTPNotFound", "The resource could not be found.")
		return
	}
	collection := strings.TrimSuffix(parts[1], ".json")
	id := ""
	if len(parts) > 2 {
		id = parts[2]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := r.Method + " /v2.0/" + collection
	s.requests[key]++
	if s.overloadedLocked(w, key) {
		return
	}
	switch collection {
	case "networks":
		simple(w, r, id, "Network", s.networks)
	case "subnets":
		simple(w, r, id, "Subnet", s.subnets)
	case "ports":
		s.handlePorts(w, r, id)
	case "security-groups":
		s.handleGroups(w, r, id)
	case "security-group-rules":
		s.handleRules(w, r, id)
	default:
		writeError(w, http.StatusNotFound, "HTTPNotFound", "The resource could not be found.")
	}
}

// simple serves GET (list with equality filters, or one) of read-mostly
// collections; tests seed them directly.
func simple[T any](w http.ResponseWriter, r *http.Request, id, kind string, m map[string]*T) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "HTTPMethodNotAllowed", "The method is not allowed for this resource.")
		return
	}
	get(w, r, id, strings.ToLower(kind), m, func() {
		writeError(w, http.StatusNotFound, kind+"NotFound", fmt.Sprintf("%s %s could not be found.", kind, id))
	})
}

// get serves a GET of a collection: the list, with Neutron's filters, under
// root+"s", or the object with the ID under root; missing answers when there
// is none.
func get[T any](w http.ResponseWriter, r *http.Request, id, root string, m map[string]*T, missing func()) {
	if id == "" {
		writeJSON(w, http.StatusOK, map[string]any{root + "s": listOf(m, r.URL.Query())})
		return
	}
	v, ok := m[id]
	if !ok {
		missing()
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{root: v})
}

// listOf returns the objects of a collection that match the query's
// filters, in ID order; never nil, as Neutron answers [] for none.
func listOf[T any](m map[string]*T, q url.Values) []*T {
	out := []*T{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if matches(m[k], q) {
			out = append(out, m[k])
		}
	}
	return out
}

// matches applies Neutron's equality filters on top-level fields, and
// fixed_ips=ip_address=… / subnet_id=… on ports.
func matches(obj any, q url.Values) bool {
	raw, _ := json.Marshal(obj)
	var fields map[string]any
	_ = json.Unmarshal(raw, &fields)
	for key, want := range q {
		if key == "fields" {
			continue
		}
		if key == "fixed_ips" {
			if !fixedIPMatches(fields["fixed_ips"], want) {
				return false
			}
			continue
		}
		got, ok := fields[key]
		if !ok {
			continue // unknown filters are ignored, as Neutron does for most
		}
		if !slices.Contains(want, fmt.Sprint(got)) {
			return false
		}
	}
	return true
}

func fixedIPMatches(v any, want []string) bool {
	ips, _ := v.([]any)
	for _, w := range want {
		k, val, _ := strings.Cut(w, "=")
		found := false
		for _, ip := range ips {
			m, _ := ip.(map[string]any)
			if fmt.Sprint(m[k]) == val {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func (s *Server) handlePorts(w http.ResponseWriter, r *http.Request, id string) {
	missing := func() {
		writeError(w, http.StatusNotFound, "PortNotFound", fmt.Sprintf("Port %s could not be found.", id))
	}
	switch {
	case r.Method == http.MethodGet:
		get(w, r, id, "port", s.ports, missing)
	case r.Method == http.MethodPut && id != "":
		p, ok := s.ports[id]
		if !ok {
			missing()
			return
		}
		var body struct {
			Port struct {
				SecurityGroups *[]string `json:"security_groups"`
			} `json:"port"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeError(w, http.StatusBadRequest, "HTTPBadRequest", "Malformed request body")
			return
		}
		if sg := body.Port.SecurityGroups; sg != nil {
			p.SecurityGroups = append([]string{}, (*sg)...)
		}
		writeJSON(w, http.StatusOK, map[string]any{"port": p})
	default:
		writeError(w, http.StatusMethodNotAllowed, "HTTPMethodNotAllowed", "The method is not allowed for this resource.")
	}
}

func (s *Server) handleGroups(w http.ResponseWriter, r *http.Request, id string) {
	missing := func() {
		writeError(w, http.StatusNotFound, "SecurityGroupNotFound", fmt.Sprintf("Security group %s does not exist", id))
	}
	switch {
	case r.Method == http.MethodGet:
		get(w, r, id, "security_group", s.groups, missing)
	case r.Method == http.MethodPost && id == "":
		var body struct {
			Group struct {
				Name        string `json:"name"`
				Description string `json:"description"`
			} `json:"security_group"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeError(w, http.StatusBadRequest, "HTTPBadRequest", "Malformed request body")
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"security_group": s.newGroupLocked(body.Group.Name, body.Group.Description)})
	case r.Method == http.MethodDelete && id != "":
		if _, ok := s.groups[id]; !ok {
			missing()
			return
		}
		for _, p := range s.ports {
			if slices.Contains(p.SecurityGroups, id) {
				writeError(w, http.StatusConflict, "SecurityGroupInUse", fmt.Sprintf("Security Group %s in use.", id))
				return
			}
		}
		for _, rule := range s.groups[id].Rules {
			delete(s.rules, rule.ID)
		}
		delete(s.groups, id)
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, http.StatusMethodNotAllowed, "HTTPMethodNotAllowed", "The method is not allowed for this resource.")
	}
}

func (s *Server) handleRules(w http.ResponseWriter, r *http.Request, id string) {
	missing := func() {
		writeError(w, http.StatusNotFound, "SecurityGroupRuleNotFound", fmt.Sprintf("Security group rule %s does not exist", id))
	}
	switch {
	case r.Method == http.MethodGet:
		get(w, r, id, "security_group_rule", s.rules, missing)
	case r.Method == http.MethodPost && id == "":
		var body struct {
			Rule Rule `json:"security_group_rule"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeError(w, http.StatusBadRequest, "HTTPBadRequest", "Malformed request body")
			return
		}
		rule := body.Rule
		if _, ok := s.groups[rule.SecurityGroupID]; !ok {
			writeError(w, http.StatusNotFound, "SecurityGroupNotFound", fmt.Sprintf("Security group %s does not exist", rule.SecurityGroupID))
			return
		}
		if rule.Direction != "ingress" && rule.Direction != "egress" {
			writeError(w, http.StatusBadRequest, "InvalidInput", fmt.Sprintf("Invalid input for direction. Reason: %s is not in valid_values.", rule.Direction))
			return
		}
		if rule.EtherType == "" {
			rule.EtherType = "IPv4"
		}
		if p := rule.RemoteIPPrefix; p != nil {
			prefix, err := netip.ParsePrefix(*p)
			if err != nil {
				writeError(w, http.StatusBadRequest, "InvalidCIDR", fmt.Sprintf("Invalid CIDR %s given as IP prefix.", *p))
				return
			}
			if (prefix.Addr().Is4() && rule.EtherType != "IPv4") || (prefix.Addr().Is6() && rule.EtherType != "IPv6") {
				writeError(w, http.StatusBadRequest, "SecurityGroupRuleParameterConflict",
					fmt.Sprintf("Conflicting value ethertype %s for CIDR %s", rule.EtherType, *p))
				return
			}
			masked := prefix.Masked().String()
			rule.RemoteIPPrefix = &masked
		}
		if dup := s.duplicateLocked(&rule); dup != nil {
			writeError(w, http.StatusConflict, "SecurityGroupRuleExists", fmt.Sprintf("Security group rule already exists. Rule id is %s.", dup.ID))
			return
		}
		s.addRuleLocked(&rule)
		if s.onRule != nil {
			s.onRule(rule)
		}
		writeJSON(w, http.StatusCreated, map[string]any{"security_group_rule": &rule})
	case r.Method == http.MethodDelete && id != "":
		rule, ok := s.rules[id]
		if !ok {
			missing()
			return
		}
		delete(s.rules, id)
		g := s.groups[rule.SecurityGroupID]
		for i, o := range g.Rules {
			if o.ID == id {
				g.Rules = append(g.Rules[:i], g.Rules[i+1:]...)
				break
			}
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, http.StatusMethodNotAllowed, "HTTPMethodNotAllowed", "The method is not allowed for this resource.")
	}
}
