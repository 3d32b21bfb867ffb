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
}

func (e *apiError) Error() string { return e.msg }

// The messages are octavia/common/exceptions.py's, resource names are
// data_models' _name() ("Load Balancer", "Health Monitor", ...).

func errNotFound(resource, id string) *apiError {
	return &apiError{http.StatusNotFound, fmt.Sprintf("%s %s not found.", resource, id)}
}

func errImmutable(resource, id string) *apiError {
	return &apiError{http.StatusConflict, fmt.Sprintf("%s %s is immutable and cannot be updated.", resource, id)}
}

// errLBPendingState is what PUT and DELETE of a load balancer itself return;
// they go through _test_lb_status, not ImmutableObject.
func errLBPendingState(state, id string) *apiError {
	return &apiError{http.StatusConflict, fmt.Sprintf("Invalid state %s of loadbalancer resource %s", state, id)}
}

func errValidation(detail string) *apiError {
	return &apiError{http.StatusBadRequest, "Validation failure: " + detail}
}

func errInvalidInput(attr, value, msg string) *apiError {
	return &apiError{http.StatusBadRequest,
		fmt.Sprintf("Invalid input for field/attribute %s. Value: '%s'. %s", attr, value, msg)}
}

func errInvalidOption(value, option string) *apiError {
	return &apiError{http.StatusBadRequest, fmt.Sprintf("%s is not a valid option for %s", value, option)}
}

func errConflict(msg string) *apiError { return &apiError{http.StatusConflict, msg} }

func errBadRequest(msg string) *apiError { return &apiError{http.StatusBadRequest, msg} }

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
		return faultResponse(&apiError{http.StatusInternalServerError, err.Error()})
	}
	return response{status: status, body: b}
}

func emptyResponse(status int) response { return response{status: status} }

// faultResponse renders an error the way wsme does for Octavia.
func faultResponse(e *apiError) response {
	code := "Client"
	if e.code >= 500 {
		code = "Server"
	}
	return jsonResponse(e.code, faultJSON{Faultcode: code, Faultstring: e.msg})
}

// webobResponse renders the errors pecan raises before a controller runs
// (no route, wrong method); webob formats them as JSON for JSON clients.
func webobResponse(status int, message string) response {
	title := http.StatusText(status)
	return jsonResponse(status, map[string]string{
		"code":    strconv.Itoa(status) + " " + title,
		"title":   title,
		"message": message + "\n\n\n",
	})
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
