package plots

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"testing"
	"time"

	. "github.com/onsi/gomega"
)

// texts parses an SVG as XML and returns its text elements' contents.
func texts(g Gomega, svg []byte) []string {
	dec := xml.NewDecoder(bytes.NewReader(svg))
	var out []string
	var root string
	inText := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		g.Expect(err).NotTo(HaveOccurred(), "the SVG is not well-formed XML")
		switch t := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = t.Name.Local
			}
			inText = t.Name.Local == "text"
		case xml.CharData:
			if inText {
				out = append(out, string(t))
			}
		case xml.EndElement:
			inText = false
		}
	}
	g.Expect(root).To(Equal("svg"))
	return out
}

func TestWriteRolloutUngated(t *testing.T) {
	g := NewWithT(t)
	var buf bytes.Buffer
	s := func(at float64, serving, held int) RolloutSample {
		return RolloutSample{At: time.Duration(at * float64(time.Second)), Serving: serving, Held: held}
	}
	g.Expect(WriteRollout(&buf, Rollout{Title: "synthetic", Required: 3,
		Samples: []RolloutSample{s(0, 3, 0), s(1, 2, 0), s(2, 1, 0), s(3, 0, 0), s(9, 3, 0)}})).To(Succeed())
	got := texts(g, buf.Bytes())
	g.Expect(got).To(ContainElements("synthetic", LabelServing, LabelRequired, LabelHeld, LabelOffline+" at 3.0 s"))
	g.Expect(got).NotTo(ContainElement(HavePrefix(LabelBelow)))
}

func TestWriteRolloutGated(t *testing.T) {
	g := NewWithT(t)
	var buf bytes.Buffer
	g.Expect(WriteRollout(&buf, Rollout{Title: "gated", Required: 3, Samples: []RolloutSample{
		{At: 0, Serving: 3}, {At: time.Second, Serving: 3, Held: 1}, {At: 2 * time.Second, Serving: 4}}})).To(Succeed())
	got := texts(g, buf.Bytes())
	g.Expect(got).To(ContainElements(LabelServing, LabelRequired, LabelHeld))
	g.Expect(got).NotTo(ContainElement(HavePrefix(LabelOffline)))
	g.Expect(got).NotTo(ContainElement(HavePrefix(LabelBelow)))

	// Short of the minimum without going offline.
	buf.Reset()
	g.Expect(WriteRollout(&buf, Rollout{Required: 3, Samples: []RolloutSample{{At: 0, Serving: 3}, {At: time.Second, Serving: 2}}})).To(Succeed())
	g.Expect(texts(g, buf.Bytes())).To(ContainElement(LabelBelow + " at 1.0 s"))

	g.Expect(WriteRollout(&buf, Rollout{})).To(MatchError(ContainSubstring("without samples")))
}

func TestWriteStrategies(t *testing.T) {
	g := NewWithT(t)
	var buf bytes.Buffer
	g.Expect(WriteStrategies(&buf, "S1", Member{ActiveAt: 45 * time.Second, ServesAt: 55 * time.Second}, []Strategy{
		{Name: "early one", Decisions: []Decision{{At: time.Second, OK: true}}},
		{Name: "careful one", Decisions: []Decision{{At: 100 * time.Second, OK: true}, {At: 300 * time.Second}}},
	})).To(Succeed())
	got := texts(g, buf.Bytes())
	g.Expect(got).To(ContainElements("S1", "early one", "careful one", LabelPending, LabelActive, LabelServes,
		LabelEarly, LabelOnTime, LabelFailure))

	g.Expect(WriteStrategies(&buf, "none", Member{}, nil)).To(MatchError(ContainSubstring("no strategies")))
}
