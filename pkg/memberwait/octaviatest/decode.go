package octaviatest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"sort"
	"strconv"
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
//
// wsme reports two kinds of attribute errors. A value its type rejects
// (range, length, UUID, IP, enumeration, a string that is not one) is
// reported on the attribute: "Invalid input for field/attribute
// protocol_port. Value: '70000'. …". A value it cannot convert at all (int()
// or a boolean of garbage, a list or dict that is not one) escapes as a
// ValueError to the body argument: "Invalid input for field/attribute
// member_. Value: '<the whole body, as Python prints it>'. invalid literal
// for int() with base 10: 'x'".
type fields struct {
	arg  string // the controller's body argument, named by body-level errors
	path string // "member_.member": where unknown attributes are reported
	body []byte // the whole request body, quoted by body-level errors
	m    map[string]json.RawMessage
	err  *apiError
}

const (
	noMin = math.MinInt
	noMax = math.MaxInt
)

// parseRoot decodes {"<root>": {...}}; arg is the controller argument name
// that wsme quotes in its errors.
func parseRoot(body []byte, root, arg string) (*fields, *apiError) {
	outer, apiErr := parseObject(body, arg)
	if apiErr != nil {
		return nil, apiErr
	}
	outer.allow(root)
	if outer.err != nil {
		return nil, outer.err
	}
	raw, ok := outer.m[root]
	if !ok || isJSONNull(raw) {
		return nil, errInvalidInput(root, "None", "Mandatory field missing.")
	}
	return outer.objectFields(raw, root)
}

// parseObject decodes a body that is a bare JSON object (the root type).
func parseObject(body []byte, arg string) (*fields, *apiError) {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, errBadRequest("Request is not in valid JSON format")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return nil, errNoKeys(body)
	}
	return &fields{arg: arg, path: arg, body: body, m: m}, nil
}

// errNoKeys is the 500 wsme answers when an object is expected and
// something else came: it calls .keys() on it.
func errNoKeys(raw []byte) *apiError {
	return &apiError{code: http.StatusInternalServerError, msg: fmt.Sprintf("'%s' object has no attribute 'keys'", pyTypeName(raw))}
}

// objectFields decodes attribute k of f, a nested object.
func (f *fields) objectFields(raw json.RawMessage, k string) (*fields, *apiError) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, errNoKeys(raw)
	}
	return &fields{arg: f.arg, path: f.path + "." + k, body: f.body, m: m}, nil
}

func isJSONNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

func (f *fields) fail(e *apiError) {
	if f.err == nil {
		f.err = e
	}
}

// failBody reports a conversion error on the whole body argument.
func (f *fields) failBody(msg string) {
	f.fail(errInvalidInput(f.arg, pyRepr(f.body), msg))
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
	switch {
	case len(unknown) == 1:
		f.fail(errBadRequest(fmt.Sprintf("Unknown attribute for argument %s: %s", f.path, unknown[0])))
	case len(unknown) > 1:
		// wsme lists them in Python set order, which varies between runs.
		sort.Strings(unknown)
		f.fail(errBadRequest(fmt.Sprintf("Unknown attributes for argument %s: %s", f.path, strings.Join(unknown, ", "))))
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

// str reads a wtypes.StringType attribute.
func (f *fields) str(k string, maxLen int) (string, presence) {
	raw, p := f.lookup(k)
	if p != set {
		return "", p
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		f.fail(errInvalidInput(k, pyStr(raw), "Value should be string"))
		return "", p
	}
	if maxLen > 0 && len([]rune(s)) > maxLen {
		f.fail(errInvalidInput(k, s, fmt.Sprintf("Value should have a maximum character requirement of %d", maxLen)))
	}
	return s, p
}

// integer reads a wtypes.IntegerType attribute: wsme converts with Python's
// int(), which takes numeric strings and truncates floats.
func (f *fields) integer(k string, lo, hi int) (int, presence) {
	raw, p := f.lookup(k)
	if p != set {
		return 0, p
	}
	var v int64
	var n json.Number
	var s string
	var b bool
	switch {
	case json.Unmarshal(raw, &n) == nil:
		if i, err := n.Int64(); err == nil {
			v = i
		} else if fl, err := n.Float64(); err == nil {
			v = int64(fl)
		}
	case json.Unmarshal(raw, &s) == nil:
		i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			f.failBody("invalid literal for int() with base 10: " + pyQuote(s))
			return 0, p
		}
		v = i
	case json.Unmarshal(raw, &b) == nil:
		if b {
			v = 1
		}
	default:
		f.fail(&apiError{code: http.StatusInternalServerError, msg: fmt.Sprintf(
			"int() argument must be a string, a bytes-like object or a real number, not '%s'", pyTypeName(raw))})
		return 0, p
	}
	text := strconv.FormatInt(v, 10)
	// Python's ints are unbounded; clamping keeps the range checks right.
	if v > math.MaxInt32 {
		v = math.MaxInt32 + 1
	} else if v < math.MinInt32 {
		v = math.MinInt32 - 1
	}
	i := int(v)
	if lo != noMin && i < lo {
		f.fail(errInvalidInput(k, text, fmt.Sprintf("Value should be greater or equal to %d", lo)))
	}
	if hi != noMax && i > hi {
		f.fail(errInvalidInput(k, text, fmt.Sprintf("Value should be lower or equal to %d", hi)))
	}
	return i, p
}

// number reads a float attribute (http_version): Python's float().
func (f *fields) number(k string) (float64, presence) {
	raw, p := f.lookup(k)
	if p != set {
		return 0, p
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err == nil {
		return v, p
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if fl, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
			return fl, p
		}
		f.failBody("could not convert string to float: " + pyQuote(s))
		return 0, p
	}
	f.fail(&apiError{code: http.StatusInternalServerError, msg: fmt.Sprintf(
		"float() argument must be a string or a real number, not '%s'", pyTypeName(raw))})
	return 0, p
}

// wsme's unambiguous boolean strings.
var (
	enumTrue  = []string{"true", "t", "yes", "y", "on", "1"}
	enumFalse = []string{"false", "f", "no", "n", "off", "0"}
)

// boolean reads a bool attribute: JSON booleans and integers, and wsme's
// unambiguous strings.
func (f *fields) boolean(k string) (bool, presence) {
	raw, p := f.lookup(k)
	if p != set {
		return false, p
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return b, p
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		if i, err := n.Int64(); err == nil {
			return i != 0, p
		}
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch {
		case contains(enumTrue, s):
			return true, p
		case contains(enumFalse, s):
			return false, p
		}
	}
	f.failBody("Value not an unambiguous boolean: " + pyStr(raw))
	return false, p
}

func (f *fields) enum(k string, values ...string) (string, presence) {
	raw, p := f.lookup(k)
	if p != set {
		return "", p
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		for _, v := range values {
			if s == v {
				return s, p
			}
		}
	}
	// wsme lists the values in Python set order, which varies between runs.
	f.fail(errInvalidInput(k, pyStr(raw), "Value should be one of: "+strings.Join(values, ", ")))
	return s, p
}

// uuid validates like wsme's UuidType and returns the canonical form.
func (f *fields) uuid(k string) (string, presence) {
	raw, p := f.lookup(k)
	if p != set {
		return "", p
	}
	var s string
	c, ok := "", false
	if json.Unmarshal(raw, &s) == nil {
		c, ok = canonicalUUID(s)
	}
	if !ok {
		f.fail(errInvalidInput(k, pyStr(raw), "Value should be UUID format"))
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
	raw, p := f.lookup(k)
	if p != set {
		return "", p
	}
	var s string
	if json.Unmarshal(raw, &s) != nil || net.ParseIP(s) == nil {
		f.fail(errInvalidInput(k, pyStr(raw), "Value should be IPv4 or IPv6 format"))
	}
	return s, p
}

// strList reads a list of strings: a value that is no list escapes to the
// body argument; an item that is no string (or too long) is reported on the
// attribute, quoting the whole list.
func (f *fields) strList(k string, maxLen int) ([]string, presence) {
	raw, p := f.lookup(k)
	if p != set {
		return nil, p
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		f.failBody("Value not a valid list: " + pyStr(raw))
		return nil, p
	}
	l := make([]string, 0, len(items))
	for _, it := range items {
		var s string
		if err := json.Unmarshal(it, &s); err != nil {
			f.fail(errInvalidInput(k, pyStr(raw), "Value should be string"))
			return nil, p
		}
		if maxLen > 0 && len([]rune(s)) > maxLen {
			f.fail(errInvalidInput(k, pyStr(raw), fmt.Sprintf("Value should have a maximum character requirement of %d", maxLen)))
		}
		l = append(l, s)
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
		var anyMap map[string]any
		if json.Unmarshal(raw, &anyMap) != nil {
			f.failBody("Value not a valid dict: " + pyStr(raw))
		} else {
			f.fail(errInvalidInput(k, pyStr(raw), "Value should be string"))
		}
	}
	return m, p
}

func (f *fields) object(k string) (*fields, presence) {
	raw, p := f.lookup(k)
	if p != set {
		return nil, p
	}
	sub, err := f.objectFields(raw, k)
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
		f.failBody("Value not a valid list: " + pyStr(raw))
		return nil, p
	}
	out := make([]*fields, 0, len(items))
	for _, it := range items {
		// wsme names unknown attributes of list items after the list.
		sub, err := f.objectFields(it, k)
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
