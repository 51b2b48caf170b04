package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/connectors/datagen"
	"github.com/spur-connect/spur/connectors/file"
	"github.com/spur-connect/spur/runtime"
	"github.com/spur-connect/spur/transforms"
	"github.com/twmb/franz-go/pkg/kfake"
)

// node is one in-process worker with its REST server.
type node struct {
	w      *runtime.Worker
	srv    *Server
	url    string // http://127.0.0.1:port
	cancel context.CancelFunc
	done   chan struct{}
}

// cluster is kfake plus workers that form one Spur cluster.
type cluster struct {
	kafka *kfake.Cluster
	nodes []*node
}

func testRegistry() *connect.Registry {
	reg := connect.NewRegistry()
	for _, ps := range [][]*connect.Plugin{runtime.ConverterPlugins(), transforms.Plugins(), file.Plugins(), datagen.Plugins()} {
		reg.MustRegister(ps...)
	}
	return reg
}

func runtimeOptions(reg *connect.Registry, log *slog.Logger) runtime.Options {
	return runtime.Options{
		Registry: reg, Logger: log, TransformSpec: transforms.Spec,
		NewChain: func(reg *connect.Registry, raw map[string]string) (runtime.Chain, error) {
			c, errs := transforms.NewChain(reg, raw)
			if len(errs) > 0 {
				return nil, errs
			}
			return c, nil
		},
	}
}

func testLogger() *slog.Logger {
	if os.Getenv("SPUR_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// workerConfig is a fast-rebalancing worker config on a free port.
func workerConfig(bootstrap string, overrides map[string]string) (*runtime.WorkerConfig, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	scheme := "http"
	if overrides["rest.advertised.listener"] == "https" {
		scheme = "https"
	}
	raw := map[string]string{
		"bootstrap.servers":                bootstrap,
		"listeners":                        scheme + "://127.0.0.1:" + strconv.Itoa(port),
		"session.timeout.ms":               "6000",
		"heartbeat.interval.ms":            "300",
		"scheduled.rebalance.max.delay.ms": "1000",
		"offset.flush.interval.ms":         "300",
		"status.storage.partitions":        "2",
		"offset.storage.partitions":        "2",
	}
	for k, v := range overrides {
		raw[k] = v
	}
	cfg, _, err := runtime.ParseWorkerConfig(raw)
	return cfg, err
}

// startCluster starts kfake and n workers with REST servers and waits
// until they agree on a leader.
func startCluster(n int, overrides map[string]string) (*cluster, error) {
	k, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1), kfake.AllowAutoTopicCreation())
	if err != nil {
		return nil, err
	}
	c := &cluster{kafka: k}
	reg := testRegistry()
	for i := 0; i < n; i++ {
		if _, err := c.addNode(reg, overrides); err != nil {
			c.close()
			return nil, err
		}
	}
	if err := c.waitStable(30 * time.Second); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

func (c *cluster) addNode(reg *connect.Registry, overrides map[string]string) (*node, error) {
	cfg, err := workerConfig(c.kafka.ListenAddrs()[0], overrides)
	if err != nil {
		return nil, err
	}
	log := testLogger()
	w, err := runtime.NewWorker(cfg, runtimeOptions(reg, log))
	if err != nil {
		return nil, err
	}
	srv, err := New(Options{Worker: w, Logger: log})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	nd := &node{w: w, srv: srv, cancel: cancel, done: make(chan struct{})}
	srvDone := make(chan struct{})
	go func() { _ = srv.Run(ctx); close(srvDone) }()
	go func() { _ = w.Run(ctx); <-srvDone; close(nd.done) }()
	c.nodes = append(c.nodes, nd)
	deadline := time.Now().Add(5 * time.Second)
	for srv.Addr() == "" {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("REST server did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	scheme := "http://"
	if srv.cfg.serverTLS != nil {
		scheme = "https://"
	}
	nd.url = scheme + srv.Addr()
	return nd, nil
}

// waitStable waits until every worker is ready and all agree on one leader.
func (c *cluster) waitStable(total time.Duration) error {
	deadline := time.Now().Add(total)
	for {
		err := func() error {
			leaders, url := 0, ""
			for _, n := range c.nodes {
				if !n.w.Ready() {
					return fmt.Errorf("worker %s not ready", n.w.WorkerID())
				}
				if n.w.IsLeader() {
					leaders++
				}
				if url == "" {
					url = n.w.LeaderURL()
				}
				if n.w.LeaderURL() == "" || n.w.LeaderURL() != url {
					return fmt.Errorf("leader URLs disagree")
				}
			}
			if leaders != 1 {
				return fmt.Errorf("%d leaders", leaders)
			}
			return nil
		}()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// leader returns the worker leading the cluster, waiting out a rebalance
// (during one no worker leads).
func (c *cluster) leader() *node {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, n := range c.nodes {
			if n.w.IsLeader() {
				return n
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return c.nodes[0]
}

func (c *cluster) follower() *node {
	for _, n := range c.nodes {
		if !n.w.IsLeader() {
			return n
		}
	}
	return c.nodes[len(c.nodes)-1]
}

func (c *cluster) close() {
	for _, n := range c.nodes {
		n.cancel()
	}
	for _, n := range c.nodes {
		select {
		case <-n.done:
		case <-time.After(30 * time.Second):
		}
	}
	c.kafka.Close()
}

var (
	sharedOnce sync.Once
	sharedC    *cluster
	sharedErr  error
)

// shared is the 2-worker cluster most tests use (each with its own
// connector names); TestMain closes it.
func shared(t testing.TB) *cluster {
	t.Helper()
	sharedOnce.Do(func() { sharedC, sharedErr = startCluster(2, nil) })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedC
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedC != nil {
		sharedC.close()
	}
	os.Exit(code)
}

// both returns the leader and the follower, named, for table tests that
// send every request to each.
func (c *cluster) both() []struct {
	role string
	n    *node
} {
	return []struct {
		role string
		n    *node
	}{{"leader", c.leader()}, {"follower", c.follower()}}
}

// response is a finished HTTP exchange.
type response struct {
	code   int
	header http.Header
	body   []byte
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.code, r.body) }

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("response %s: %v", r, err)
	}
}

func (r response) errMsg(t testing.TB) ErrorMessage {
	t.Helper()
	var e ErrorMessage
	r.json(t, &e)
	if e.ErrorCode != r.code {
		t.Fatalf("error body %s: error_code != status %d", r.body, r.code)
	}
	return e
}

var httpClient = &http.Client{Timeout: 60 * time.Second}

// call sends a request; headers come as name, value pairs. A body is sent
// as application/json unless a Content-Type header is given.
func call(t testing.TB, method, url, body string, headers ...string) response {
	t.Helper()
	r, err := callErr(httpClient, method, url, body, headers...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func callErr(cl *http.Client, method, url, body string, headers ...string) (response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return response{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := cl.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, bytes.TrimSpace(b)}, err
}

// eventually polls fn until it returns nil.
func eventually(t testing.TB, total time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(total)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v: %v", total, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// createOK creates a connector through node n and waits for its status.
func createOK(t testing.TB, n *node, name string, cfg map[string]string) {
	t.Helper()
	r := call(t, "POST", n.url+"/connectors", mustJSON(map[string]any{"name": name, "config": cfg}))
	if r.code != http.StatusCreated {
		t.Fatalf("create %s: %s", name, r)
	}
	waitState(t, n, name, "RUNNING")
}

// waitState waits until the connector and all its (>=1, unless STOPPED)
// tasks report state.
func waitState(t testing.TB, n *node, name, state string) {
	t.Helper()
	eventually(t, 30*time.Second, func() error {
		r := call(t, "GET", n.url+"/connectors/"+name+"/status", "")
		if r.code != 200 {
			return fmt.Errorf("status: %s", r)
		}
		var st runtime.ConnectorStatus
		r.json(t, &st)
		if string(st.Connector.State) != state {
			return fmt.Errorf("connector state %s", r)
		}
		if state == "STOPPED" {
			if len(st.Tasks) != 0 {
				return fmt.Errorf("tasks of a stopped connector: %s", r)
			}
			return nil
		}
		if len(st.Tasks) == 0 {
			return fmt.Errorf("no tasks yet: %s", r)
		}
		for _, ts := range st.Tasks {
			if string(ts.State) != state {
				return fmt.Errorf("task state: %s", r)
			}
		}
		return nil
	})
}

func datagenConfig(topic string) map[string]string {
	return map[string]string{"connector.class": "datagen", "kafka.topic": topic, "iterations": "50", "tasks.max": "1"}
}

func fileSinkConfig(t testing.TB, topic string) map[string]string {
	return map[string]string{"connector.class": "FileStreamSink", "topics": topic, "file": t.TempDir() + "/out.txt"}
}

// serve runs one request through a handler, in process.
func serve(h http.Handler, method, path, body string, headers ...string) response {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return response{rec.Code, rec.Header(), bytes.TrimSpace(rec.Body.Bytes())}
}
