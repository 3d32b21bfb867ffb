// Package statustext turns errors from OpenStack into the text that goes
// into a MemberGate's status, its conditions and events: short, with no
// raw response body and no credentials in a URL.
//
// An error from gophercloud carries the whole body OpenStack answered (an
// HTML page from a proxy, megabytes from a misbehaving API) and the URL as
// configured, userinfo included; both are tenant-controlled and would
// otherwise land, whole, in objects every reader of the cluster sees.
package statustext

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/membergate/membergate/internal/openstackauth"
)

// MaxLen is the most bytes an error's text takes.
const MaxLen = 256

// Error returns err as status text: for an answer OpenStack gave, the
// request, the code and the API's own message (its "faultstring" or
// "message"), never the raw body; for a transport failure, the URL with
// any password redacted; always at most MaxLen bytes. nil gives "".
func Error(err error) string {
	if err == nil {
		return ""
	}
	var w *wrapped
	if errors.As(err, &w) && w == err {
		return w.text
	}
	return Trim(rewrite(err))
}

// Wrap returns err with Error's text as its message, for errors handed to
// code that formats them into status (pkg/gate's messages); errors.Is and
// errors.As still see the original. nil stays nil.
func Wrap(err error) error {
	if err == nil {
		return nil
	}
	return &wrapped{err: err, text: Error(err)}
}

type wrapped struct {
	err  error
	text string
}

func (w *wrapped) Error() string { return w.text }
func (w *wrapped) Unwrap() error { return w.err }

func rewrite(err error) string {
	// A refused login (also one after a token expired, which gophercloud
	// reports behind the service's 401 body) has openstackauth's own
	// message: what to fix first, no body, no secret.
	if ae, ok := openstackauth.AsAuthError(err); ok {
		return ae.Msg
	}
	var code gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &code) {
		msg := apiMessage(code.Body)
		if msg == "" && len(code.Body) > 0 {
			msg = fmt.Sprintf("a body of %d bytes, not shown", len(code.Body))
		}
		s := fmt.Sprintf("%s %s: %d", code.Method, redactedPath(code.URL), code.Actual)
		if msg != "" {
			s += ": " + msg
		}
		return prefix(err, code.Error()) + s
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return prefix(err, ue.Error()) + fmt.Sprintf("%s %s: %v", ue.Op, redactedURL(ue.URL), ue.Err)
	}
	return err.Error()
}

// prefix is what err says before the wrapped error's own text: the
// context callers add ("reading subnet x: ").
func prefix(err error, inner string) string {
	p, _, ok := strings.Cut(err.Error(), inner)
	if !ok {
		return ""
	}
	return p
}

// apiMessage finds the human message in an OpenStack error body: Octavia's
// {"faultstring"}, Neutron's {"NeutronError": {"message"}}, Keystone's
// {"error": {"message"}}, or a bare {"message"}.
func apiMessage(body []byte) string {
	var b struct {
		Faultstring string `json:"faultstring"`
		Message     string `json:"message"`
		Neutron     struct {
			Message string `json:"message"`
		} `json:"NeutronError"`
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &b) != nil {
		return ""
	}
	for _, m := range []string{b.Faultstring, b.Neutron.Message, b.Error.Message, b.Message} {
		if m = printable(m); m != "" {
			return m
		}
	}
	return ""
}

// printable drops control characters and collapses whitespace.
func printable(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an unparsable URL)"
	}
	return u.Redacted()
}

// redactedPath is a URL's scheme, host and path: userinfo and the query go
// (a query can carry a token, and says nothing a reader needs).
func redactedPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(an unparsable URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

// Trim cuts s to MaxLen bytes on a character boundary, marking the cut.
func Trim(s string) string {
	s = printable(s)
	if len(s) <= MaxLen {
		return s
	}
	const more = "…"
	cut := MaxLen - len(more)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + more
}
