package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spur-connect/spur/api"
	"github.com/spur-connect/spur/runtime"
	"github.com/twmb/franz-go/pkg/kfake"
)

// wtLog is a goroutine-safe log sink the test can search.
type wtLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *wtLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *wtLog) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Contains(l.buf.String(), s)
}

// wtWorker runs one in-process worker on kfake.
func wtWorker(t *testing.T, logw *wtLog) (*runtime.Worker, runtime.Options, *slog.Logger) {
	t.Helper()
	k, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	cfg, _, err := runtime.ParseWorkerConfig(map[string]string{
		"bootstrap.servers":  k.ListenAddrs()[0],
		"listeners":          "http://127.0.0.1:" + strconv.Itoa(freePort(t)),
		"session.timeout.ms": "6000", "heartbeat.interval.ms": "300",
		"offset.flush.interval.ms": "300", "status.storage.partitions": "1", "offset.storage.partitions": "1",
	})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := newRegistry()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(logw, nil))
	opts := runtimeOptions(reg)
	opts.Logger = log
	w, err := runtime.NewWorker(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	// The REST server as in spur run: a write that reaches this worker
	// while it is between leaderships is forwarded over it.
	srv, err := api.New(api.Options{Worker: w, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done, srvDone := make(chan struct{}), make(chan struct{})
	go func() { _ = w.Run(ctx); close(done) }()
	go func() { _ = srv.Run(ctx); close(srvDone) }()
	t.Cleanup(func() { cancel(); <-done; <-srvDone })
	checkFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		if !w.Ready() || !w.IsLeader() {
			return fmt.Errorf("worker not ready")
		}
		return nil
	})
	return w, opts, log
}

func wtConnector(w *runtime.Worker, name string) *runtime.ConnectorConfig {
	return w.Snapshot().Connectors[name]
}

func TestWatchDefinitionsAppliesChangesAndRemovals(t *testing.T) {
	logw := &wtLog{}
	w, opts, log := wtWorker(t, logw)
	t.Cleanup(func() {
		if t.Failed() {
			logw.mu.Lock()
			t.Logf("--- worker log ---\n%s", logw.buf.String())
			logw.mu.Unlock()
		}
	})
	dir := t.TempDir()
	def := func(name, extra string) string {
		return "name: " + name + "\nconfig:\n  connector.class: datagen\n  kafka.topic: " + name + "\n  rate: 20\n" + extra
	}
	clWrite(t, filepath.Join(dir, "a.yaml"), def("a", ""))
	clWrite(t, filepath.Join(dir, "b.yaml"), def("b", ""))

	// As spur run does: apply at startup, then watch.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defs, err := loadDefinitions(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := applyDefinitions(ctx, w, defs, log); err != nil {
		t.Fatal(err)
	}
	// A connector created over REST, not from the directory.
	if err := applyDefinitions(ctx, w, []definition{{Name: "manual", Source: "REST",
		Config: map[string]string{"name": "manual", "connector.class": "datagen", "kafka.topic": "m", "rate": "1"}}}, log); err != nil {
		t.Fatal(err)
	}
	watchDone := make(chan struct{})
	go func() { watchLoop(ctx, dir, w, opts, log, 100*time.Millisecond); close(watchDone) }()
	defer func() { cancel(); <-watchDone }()

	checkFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		for _, n := range []string{"a", "b"} {
			if c := wtConnector(w, n); c == nil || len(c.Tasks) != 1 {
				return fmt.Errorf("connector %s has no tasks yet", n)
			}
		}
		return nil
	})
	genB := wtConnector(w, "b").TaskGeneration

	// An edit of one file updates that connector only.
	clWrite(t, filepath.Join(dir, "a.yaml"), def("a", "  seed: 3\n"))
	checkFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		if c := wtConnector(w, "a"); c.Config["seed"] != "3" || len(c.Tasks) != 1 || c.Tasks[0]["seed"] != "3" {
			return fmt.Errorf("a: config %v, tasks %v", c.Config, c.Tasks)
		}
		return nil
	})
	// A new file creates its connector.
	clWrite(t, filepath.Join(dir, "c.yml"), def("c", "initial_state: STOPPED\n"))
	checkFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		if c := wtConnector(w, "c"); c == nil || c.Target != runtime.TargetStopped {
			return fmt.Errorf("c: %+v", c)
		}
		return nil
	})
	// A broken file is logged and applies nothing, also not the valid edits
	// made with it; fixing it applies them.
	clWrite(t, filepath.Join(dir, "a.yaml"), def("a", "  seed: 4\n"))
	clWrite(t, filepath.Join(dir, "broken.yaml"), "name: broken\nconfig:\n  connector.class: datagen\n  tasks.max: zero\n")
	checkFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		if !logw.has("connector definitions changed but are invalid") || !logw.has("tasks.max") {
			return fmt.Errorf("no error logged for broken.yaml")
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond)
	if c := wtConnector(w, "a"); c.Config["seed"] != "3" || wtConnector(w, "broken") != nil {
		t.Fatalf("a broken file still applied changes: a.seed=%s", c.Config["seed"])
	}
	if err := os.Remove(filepath.Join(dir, "broken.yaml")); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		if s := wtConnector(w, "a").Config["seed"]; s != "4" {
			return fmt.Errorf("a.seed = %s after the fix", s)
		}
		return nil
	})
	// A removed file deletes its connector; the REST-created one stays.
	if err := os.Remove(filepath.Join(dir, "c.yml")); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		if wtConnector(w, "c") != nil {
			return fmt.Errorf("c still exists")
		}
		return nil
	})
	if wtConnector(w, "manual") == nil {
		t.Errorf("the watcher deleted a connector that was never in the directory")
	}
	if g := wtConnector(w, "b").TaskGeneration; g != genB {
		t.Errorf("b's task generation went from %d to %d though b.yaml never changed", genB, g)
	}
}

// TestRunWatchReconcilesTheDirectory runs `spur run --connectors DIR
// --watch`; it skips while run.go does not have the --watch flag.
func TestRunWatchReconcilesTheDirectory(t *testing.T) {
	probe := exec.Command(spurBin, "run", "--watch", "-h")
	var stderr bytes.Buffer
	probe.Stderr = &stderr
	_ = probe.Run()
	if strings.Contains(stderr.String(), "not defined: -watch") {
		t.Skip("spur run has no --watch flag yet (run.go must call watchDefinitions)")
	}
	dir := t.TempDir()
	def := func(name, rate string) string {
		return "name: " + name + "\nconfig: {connector.class: datagen, kafka.topic: " + name + ", rate: " + rate + "}\n"
	}
	clWrite(t, filepath.Join(dir, "a.yaml"), def("a", "10"))
	clWrite(t, filepath.Join(dir, "b.yaml"), def("b", "10"))
	url, _ := clStartSpur(t, "spur", "--connectors", dir, "--watch")
	clWaitRunning(t, url, "a", "b")
	if _, code, err := httpDo(http.MethodPut, url+"/connectors/manual/config", map[string]string{"connector.class": "datagen", "kafka.topic": "m", "rate": "1"}); err != nil || code != 201 {
		t.Fatalf("create manual: %v %d", err, code)
	}
	clWrite(t, filepath.Join(dir, "a.yaml"), def("a", "20"))
	if err := os.Remove(filepath.Join(dir, "b.yaml")); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 30*time.Second, 200*time.Millisecond, func() error {
		if cfg := apConfig(t, url, "a"); cfg["rate"] != "20" {
			return fmt.Errorf("a.rate = %s", cfg["rate"])
		}
		if names := apNames(t, url); strings.Join(names, ",") != "a,manual" {
			return fmt.Errorf("connectors %v", names)
		}
		return nil
	})
}
