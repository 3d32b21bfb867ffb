package openstackauth

import (
	"fmt"
	"io"
	"net/http"
)

// MaxBodyBytes caps what is read of one answer from OpenStack. The largest
// a caller reads is a load balancer's status tree, about 300 bytes per
// member: a thousand members fit in a tenth of it. A cloud (or a tenant's
// endpoint override) that answers more would otherwise have it all read
// into the manager's memory.
const MaxBodyBytes = 4 << 20

// BodyTooLargeError is the error of an answer past MaxBodyBytes.
type BodyTooLargeError struct {
	Method, URL string
}

func (e *BodyTooLargeError) Error() string {
	return fmt.Sprintf("%s %s: the answer is larger than %d MiB, more than any OpenStack API membergate reads sends; not read",
		e.Method, e.URL, MaxBodyBytes>>20)
}

// cappedBodies refuses answers past MaxBodyBytes: at once when the
// Content-Length says so, else when the body runs past it.
type cappedBodies struct{ next http.RoundTripper }

func (c cappedBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err != nil {
		return resp, err
	}
	tooLarge := &BodyTooLargeError{Method: r.Method, URL: r.URL.Redacted()}
	if resp.ContentLength > MaxBodyBytes {
		_ = resp.Body.Close()
		return nil, tooLarge
	}
	resp.Body = &cappedBody{rc: resp.Body, left: MaxBodyBytes, err: tooLarge}
	return resp, nil
}

type cappedBody struct {
	rc   io.ReadCloser
	left int64
	err  error
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// At the cap: one more byte means the body is too large.
		var one [1]byte
		if n, err := b.rc.Read(one[:]); n > 0 {
			return 0, b.err
		} else if err != nil {
			return 0, err
		}
		return 0, nil
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }
