package runtime

import (
	"context"
	"errors"
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
			if got, err := w.ActiveTopics(c); err != nil || fmt.Sprint(got) != "[events]" {
				return fmt.Errorf("active topics of %s: %v %v", c, got, err)
			}
		}
		return nil
	})
	if err := w.ResetTopics(context.Background(), "snk"); err != nil {
		t.Fatal(err)
	}
	if got, err := w.ActiveTopics("snk"); err != nil || len(got) != 0 {
		t.Fatalf("active topics after reset: %v %v", got, err)
	}
}

// topic.tracking.enable=false records nothing and refuses both endpoints;
// topic.tracking.allow.reset=false refuses only the reset (Kafka Connect's
// 403 messages).
func TestTopicTrackingSwitches(t *testing.T) {
	kafka := startKafka(t)
	store := newMemStore()
	off := startWorker(t, kafka, testRegistry(store), map[string]string{"topic.tracking.enable": "false"})
	createConnector(t, off, "src", map[string]string{"connector.class": "seq", "topic": "events", "count": "100"})
	createConnector(t, off, "snk", map[string]string{"connector.class": "mem", "topics": "events"})
	checkFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		if d, _ := store.counts(); d != 100 {
			return fmt.Errorf("%d records delivered", d)
		}
		return nil
	})
	if _, err := off.ActiveTopics("snk"); !errors.Is(err, ErrForbidden) || err.Error() != "Topic tracking is disabled.: forbidden" {
		t.Fatalf("ActiveTopics with tracking off: %v", err)
	}
	if err := off.ResetTopics(context.Background(), "snk"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("ResetTopics with tracking off: %v", err)
	}
	// Nothing was written: the status store, read to its end, holds no topic.
	// (With tracking on the record follows the first record within
	// milliseconds; the pause covers that.)
	time.Sleep(500 * time.Millisecond)
	if err := off.statuses.log.readToEnd(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"src", "snk"} {
		if got := off.statuses.activeTopics(c); len(got) != 0 {
			t.Fatalf("tracking off, yet %s recorded %v", c, got)
		}
	}
	off.stop(t)

	noReset := startWorker(t, kafka, testRegistry(store), map[string]string{"topic.tracking.allow.reset": "false",
		"group.id": "g2", "config.storage.topic": "c2", "status.storage.topic": "s2", "offset.storage.topic": "o2"})
	createConnector(t, noReset, "src2", map[string]string{"connector.class": "seq", "topic": "events2", "count": "10"})
	checkFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		if got, err := noReset.ActiveTopics("src2"); err != nil || fmt.Sprint(got) != "[events2]" {
			return fmt.Errorf("active topics: %v %v", got, err)
		}
		return nil
	})
	if err := noReset.ResetTopics(context.Background(), "src2"); !errors.Is(err, ErrForbidden) || err.Error() != "Topic tracking reset is disabled.: forbidden" {
		t.Fatalf("ResetTopics with reset off: %v", err)
	}
}
