package runtime

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func produceN(t *testing.T, bootstrap []string, topic string, from, to int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap...), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var rs []*kgo.Record
	for i := from; i < to; i++ {
		rs = append(rs, &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprintf(`{"n":%d}`, i))})
	}
	if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func createTopic(t testing.TB, bootstrap []string, topic string, partitions int32) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(context.Background(), partitions, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
}

// tasksPerWorker counts RUNNING tasks of a connector per worker id.
func tasksPerWorker(w *testWorker, conn string) (map[string]int, error) {
	st, err := w.Status(conn)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, ts := range st.Tasks {
		if ts.State != StateRunning {
			return nil, fmt.Errorf("task %d is %s on %s", ts.ID, ts.State, ts.WorkerID)
		}
		out[ts.WorkerID]++
	}
	return out, nil
}

func TestClusterSpreadsTasksAndMovesThemOnStopAndJoin(t *testing.T) {
	kafka := startKafka(t)
	createTopic(t, kafka, "clicks", 12)
	store := newMemStore()
	reg := testRegistry(store)
	w1 := startWorker(t, kafka, reg, nil)
	w2 := startWorker(t, kafka, reg, nil)
	w3 := startWorker(t, kafka, reg, nil)
	createConnector(t, w1, "snk", map[string]string{"connector.class": "mem", "topics": "clicks", "tasks.max": "6"})

	spread := func(workers []*testWorker, per int) func() error {
		return func() error {
			got, err := tasksPerWorker(workers[0], "snk")
			if err != nil {
				return err
			}
			for _, w := range workers {
				if got[w.WorkerID()] != per {
					return fmt.Errorf("tasks per worker %v, want %d each", got, per)
				}
			}
			return nil
		}
	}
	checkFor(t, 30*time.Second, 100*time.Millisecond, spread([]*testWorker{w1, w2, w3}, 2))
	produceN(t, kafka, "clicks", 0, 3000)
	checkFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		if d, _ := store.counts(); d != 3000 {
			return fmt.Errorf("%d of 3000 delivered", d)
		}
		return nil
	})

	// A graceful stop moves w3's tasks with no duplicates at all.
	start := time.Now()
	w3.stop(t)
	checkFor(t, 30*time.Second, 50*time.Millisecond, spread([]*testWorker{w1, w2}, 3))
	t.Logf("tasks moved %v after a graceful stop", time.Since(start).Round(time.Millisecond))
	produceN(t, kafka, "clicks", 3000, 6000)
	checkFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		if d, _ := store.counts(); d != 6000 {
			return fmt.Errorf("%d of 6000 delivered", d)
		}
		return nil
	})
	if d, total := store.counts(); total != d {
		t.Fatalf("graceful stop caused %d duplicates", total-d)
	}

	// A joining worker takes a share; tasks that stay put are not restarted.
	starts := map[int]int{}
	owner := map[int]string{}
	st, _ := w1.Status("snk")
	for _, ts := range st.Tasks {
		starts[ts.ID], owner[ts.ID] = store.startsOf(ts.ID), ts.WorkerID
	}
	w4 := startWorker(t, kafka, reg, nil)
	checkFor(t, 30*time.Second, 100*time.Millisecond, spread([]*testWorker{w1, w2, w4}, 2))
	st, _ = w1.Status("snk")
	moved := 0
	for _, ts := range st.Tasks {
		if ts.WorkerID != owner[ts.ID] {
			moved++
			continue
		}
		if store.startsOf(ts.ID) != starts[ts.ID] {
			t.Errorf("task %d stayed on %s but was restarted", ts.ID, ts.WorkerID)
		}
	}
	if moved != 2 {
		t.Errorf("%d tasks moved to the new worker, want 2", moved)
	}
}
