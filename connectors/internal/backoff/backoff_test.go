package backoff

import (
	"math"
	"testing"
	"time"
)

func TestExponential(t *testing.T) {
	cases := []struct {
		base, most time.Duration
		attempt    int
		lo, hi     time.Duration
	}{
		{100 * time.Millisecond, time.Second, 0, 50 * time.Millisecond, 100 * time.Millisecond},
		{100 * time.Millisecond, time.Second, 2, 200 * time.Millisecond, 400 * time.Millisecond},
		{100 * time.Millisecond, time.Second, 50, 500 * time.Millisecond, time.Second},
		{0, time.Second, 3, 0, 0},
		{time.Second, 0, 3, 500 * time.Millisecond, time.Second}, // most below base: base
		// Long.MAX_VALUE milliseconds saturated to the longest duration: no overflow, no panic.
		{3 * time.Second, math.MaxInt64, 1000, math.MaxInt64 / 2, math.MaxInt64},
	}
	for _, c := range cases {
		for range 100 {
			if d := Exponential(c.base, c.most, c.attempt); d < c.lo || d > c.hi {
				t.Fatalf("Exponential(%v, %v, %d) = %v, want %v..%v", c.base, c.most, c.attempt, d, c.lo, c.hi)
			}
		}
	}
}
