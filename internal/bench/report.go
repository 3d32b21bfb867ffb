package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Results holds every run: per scenario ID, per strategy key, in seed order.
type Results map[string]map[string][]*Run

// Report is what `make bench` prints and writes: one table per scenario,
// the claims checked (its Targets section), and the headline comparison.
type Report struct {
	Strategies []Strategy
	Scenarios  []Scenario
	Results    Results
	Sections   []Section
	Claims     []Claim
	Headline   Table
	// GoBench is the scale and per-waiter cost section, from the output of
	// `go test -bench` (see AddGoBench); empty when not given.
	GoBench *GoBench
	// Elapsed is the real time the runs took; it is printed, never written
	// to the document, which must not change from one run to the next.
	Elapsed time.Duration
}

// Section is one scenario's story and table.
type Section struct {
	ID, Title, Story string
	Table            Table
	Notes            []string
}

// Claim is one claim checked against the runs.
type Claim struct {
	Name   string
	Pass   bool
	Detail string
}

// Build runs every strategy through every scenario and assembles the
// report. progress, when not nil, gets a line per scenario.
func Build(strategies []Strategy, scenarios []Scenario, progress io.Writer) (*Report, error) {
	began := time.Now()
	r := &Report{Strategies: strategies, Scenarios: scenarios, Results: Results{}}
	for _, sc := range scenarios {
		t := time.Now()
		runs, err := RunAll(sc, strategies)
		if err != nil {
			return nil, err
		}
		r.Results[sc.ID] = runs
		if progress != nil {
			fmt.Fprintf(progress, "%s %s: %d runs × %d strategies in %s\n", sc.ID, sc.Title, sc.Runs, len(strategies), time.Since(t).Round(time.Millisecond))
		}
	}
	r.Elapsed = time.Since(began)
	r.assemble()
	return r, nil
}

// assemble renders the tables and checks the claims against r.Results.
func (r *Report) assemble() {
	for _, sc := range r.Scenarios {
		s := Section{ID: sc.ID, Title: sc.Title, Story: sc.Story}
		runs := r.Results[sc.ID]
		switch sc.ID {
		case "S2", "S2b":
			s.Table, s.Notes = fanInTable(r.Strategies, runs)
		case "S3":
			s.Table, s.Notes = failureTable(r.Strategies, runs, s3ErrorAt)
		case "S5":
			s.Table, s.Notes = deleteTable(r.Strategies, runs)
		case "S7":
			s.Table, s.Notes = neverTable(r.Strategies, runs)
		default:
			s.Table, s.Notes = createTable(r.Strategies, runs)
		}
		if sc.ID == "S4" {
			s.Notes = append(s.Notes, noisyNote)
		}
		r.Sections = append(r.Sections, s)
	}
	r.Sections = append(r.Sections, settleSection())
	r.Claims = checkClaims(r.Results)
	r.Headline = headline(r.Strategies, r.Results)
	for _, t := range r.Claims {
		if strings.HasPrefix(t.Name, costFlatName) && !t.Pass {
			for i := range r.Sections {
				if r.Sections[i].ID == "S2b" {
					r.Sections[i].Notes = append(r.Sections[i].Notes, unionNote)
				}
			}
		}
	}
}

// noisyNote explains memberwait's tail in S4.
const noisyNote = "memberwait's p99 is a settle window run twice: a settle window only runs over statuses observed fresh " +
	"throughout, and in the runs of the tail a streak of failed polls leaves more than 15 s (one and a half times the " +
	"backoff's cap) between two answers while the member is settling, so the window starts again at the next answer."

// unionNote explains a failed S2b cost target.
const unionNote = "The shared Poller sends one request per poll for all the waiters of a load balancer, yet here its " +
	"polls grow with the number of waiters: it polls on the union of the waiters' own schedules, which drift apart with " +
	"per-waiter jitter, instead of on the most impatient one's."

// Passed reports whether every claim held.
func (r *Report) Passed() bool {
	for _, t := range r.Claims {
		if !t.Pass {
			return false
		}
	}
	return true
}
