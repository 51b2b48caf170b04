package runtime

import (
	"context"
	"encoding/json"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// State is the state of a connector or task as reported in statuses.
type State string

const (
	StateUnassigned State = "UNASSIGNED"
	StateRunning    State = "RUNNING"
	StatePaused     State = "PAUSED"
	StateStopped    State = "STOPPED"
	StateFailed     State = "FAILED"
	StateRestarting State = "RESTARTING"
)

// Status is one status-topic entry, in Kafka Connect's format.
type Status struct {
	State      State  `json:"state"`
	Trace      string `json:"trace,omitempty"`
	WorkerID   string `json:"worker_id"`
	Generation int32  `json:"generation"`
}

// statusStore keeps the status topic: status-connector-<name> and
// status-task-<name>-<n>, last write wins except that a stale UNASSIGNED
// (older generation than a RUNNING entry from another worker) is ignored.
type statusStore struct {
	log *topicLog

	mu         sync.Mutex
	connectors map[string]Status
	tasks      map[string]map[int]Status
	topics     map[string]map[string]bool // connector -> active topics
}

func newStatusStore() *statusStore {
	return &statusStore{connectors: map[string]Status{}, tasks: map[string]map[int]Status{}, topics: map[string]map[string]bool{}}
}

func (s *statusStore) apply(r *kgo.Record) {
	key := string(r.Key)
	if strings.HasPrefix(key, topicStatusPrefix) {
		s.mu.Lock()
		s.applyTopic(key, r.Value)
		s.mu.Unlock()
		return
	}
	var st Status
	if r.Value != nil && json.Unmarshal(r.Value, &st) != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case strings.HasPrefix(key, "status-connector-"):
		name := strings.TrimPrefix(key, "status-connector-")
		if r.Value == nil {
			delete(s.connectors, name)
			return
		}
		if old, ok := s.connectors[name]; ok && stale(old, st) {
			return
		}
		s.connectors[name] = st
	case strings.HasPrefix(key, "status-task-"):
		name, n, ok := parseTaskKey(strings.TrimPrefix(key, "status-task-"))
		if !ok {
			return
		}
		if r.Value == nil {
			delete(s.tasks[name], n)
			if len(s.tasks[name]) == 0 {
				delete(s.tasks, name)
			}
			return
		}
		if old, ok := s.tasks[name][n]; ok && stale(old, st) {
			return
		}
		if s.tasks[name] == nil {
			s.tasks[name] = map[int]Status{}
		}
		s.tasks[name][n] = st
	}
}

// stale reports whether an UNASSIGNED from one worker would wrongly hide a
// newer status written by the worker that took the work over.
func stale(old, nw Status) bool {
	return nw.State == StateUnassigned && old.WorkerID != nw.WorkerID && old.Generation > nw.Generation
}

func (s *statusStore) connector(name string) (Status, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.connectors[name]
	return st, ok
}

func (s *statusStore) task(name string, n int) (Status, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.tasks[name][n]
	return st, ok
}

// taskStatuses returns a copy of the task statuses of a connector.
func (s *statusStore) taskStatuses(name string) map[int]Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int]Status, len(s.tasks[name]))
	for n, st := range s.tasks[name] {
		out[n] = st
	}
	return out
}

// connectorNames returns the connectors that have a status, or task statuses.
func (s *statusStore) connectorNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for n := range s.connectors {
		out = append(out, n)
	}
	for n := range s.tasks {
		if _, ok := s.connectors[n]; !ok && len(s.tasks[n]) > 0 {
			out = append(out, n)
		}
	}
	return out
}

func (s *statusStore) putConnector(ctx context.Context, name string, st Status) error {
	return s.put(ctx, "status-connector-"+name, &st)
}

func (s *statusStore) putTask(ctx context.Context, name string, n int, st Status) error {
	return s.put(ctx, "status-task-"+name+"-"+itoa(n), &st)
}

func (s *statusStore) deleteConnector(ctx context.Context, name string, tasks int) error {
	rs := []*kgo.Record{{Key: []byte("status-connector-" + name)}}
	for n := range s.taskStatuses(name) {
		if n >= tasks {
			rs = append(rs, &kgo.Record{Key: []byte("status-task-" + name + "-" + itoa(n))})
		}
	}
	return s.log.writeMany(ctx, rs)
}

func (s *statusStore) deleteTasksFrom(ctx context.Context, name string, from int) error {
	var rs []*kgo.Record
	for n := range s.taskStatuses(name) {
		if n >= from {
			rs = append(rs, &kgo.Record{Key: []byte("status-task-" + name + "-" + itoa(n))})
		}
	}
	if len(rs) == 0 {
		return nil
	}
	return s.log.writeMany(ctx, rs)
}

func (s *statusStore) put(ctx context.Context, key string, st *Status) error {
	b, _ := json.Marshal(st)
	return s.log.write(ctx, key, b)
}
