package runtime

import (
	"testing"
	"time"
)

func TestHealthFollowsCoordinatorContact(t *testing.T) {
	now := time.Now()
	ago := func(d time.Duration) int64 { return now.Add(-d).UnixNano() }
	for _, tc := range []struct {
		name          string
		last, waiting int64
		healthy       bool
	}{
		{"heartbeats answered", ago(500 * time.Millisecond), 0, true},
		{"silent for longer than the session timeout", ago(2 * time.Second), 0, false},
		{"join held by the coordinator during a rebalance", ago(2 * time.Second), ago(time.Second), true},
		{"join held longer than the rebalance timeout", ago(20 * time.Second), ago(16 * time.Second), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &Worker{cfg: &WorkerConfig{SessionTimeout: time.Second, RebalanceTimeout: 10 * time.Second}, groupID: "g"}
			w.contact.last.Store(tc.last)
			w.contact.waiting.Store(tc.waiting)
			if err := w.Health(); (err == nil) != tc.healthy {
				t.Fatalf("Health() = %v, want healthy %v", err, tc.healthy)
			}
		})
	}
}
