package octaviatest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// listEntry is one object offered to a list endpoint.
type listEntry struct {
	id      string
	created time.Time
	v       any               // the rendered object
	extra   map[string]string // filterable columns the body does not show (loadbalancer_id, pool_id)
	attrs   map[string]any    // v as a JSON map, built only when filtering or sorting needs it
}

// Octavia's PaginationHelper: these query parameters steer paging, every other
// one is an equality filter on a column.
var auxiliaryParams = map[string]bool{"limit": true, "marker": true, "sort": true,
	"sort_key": true, "sort_dir": true, "fields": true, "page_reverse": true}

var tagParams = []string{"tags", "tags-any", "not-tags", "not-tags-any"}

// defaultPageLimit is api_settings.pagination_max_limit's default.
const defaultPageLimit = 1000

// Filterable columns per resource, by their API names.
var (
	commonFilters  = []string{"id", "name", "project_id", "provisioning_status", "operating_status", "admin_state_up", "created_at", "updated_at"}
	lbFilters      = append([]string{"description", "provider", "flavor_id", "availability_zone", "vip_address", "vip_port_id", "vip_subnet_id", "vip_network_id", "vip_qos_policy_id"}, commonFilters...)
	listenerFilter = append([]string{"description", "protocol", "protocol_port", "connection_limit", "default_pool_id", "loadbalancer_id", "timeout_client_data", "timeout_member_connect", "timeout_member_data", "timeout_tcp_inspect", "client_authentication", "default_tls_container_ref"}, commonFilters...)
	poolFilters    = append([]string{"description", "protocol", "lb_algorithm", "loadbalancer_id", "healthmonitor_id", "tls_enabled"}, commonFilters...)
	memberFilters  = append([]string{"address", "protocol_port", "weight", "backup", "subnet_id", "monitor_address", "monitor_port", "pool_id"}, commonFilters...)
	monitorFilters = append([]string{"type", "delay", "timeout", "max_retries", "max_retries_down", "http_method", "url_path", "expected_codes", "http_version", "domain_name", "pool_id"}, commonFilters...)
)

type sortKey struct {
	key  string
	desc bool
}

// listResponse filters, sorts and pages entries like Octavia's
// PaginationHelper and renders {"<coll>": [...], "<coll>_links": [...]}.
func listResponse(rq *request, coll string, entries []listEntry, filterable []string) response {
	q := rq.query
	allowed := map[string]bool{}
	for _, k := range filterable {
		allowed[k] = true
	}
	for _, k := range tagParams {
		allowed[k] = true
	}
	filters := map[string][]string{}
	for k, v := range q {
		if auxiliaryParams[k] {
			continue
		}
		if !allowed[k] {
			return faultResponse(errBadRequest("One or more arguments are either duplicate or invalid"))
		}
		if len(v) > 1 && !contains(tagParams, k) {
			// A repeated filter reaches the SQL query as a list compared
			// with "=", which MariaDB refuses: Octavia 11 answers 500.
			return faultResponse(&apiError{code: 500, msg: "(pymysql.err.OperationalError) (4078, \"Illegal parameter data types varchar and row for operation '='\")"})
		}
		filters[k] = v
	}
	keys, apiErr := parseSort(q)
	if apiErr != nil {
		return faultResponse(apiErr)
	}
	limit, apiErr := parseLimit(q.Get("limit"))
	if apiErr != nil {
		return faultResponse(apiErr)
	}

	needAttrs := len(filters) > 0 || len(keys) > 0
	if needAttrs {
		for i := range entries {
			entries[i].attrs = attrsOf(entries[i])
		}
	}
	for _, k := range keys {
		if len(entries) > 0 && !hasAttr(entries[0], k.key) {
			return faultResponse(errBadRequest(fmt.Sprintf("Supplied sort key '%s' is not valid.", k.key)))
		}
	}
	keys = append(keys, sortKey{key: "created_at"}, sortKey{key: "id"})
	less := func(a, b *listEntry) int { return compareEntries(a, b, keys) }

	var markerEntry *listEntry
	if m := q.Get("marker"); m != "" {
		for i := range entries {
			if entries[i].id == m {
				e := entries[i]
				markerEntry = &e
			}
		}
		if markerEntry == nil {
			return faultResponse(errBadRequest(fmt.Sprintf("Supplied pagination marker '%s' is not valid.", m)))
		}
	}

	var kept []*listEntry
	for i := range entries {
		e := &entries[i]
		if !matches(e, filters) {
			continue
		}
		if markerEntry != nil && less(e, markerEntry) <= 0 {
			continue
		}
		kept = append(kept, e)
	}
	sort.SliceStable(kept, func(i, j int) bool { return less(kept[i], kept[j]) < 0 })
	if limit > 0 && len(kept) > limit {
		kept = kept[:limit]
	}

	items := make([]any, 0, len(kept))
	fieldsWanted := wantedFields(q["fields"])
	for _, e := range kept {
		if fieldsWanted == nil {
			items = append(items, e.v)
			continue
		}
		m := e.attrs
		if m == nil {
			m = attrsOf(*e)
		}
		items = append(items, selectFields(m, fieldsWanted))
	}
	return jsonResponse(200, map[string]any{coll: items, coll + "_links": pageLinks(rq, limit, kept, markerEntry != nil)})
}

// objectResponse renders {"<root>": v} for a GET of one object, honouring
// ?fields= as Octavia's _filter_fields does.
func objectResponse(rq *request, root string, v any) response {
	want := wantedFields(rq.query["fields"])
	if want == nil {
		return jsonResponse(200, map[string]any{root: v})
	}
	return jsonResponse(200, map[string]any{root: selectFields(attrsOf(listEntry{v: v}), want)})
}

// selectFields keeps the attributes ?fields= names.
func selectFields(attrs map[string]any, want map[string]bool) map[string]any {
	out := map[string]any{}
	for k, v := range attrs {
		if want[k] {
			out[k] = v
		}
	}
	return out
}

func attrsOf(e listEntry) map[string]any {
	b, _ := json.Marshal(e.v)
	m := map[string]any{}
	_ = json.Unmarshal(b, &m)
	for k, v := range e.extra {
		m[k] = v
	}
	return m
}

func hasAttr(e listEntry, k string) bool {
	_, ok := e.attrs[k]
	return ok
}

func parseSort(q url.Values) ([]sortKey, *apiError) {
	var keys []sortKey
	dir := func(s string) (bool, *apiError) {
		switch strings.ToLower(s) {
		case "", "asc":
			return false, nil
		case "desc":
			return true, nil
		}
		return false, errBadRequest(fmt.Sprintf("Supplied sort direction '%s' is not valid.", strings.ToLower(s)))
	}
	if s := q.Get("sort"); s != "" {
		for _, part := range strings.Split(s, ",") {
			comps := strings.Split(part, ":")
			if len(comps) > 2 {
				return nil, errBadRequest(fmt.Sprintf("Supplied sort key '%s' is not valid.", part))
			}
			d := ""
			if len(comps) == 2 {
				d = comps[1]
			}
			desc, err := dir(d)
			if err != nil {
				return nil, err
			}
			keys = append(keys, sortKey{comps[0], desc})
		}
		return keys, nil
	}
	if s := q.Get("sort_key"); s != "" {
		dirs := strings.Split(q.Get("sort_dir"), ",")
		for i, k := range strings.Split(s, ",") {
			d := ""
			if i < len(dirs) {
				d = dirs[i]
			}
			desc, err := dir(d)
			if err != nil {
				return nil, err
			}
			keys = append(keys, sortKey{k, desc})
		}
	}
	return keys, nil
}

func parseLimit(s string) (int, *apiError) {
	if s == "" {
		return defaultPageLimit, nil
	}
	if s == "infinite" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errBadRequest(fmt.Sprintf("Supplied pagination limit '%s' is not valid.", s))
	}
	if n < 1 {
		return 0, nil
	}
	if n > defaultPageLimit {
		n = defaultPageLimit
	}
	return n, nil
}

func compareEntries(a, b *listEntry, keys []sortKey) int {
	for _, k := range keys {
		var c int
		switch k.key {
		case "id":
			c = strings.Compare(a.id, b.id)
		case "created_at":
			c = a.created.Truncate(time.Second).Compare(b.created.Truncate(time.Second))
		default:
			c = compareValues(a.attrs[k.key], b.attrs[k.key])
		}
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func compareValues(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	if fa, ok := a.(float64); ok {
		if fb, ok := b.(float64); ok {
			switch {
			case fa < fb:
				return -1
			case fa > fb:
				return 1
			}
			return 0
		}
	}
	return strings.Compare(scalarString(a), scalarString(b))
}

func scalarString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(t)
	}
	return fmt.Sprint(v)
}

func matches(e *listEntry, filters map[string][]string) bool {
	for k, want := range filters {
		switch k {
		case "tags", "tags-any", "not-tags", "not-tags-any":
			if !matchTags(e, k, want) {
				return false
			}
			continue
		}
		got, ok := e.attrs[k]
		if !ok || got == nil {
			return false
		}
		hit := false
		for _, w := range want {
			if equalScalar(got, w) {
				hit = true
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

func equalScalar(got any, want string) bool {
	switch t := got.(type) {
	case bool:
		b, err := strconv.ParseBool(want)
		return err == nil && b == t
	case float64:
		f, err := strconv.ParseFloat(want, 64)
		return err == nil && f == t
	case string:
		return t == want
	}
	return false
}

func matchTags(e *listEntry, k string, want []string) bool {
	var wanted []string
	for _, w := range want {
		wanted = append(wanted, strings.Split(w, ",")...)
	}
	have := map[string]bool{}
	if l, ok := e.attrs["tags"].([]any); ok {
		for _, t := range l {
			if s, ok := t.(string); ok {
				have[s] = true
			}
		}
	}
	all, anyOf := true, false
	for _, w := range wanted {
		if have[w] {
			anyOf = true
		} else {
			all = false
		}
	}
	switch k {
	case "tags":
		return all
	case "tags-any":
		return anyOf
	case "not-tags":
		return !all
	default: // not-tags-any
		return !anyOf
	}
}

// wantedFields reads ?fields=: Octavia keeps an attribute whose name equals
// one of the values, so ?fields=id&fields=name selects both while
// ?fields=id,name names no attribute and leaves every object empty
// (measured on Octavia 11).
func wantedFields(vals []string) map[string]bool {
	if len(vals) == 0 {
		return nil
	}
	out := map[string]bool{}
	for _, v := range vals {
		out[v] = true
	}
	return out
}

// pageLinks mirrors PaginationHelper._make_links.
func pageLinks(rq *request, limit int, page []*listEntry, hadMarker bool) []linkJSON {
	links := []linkJSON{}
	if len(page) == 0 {
		return links
	}
	base := rq.baseURL + rq.path
	attrs := []string{}
	if limit > 0 {
		attrs = append(attrs, "limit="+strconv.Itoa(limit))
	} else {
		attrs = append(attrs, "limit=None")
	}
	for _, k := range []string{"sort", "sort_key"} {
		if v := rq.query.Get(k); v != "" {
			attrs = append(attrs, k+"="+v)
		}
	}
	if hadMarker {
		prev := append(append([]string{}, attrs...), "marker="+page[0].id, "page_reverse=True")
		links = append(links, linkJSON{Href: base + "?" + strings.Join(prev, "&"), Rel: "previous"})
	}
	if limit > 0 && len(page) >= limit {
		next := append(append([]string{}, attrs...), "marker="+page[len(page)-1].id)
		links = append(links, linkJSON{Href: base + "?" + strings.Join(next, "&"), Rel: "next"})
	}
	return links
}
