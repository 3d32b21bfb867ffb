// Package plots draws the project's timeline pictures as SVG with gonum's
// plot: a control-plane rollout (serving members, the required minimum and
// the Machines the gate holds, over time) and the bench's S1 scenario (each
// waiting strategy's decisions against the member's true timeline). It
// lives in the test module so that gonum never reaches the product's go.mod.
package plots

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The series' names, as the legends show them (and the tests look for).
const (
	LabelServing  = "serving members"
	LabelRequired = "required minimum"
	LabelHeld     = "Machines held by the gate"
	LabelOffline  = "API offline (no serving member)"
	LabelBelow    = "fewer serving members than required (outage risk)"
	LabelPending  = "member PENDING_CREATE"
	LabelActive   = "member ACTIVE, not ONLINE yet"
	LabelServes   = "member serves"
	LabelEarly    = "success before the member serves"
	LabelOnTime   = "success once the member serves"
	LabelFailure  = "error or budget ran out"
)

var (
	red    = color.RGBA{R: 0xc6, G: 0x28, B: 0x28, A: 0xff}
	green  = color.RGBA{R: 0x2e, G: 0x7d, B: 0x32, A: 0xff}
	blue   = color.RGBA{R: 0x15, G: 0x65, B: 0xc0, A: 0xff}
	grey   = color.RGBA{R: 0x61, G: 0x61, B: 0x61, A: 0xff}
	orange = color.RGBA{R: 0xef, G: 0x6c, B: 0x00, A: 0xff}
	dashed = []vg.Length{vg.Points(6), vg.Points(4)}
)

// RolloutSample is one look at a rollout.
type RolloutSample struct {
	// At is the time since the rollout began.
	At time.Duration
	// Serving counts the serving members of live control-plane Machines;
	// Held the deleting Machines the gate's hook still holds.
	Serving, Held int
}

// Rollout is a rollout's timeline, as the demo records it.
type Rollout struct {
	Title string
	// Required is how many serving members the rollout must keep.
	Required int
	Samples  []RolloutSample
}

// firstBelow is the first sample with fewer serving members than want, and
// whether there is one.
func (r Rollout) firstBelow(want int) (time.Duration, bool) {
	i := slices.IndexFunc(r.Samples, func(s RolloutSample) bool { return s.Serving < want })
	if i < 0 {
		return 0, false
	}
	return r.Samples[i].At, true
}

// WriteRollout draws the rollout as an SVG: serving members as a step line,
// the required minimum dashed, the held Machines as a shaded step line, and
// a vertical mark where the members first fell short — where the API went
// offline when no member served, else where it fell below the minimum.
func WriteRollout(w io.Writer, r Rollout) error {
	if len(r.Samples) == 0 {
		return errors.New("plots: a rollout without samples")
	}
	p := plot.New()
	p.Title.Text = r.Title
	p.X.Label.Text = "seconds since the rollout began"
	p.Y.Label.Text = "count"
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())

	serving, held := make(plotter.XYs, len(r.Samples)), make(plotter.XYs, len(r.Samples))
	most := r.Required
	for i, s := range r.Samples {
		serving[i] = plotter.XY{X: s.At.Seconds(), Y: float64(s.Serving)}
		held[i] = plotter.XY{X: s.At.Seconds(), Y: float64(s.Held)}
		most = max(most, s.Serving, s.Held)
	}
	end := r.Samples[len(r.Samples)-1].At.Seconds()

	heldLine, err := plotter.NewLine(held)
	if err != nil {
		return err
	}
	heldLine.StepStyle = plotter.PostStep
	heldLine.Color = orange
	heldLine.FillColor = color.NRGBA{R: 0xef, G: 0x6c, B: 0x00, A: 0x50}
	servingLine, err := plotter.NewLine(serving)
	if err != nil {
		return err
	}
	servingLine.StepStyle = plotter.PostStep
	servingLine.Color, servingLine.Width = blue, vg.Points(2)
	required, err := plotter.NewLine(plotter.XYs{{X: 0, Y: float64(r.Required)}, {X: end, Y: float64(r.Required)}})
	if err != nil {
		return err
	}
	required.Color, required.Dashes = grey, dashed
	p.Add(heldLine, required, servingLine)
	p.Legend.Add(LabelServing, servingLine)
	p.Legend.Add(LabelRequired, required)
	p.Legend.Add(LabelHeld, heldLine)

	label, at, short := LabelOffline, time.Duration(0), false
	if at, short = r.firstBelow(1); !short {
		label = LabelBelow
		at, short = r.firstBelow(r.Required)
	}
	if short {
		mark, err := plotter.NewLine(plotter.XYs{{X: at.Seconds(), Y: 0}, {X: at.Seconds(), Y: float64(most) + 0.5}})
		if err != nil {
			return err
		}
		mark.Color, mark.Width = red, vg.Points(2)
		p.Add(mark)
		p.Legend.Add(fmt.Sprintf("%s at %.1f s", label, at.Seconds()), mark)
	}
	p.X.Min, p.X.Max = 0, end
	// Headroom above the data for the legend.
	p.Y.Min, p.Y.Max = 0, float64(most)+3
	p.Y.Tick.Marker = integerTicks{max: most}
	p.X.Tick.Marker = secondTicks{}
	return writeSVG(w, p, 8*vg.Inch, 4*vg.Inch)
}

// integerTicks marks every whole number up to max: the counts are small,
// and the headroom above them is the legend's.
type integerTicks struct{ max int }

func (t integerTicks) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	for v := float64(int(lo)); v <= min(hi, float64(t.max)); v++ {
		out = append(out, plot.Tick{Value: v, Label: fmt.Sprintf("%d", int(v))})
	}
	return out
}

// secondTicks labels whole seconds at a round step giving about ten
// labels, and marks the steps between them.
type secondTicks struct{}

func (secondTicks) Ticks(lo, hi float64) []plot.Tick {
	step := 1.0
	for _, s := range []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600} {
		step = s
		if (hi-lo)/s <= 12 {
			break
		}
	}
	var out []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		out = append(out, plot.Tick{Value: v, Label: fmt.Sprintf("%g", v)})
	}
	return out
}

// Decision is one wait's end, as a strategy decided it.
type Decision struct {
	// At is the virtual time of the decision since the member's create.
	At time.Duration
	// OK is a reported success; otherwise an error or a budget run out.
	OK bool
}

// Strategy is one waiting strategy's decisions over the seeds of a
// scenario.
type Strategy struct {
	Name      string
	Decisions []Decision
}

// Member is the member's true timeline: ACTIVE from ActiveAt, serving
// (ACTIVE and ONLINE) from ServesAt.
type Member struct {
	ActiveAt, ServesAt time.Duration
}

// WriteStrategies draws each strategy's decisions (one row each) against
// the member's timeline, shaded behind them: a success before the member
// serves is red, one after it green, an error grey.
func WriteStrategies(w io.Writer, title string, m Member, strategies []Strategy) error {
	if len(strategies) == 0 {
		return errors.New("plots: no strategies")
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "virtual seconds since the member's create"
	p.Legend.Top = true
	top := float64(len(strategies)) - 0.5
	// The first strategy on top: the y axis counts upwards.
	strategies = slices.Clone(strategies)
	slices.Reverse(strategies)
	end := m.ServesAt.Seconds()
	names := make([]string, len(strategies))
	for _, s := range strategies {
		for _, d := range s.Decisions {
			end = max(end, d.At.Seconds())
		}
	}
	end *= 1.05
	for _, span := range []struct {
		from, to float64
		fill     color.RGBA
		label    string
	}{
		{0, m.ActiveAt.Seconds(), color.RGBA{R: 0xff, G: 0xe0, B: 0xb2, A: 0xff}, LabelPending},
		{m.ActiveAt.Seconds(), m.ServesAt.Seconds(), color.RGBA{R: 0xff, G: 0xf9, B: 0xc4, A: 0xff}, LabelActive},
		{m.ServesAt.Seconds(), end, color.RGBA{R: 0xc8, G: 0xe6, B: 0xc9, A: 0xff}, LabelServes},
	} {
		poly, err := plotter.NewPolygon(plotter.XYs{{X: span.from, Y: -0.5}, {X: span.to, Y: -0.5}, {X: span.to, Y: top}, {X: span.from, Y: top}})
		if err != nil {
			return err
		}
		poly.Color, poly.LineStyle.Width = span.fill, 0
		p.Add(poly)
		p.Legend.Add(span.label, poly)
	}
	kinds := []struct {
		label string
		color color.Color
		shape draw.GlyphDrawer
		match func(Decision) bool
	}{
		{LabelEarly, red, draw.CrossGlyph{}, func(d Decision) bool { return d.OK && d.At < m.ServesAt }},
		{LabelOnTime, green, draw.CircleGlyph{}, func(d Decision) bool { return d.OK && d.At >= m.ServesAt }},
		{LabelFailure, grey, draw.SquareGlyph{}, func(d Decision) bool { return !d.OK }},
	}
	for _, k := range kinds {
		// Seeds often decide at the same moment: one mark for each.
		var pts plotter.XYs
		seen := map[plotter.XY]bool{}
		for i, s := range strategies {
			names[i] = s.Name
			for _, d := range s.Decisions {
				if pt := (plotter.XY{X: d.At.Seconds(), Y: float64(i)}); k.match(d) && !seen[pt] {
					seen[pt] = true
					pts = append(pts, pt)
				}
			}
		}
		if len(pts) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return err
		}
		sc.Color, sc.Shape, sc.Radius = k.color, k.shape, vg.Points(3)
		p.Add(sc)
		p.Legend.Add(k.label, sc)
	}
	p.NominalY(names...)
	p.X.Min, p.X.Max = 0, end
	p.X.Tick.Marker = secondTicks{}
	// Headroom above the rows for the legend.
	p.Y.Min, p.Y.Max = -0.5, top+3
	return writeSVG(w, p, 9*vg.Inch, vg.Length(2.6+0.45*float64(len(strategies)))*vg.Inch)
}

func writeSVG(w io.Writer, p *plot.Plot, width, height vg.Length) error {
	wt, err := p.WriterTo(width, height, "svg")
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}
