package runtime

// Connector offsets for the REST API (Kafka Connect's KIP-875): read,
// alter and reset the offsets of a source connector (offsets topic) or of a
// sink connector (its consumer group). Self-contained: it only reads the
// stores and talks to Kafka through the worker's admin client.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// OffsetEntry is one partition and its offset, Kafka Connect's
// ConnectorOffset. A nil Offset in an alter request resets the partition.
type OffsetEntry struct {
	Partition map[string]any `json:"partition"`
	Offset    map[string]any `json:"offset"`
}

// Sink offset keys, as Kafka Connect names them.
const (
	OffsetKafkaTopic     = "kafka_topic"
	OffsetKafkaPartition = "kafka_partition"
	OffsetKafkaOffset    = "kafka_offset"
)

// SinkGroup is the consumer group of a sink connector: connect-<name>, or
// consumer.override.group.id.
func SinkGroup(c *ConnectorConfig) string {
	raw := c.Config
	if resolved, err := ResolveConfig(raw); err == nil {
		raw = resolved
	}
	if g := raw["consumer.override.group.id"]; g != "" {
		return g
	}
	return "connect-" + c.Name
}

// ConnectorOffsets returns a connector's offsets: for a source, what the
// offsets topic holds for it now; for a sink, the committed offsets of its
// consumer group. Sorted, so the output is stable.
func (w *Worker) ConnectorOffsets(ctx context.Context, name string) ([]OffsetEntry, error) {
	c, ok := w.configs.snapshot().Connectors[name]
	if !ok {
		return nil, fmt.Errorf("Connector %s not found: %w", name, ErrNotFound)
	}
	out := []OffsetEntry{}
	switch w.ConnectorType(name) {
	case "source":
		// Read what other workers wrote up to now first, as Kafka Connect
		// does: a task on another worker may have committed an offset the
		// local copy of the offsets topic has not read yet.
		if err := w.offsets.log.readToEnd(ctx); err != nil {
			return nil, fmt.Errorf("reading the offsets topic: %w", err)
		}
		offs := w.offsets.all(name)
		sort.Slice(offs, func(i, j int) bool { return canonical(offs[i].Partition) < canonical(offs[j].Partition) })
		for _, o := range offs {
			out = append(out, OffsetEntry{Partition: o.Partition, Offset: o.Offset})
		}
		return out, nil
	case "sink":
		resp, err := w.adm.FetchOffsets(ctx, SinkGroup(c))
		if err != nil {
			if errors.Is(err, kerr.GroupIDNotFound) {
				return out, nil
			}
			return nil, fmt.Errorf("fetching the offsets of consumer group %s: %w", SinkGroup(c), err)
		}
		resp.Each(func(o kadm.OffsetResponse) {
			if o.Err != nil || o.At < 0 {
				return
			}
			out = append(out, OffsetEntry{
				Partition: map[string]any{OffsetKafkaTopic: o.Topic, OffsetKafkaPartition: o.Partition},
				Offset:    map[string]any{OffsetKafkaOffset: o.At},
			})
		})
		sort.Slice(out, func(i, j int) bool {
			a, b := out[i].Partition, out[j].Partition
			if a[OffsetKafkaTopic] != b[OffsetKafkaTopic] {
				return a[OffsetKafkaTopic].(string) < b[OffsetKafkaTopic].(string)
			}
			return a[OffsetKafkaPartition].(int32) < b[OffsetKafkaPartition].(int32)
		})
		return out, nil
	}
	return nil, fmt.Errorf("cannot read the offsets of connector %s: its connector.class %q is not a known source or sink", name, c.Config["connector.class"])
}

// Offset alteration messages, Kafka Connect's wording (Spur connectors keep
// no offsets outside the framework, but a connector may write elsewhere).
const (
	MsgOffsetsAltered = "The Connect framework-managed offsets for this connector have been altered successfully. " +
		"However, if this connector manages offsets externally, they will need to be manually altered in the system that the connector uses."
	MsgOffsetsReset = "The Connect framework-managed offsets for this connector have been reset successfully. " +
		"However, if this connector manages offsets externally, they will need to be manually reset in the system that the connector uses."
)

// offsetsPrecondition checks, on the leader with the config topic read to
// the end, that the connector exists and is STOPPED with no tasks.
func (w *Worker) offsetsPrecondition(ctx context.Context, name string) (*ConnectorConfig, error) {
	if err := w.requireLeader(); err != nil {
		return nil, err
	}
	if err := w.configs.log.readToEnd(ctx); err != nil {
		return nil, err
	}
	c, ok := w.configs.snapshot().Connectors[name]
	if !ok {
		return nil, fmt.Errorf("Connector %s not found: %w", name, ErrNotFound)
	}
	if c.Target != TargetStopped || len(c.Tasks) > 0 {
		return nil, fmt.Errorf("Connectors must be in the STOPPED state before their offsets can be modified. "+
			"This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/%s/stop' endpoint: %w", name, ErrBadRequest)
	}
	return c, nil
}

func badOffsets(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, ErrBadRequest)...)
}

// AlterOffsets writes offsets for a STOPPED connector (leader only). A nil
// offset resets that partition. It returns Kafka Connect's success message.
func (w *Worker) AlterOffsets(ctx context.Context, name string, entries []OffsetEntry) (string, error) {
	c, err := w.offsetsPrecondition(ctx, name)
	if err != nil {
		return "", err
	}
	if len(entries) == 0 {
		return "", badOffsets("Partitions / offsets need to be provided for an alter offsets request")
	}
	switch w.ConnectorType(name) {
	case "sink":
		commit, del := kadm.Offsets{}, kadm.TopicsSet{}
		for _, e := range entries {
			topic, part, err := sinkPartition(e.Partition)
			if err != nil {
				return "", err
			}
			if e.Offset == nil {
				del.Add(topic, part)
				continue
			}
			off, err := sinkOffset(e.Offset)
			if err != nil {
				return "", err
			}
			commit.Add(kadm.Offset{Topic: topic, Partition: part, At: off, LeaderEpoch: -1})
		}
		group := SinkGroup(c)
		if len(commit) > 0 {
			resp, err := w.adm.CommitOffsets(ctx, group, commit)
			if err == nil {
				err = resp.Error()
			}
			if err != nil {
				return "", fmt.Errorf("failed to alter the offsets of consumer group %s: %w", group, err)
			}
		}
		if len(del) > 0 {
			resp, err := w.adm.DeleteOffsets(ctx, group, del)
			if err == nil {
				err = resp.Error()
			}
			if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
				return "", fmt.Errorf("failed to reset offsets of consumer group %s: %w", group, err)
			}
		}
		return MsgOffsetsAltered, nil
	case "source":
		var offs []sourceOffset
		for _, e := range entries {
			if e.Partition == nil {
				return "", badOffsets("Source partitions may not be null")
			}
			if err := primitiveMap("partition", e.Partition); err != nil {
				return "", err
			}
			if e.Offset != nil {
				if err := primitiveMap("offset", e.Offset); err != nil {
					return "", err
				}
			}
			offs = append(offs, sourceOffset{Partition: e.Partition, Offset: e.Offset})
		}
		if err := w.offsets.put(ctx, name, offs); err != nil {
			return "", err
		}
		if err := w.offsets.log.readToEnd(ctx); err != nil {
			return "", err
		}
		return MsgOffsetsAltered, nil
	}
	return "", fmt.Errorf("cannot alter the offsets of connector %s: its connector.class %q is not a known source or sink", name, c.Config["connector.class"])
}

// ResetOffsets removes every offset of a STOPPED connector (leader only):
// tombstones for a source, the consumer group for a sink.
func (w *Worker) ResetOffsets(ctx context.Context, name string) (string, error) {
	c, err := w.offsetsPrecondition(ctx, name)
	if err != nil {
		return "", err
	}
	switch w.ConnectorType(name) {
	case "sink":
		group := SinkGroup(c)
		resp, err := w.adm.DeleteGroup(ctx, group)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
			return "", fmt.Errorf("failed to delete consumer group %s: %w", group, err)
		}
		return MsgOffsetsReset, nil
	case "source":
		var offs []sourceOffset
		for _, o := range w.offsets.all(name) {
			offs = append(offs, sourceOffset{Partition: o.Partition})
		}
		if err := w.offsets.put(ctx, name, offs); err != nil {
			return "", err
		}
		if err := w.offsets.log.readToEnd(ctx); err != nil {
			return "", err
		}
		return MsgOffsetsReset, nil
	}
	return "", fmt.Errorf("cannot reset the offsets of connector %s: its connector.class %q is not a known source or sink", name, c.Config["connector.class"])
}

func sinkPartition(p map[string]any) (string, int32, error) {
	if p == nil {
		return "", 0, badOffsets("The partition for a sink connector offset cannot be null or missing")
	}
	topic, ok1 := p[OffsetKafkaTopic].(string)
	part, ok2 := p[OffsetKafkaPartition]
	if !ok1 || !ok2 || topic == "" {
		return "", 0, badOffsets("The partition for a sink connector offset must contain the keys '%s' and '%s'", OffsetKafkaTopic, OffsetKafkaPartition)
	}
	n, err := integer(part)
	if err != nil || n < 0 || n > 1<<31-1 {
		return "", 0, badOffsets("Failed to parse the following Kafka partition value in the provided offsets: '%v'. Partition values for sink connectors need to be integers.", part)
	}
	return topic, int32(n), nil
}

func sinkOffset(o map[string]any) (int64, error) {
	v, ok := o[OffsetKafkaOffset]
	if !ok {
		return 0, badOffsets("The offset for a sink connector should either be null or contain the key '%s'", OffsetKafkaOffset)
	}
	n, err := integer(v)
	if err != nil || n < 0 {
		return 0, badOffsets("Failed to parse the following Kafka offset value in the provided offsets: '%v'. Offset values for sink connectors need to be non-negative integers.", v)
	}
	return n, nil
}

// integer accepts JSON numbers (as decoded with or without UseNumber) and
// numeric strings, as Kafka Connect does.
func integer(v any) (int64, error) {
	switch x := v.(type) {
	case json.Number:
		return strconv.ParseInt(x.String(), 10, 64)
	case float64:
		if x != float64(int64(x)) {
			return 0, errors.New("not an integer")
		}
		return int64(x), nil
	case int64:
		return x, nil
	case int32:
		return int64(x), nil
	case int:
		return int64(x), nil
	case string:
		return strconv.ParseInt(strings.TrimSpace(x), 10, 64)
	}
	return 0, errors.New("not an integer")
}

func primitiveMap(what string, m map[string]any) error {
	for k, v := range m {
		switch v.(type) {
		case nil, string, bool, json.Number, float64, int64, int32, int:
		default:
			return badOffsets("Source %s values must be primitives (string, number, boolean or null); the value of %q is not", what, k)
		}
	}
	return nil
}
