package runtime

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/spur-connect/spur/connect"
	"github.com/twmb/franz-go/pkg/kfake"
)

// checkFor polls fn until it returns nil or total elapses.
func checkFor(t testing.TB, total, every time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	var err error
	for time.Now().Before(deadline) {
		if err = fn(); err == nil {
			return
		}
		time.Sleep(every)
	}
	t.Fatalf("condition not met after %v: %v", total, err)
}

func startKafka(t testing.TB) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func testLogger() *slog.Logger {
	if os.Getenv("SPUR_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type testWorker struct {
	*Worker
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned
	err    error
}

// stop stops the worker gracefully and waits for it.
func (tw *testWorker) stop(t testing.TB) {
	tw.cancel()
	select {
	case <-tw.done:
		if tw.err != nil {
			t.Errorf("worker %s: %v", tw.workerID, tw.err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("worker %s did not stop", tw.workerID)
	}
}

func startWorker(t testing.TB, bootstrap []string, reg *connect.Registry, overrides map[string]string) *testWorker {
	t.Helper()
	raw := map[string]string{
		"bootstrap.servers":                fmt.Sprint(bootstrap[0]),
		"listeners":                        "http://127.0.0.1:" + strconv.Itoa(freePort(t)),
		"session.timeout.ms":               "6000",
		"heartbeat.interval.ms":            "300",
		"scheduled.rebalance.max.delay.ms": "1000",
		"offset.flush.interval.ms":         "500",
		"status.storage.partitions":        "2",
		"offset.storage.partitions":        "2",
	}
	for k, v := range overrides {
		raw[k] = v
	}
	cfg, _, err := ParseWorkerConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWorker(cfg, Options{Registry: reg, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tw := &testWorker{Worker: w, cancel: cancel, done: make(chan struct{})}
	go func() { tw.err = w.Run(ctx); close(tw.done) }()
	t.Cleanup(func() { cancel(); <-tw.done })
	checkFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		if !w.Ready() {
			return fmt.Errorf("worker not ready")
		}
		return nil
	})
	return tw
}
