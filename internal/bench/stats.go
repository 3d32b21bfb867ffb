package bench

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"time"
)

// percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of xs,
// and false when xs is empty.
func percentile[T cmp.Ordered](xs []T, p float64) (T, bool) {
	if len(xs) == 0 {
		var zero T
		return zero, false
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank, 1)-1], true
}

// seconds formats a duration in seconds with one decimal, signed when
// negative ("−54.0 s" reads as "54 s too early").
func seconds(d time.Duration) string {
	s := strconv.FormatFloat(d.Seconds(), 'f', 1, 64)
	if d < 0 {
		s = "−" + s[1:]
	}
	return s + " s"
}

// p50p99 formats the median and the 99th percentile of xs, "—" if empty.
func p50p99(xs []time.Duration) string { return p50p99Of(xs, seconds) }

// p50p99Int formats the median and the 99th percentile of counts.
func p50p99Int(xs []int) string { return p50p99Of(xs, strconv.Itoa) }

func p50p99Of[T cmp.Ordered](xs []T, format func(T) string) string {
	p50, ok := percentile(xs, 50)
	if !ok {
		return "—"
	}
	p99, _ := percentile(xs, 99)
	if p50 == p99 {
		return format(p50)
	}
	return format(p50) + " / " + format(p99)
}

// ratio formats a/b as "3.2×", or "—" when b is zero.
func ratio(a, b float64) string {
	if b == 0 {
		return "—"
	}
	r := a / b
	switch {
	case r >= 10:
		return strconv.FormatFloat(r, 'f', 0, 64) + "×"
	case r >= 0.095:
		return strconv.FormatFloat(r, 'f', 1, 64) + "×"
	}
	return strconv.FormatFloat(r, 'f', 2, 64) + "×"
}
