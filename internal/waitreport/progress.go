package waitreport

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/membergate/membergate/pkg/memberwait"
	"k8s.io/utils/clock"
)

// Progress prints one line per change of a member's statuses, outcome or
// reason, with the time since the wait started. memberwait reports every
// evaluation (several a minute per member); a line each would bury the
// changes an operator is watching for.
type Progress struct {
	clock clock.PassiveClock
	start time.Time
	// emit shows one line, elapsed after start.
	emit func(elapsed time.Duration, line string)
	last map[memberwait.Selector]progressKey
	seen map[memberwait.Selector]memberwait.MemberStatus
}

type progressKey struct {
	statuses string
	outcome  memberwait.Outcome
	reason   string
}

// NewProgress returns a Progress that hands each line to emit with the time
// clk says has passed since start. [Lines] prints them.
func NewProgress(clk clock.PassiveClock, start time.Time, emit func(elapsed time.Duration, line string)) *Progress {
	return &Progress{clock: clk, start: start, emit: emit,
		last: map[memberwait.Selector]progressKey{}, seen: map[memberwait.Selector]memberwait.MemberStatus{}}
}

// Lines returns an emit function that prints "[elapsed] line" to w.
func Lines(w io.Writer) func(time.Duration, string) {
	return func(elapsed time.Duration, line string) {
		fmt.Fprintf(w, "[%6.1fs] %s\n", elapsed.Seconds(), line)
	}
}

// digits makes "for 3s of the 45s settle window" and "for 4s of …" the same
// reason, so that the settle window's countdown is not a change.
var digits = regexp.MustCompile(`[0-9.]+`)

// Update is a memberwait.Options.OnUpdate.
func (p *Progress) Update(u memberwait.Update) {
	v := u.Verdict
	statuses := "-"
	if v.Member != nil {
		p.seen[u.Selector] = *v.Member
		statuses = v.Member.Statuses()
	}
	key := progressKey{statuses: statuses, outcome: v.Outcome, reason: digits.ReplaceAllString(v.Reason, "#")}
	if p.last[u.Selector] == key {
		return
	}
	p.last[u.Selector] = key
	p.emit(p.clock.Since(p.start), p.label(u.Selector)+"  "+statuses+detail(v, statuses))
}

// label names a member as last seen, or by its selector before it is seen.
func (p *Progress) label(sel memberwait.Selector) string {
	if ms, ok := p.seen[sel]; ok {
		return memberLabel(ms)
	}
	return strings.TrimPrefix(sel.String(), "member ")
}

// memberLabel is "shortID name address:port".
func memberLabel(ms memberwait.MemberStatus) string {
	parts := []string{ShortID(ms.ID)}
	if ms.Name != "" {
		parts = append(parts, ms.Name)
	}
	if a := hostPort(ms.Address, ms.ProtocolPort); a != "" {
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// detail is what a verdict adds to the statuses, without repeating them.
func detail(v memberwait.Verdict, statuses string) string {
	r := strings.TrimLeft(strings.TrimPrefix(v.Reason, "member "+statuses), ", ")
	switch v.Outcome {
	case memberwait.Done:
		return "  reached: " + r
	case memberwait.Failed:
		// The error follows in full at the end; here it would repeat the
		// member's label.
		return "  FAILED"
	}
	if r == "" {
		return ""
	}
	return "  " + r
}

// ShortID is the first 8 characters of an OpenStack ID, enough to tell
// members apart in a table.
func ShortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func hostPort(addr string, port int) string {
	if addr == "" {
		return ""
	}
	if strings.Contains(addr, ":") {
		addr = "[" + addr + "]"
	}
	if port == 0 {
		return addr
	}
	return addr + ":" + strconv.Itoa(port)
}
