package runtime

import (
	"context"
	"log/slog"
	"testing"
)

// An assignment the leader computed before the latest config records (here:
// a connector's task configs written between the leader's assignment and
// this worker applying it) must not count as having seen them: the worker
// has to rejoin, or the new tasks stay unassigned until something else
// triggers a rebalance.
func TestApplyingAnAssignmentOlderThanTheConfigsRejoins(t *testing.T) {
	for _, tc := range []struct {
		name         string
		configOffset int64
		wantRejoin   bool
	}{
		{"assignment made from the latest configs", 7, false},
		{"configs written after the assignment was made", 5, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &Worker{configs: newConfigStore(), running: map[Item]*instance{}, configCh: make(chan struct{}, 1),
				log: slog.New(slog.DiscardHandler)}
			w.configs.conns["archive"] = &ConnectorConfig{Name: "archive", Config: map[string]string{"name": "archive"},
				Tasks: []map[string]string{{"name": "archive"}}}
			w.configs.offset = 7
			ctx := context.Background()
			if revoked := w.apply(ctx, &Assignment{ConfigOffset: tc.configOffset}); revoked {
				t.Fatal("nothing was running, nothing can be revoked")
			}
			signalled := false
			select {
			case <-w.configCh:
				signalled = true
			default:
			}
			// The steady loop runs onConfigChange on a signal; run it either
			// way to see what it would decide.
			if rejoin := w.onConfigChange(ctx); signalled != tc.wantRejoin || rejoin != tc.wantRejoin {
				t.Fatalf("config check signalled %v, rejoin %v; want %v", signalled, rejoin, tc.wantRejoin)
			}
		})
	}
}
