package octaviatest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// apiError is an Octavia APIException or a wsme client error; both reach the
// client as a wsme fault body.
type apiError struct {
	code int
	msg  string
	// lookup marks an error raised while pecan routes the request, before
	// a controller (and wsme) runs: it is rendered as pecan renders it.
	lookup bool
}

func (e *apiError) Error() string { return e.msg }

// The messages are octavia/common/exceptions.py's, resource names are
// data_models' _name() ("Load Balancer", "Health Monitor", ...).

func errNotFound(resource, id string) *apiError {
	return &apiError{code: http.StatusNotFound, msg: fmt.Sprintf("%s %s not found.", resource, id)}
}

// errPoolLookup is what every /pools/{id}/members request answers for a
// missing pool: MemberController is reached through the pool controller's
// _lookup, whose exception pecan renders itself, as a 404 titled
// "Bad Request" (measured on Octavia 11).
func errPoolLookup(id string) *apiError {
	return &apiError{code: http.StatusNotFound, msg: fmt.Sprintf("Pool %s not found.", id), lookup: true}
}

func errImmutable(resource, id string) *apiError {
	return &apiError{code: http.StatusConflict, msg: fmt.Sprintf("%s %s is immutable and cannot be updated.", resource, id)}
}

// errLBPendingState is what PUT and DELETE of a load balancer itself return;
// they go through _test_lb_status, not ImmutableObject.
func errLBPendingState(state, id string) *apiError {
	return &apiError{code: http.StatusConflict, msg: fmt.Sprintf("Invalid state %s of loadbalancer resource %s", state, id)}
}

func errValidation(detail string) *apiError {
	return &apiError{code: http.StatusBadRequest, msg: "Validation failure: " + detail}
}

func errInvalidInput(attr, value, msg string) *apiError {
	return &apiError{code: http.StatusBadRequest, msg: fmt.Sprintf("Invalid input for field/attribute %s. Value: '%s'. %s", attr, value, msg)}
}

func errInvalidOption(value, option string) *apiError {
	return &apiError{code: http.StatusBadRequest, msg: fmt.Sprintf("%s is not a valid option for %s", value, option)}
}

func errConflict(msg string) *apiError { return &apiError{code: http.StatusConflict, msg: msg} }

func errBadRequest(msg string) *apiError { return &apiError{code: http.StatusBadRequest, msg: msg} }

// response is a fully rendered reply; handlers build it under the server lock
// and it is written after the lock is released.
type response struct {
	status int
	body   []byte
	header map[string]string
}

func jsonResponse(status int, v any) response {
	b, err := json.Marshal(v)
	if err != nil {
		return faultResponse(&apiError{code: http.StatusInternalServerError, msg: err.Error()})
	}
	return response{status: status, body: b}
}

func emptyResponse(status int) response { return response{status: status} }

// faultResponse renders an error the way wsme does for Octavia.
func faultResponse(e *apiError) response {
	if e.lookup {
		return pecanResponse(e.code, "Bad Request", e.msg)
	}
	code := "Client"
	if e.code >= 500 {
		code = "Server"
	}
	return jsonResponse(e.code, faultJSON{Faultcode: code, Faultstring: e.msg})
}

// pecanResponse renders the errors pecan raises itself (no route, wrong
// method, an exception in a _lookup) as it does for a JSON client:
// {"code": 404, "title": "Not Found", "description": ""}.
func pecanResponse(status int, title string, description any) response {
	return jsonResponse(status, pecanErrorJSON{Code: status, Title: title, Description: description})
}

type pecanErrorJSON struct {
	Code        int    `json:"code"`
	Title       string `json:"title"`
	Description any    `json:"description"`
}

func (r response) write(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header().Set(k, v)
	}
	if r.body != nil {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(r.body)))
	} else if r.status != http.StatusNoContent {
		w.Header().Set("Content-Length", "0")
	}
	w.WriteHeader(r.status)
	if r.body != nil {
		_, _ = w.Write(r.body)
	}
}
