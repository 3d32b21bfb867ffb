package statustext

import (
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/membergate/membergate/internal/openstackauth"
)

// TestRefusedLoginAgainKeepsWhatToFix: a request whose token expired and
// whose login again was refused fails with gophercloud's
// ErrUnableToReauthenticate, which leads with Octavia's 401 body; the
// status text is the login's own message, with what to fix first, within
// MaxLen.
func TestRefusedLoginAgainKeepsWhatToFix(t *testing.T) {
	ae := &openstackauth.AuthError{AuthURL: "http://keystone:5000/v3", StatusCode: 404,
		Msg: `logging in again after the token expired, cloud "c" in Secret ns/cloud-config: the application credential 0123 was refused`}
	err := &gophercloud.ErrUnableToReauthenticate{ErrOriginal: gophercloud.ErrUnexpectedResponseCode{Method: "GET", URL: "http://octavia/v2/lbaas/loadbalancers/x/status",
		Actual: 401, Body: []byte(`{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}`)}, ErrReauth: ae}
	got := Error(err)
	if !strings.HasPrefix(got, "logging in again after the token expired") || !strings.Contains(got, "application credential 0123 was refused") || len(got) > MaxLen {
		t.Errorf("status text %q: want the login's message", got)
	}
}
