package runtime

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spur-connect/spur/connect"
)

// Errors the REST layer maps to status codes.
var (
	ErrNotFound   = errors.New("not found")
	ErrExists     = errors.New("already exists")
	ErrNotOwner   = errors.New("not running on this worker")
	ErrNotReady   = errors.New("worker is still starting")
	ErrBadRequest = errors.New("bad request")
	ErrForbidden  = errors.New("forbidden") // disabled by the worker config
)

// NotLeaderError says a write must go to the leader.
type NotLeaderError struct{ LeaderURL string }

func (e *NotLeaderError) Error() string {
	if e.LeaderURL == "" {
		return "Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway."
	}
	return "this worker is not the leader; the leader is " + e.LeaderURL
}

// InvalidConfigError lists every problem of a connector config.
type InvalidConfigError struct {
	Plugin string
	Errors connect.ConfigErrors
}

func (e *InvalidConfigError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Connector configuration is invalid and contains the following %d error(s):", len(e.Errors))
	for _, ke := range e.Errors {
		b.WriteString("\n" + ke.Message)
		if !strings.Contains(ke.Message, ke.Key) {
			b.WriteString(" (" + ke.Key + ")")
		}
	}
	b.WriteString("\nYou can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`")
	return b.String()
}

func (w *Worker) requireLeader() error {
	if !w.Ready() {
		return ErrNotReady
	}
	if !w.isLeader() {
		return &NotLeaderError{LeaderURL: w.LeaderURL()}
	}
	return nil
}

// Snapshot returns the current config state.
func (w *Worker) Snapshot() *Snapshot { return w.configs.snapshot() }

// Validate validates a raw connector config (placeholders are resolved for
// the check only).
func (w *Worker) Validate(raw map[string]string) Validation { return ValidateConnector(w.opts, raw) }

// ValidateConnector validates a raw connector config against the plugins of
// opts without a running worker (spur validate, spur run --connectors).
func ValidateConnector(opts Options, raw map[string]string) Validation {
	resolved, err := ResolveConfig(raw)
	if err != nil {
		v := validateConnector(opts.Registry, opts.TransformSpec, raw)
		v.Errors = append(v.Errors, connect.KeyError{Key: "config", Message: err.Error()})
		return v
	}
	v := validateConnector(opts.Registry, opts.TransformSpec, resolved)
	if len(v.Errors) == 0 && strings.TrimSpace(resolved["transforms"]) != "" {
		// Cross-key transform errors only show when the chain is built.
		if opts.NewChain == nil {
			v.Errors = append(v.Errors, connect.KeyError{Key: "transforms", Message: "this build has no transforms"})
		} else if _, err := opts.NewChain(opts.Registry, resolved); err != nil {
			var ce connect.ConfigErrors
			if errors.As(err, &ce) {
				v.Errors = append(v.Errors, ce...)
			} else {
				v.Errors = append(v.Errors, connect.KeyError{Key: "transforms", Message: err.Error()})
			}
		}
	}
	return v
}

// PutConnector creates or (if replace) updates a connector. It runs on the
// leader; elsewhere it returns a *NotLeaderError.
func (w *Worker) PutConnector(ctx context.Context, name string, cfg map[string]string, initial TargetState, replace bool) (created bool, err error) {
	if err := w.requireLeader(); err != nil {
		return false, err
	}
	if v := w.Validate(cfg); len(v.Errors) > 0 {
		return false, &InvalidConfigError{Plugin: cfg["connector.class"], Errors: v.Errors}
	}
	_, exists := w.configs.connector(name)
	if exists && !replace {
		return false, fmt.Errorf("Connector %s already exists: %w", name, ErrExists)
	}
	if exists {
		initial = "" // an update keeps the target state
	}
	if err := w.configs.putConnector(ctx, name, cfg, initial); err != nil {
		return false, err
	}
	w.leaderDuties(ctx) // task configs now rather than at the next config event
	return !exists, nil
}

// DeleteConnector removes a connector and its statuses.
func (w *Worker) DeleteConnector(ctx context.Context, name string) error {
	if err := w.requireLeader(); err != nil {
		return err
	}
	if _, ok := w.configs.connector(name); !ok {
		return fmt.Errorf("Connector %s not found: %w", name, ErrNotFound)
	}
	if err := w.configs.deleteConnector(ctx, name); err != nil {
		return err
	}
	// Give the owners a moment to stop (they write UNASSIGNED), then remove
	// the statuses, so GET status turns 404 as clients expect after a delete.
	go func() {
		time.Sleep(2 * time.Second)
		if _, ok := w.configs.connector(name); ok {
			return // re-created meanwhile: its statuses are the new connector's
		}
		dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.statuses.deleteConnector(dctx, name, 0); err != nil {
			w.log.Warn("deleting statuses", "connector", name, "err", err)
		}
		if err := w.resetTopics(dctx, name); err != nil {
			w.log.Warn("resetting active topics", "connector", name, "err", err)
		}
	}()
	return nil
}

// SetTarget pauses or resumes a connector (any worker may write these), or
// stops it (leader only: task configs are emptied first, as Kafka Connect does).
func (w *Worker) SetTarget(ctx context.Context, name string, t TargetState) error {
	if !w.Ready() {
		return ErrNotReady
	}
	if _, ok := w.configs.connector(name); !ok {
		return fmt.Errorf("Unknown connector %s: %w", name, ErrNotFound)
	}
	if t == TargetStopped {
		if err := w.requireLeader(); err != nil {
			return err
		}
		// One batch, under the leader lock, so the leader never sees a
		// started connector without tasks in between and regenerates them.
		w.leaderMu.Lock()
		defer w.leaderMu.Unlock()
		return w.configs.stop(ctx, name)
	}
	return w.configs.putTarget(ctx, name, t)
}

// RequestRestart writes a restart request (leader only) for every worker to act on.
func (w *Worker) RequestRestart(ctx context.Context, req RestartRequest) error {
	if _, ok := w.configs.connector(req.Connector); !ok {
		return fmt.Errorf("Unknown connector: %s: %w", req.Connector, ErrNotFound)
	}
	if err := w.requireLeader(); err != nil {
		return err
	}
	return w.configs.putRestart(ctx, req)
}

// TaskStatus is one task's status as the REST API shows it.
type TaskStatus struct {
	ID       int    `json:"id"`
	State    State  `json:"state"`
	WorkerID string `json:"worker_id"`
	Trace    string `json:"trace,omitempty"`
}

// ConnectorStatus is Kafka Connect's ConnectorStateInfo.
type ConnectorStatus struct {
	Name      string `json:"name"`
	Connector struct {
		State    State  `json:"state"`
		WorkerID string `json:"worker_id"`
		Trace    string `json:"trace,omitempty"`
	} `json:"connector"`
	Tasks []TaskStatus `json:"tasks"`
	Type  string       `json:"type"`
}

// Status returns a connector's status from the status topic.
func (w *Worker) Status(name string) (*ConnectorStatus, error) {
	st, ok := w.statuses.connector(name)
	if _, configured := w.configs.connector(name); !ok || !configured {
		// A deleted connector's status may outlive it in the topic (its
		// tombstone not yet written): it is not shown.
		return nil, fmt.Errorf("No status found for connector %s: %w", name, ErrNotFound)
	}
	out := &ConnectorStatus{Name: name, Type: w.ConnectorType(name), Tasks: []TaskStatus{}}
	out.Connector.State, out.Connector.WorkerID, out.Connector.Trace = st.State, st.WorkerID, st.Trace
	n := 0
	if c, ok := w.configs.connector(name); ok {
		n = len(c.Tasks)
	}
	tasks := w.statuses.taskStatuses(name)
	ids := make([]int, 0, len(tasks))
	for id := range tasks {
		if id < n {
			ids = append(ids, id)
		}
	}
	sort.Ints(ids)
	for _, id := range ids {
		t := tasks[id]
		out.Tasks = append(out.Tasks, TaskStatus{ID: id, State: t.State, WorkerID: t.WorkerID, Trace: t.Trace})
	}
	return out, nil
}

// TaskStatusOf returns one task's status.
func (w *Worker) TaskStatusOf(name string, task int) (*TaskStatus, error) {
	st, ok := w.statuses.task(name, task)
	if _, configured := w.configs.connector(name); !ok || !configured {
		return nil, fmt.Errorf("No status found for task %s-%d: %w", name, task, ErrNotFound)
	}
	return &TaskStatus{ID: task, State: st.State, WorkerID: st.WorkerID, Trace: st.Trace}, nil
}

// ConnectorType returns "source", "sink" or "unknown".
func (w *Worker) ConnectorType(name string) string {
	c, ok := w.configs.connector(name)
	if !ok {
		return "unknown"
	}
	p, err := w.reg.LookupType(c.Config["connector.class"], connect.PluginSink, connect.PluginSource)
	if err != nil {
		return "unknown"
	}
	return string(p.Type)
}

// SourceOffsets returns the stored offsets of a source connector.
func (w *Worker) SourceOffsets(name string) []map[string]any {
	var out []map[string]any
	for _, o := range w.offsets.all(name) {
		out = append(out, map[string]any{"partition": o.Partition, "offset": o.Offset})
	}
	return out
}
