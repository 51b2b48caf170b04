package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Active topics (Kafka Connect's KIP-558): the first time a task sees a
// topic (a sink consumes from it, a source produces to it) the worker writes
// status-topic-<topic>:connector-<name> to the status topic. GET
// /connectors/{name}/topics lists them; PUT .../topics/reset writes
// tombstones.

const topicStatusPrefix = "status-topic-"

func topicStatusKey(topic, connector string) string {
	return topicStatusPrefix + topic + ":connector-" + connector
}

// parseTopicStatusKey splits status-topic-<topic>:connector-<name>. Topic
// names cannot hold ':', so the first one separates them.
func parseTopicStatusKey(key string) (topic, connector string, ok bool) {
	rest, ok := strings.CutPrefix(key, topicStatusPrefix)
	if !ok {
		return "", "", false
	}
	topic, connector, ok = strings.Cut(rest, ":connector-")
	return topic, connector, ok && topic != "" && connector != ""
}

// applyTopic records an active-topic entry (value nil = reset).
func (s *statusStore) applyTopic(key string, value []byte) {
	topic, conn, ok := parseTopicStatusKey(key)
	if !ok {
		return
	}
	if value == nil {
		delete(s.topics[conn], topic)
		return
	}
	if s.topics[conn] == nil {
		s.topics[conn] = map[string]bool{}
	}
	s.topics[conn][topic] = true
}

func (s *statusStore) hasTopic(conn, topic string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.topics[conn][topic]
}

func (s *statusStore) activeTopics(conn string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.topics[conn]))
	for t := range s.topics[conn] {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// trackTopic records that a task used a topic, unless it is known already.
// It is called on the first record of a topic per task, off the hot path.
func (w *Worker) trackTopic(conn, topic string, task int) {
	if !w.cfg.Bool("topic.tracking.enable") || w.statuses.hasTopic(conn, topic) {
		return
	}
	v, _ := json.Marshal(map[string]any{"topic": map[string]any{
		"name": topic, "connector": conn, "task": task, "discoverTimestamp": time.Now().UnixMilli()}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.statuses.log.write(ctx, topicStatusKey(topic, conn), v); err != nil {
		w.log.Warn("recording an active topic", "connector", conn, "topic", topic, "err", err)
	}
}

// Kafka Connect's messages when topic.tracking.* switch the endpoints off.
var (
	errTrackingDisabled = fmt.Errorf("Topic tracking is disabled.: %w", ErrForbidden)       //nolint:staticcheck // Connect's message
	errResetDisabled    = fmt.Errorf("Topic tracking reset is disabled.: %w", ErrForbidden) //nolint:staticcheck // Connect's message
)

// ActiveTopics lists the topics a connector's tasks have used since the
// connector was created or its topics were last reset. With
// topic.tracking.enable=false it fails with ErrForbidden.
func (w *Worker) ActiveTopics(name string) ([]string, error) {
	if !w.cfg.Bool("topic.tracking.enable") {
		return nil, errTrackingDisabled
	}
	return w.statuses.activeTopics(name), nil
}

// ResetTopics forgets a connector's active topics. It fails with
// ErrForbidden when topic tracking or its reset is switched off.
func (w *Worker) ResetTopics(ctx context.Context, name string) error {
	switch {
	case !w.cfg.Bool("topic.tracking.enable"):
		return errTrackingDisabled
	case !w.cfg.Bool("topic.tracking.allow.reset"):
		return errResetDisabled
	}
	return w.resetTopics(ctx, name)
}

// resetTopics writes tombstones for a connector's active topics (the REST
// reset, and the cleanup after a delete, which the reset switch does not
// govern).
func (w *Worker) resetTopics(ctx context.Context, name string) error {
	var rs []*kgo.Record
	for _, t := range w.statuses.activeTopics(name) {
		rs = append(rs, &kgo.Record{Key: []byte(topicStatusKey(t, name))})
	}
	if len(rs) == 0 {
		return nil
	}
	if err := w.statuses.log.writeMany(ctx, rs); err != nil {
		return err
	}
	return w.statuses.log.readToEnd(ctx)
}
