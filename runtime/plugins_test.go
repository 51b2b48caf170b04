package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/spur-connect/spur/connect"
)

// seqSource emits {"n":i} for i in [0,count) on a topic, remembering i as
// its source offset, so a restarted task continues where it stopped.
type seqSource struct {
	topic string
	next  int64
	count int64
}

var seqSpec = connect.NewSpec(
	connect.ConfigKey{Name: "topic", Required: true},
	connect.ConfigKey{Name: "count", Type: connect.TypeLong, Default: "1000"},
	// task.count, when set, is the task's count: a bad one lets a test
	// make the task fail to build while the connector is valid.
	connect.ConfigKey{Name: "task.count"},
)

type seqConnector struct{}

func (seqConnector) Validate(connect.Config) []connect.KeyError { return nil }
func (seqConnector) TaskConfigs(cfg connect.Config, max int) ([]map[string]string, error) {
	tc := map[string]string{"topic": cfg.String("topic")}
	if n := cfg.String("task.count"); n != "" {
		tc["count"] = n
	}
	return []map[string]string{tc}, nil
}

func (s *seqSource) Start(_ context.Context, cfg connect.Config, sc connect.SourceContext) error {
	s.topic, s.count = cfg.String("topic"), cfg.Int("count")
	if off := sc.Offset(map[string]any{"seq": "0"}); off != nil {
		n, err := strconv.ParseInt(fmt.Sprint(off["next"]), 10, 64)
		if err != nil {
			return err
		}
		s.next = n
	}
	return nil
}

func (s *seqSource) Poll(ctx context.Context) ([]*connect.Record, error) {
	if s.next >= s.count {
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
		return nil, nil
	}
	var out []*connect.Record
	for ; s.next < s.count && len(out) < 100; s.next++ {
		out = append(out, &connect.Record{
			Topic: s.topic, Partition: -1,
			Key:             connect.RawData(connect.FormatString, []byte(strconv.FormatInt(s.next, 10))),
			Value:           connect.RawData(connect.FormatJSON, []byte(fmt.Sprintf(`{"n":%d}`, s.next))),
			SourcePartition: map[string]any{"seq": "0"},
			SourceOffset:    map[string]any{"next": s.next + 1},
		})
	}
	return out, nil
}

func (s *seqSource) Commit(context.Context, *connect.Record) error { return nil }
func (s *seqSource) Stop(context.Context) error                    { return nil }

// memStore collects what memSink tasks delivered.
type memStore struct {
	mu     sync.Mutex
	seen   map[int64]int // n -> deliveries
	starts map[int]int   // task -> starts
	// ackOnFlush makes tasks ack only in Flush, as sinks that batch do.
	ackOnFlush bool
	fail       func(r *connect.Record) error
	maxPut     int // the most records one Put received
}

func newMemStore() *memStore { return &memStore{seen: map[int64]int{}, starts: map[int]int{}} }

func (m *memStore) startsOf(task int) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.starts[task]
}

func (m *memStore) counts() (distinct, total int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.seen {
		distinct++
		total += c
	}
	return
}

type memSink struct {
	store   *memStore
	sc      connect.SinkContext
	pending []*connect.Record // ackOnFlush: acked by Flush, like the file sink
}

func (s *memSink) Start(_ context.Context, _ connect.Config, sc connect.SinkContext) error {
	s.sc = sc
	s.store.mu.Lock()
	s.store.starts[sc.Task()]++
	s.store.mu.Unlock()
	return nil
}

func (s *memSink) Put(ctx context.Context, recs []*connect.Record) error {
	s.store.mu.Lock()
	s.store.maxPut = max(s.store.maxPut, len(recs))
	s.store.mu.Unlock()
	for _, r := range recs {
		if s.store.fail != nil {
			if err := s.store.fail(r); err != nil {
				if rerr := s.sc.Report(ctx, r, err); rerr != nil {
					return rerr
				}
				continue
			}
		}
		v, err := r.Value.Value()
		if err != nil {
			return err
		}
		n, _ := v.(map[string]any)["n"].(json.Number).Int64()
		s.store.mu.Lock()
		s.store.seen[n]++
		s.store.mu.Unlock()
		if s.store.ackOnFlush {
			s.pending = append(s.pending, r)
		} else {
			r.Ack()
		}
	}
	return nil
}

func (s *memSink) Flush(context.Context) error {
	connect.AckAll(s.pending)
	s.pending = s.pending[:0]
	return nil
}
func (s *memSink) Stop(context.Context) error { return nil }

type memSinkConnector struct{}

func (memSinkConnector) Validate(connect.Config) []connect.KeyError { return nil }
func (memSinkConnector) TaskConfigs(cfg connect.Config, max int) ([]map[string]string, error) {
	out := make([]map[string]string, max)
	for i := range out {
		out[i] = map[string]string{}
	}
	return out, nil
}

func testRegistry(store *memStore) *connect.Registry {
	reg := connect.NewRegistry()
	reg.MustRegister(ConverterPlugins()...)
	reg.MustRegister(
		&connect.Plugin{Class: "test.SeqSourceConnector", Aliases: []string{"seq"}, Type: connect.PluginSource, Spec: seqSpec,
			NewConnector: func() connect.Connector { return seqConnector{} }, NewSourceTask: func() connect.SourceTask { return &seqSource{} }},
		&connect.Plugin{Class: "test.MemSinkConnector", Aliases: []string{"mem"}, Type: connect.PluginSink, Spec: connect.NewSpec(),
			NewConnector: func() connect.Connector { return memSinkConnector{} }, NewSinkTask: func() connect.SinkTask { return &memSink{store: store} }},
	)
	return reg
}
