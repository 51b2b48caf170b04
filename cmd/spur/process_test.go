package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// These tests run the real binary in separate processes: a broker process
// and worker processes that are SIGKILLed, as the delivery guarantees are
// only worth something if they survive a real crash.

var spurBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "spur-bin")
	if err != nil {
		panic(err)
	}
	spurBin = filepath.Join(dir, "spur")
	build := exec.Command("go", "build", "-race", "-o", spurBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building spur:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

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

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// proc is a spur process whose output goes to a log file kept for failures.
type proc struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func startProc(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(spurBin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), "GORACE=halt_on_error=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); f.Close(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			if len(b) > 6000 {
				b = b[len(b)-6000:]
			}
			t.Logf("--- %s log (tail) ---\n%s", name, b)
		}
	})
	return p
}

func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// term stops the process gracefully and returns its exit code.
func (p *proc) term(t *testing.T) int {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("process did not stop within 60s of SIGTERM")
	}
	return p.cmd.ProcessState.ExitCode()
}

type worker struct {
	*proc
	url string
	id  string
}

func startWorker(t *testing.T, name, bootstrap string, extra ...string) *worker {
	t.Helper()
	port := freePort(t)
	args := []string{"run",
		"--set", "bootstrap.servers=" + bootstrap,
		"--set", "listeners=http://127.0.0.1:" + strconv.Itoa(port),
		"--set", "session.timeout.ms=6000",
		"--set", "heartbeat.interval.ms=500",
		// A sink consumer SIGKILLed during the second round of a cooperative
		// rebalance held its group's rebalance in kfake for the whole
		// rebalance timeout (franz-go's 60 s default before sink consumers
		// took the worker's), so the SIGKILL test ran out of time; 15 s
		// bounds that stall.
		"--set", "rebalance.timeout.ms=15000",
		"--set", "scheduled.rebalance.max.delay.ms=2000",
		"--set", "offset.flush.interval.ms=1000",
		"--set", "status.storage.partitions=2",
		"--set", "offset.storage.partitions=2",
	}
	w := &worker{proc: startProc(t, name, append(args, extra...)...), url: "http://127.0.0.1:" + strconv.Itoa(port), id: "127.0.0.1:" + strconv.Itoa(port)}
	// GET /connectors answers while the worker is still reading the
	// internal topics and joining the group (writes get 409 then); /health
	// says 200 only once it is ready.
	checkFor(t, 60*time.Second, 100*time.Millisecond, func() error {
		_, code, err := httpDo(http.MethodGet, w.url+"/health", nil)
		if err != nil || code != 200 {
			return fmt.Errorf("worker %s not ready: %v %d", name, err, code)
		}
		return nil
	})
	return w
}

func httpDo(method, url string, body any) ([]byte, int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, resp.StatusCode, err
}

type connectorStatus struct {
	Connector struct {
		State    string `json:"state"`
		WorkerID string `json:"worker_id"`
	} `json:"connector"`
	Tasks []struct {
		ID       int    `json:"id"`
		State    string `json:"state"`
		WorkerID string `json:"worker_id"`
		Trace    string `json:"trace"`
	} `json:"tasks"`
}

func status(url, name string) (*connectorStatus, error) {
	b, code, err := httpDo(http.MethodGet, url+"/connectors/"+name+"/status", nil)
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("status %d: %s", code, b)
	}
	var st connectorStatus
	return &st, json.Unmarshal(b, &st)
}

// spread waits until every task of a connector runs and the tasks per
// worker match want.
func spread(t *testing.T, url, name string, want map[string]int) {
	t.Helper()
	checkFor(t, 90*time.Second, 200*time.Millisecond, func() error {
		st, err := status(url, name)
		if err != nil {
			return err
		}
		got := map[string]int{}
		for _, ts := range st.Tasks {
			if ts.State != "RUNNING" {
				return fmt.Errorf("task %d is %s on %s %s", ts.ID, ts.State, ts.WorkerID, ts.Trace)
			}
			got[ts.WorkerID]++
		}
		for id, n := range want {
			if got[id] != n {
				return fmt.Errorf("tasks per worker %v, want %v", got, want)
			}
		}
		return nil
	})
}

// counter is an HTTP endpoint that counts deliveries of {"n":i} events.
type counter struct {
	mu   sync.Mutex
	seen map[int]int
}

func newCounter(t *testing.T) (*counter, string) {
	c := &counter{seen: map[int]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var events []struct {
			N int `json:"n"`
		}
		if err := json.NewDecoder(r.Body).Decode(&events); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		c.mu.Lock()
		for _, e := range events {
			c.seen[e.N]++
		}
		c.mu.Unlock()
		w.WriteHeader(200)
	}))
	t.Cleanup(srv.Close)
	return c, srv.URL
}

func (c *counter) counts(from, to int) (missing, dups int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := from; i < to; i++ {
		switch n := c.seen[i]; {
		case n == 0:
			missing++
		case n > 1:
			dups += n - 1
		}
	}
	return
}

func produce(t *testing.T, cl *kgo.Client, topic string, from, to int) {
	t.Helper()
	rs := make([]*kgo.Record, 0, to-from)
	for i := from; i < to; i++ {
		rs = append(rs, &kgo.Record{Topic: topic, Key: []byte(strconv.Itoa(i)), Value: []byte(fmt.Sprintf(`{"n":%d,"pad":"%0100d"}`, i, i))})
	}
	if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func TestClusterOfProcessesSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("process cluster test is not short")
	}
	brokerAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	startProc(t, "broker", "broker", "--addr", brokerAddr, "--data-dir", t.TempDir())
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokerAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	checkFor(t, 30*time.Second, 100*time.Millisecond, func() error {
		_, err := kadm.NewClient(cl).CreateTopic(context.Background(), 12, 1, nil, "clicks")
		return err
	})
	seen, endpoint := newCounter(t)

	w1 := startWorker(t, "w1", brokerAddr)
	w2 := startWorker(t, "w2", brokerAddr)
	w3 := startWorker(t, "w3", brokerAddr)
	body := map[string]any{"name": "to-http", "config": map[string]string{
		"connector.class": "io.confluent.connect.http.HttpSinkConnector", "topics": "clicks", "tasks.max": "6",
		"http.api.url": endpoint, "batch.max.size": "50", "request.body.format": "json", "batch.json.as.array": "true",
	}}
	// Sent to a follower on purpose: it forwards to the leader.
	checkFor(t, 30*time.Second, 200*time.Millisecond, func() error {
		b, code, err := httpDo(http.MethodPost, w3.url+"/connectors", body)
		if err != nil || code != 201 {
			return fmt.Errorf("create: %v %d %s", err, code, b)
		}
		return nil
	})
	spread(t, w1.url, "to-http", map[string]int{w1.id: 2, w2.id: 2, w3.id: 2})

	// Produce while w3 is killed mid-stream.
	const total = 30000
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for i := 0; i < total; i += 1000 {
			produce(t, cl, "clicks", i, i+1000)
			time.Sleep(50 * time.Millisecond)
		}
	}()
	checkFor(t, 60*time.Second, 20*time.Millisecond, func() error {
		if missing, _ := seen.counts(0, total); missing > total-5000 {
			return fmt.Errorf("only %d delivered", total-missing)
		}
		return nil
	})
	killed := time.Now()
	w3.kill()
	spread(t, w1.url, "to-http", map[string]int{w1.id: 3, w2.id: 3})
	t.Logf("tasks of the SIGKILLed worker running elsewhere after %v (session timeout 6s + delay 2s)", time.Since(killed).Round(100*time.Millisecond))
	<-produced
	checkFor(t, 90*time.Second, 200*time.Millisecond, func() error {
		if missing, _ := seen.counts(0, total); missing > 0 {
			return fmt.Errorf("%d of %d records missing", missing, total)
		}
		return nil
	})
	_, dups := seen.counts(0, total)
	t.Logf("after SIGKILL: all %d records delivered, %d duplicates (from the killed worker's uncommitted batches)", total, dups)
	if dups > 2*6*2000 {
		t.Errorf("%d duplicates: more than the in-flight window of the killed tasks", dups)
	}

	// A fourth worker takes a share.
	w4 := startWorker(t, "w4", brokerAddr)
	spread(t, w1.url, "to-http", map[string]int{w1.id: 2, w2.id: 2, w4.id: 2})

	// A graceful stop moves its tasks with no duplicates at all.
	stopped := time.Now()
	if code := w4.term(t); code != 0 {
		t.Errorf("w4 exited with %d after SIGTERM", code)
	}
	spread(t, w1.url, "to-http", map[string]int{w1.id: 3, w2.id: 3})
	t.Logf("tasks of the gracefully stopped worker running elsewhere after %v", time.Since(stopped).Round(100*time.Millisecond))
	produce(t, cl, "clicks", total, total+10000)
	checkFor(t, 60*time.Second, 200*time.Millisecond, func() error {
		if missing, _ := seen.counts(total, total+10000); missing > 0 {
			return fmt.Errorf("%d records missing after the graceful stop", missing)
		}
		return nil
	})
	if _, dups := seen.counts(total, total+10000); dups != 0 {
		t.Errorf("graceful stop caused %d duplicates", dups)
	}
}

func TestEmbeddedBrokerRestartKeepsConnectorsStatusesAndOffsets(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "events.jsonl")
	defs := filepath.Join(dir, "connectors")
	if err := os.Mkdir(defs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(defs, "pipeline.yaml"), []byte(fmt.Sprintf(`
name: gen
config:
  connector.class: datagen
  kafka.topic: events
  iterations: 100000
---
name: archive
config:
  connector.class: FileStreamSink
  topics: events
  file: %s
`, out)), 0o644); err != nil {
		t.Fatal(err)
	}
	brokerPort, restPort := freePort(t), freePort(t)
	args := []string{"run", "--data-dir", filepath.Join(dir, "data"),
		"--set", "embedded.broker.address=127.0.0.1:" + strconv.Itoa(brokerPort),
		"--set", "listeners=http://127.0.0.1:" + strconv.Itoa(restPort),
		"--set", "offset.flush.interval.ms=1000"}
	url := "http://127.0.0.1:" + strconv.Itoa(restPort)
	lines := func() int {
		b, _ := os.ReadFile(out)
		return bytes.Count(b, []byte("\n"))
	}
	start := time.Now()
	p := startProc(t, "spur1", append(args, "--connectors", defs)...)
	checkFor(t, 60*time.Second, 10*time.Millisecond, func() error {
		if lines() == 0 {
			return fmt.Errorf("no record delivered yet")
		}
		return nil
	})
	t.Logf("first record delivered %v after start", time.Since(start).Round(time.Millisecond))
	checkFor(t, 120*time.Second, 100*time.Millisecond, func() error {
		if n := lines(); n < 30000 {
			return fmt.Errorf("%d lines", n)
		}
		return nil
	})
	if code := p.term(t); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	before := lines()

	// Restart on the same data dir, without the definitions.
	startProc(t, "spur2", args...)
	checkFor(t, 60*time.Second, 200*time.Millisecond, func() error {
		for _, name := range []string{"gen", "archive"} {
			st, err := status(url, name)
			if err != nil {
				return err
			}
			if st.Connector.State != "RUNNING" || len(st.Tasks) != 1 || st.Tasks[0].State != "RUNNING" {
				return fmt.Errorf("%s: %+v", name, st)
			}
		}
		return nil
	})
	checkFor(t, 120*time.Second, 200*time.Millisecond, func() error {
		if n := lines(); n != 100000 {
			return fmt.Errorf("%d lines (had %d before the restart)", n, before)
		}
		return nil
	})
	// Exactly 100000: datagen resumed from its stored offset and the sink
	// from its committed offset, after a clean stop.
	time.Sleep(2 * time.Second)
	if n := lines(); n != 100000 {
		t.Fatalf("%d lines after the pipeline settled, want exactly 100000", n)
	}
}

func TestBadConfigExitsNamingTheKeyAndFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: s\nconfig:\n  connector.class: file-sink\n  topics: x\n  tasks.max: zero\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"run", "--set", "session.timeout.ms=abc"}, []string{"session.timeout.ms"}},
		{[]string{"run", "--set", "listeners=ftp://x"}, []string{"listeners"}},
		{[]string{"run", "--connectors", bad, "--data-dir", filepath.Join(dir, "d")}, []string{"bad.yaml", "tasks.max", "file"}},
	} {
		var stderr bytes.Buffer
		cmd := exec.Command(spurBin, tc.args...)
		cmd.Stderr = &stderr
		err := cmd.Run()
		if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != exitConfig {
			t.Errorf("%v: exit %v, want %d; stderr: %s", tc.args, err, exitConfig, stderr.String())
			continue
		}
		for _, w := range tc.want {
			if !bytes.Contains(stderr.Bytes(), []byte(w)) {
				t.Errorf("%v: stderr does not name %q: %s", tc.args, w, stderr.String())
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "d")); err == nil {
		t.Errorf("a bad connector file still started the embedded broker (data dir created)")
	}
}

func TestEmbeddedBrokerServesOtherKafkaClients(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (scripts/test installs it)")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	defs := filepath.Join(dir, "sink.yaml")
	if err := os.WriteFile(defs, []byte("name: archive\nconfig:\n  connector.class: file-sink\n  topics: from-kcat\n  file: "+out+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	broker := "127.0.0.1:" + strconv.Itoa(freePort(t))
	startProc(t, "spur", "run", "--data-dir", filepath.Join(dir, "data"), "--connectors", defs,
		"--set", "embedded.broker.address="+broker, "--set", "listeners=http://127.0.0.1:"+strconv.Itoa(freePort(t)))
	input := `{"id":9007199254740993,"msg":"héllo"}` + "\n" + `{"id":2}` + "\n"
	checkFor(t, 60*time.Second, 500*time.Millisecond, func() error {
		cmd := exec.Command(kcat, "-P", "-b", broker, "-t", "from-kcat", "-H", "source=kcat")
		cmd.Stdin = bytes.NewBufferString(input)
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("kcat: %v: %s", err, b)
		}
		return nil
	})
	checkFor(t, 60*time.Second, 100*time.Millisecond, func() error {
		b, _ := os.ReadFile(out)
		if !bytes.HasPrefix(b, []byte(input)) {
			return fmt.Errorf("file holds %q", b)
		}
		return nil
	})
}
