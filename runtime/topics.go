package runtime

import (
	"context"
	"encoding/json"
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
	if w.statuses.hasTopic(conn, topic) {
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

// ActiveTopics lists the topics a connector's tasks have used since the
// connector was created or its topics were last reset.
func (w *Worker) ActiveTopics(name string) []string { return w.statuses.activeTopics(name) }

// ResetTopics forgets a connector's active topics.
func (w *Worker) ResetTopics(ctx context.Context, name string) error {
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
