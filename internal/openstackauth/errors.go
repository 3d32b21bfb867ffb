package openstackauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
)

// ConfigError reports settings that cannot work as written: a clouds.yaml
// that does not parse or does not hold the cloud asked for, no credentials
// at all, a missing endpoint. Retrying cannot fix it; the operator must
// change the configuration. Commands treat it as a usage error.
type ConfigError struct {
	// File is the clouds.yaml involved, if any.
	File string
	// Cloud is the cloud name involved, if any.
	Cloud string
	// Msg says what is wrong, in full.
	Msg string
	// Err is the underlying error, if any.
	Err error
}

func (e *ConfigError) Error() string { return e.Msg }

// Unwrap returns the underlying error.
func (e *ConfigError) Unwrap() error { return e.Err }

// AuthError reports that the identity service refused the credentials or
// could not be reached. It carries the HTTP status and Keystone's message,
// never the credentials.
type AuthError struct {
	// AuthURL is the identity endpoint that was asked.
	AuthURL string
	// StatusCode is Keystone's HTTP status; 0 when no answer came.
	StatusCode int
	// Msg says what happened, in full.
	Msg string
	// Err is the underlying error.
	Err error
}

func (e *AuthError) Error() string { return e.Msg }

// Unwrap returns the underlying error.
func (e *AuthError) Unwrap() error { return e.Err }

// authError turns what openstack.Authenticate returned into an AuthError.
// gophercloud's own messages for HTTP errors include the response body,
// which is safe (Keystone does not echo credentials) but long; ours keep the
// status and Keystone's one-line message, and say which cloud it was.
func authError(err error, authURL, where string) error {
	var code gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &code) {
		msg := fmt.Sprintf("authentication at %s failed (%s): HTTP %d %s", authURL, where, code.Actual, http.StatusText(code.Actual))
		if m := keystoneMessage(code.Body); m != "" {
			msg += ": " + strings.TrimRight(m, ".")
		}
		switch code.Actual {
		case http.StatusUnauthorized:
			msg += "; check the user name, password or application credential, and their domain"
		case http.StatusNotFound:
			msg += "; check that auth_url points at Keystone (usually ending in /v3)"
		}
		return &AuthError{AuthURL: authURL, StatusCode: code.Actual, Msg: msg, Err: err}
	}
	return &AuthError{AuthURL: authURL, Msg: fmt.Sprintf("cannot authenticate at %s (%s): %v", authURL, where, err), Err: err}
}

// keystoneMessage extracts {"error": {"message": ...}} from a Keystone error
// body, cut to one line.
func keystoneMessage(body []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	m := strings.TrimSpace(e.Error.Message)
	if i := strings.IndexByte(m, '\n'); i >= 0 {
		m = m[:i]
	}
	if len(m) > 200 {
		m = m[:200] + "…"
	}
	return m
}
