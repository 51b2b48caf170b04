package runtime

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func createConnector(t *testing.T, w *testWorker, name string, cfg map[string]string) {
	t.Helper()
	cfg["name"] = name
	checkFor(t, 20*time.Second, 50*time.Millisecond, func() error {
		_, err := w.PutConnector(context.Background(), name, cfg, "", false)
		return err
	})
}

func TestSourceToSinkDeliversEveryRecordOnce(t *testing.T) {
	kafka := startKafka(t)
	store := newMemStore()
	w := startWorker(t, kafka, testRegistry(store), nil)
	createConnector(t, w, "src", map[string]string{"connector.class": "seq", "topic": "events", "count": "5000"})
	createConnector(t, w, "snk", map[string]string{"connector.class": "mem", "topics": "events", "tasks.max": "2"})
	checkFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		if d, _ := store.counts(); d != 5000 {
			return fmt.Errorf("%d distinct records delivered", d)
		}
		return nil
	})
	if d, total := store.counts(); total != d {
		t.Fatalf("clean run delivered %d records for %d distinct", total, d)
	}
	st, err := w.Status("snk")
	if err != nil {
		t.Fatal(err)
	}
	if st.Connector.State != StateRunning || len(st.Tasks) != 2 || st.Tasks[0].State != StateRunning || st.Type != "sink" {
		t.Fatalf("status %+v", st)
	}
	// Active topics: the source produced to events, the sink consumed it.
	checkFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		for _, c := range []string{"src", "snk"} {
			if got := fmt.Sprint(w.ActiveTopics(c)); got != "[events]" {
				return fmt.Errorf("active topics of %s: %s", c, got)
			}
		}
		return nil
	})
	if err := w.ResetTopics(context.Background(), "snk"); err != nil {
		t.Fatal(err)
	}
	if got := w.ActiveTopics("snk"); len(got) != 0 {
		t.Fatalf("active topics after reset: %v", got)
	}
}
