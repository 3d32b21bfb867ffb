package memberwait

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gophercloud/gophercloud/v2"
)

// MemberError reports a member whose provisioning status is ERROR: Octavia
// gave up on it (on create, its revert path sets the member to ERROR and the
// load balancer back to ACTIVE). Terminal: the member must be deleted or
// re-created.
type MemberError struct {
	LoadBalancerID string
	PoolID         string
	Member         MemberStatus
	Since          time.Time
}

func (e *MemberError) Error() string {
	return fmt.Sprintf("member %s (%s) in pool %s of load balancer %s is %s: Octavia failed to provision it",
		e.Member.ID, memberLabel(e.Member), e.PoolID, e.LoadBalancerID, e.Member.Statuses())
}

// NotFoundError reports that the load balancer, the pool or the member does
// not exist, after the not-found grace period.
type NotFoundError struct {
	// Kind is "load balancer", "pool" or "member".
	Kind           string
	LoadBalancerID string
	Selector       Selector
	Since          time.Time
}

func (e *NotFoundError) Error() string {
	switch e.Kind {
	case "load balancer":
		return fmt.Sprintf("load balancer %s not found", e.LoadBalancerID)
	case "pool":
		return fmt.Sprintf("pool %s not found in load balancer %s", e.Selector.PoolID, e.LoadBalancerID)
	}
	return fmt.Sprintf("%s not found in load balancer %s", e.Selector, e.LoadBalancerID)
}

// TimeoutError reports that the target was not reached in time. It carries
// what was last seen and since when, so the message says where it stuck.
type TimeoutError struct {
	LoadBalancerID string
	Selector       Selector
	Target         Target
	Waited         time.Duration
	// Last is the last observed member, if it was ever seen; Since is when
	// its current statuses were first observed.
	Last  *MemberStatus
	Since time.Time
	// Reason is the last pending reason.
	Reason string
	// Cause is the context error, when the caller's context ended the wait.
	Cause error
}

func (e *TimeoutError) Error() string {
	s := fmt.Sprintf("timed out after %s waiting for %s to be %s", e.Waited.Round(time.Millisecond), e.Selector, e.Target)
	if e.Last != nil {
		s += fmt.Sprintf(": %s since %s", e.Last.Statuses(), e.Since.UTC().Format(time.RFC3339))
	}
	if e.Reason != "" {
		s += " (" + e.Reason + ")"
	}
	return s
}

// Unwrap returns the context error that ended the wait, if any, so that
// errors.Is(err, context.DeadlineExceeded) holds for context deadlines.
func (e *TimeoutError) Unwrap() error { return e.Cause }

// NoMonitorError reports a Serving wait on a member whose pool has no health
// monitor, under [NoMonitorFail]: it would never read ONLINE.
type NoMonitorError struct {
	LoadBalancerID string
	PoolID         string
	Member         MemberStatus
}

func (e *NoMonitorError) Error() string {
	return fmt.Sprintf("member %s (%s) in pool %s is %s: the pool has no health monitor, so it will never be ONLINE; add a monitor or accept NO_MONITOR as serving",
		e.Member.ID, memberLabel(e.Member), e.PoolID, e.Member.Statuses())
}

// LoadBalancerError reports a load balancer whose provisioning status is
// ERROR: it accepts no change until it is failed over.
type LoadBalancerError struct {
	LoadBalancerID     string
	ProvisioningStatus string
	OperatingStatus    string
}

func (e *LoadBalancerError) Error() string {
	return fmt.Sprintf("load balancer %s is %s/%s: it needs a failover", e.LoadBalancerID, e.ProvisioningStatus, e.OperatingStatus)
}

// AmbiguousError reports a selector that matches more than one member.
type AmbiguousError struct {
	Selector Selector
	Matches  []MemberStatus
}

func (e *AmbiguousError) Error() string {
	ids := make([]string, len(e.Matches))
	for i, m := range e.Matches {
		ids[i] = m.ID
	}
	return fmt.Sprintf("%s matches %d members %v: select by ID, or add the pool or the port", e.Selector, len(e.Matches), ids)
}

func memberLabel(m MemberStatus) string {
	label := m.Address
	if m.ProtocolPort != 0 {
		label += ":" + strconv.Itoa(m.ProtocolPort)
	}
	if m.Name != "" {
		label = strconv.Quote(m.Name) + " " + label
	}
	return label
}

// Retryable reports whether an error from Octavia is worth retrying: 409
// (immutable while PENDING_*), 429 and 5xx from Octavia or a proxy in front
// of it, transport failures, and answers that do not decode. Context errors
// and other 4xx are not.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	// gophercloud's ErrUnexpectedResponseCode, and any other error that
	// carries an HTTP code.
	var status interface{ GetStatusCode() int }
	if errors.As(err, &status) {
		c := status.GetStatusCode()
		return c == http.StatusConflict || c == http.StatusTooManyRequests || c >= 500
	}
	// Transport errors, truncated bodies and garbage all land here.
	return true
}

// MaxRetryAfter caps the delay a Retry-After header can impose.
const MaxRetryAfter = 5 * time.Minute

// ServerRetryAfter returns the delay an error's Retry-After header asks
// for (429 and 503 answers carry one), at most MaxRetryAfter; zero when it
// asks for none. Controllers that observe once and requeue honour it with
// this, as the blocking waits do.
func ServerRetryAfter(err error) time.Duration { return retryAfter(err) }

// retryAfter returns the delay an error's Retry-After header asks for.
func retryAfter(err error) time.Duration {
	var code gophercloud.ErrUnexpectedResponseCode
	if !errors.As(err, &code) || code.ResponseHeader == nil {
		return 0
	}
	v := code.ResponseHeader.Get("Retry-After")
	if secs, perr := strconv.Atoi(v); perr == nil && secs > 0 {
		// Honoured, within reason: a proxy's "Retry-After: 99999999" must
		// not park a wait for years (nor overflow a Duration).
		if secs > int(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	return 0
}
