package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TargetState is what a connector should be doing, as stored in the config
// topic ("STARTED" is Kafka Connect's name for running).
type TargetState string

const (
	TargetStarted TargetState = "STARTED"
	TargetPaused  TargetState = "PAUSED"
	TargetStopped TargetState = "STOPPED"
)

// ConnectorConfig is one connector as the config topic knows it.
type ConnectorConfig struct {
	Name   string
	Config map[string]string // raw, placeholders unresolved
	Target TargetState
	// Tasks are the committed task configs; len(Tasks) is the task count.
	Tasks []map[string]string
	// AppliedConfig is the connector config the tasks were generated from.
	AppliedConfig map[string]string
	// TaskGeneration identifies the task config commit (its offset in the
	// config topic, plus one), so a worker can tell that its running tasks
	// are stale: also when the connector was deleted and created again,
	// which a per-connector count would not tell apart.
	TaskGeneration int
}

// Snapshot is a consistent copy of the config topic's state.
type Snapshot struct {
	Offset     int64 // next config-topic offset after what this snapshot includes
	Connectors map[string]*ConnectorConfig
}

// Names returns the connector names, sorted.
func (s *Snapshot) Names() []string {
	out := make([]string, 0, len(s.Connectors))
	for n := range s.Connectors {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// RestartRequest is a restart-connector record.
type RestartRequest struct {
	Connector    string
	IncludeTasks bool `json:"include-tasks"`
	OnlyFailed   bool `json:"only-failed"`
}

// configStore keeps the state of the config topic (one partition), in Kafka
// Connect's record format (see DESIGN.md and the reference):
//
//	connector-<name>      {"properties":{...}}        tombstone = delete
//	task-<name>-<n>       {"properties":{...}}        buffered until the commit
//	commit-<name>         {"tasks":N}
//	target-state-<name>   {"state":"STARTED|PAUSED","state.v2":"STARTED|PAUSED|STOPPED"}
//	restart-connector-<name> {"include-tasks":bool,"only-failed":bool}
//	logger-cluster-<namespace> {"level":"DEBUG"}
type configStore struct {
	log *topicLog

	mu       sync.Mutex
	offset   int64
	conns    map[string]*ConnectorConfig
	targets  map[string]TargetState // may precede the connector record
	pending  map[string]map[int]map[string]string
	changed  func(name string) // called after a record changed a connector
	live     bool              // the initial read is done
	loggers  func(namespace, level string)
	restarts func(RestartRequest)
}

func newConfigStore() *configStore {
	return &configStore{
		conns:   map[string]*ConnectorConfig{},
		targets: map[string]TargetState{},
		pending: map[string]map[int]map[string]string{},
	}
}

// goLive marks the end of the initial read.
func (s *configStore) goLive() {
	s.mu.Lock()
	s.live = true
	s.mu.Unlock()
}

// connector returns one connector's config without copying the whole state.
func (s *configStore) connector(name string) (ConnectorConfig, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.conns[name]
	if !ok {
		return ConnectorConfig{}, false
	}
	return *c, true
}

// snapshot returns a deep enough copy for readers (maps are never mutated
// in place after being stored, only replaced).
func (s *configStore) snapshot() *Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &Snapshot{Offset: s.offset, Connectors: make(map[string]*ConnectorConfig, len(s.conns))}
	for n, c := range s.conns {
		cp := *c
		out.Connectors[n] = &cp
	}
	return out
}

func (s *configStore) apply(r *kgo.Record) {
	key := string(r.Key)
	name, changed := "", true
	s.mu.Lock()
	s.offset = r.Offset + 1
	switch {
	case strings.HasPrefix(key, "connector-"):
		name = strings.TrimPrefix(key, "connector-")
		if r.Value == nil {
			delete(s.conns, name)
			delete(s.targets, name)
			delete(s.pending, name)
			break
		}
		props, err := decodeProperties(r.Value)
		if err != nil {
			changed = false
			break
		}
		c := s.conns[name]
		if c == nil {
			c = &ConnectorConfig{Name: name, Target: TargetStarted}
			if t, ok := s.targets[name]; ok {
				c.Target = t
			}
			s.conns[name] = c
		}
		c.Config = props
	case strings.HasPrefix(key, "task-"):
		conn, n, ok := parseTaskKey(strings.TrimPrefix(key, "task-"))
		props, err := decodeProperties(r.Value)
		if !ok || err != nil {
			changed = false
			break
		}
		if s.pending[conn] == nil {
			s.pending[conn] = map[int]map[string]string{}
		}
		s.pending[conn][n] = props
		changed = false
	case strings.HasPrefix(key, "commit-"):
		name = strings.TrimPrefix(key, "commit-")
		var v struct {
			Tasks int `json:"tasks"`
		}
		c := s.conns[name]
		if r.Value == nil || json.Unmarshal(r.Value, &v) != nil || c == nil {
			delete(s.pending, name)
			changed = false
			break
		}
		tasks := make([]map[string]string, v.Tasks)
		complete := true
		for i := range tasks {
			t, ok := s.pending[name][i]
			if !ok {
				complete = false
				break
			}
			tasks[i] = t
		}
		delete(s.pending, name)
		if !complete {
			// An incomplete set (a leader died mid-write, or compaction):
			// keep the old tasks; the leader regenerates.
			changed = false
			break
		}
		c.Tasks = tasks
		c.AppliedConfig = c.Config
		c.TaskGeneration = int(r.Offset) + 1
	case strings.HasPrefix(key, "target-state-"):
		name = strings.TrimPrefix(key, "target-state-")
		if r.Value == nil {
			delete(s.targets, name)
			break
		}
		var v struct {
			State   string `json:"state"`
			StateV2 string `json:"state.v2"`
		}
		if json.Unmarshal(r.Value, &v) != nil {
			changed = false
			break
		}
		t := TargetState(v.StateV2)
		if t == "" {
			t = TargetState(v.State)
		}
		s.targets[name] = t
		if c := s.conns[name]; c != nil {
			c.Target = t
		}
	case strings.HasPrefix(key, "restart-connector-"):
		var req RestartRequest
		// Only requests written after this worker started count: the ones
		// read at start-up were served by whoever ran the work then.
		if s.live && r.Value != nil && json.Unmarshal(r.Value, &req) == nil {
			req.Connector = strings.TrimPrefix(key, "restart-connector-")
			if s.restarts != nil {
				defer s.restarts(req)
			}
		}
		changed = false
	case strings.HasPrefix(key, "logger-cluster-"):
		// Like Kafka Connect (KIP-976), only levels set while this worker
		// runs apply; at start-up the worker's own config decides.
		var v struct {
			Level string `json:"level"`
		}
		if s.live && r.Value != nil && json.Unmarshal(r.Value, &v) == nil && v.Level != "" {
			if hook := s.loggers; hook != nil {
				ns := strings.TrimPrefix(key, "logger-cluster-")
				defer hook(ns, v.Level)
			}
		}
		changed = false
	default:
		changed = false
	}
	cb := s.changed
	s.mu.Unlock()
	if changed && cb != nil {
		cb(name)
	}
}

func parseTaskKey(s string) (string, int, bool) {
	i := strings.LastIndexByte(s, '-')
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(s[i+1:])
	return s[:i], n, err == nil && n >= 0
}

func decodeProperties(b []byte) (map[string]string, error) {
	var v struct {
		Properties map[string]string `json:"properties"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	if v.Properties == nil {
		v.Properties = map[string]string{}
	}
	return v.Properties, nil
}

func encodeProperties(m map[string]string) []byte {
	b, _ := json.Marshal(struct {
		Properties map[string]string `json:"properties"`
	}{m})
	return b
}

func encodeTarget(t TargetState) []byte {
	legacy := t
	if t == TargetStopped {
		legacy = TargetPaused // old readers see PAUSED, as Kafka Connect writes it
	}
	b, _ := json.Marshal(map[string]string{"state": string(legacy), "state.v2": string(t)})
	return b
}

// putConnector writes a connector config, preceded by its target state if set.
func (s *configStore) putConnector(ctx context.Context, name string, cfg map[string]string, target TargetState) error {
	var rs []*kgo.Record
	if target != "" {
		rs = append(rs, &kgo.Record{Key: []byte("target-state-" + name), Value: encodeTarget(target)})
	}
	rs = append(rs, &kgo.Record{Key: []byte("connector-" + name), Value: encodeProperties(cfg)})
	return s.writeAndRead(ctx, rs)
}

func (s *configStore) deleteConnector(ctx context.Context, name string) error {
	return s.writeAndRead(ctx, []*kgo.Record{
		{Key: []byte("connector-" + name)},
		{Key: []byte("target-state-" + name)},
	})
}

func (s *configStore) putTarget(ctx context.Context, name string, t TargetState) error {
	return s.writeAndRead(ctx, []*kgo.Record{{Key: []byte("target-state-" + name), Value: encodeTarget(t)}})
}

// putTasks writes task configs then the commit record, as Kafka Connect does.
func (s *configStore) putTasks(ctx context.Context, name string, tasks []map[string]string) error {
	var rs []*kgo.Record
	for i, t := range tasks {
		rs = append(rs, &kgo.Record{Key: []byte(fmt.Sprintf("task-%s-%d", name, i)), Value: encodeProperties(t)})
	}
	commit, _ := json.Marshal(map[string]int{"tasks": len(tasks)})
	rs = append(rs, &kgo.Record{Key: []byte("commit-" + name), Value: commit})
	return s.writeAndRead(ctx, rs)
}

// stop empties the task configs and sets the target STOPPED in one batch,
// as Kafka Connect's stop does.
func (s *configStore) stop(ctx context.Context, name string) error {
	commit, _ := json.Marshal(map[string]int{"tasks": 0})
	return s.writeAndRead(ctx, []*kgo.Record{
		{Key: []byte("commit-" + name), Value: commit},
		{Key: []byte("target-state-" + name), Value: encodeTarget(TargetStopped)},
	})
}

func (s *configStore) putRestart(ctx context.Context, req RestartRequest) error {
	v, _ := json.Marshal(req)
	return s.writeAndRead(ctx, []*kgo.Record{{Key: []byte("restart-connector-" + req.Connector), Value: v}})
}

// writeAndRead writes and then reads the topic to the end, so the caller's
// next snapshot includes what it wrote.
func (s *configStore) writeAndRead(ctx context.Context, rs []*kgo.Record) error {
	if err := s.log.writeMany(ctx, rs); err != nil {
		return err
	}
	return s.log.readToEnd(ctx)
}

// sameConfig reports whether two raw configs are equal.
func sameConfig(a, b map[string]string) bool { return maps.Equal(a, b) }

// sameTasks reports whether two task config lists are equal.
func sameTasks(a, b []map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !maps.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// putLoggerLevel writes a cluster-wide log level (any worker may).
func (s *configStore) putLoggerLevel(ctx context.Context, namespace, level string) error {
	v, _ := json.Marshal(map[string]string{"level": level})
	return s.writeAndRead(ctx, []*kgo.Record{{Key: []byte("logger-cluster-" + namespace), Value: v}})
}
