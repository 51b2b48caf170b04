package runtime

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"
)

// waitTaskStates waits until the connector and every task report want, and
// then checks they still do a moment later (a late stale write would flip
// them back).
func waitTaskStates(t *testing.T, w *testWorker, name string, want State) {
	t.Helper()
	check := func() error {
		st, err := w.Status(name)
		if err != nil {
			return err
		}
		if st.Connector.State != want || len(st.Tasks) == 0 {
			return fmt.Errorf("status %+v", st)
		}
		for _, ts := range st.Tasks {
			if ts.State != want {
				return fmt.Errorf("task %d is %s, want %s", ts.ID, ts.State, want)
			}
		}
		return nil
	}
	checkFor(t, 20*time.Second, 20*time.Millisecond, check)
	time.Sleep(time.Second)
	if err := check(); err != nil {
		t.Fatalf("after settling: %v", err)
	}
}

// Pausing a connector while its tasks restart must leave each task PAUSED,
// whichever write of the racing task start and target change reaches the
// status topic first.
func TestTaskStatusFollowsTheLastTargetState(t *testing.T) {
	kafka := startKafka(t)
	w := startWorker(t, kafka, testRegistry(newMemStore()), nil)
	conns := []string{"flip", "flop"}
	createConnector(t, w, "flip", map[string]string{"connector.class": "seq", "topic": "flip", "count": "100000", "tasks.max": "1"})
	createConnector(t, w, "flop", map[string]string{"connector.class": "mem", "topics": "flip", "tasks.max": "2"})
	ctx := context.Background()
	setAll := func(target TargetState) {
		for _, c := range conns {
			if err := w.SetTarget(ctx, c, target); err != nil {
				t.Fatal(err)
			}
		}
	}
	for round := range 6 {
		setAll(TargetStarted)
		// A config change restarts the tasks; the pause follows it after
		// a varying delay, so it lands before, during or after the starts.
		for _, c := range conns {
			cfg, _ := w.configs.connector(c)
			next := maps.Clone(cfg.Config)
			next["spur.test.round"] = fmt.Sprint(round)
			checkFor(t, 20*time.Second, 20*time.Millisecond, func() error {
				_, err := w.PutConnector(ctx, c, next, "", true)
				return err
			})
		}
		time.Sleep(time.Duration(round*15) * time.Millisecond)
		setAll(TargetPaused)
		for _, c := range conns {
			waitTaskStates(t, w, c, StatePaused)
		}
	}
	setAll(TargetStarted)
	for _, c := range conns {
		waitTaskStates(t, w, c, StateRunning)
	}
}

// A task that failed to build has no environment; pausing its connector
// must leave it FAILED rather than crash the worker.
func TestPausingAConnectorWithAFailedTask(t *testing.T) {
	kafka := startKafka(t)
	w := startWorker(t, kafka, testRegistry(newMemStore()), nil)
	createConnector(t, w, "broken", map[string]string{"connector.class": "seq", "topic": "b", "task.count": "many"})
	checkFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		st, err := w.Status("broken")
		if err != nil || len(st.Tasks) != 1 || st.Tasks[0].State != StateFailed {
			return fmt.Errorf("status %+v %v", st, err)
		}
		return nil
	})
	if err := w.SetTarget(context.Background(), "broken", TargetPaused); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		st, err := w.Status("broken")
		if err != nil || st.Connector.State != StatePaused {
			return fmt.Errorf("status %+v %v", st, err)
		}
		return nil
	})
	time.Sleep(500 * time.Millisecond)
	st, err := w.Status("broken")
	if err != nil || st.Tasks[0].State != StateFailed {
		t.Fatalf("status %+v %v", st, err)
	}
	if !w.Ready() {
		t.Fatal("worker is not ready after the pause")
	}
}
