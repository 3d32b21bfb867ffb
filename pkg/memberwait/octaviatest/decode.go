package octaviatest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"sort"
	"strings"
)

// presence tells absent keys from explicit nulls: on PUT, Octavia resets a
// field sent as null and leaves an absent one alone.
type presence int

const (
	absent presence = iota
	null
	set
)

// fields is one JSON object of a request body, validated attribute by
// attribute the way wsme does; the first failure is kept in err.
type fields struct {
	arg string
	m   map[string]json.RawMessage
	err *apiError
}

const (
	noMin = math.MinInt
	noMax = math.MaxInt
)

// parseRoot decodes {"<root>": {...}}; arg is the controller argument name
// that wsme quotes in "Unknown attribute" errors.
func parseRoot(body []byte, root, arg string) (*fields, *apiError) {
	var outer map[string]json.RawMessage
	if err := json.Unmarshal(body, &outer); err != nil || outer == nil {
		return nil, errBadRequest("Request is not in valid JSON format")
	}
	raw, ok := outer[root]
	if !ok || isJSONNull(raw) {
		return nil, errInvalidInput(root, "None", "Mandatory field missing.")
	}
	return objectFields(raw, root, arg)
}

// parseObject decodes a body that is a bare JSON object.
func parseObject(body []byte, arg string) (*fields, *apiError) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return nil, errBadRequest("Request is not in valid JSON format")
	}
	return &fields{arg: arg, m: m}, nil
}

func objectFields(raw json.RawMessage, name, arg string) (*fields, *apiError) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, errInvalidInput(name, rawText(raw), "Wrong type. Expected '<class 'dict'>'")
	}
	return &fields{arg: arg, m: m}, nil
}

func isJSONNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

func rawText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(bytes.TrimSpace(raw))
}

func (f *fields) fail(e *apiError) {
	if f.err == nil {
		f.err = e
	}
}

// allow rejects attributes the wsme type does not declare. tenant_id is
// accepted wherever project_id is, as Octavia's BaseMeta does.
func (f *fields) allow(keys ...string) {
	known := map[string]bool{}
	for _, k := range keys {
		known[k] = true
		if k == "project_id" {
			known["tenant_id"] = true
		}
	}
	var unknown []string
	for k := range f.m {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		f.fail(errBadRequest(fmt.Sprintf("Unknown attribute for argument %s: %s", f.arg, strings.Join(unknown, ", "))))
	}
}

func (f *fields) lookup(k string) (json.RawMessage, presence) {
	raw, ok := f.m[k]
	if !ok {
		return nil, absent
	}
	if isJSONNull(raw) {
		return nil, null
	}
	return raw, set
}

// mandatory fails unless k carries a value.
func (f *fields) mandatory(k string) {
	if _, p := f.lookup(k); p != set {
		f.fail(errInvalidInput(k, "None", "Mandatory field missing."))
	}
}

func (f *fields) wrongType(k string, raw json.RawMessage, want string) {
	got := "str"
	switch t := bytes.TrimSpace(raw); {
	case len(t) > 0 && (t[0] == '{'):
		got = "dict"
	case len(t) > 0 && t[0] == '[':
		got = "list"
	case bytes.Equal(t, []byte("true")) || bytes.Equal(t, []byte("false")):
		got = "bool"
	case len(t) > 0 && t[0] != '"':
		got = "int"
	}
	f.fail(errInvalidInput(k, rawText(raw), fmt.Sprintf("Wrong type. Expected '<class '%s'>', got '<class '%s'>'", want, got)))
}

func (f *fields) str(k string, maxLen int) (string, presence) {
	raw, p := f.lookup(k)
	if p != set {
		return "", p
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		f.wrongType(k, raw, "str")
		return "", p
	}
	if maxLen > 0 && len([]rune(s)) > maxLen {
		f.fail(errInvalidInput(k, s, fmt.Sprintf("Value should have a maximum character requirement of %d", maxLen)))
	}
	return s, p
}

func (f *fields) integer(k string, min, max int) (int, presence) {
	raw, p := f.lookup(k)
	if p != set {
		return 0, p
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&n); err != nil {
		f.wrongType(k, raw, "int")
		return 0, p
	}
	v, err := n.Int64()
	if err != nil || v < math.MinInt32 || v > math.MaxInt32 {
		f.wrongType(k, raw, "int")
		return 0, p
	}
	i := int(v)
	if min != noMin && i < min {
		f.fail(errInvalidInput(k, n.String(), fmt.Sprintf("Value should be greater or equal to %d", min)))
	}
	if max != noMax && i > max {
		f.fail(errInvalidInput(k, n.String(), fmt.Sprintf("Value should be lower or equal to %d", max)))
	}
	return i, p
}

func (f *fields) number(k string) (float64, presence) {
	raw, p := f.lookup(k)
	if p != set {
		return 0, p
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		f.wrongType(k, raw, "float")
	}
	return v, p
}

func (f *fields) boolean(k string) (bool, presence) {
	raw, p := f.lookup(k)
	if p != set {
		return false, p
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		f.wrongType(k, raw, "bool")
	}
	return b, p
}

func (f *fields) enum(k string, values ...string) (string, presence) {
	s, p := f.str(k, 0)
	if p != set {
		return s, p
	}
	for _, v := range values {
		if s == v {
			return s, p
		}
	}
	f.fail(errInvalidInput(k, s, "Value should be one of: "+strings.Join(values, ", ")))
	return s, p
}

// uuid validates like wsme's UuidType and returns the canonical form.
func (f *fields) uuid(k string) (string, presence) {
	s, p := f.str(k, 0)
	if p != set {
		return s, p
	}
	c, ok := canonicalUUID(s)
	if !ok {
		f.fail(errInvalidInput(k, s, "Value should be UUID format"))
	}
	return c, p
}

func canonicalUUID(s string) (string, bool) {
	t := strings.ToLower(strings.TrimPrefix(strings.Trim(s, "{}"), "urn:uuid:"))
	t = strings.ReplaceAll(t, "-", "")
	if len(t) != 32 {
		return "", false
	}
	for _, c := range t {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", false
		}
	}
	return t[0:8] + "-" + t[8:12] + "-" + t[12:16] + "-" + t[16:20] + "-" + t[20:], true
}

func (f *fields) ip(k string) (string, presence) {
	s, p := f.str(k, 0)
	if p == set && net.ParseIP(s) == nil {
		f.fail(errInvalidInput(k, s, "Value should be IPv4 or IPv6 format"))
	}
	return s, p
}

func (f *fields) strList(k string, maxLen int) ([]string, presence) {
	raw, p := f.lookup(k)
	if p != set {
		return nil, p
	}
	var l []string
	if err := json.Unmarshal(raw, &l); err != nil {
		f.wrongType(k, raw, "list")
		return nil, p
	}
	for _, s := range l {
		if maxLen > 0 && len([]rune(s)) > maxLen {
			f.fail(errInvalidInput(k, s, fmt.Sprintf("Value should have a maximum character requirement of %d", maxLen)))
		}
	}
	if l == nil {
		l = []string{}
	}
	return l, p
}

func (f *fields) strMap(k string) (map[string]string, presence) {
	raw, p := f.lookup(k)
	if p != set {
		return nil, p
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		f.wrongType(k, raw, "dict")
	}
	return m, p
}

func (f *fields) object(k string) (*fields, presence) {
	raw, p := f.lookup(k)
	if p != set {
		return nil, p
	}
	sub, err := objectFields(raw, k, k)
	if err != nil {
		f.fail(err)
		return nil, p
	}
	return sub, p
}

// list decodes a JSON array attribute of objects (the batch member body).
func (f *fields) list(k string) ([]*fields, presence) {
	raw, p := f.lookup(k)
	if p != set {
		return nil, p
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		f.wrongType(k, raw, "list")
		return nil, p
	}
	out := make([]*fields, 0, len(items))
	for _, it := range items {
		sub, err := objectFields(it, k, f.arg)
		if err != nil {
			f.fail(err)
			return nil, p
		}
		out = append(out, sub)
	}
	return out, p
}

// Octavia 11's enumerations (octavia_lib constants).
var (
	listenerProtocols = []string{"HTTP", "HTTPS", "TCP", "TERMINATED_HTTPS", "UDP", "SCTP", "PROMETHEUS"}
	poolProtocols     = []string{"HTTP", "HTTPS", "PROXY", "PROXYV2", "TCP", "UDP", "SCTP"}
	lbAlgorithms      = []string{"LEAST_CONNECTIONS", "ROUND_ROBIN", "SOURCE_IP", "SOURCE_IP_PORT"}
	monitorTypes      = []string{"HTTP", "HTTPS", "PING", "TCP", "TLS-HELLO", "UDP-CONNECT", "SCTP"}
	httpMethods       = []string{"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"}
	spTypes           = []string{"SOURCE_IP", "HTTP_COOKIE", "APP_COOKIE"}
	clientAuthModes   = []string{"NONE", "OPTIONAL", "MANDATORY"}
	providers         = []string{"amphora", "amphorav2", "octavia", "ovn"}

	// validListenerPoolProtocols is VALID_LISTENER_POOL_PROTOCOL_MAP.
	validListenerPoolProtocols = map[string][]string{
		"TCP":              {"HTTP", "HTTPS", "PROXY", "PROXYV2", "TCP"},
		"HTTP":             {"HTTP", "PROXY", "PROXYV2"},
		"HTTPS":            {"HTTPS", "PROXY", "PROXYV2", "TCP"},
		"TERMINATED_HTTPS": {"HTTP", "PROXY", "PROXYV2"},
		"UDP":              {"UDP"},
		"SCTP":             {"SCTP"},
		"PROMETHEUS":       {},
	}

	// l4Protocol is L4_PROTOCOL_MAP: listeners on one port clash per L4 protocol.
	l4Protocol = map[string]string{
		"TCP": "TCP", "HTTP": "TCP", "HTTPS": "TCP", "TERMINATED_HTTPS": "TCP",
		"PROMETHEUS": "TCP", "UDP": "UDP", "SCTP": "SCTP",
	}
)

func validatePoolProtocol(listenerProto, poolProto string) *apiError {
	for _, p := range validListenerPoolProtocols[listenerProto] {
		if p == poolProto {
			return nil
		}
	}
	return errValidation(fmt.Sprintf("The pool protocol '%s' is invalid while the listener protocol is '%s'.", poolProto, listenerProto))
}
