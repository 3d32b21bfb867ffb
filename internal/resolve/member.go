package resolve

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/membergate/membergate/pkg/memberwait"
)

// ParseMember reads a member selector: a UUID is an ID, something that
// parses as an IP address (optionally with a port, [IPv6]:PORT) is an
// address, and anything else is a name. Addresses are written canonically,
// for messages; Octavia stores an address in the spelling it was submitted
// in, so memberwait matches them as addresses (memberwait.SameAddress) and
// 2001:db8::1 finds a member created as 2001:db8:0::01.
func ParseMember(s string) (memberwait.Selector, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return memberwait.Selector{}, errors.New("empty selector")
	case LooksLikeID(s):
		return memberwait.Selector{ID: strings.ToLower(s)}, nil
	}
	bare := s
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		bare = s[1 : len(s)-1]
	}
	if a, err := netip.ParseAddr(bare); err == nil {
		return memberwait.Selector{Address: a.String()}, nil
	}
	if host, port, err := net.SplitHostPort(s); err == nil {
		a, aerr := netip.ParseAddr(host)
		switch {
		case aerr == nil:
			p, perr := strconv.Atoi(port)
			if perr != nil || p < 1 || p > 65535 {
				return memberwait.Selector{}, fmt.Errorf("port %q: want 1-65535", port)
			}
			return memberwait.Selector{Address: a.String(), ProtocolPort: p}, nil
		case strings.HasPrefix(s, "["):
			return memberwait.Selector{}, fmt.Errorf("%q is not an IPv6 address", host)
		}
	}
	if strings.HasPrefix(s, "[") {
		return memberwait.Selector{}, errors.New("want [IPv6]:PORT")
	}
	return memberwait.Selector{Name: s}, nil
}
