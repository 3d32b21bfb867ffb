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
// status and Keystone's one-line message, say which cloud it was, and for a
// refusal name the user or application credential and the project to
// check (names and IDs only: never a password, secret or token).
func authError(err error, ao gophercloud.AuthOptions, where string) error {
	authURL := ao.IdentityEndpoint
	var code gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &code) {
		answer := fmt.Sprintf("HTTP %d %s", code.Actual, http.StatusText(code.Actual))
		if m := keystoneMessage(code.Body); m != "" {
			answer += ": " + strings.TrimRight(m, ".")
		}
		msg := fmt.Sprintf("authentication at %s failed (%s): %s", authURL, where, answer)
		// Keystone itself answering 404 means something the credentials
		// name is gone (it says "Could not find Application Credential"
		// for a deleted one), not a wrong URL.
		if code.Actual == http.StatusUnauthorized || (code.Actual == http.StatusNotFound && keystoneMessage(code.Body) != "") {
			// What to fix first: status text keeps a message's start.
			msg = fmt.Sprintf("%s: %s; Keystone at %s answered %s", where, refusedHint(ao), authURL, answer)
		} else if code.Actual == http.StatusNotFound {
			msg += "; check that auth_url points at Keystone (usually ending in /v3)"
		}
		return &AuthError{AuthURL: authURL, StatusCode: code.Actual, Msg: msg, Err: err}
	}
	return &AuthError{AuthURL: authURL, Msg: fmt.Sprintf("cannot authenticate at %s (%s): %v", authURL, where, err), Err: err}
}

// refusedHint says what to check when Keystone answers 401: Keystone does
// not say whether the password, the user, the domain or the project was
// wrong, so the hint names each as configured.
func refusedHint(ao gophercloud.AuthOptions) string {
	if ac := firstSet(ao.ApplicationCredentialID, ao.ApplicationCredentialName); ac != "" {
		return fmt.Sprintf("the application credential %s was refused (deleted or expired, or a wrong secret): "+
			"create a new one and put its ID and secret in the clouds.yaml", ac)
	}
	user := firstSet(ao.Username, ao.UserID)
	if d := firstSet(ao.DomainName, ao.DomainID); d != "" && ao.UserID == "" {
		user += " in domain " + d
	}
	project := "its default project"
	if sc := ao.Scope; sc != nil && firstSet(sc.ProjectID, sc.ProjectName) != "" {
		project = "project " + firstSet(sc.ProjectID, sc.ProjectName)
		if sc.ProjectID == "" && firstSet(sc.DomainName, sc.DomainID) != "" {
			project += " in domain " + firstSet(sc.DomainName, sc.DomainID)
		}
	} else if p := firstSet(ao.TenantID, ao.TenantName); p != "" {
		project = "project " + p
	}
	if user == "" {
		return "check the credentials, their domain, and the project"
	}
	return fmt.Sprintf("check the password of user %s, and that the user has a role on %s", user, project)
}

// AsAuthError finds the AuthError in err's chain, including the one a
// request returns when logging in again after its token expired failed
// (gophercloud's ErrUnableToReauthenticate does not unwrap to it).
func AsAuthError(err error) (*AuthError, bool) {
	var ae *AuthError
	if errors.As(err, &ae) {
		return ae, true
	}
	var re *gophercloud.ErrUnableToReauthenticate
	if errors.As(err, &re) && errors.As(re.ErrReauth, &ae) {
		return ae, true
	}
	return nil, false
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
