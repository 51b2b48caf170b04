// Package backoff computes retry delays for the sinks that retry requests.
package backoff

import (
	"math/rand/v2"
	"time"
)

// Exponential returns the wait before retry number attempt+1 (attempt
// counts from 0): base doubled per attempt up to most, with "equal jitter"
// (half fixed, half random), so many tasks retrying at once spread out. It
// never overflows, whatever the durations (a config may say
// Long.MAX_VALUE).
func Exponential(base, most time.Duration, attempt int) time.Duration {
	if base <= 0 {
		return 0
	}
	most = max(most, base)
	d := base
	for i := 0; i < attempt && d < most; i++ {
		if d > most/2 {
			d = most
			break
		}
		d *= 2
	}
	d = min(d, most)
	half := d / 2
	return half + rand.N(half+1)
}
