package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/spur-connect/spur/connect"
	"github.com/twmb/franz-go/pkg/kgo"
)

// offsetStore keeps source offsets. Keys are Kafka Connect's
// ["<connector>", {partition}] and values the offset map, both JSON; keys
// are compared by their canonical form (maps marshal with sorted keys), so
// a key written by another implementation in another key order still matches.
type offsetStore struct {
	log *topicLog

	mu      sync.Mutex
	offsets map[string]map[string]sourceOffset // connector -> canonical partition -> offset
}

type sourceOffset struct {
	Partition map[string]any
	Offset    map[string]any
}

func newOffsetStore() *offsetStore {
	return &offsetStore{offsets: map[string]map[string]sourceOffset{}}
}

func (s *offsetStore) apply(r *kgo.Record) {
	var key []any
	dec := json.NewDecoder(bytes.NewReader(r.Key))
	dec.UseNumber()
	if dec.Decode(&key) != nil || len(key) != 2 {
		return
	}
	conn, ok1 := key[0].(string)
	part, ok2 := key[1].(map[string]any)
	if !ok1 || !ok2 {
		return // not ours to interpret, as Kafka Connect ignores such keys
	}
	ck := canonical(part)
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Value == nil {
		delete(s.offsets[conn], ck)
		return
	}
	v, err := connect.DecodeJSON(r.Value)
	off, ok := v.(map[string]any)
	if err != nil || !ok {
		return
	}
	if s.offsets[conn] == nil {
		s.offsets[conn] = map[string]sourceOffset{}
	}
	s.offsets[conn][ck] = sourceOffset{part, off}
}

func canonical(m map[string]any) string {
	b, _ := json.Marshal(m)
	return string(b)
}

func (s *offsetStore) get(conn string, partition map[string]any) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.offsets[conn][canonical(partition)].Offset
}

// all returns every stored offset of a connector.
func (s *offsetStore) all(conn string) []sourceOffset {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]sourceOffset, 0, len(s.offsets[conn]))
	for _, o := range s.offsets[conn] {
		out = append(out, o)
	}
	return out
}

// put writes offsets (nil offset = reset) and waits for the broker's ack.
func (s *offsetStore) put(ctx context.Context, conn string, offsets []sourceOffset) error {
	rs := make([]*kgo.Record, 0, len(offsets))
	for _, o := range offsets {
		k, err := json.Marshal([]any{conn, o.Partition})
		if err != nil {
			return fmt.Errorf("source partition %v of %s: %w", o.Partition, conn, err)
		}
		var v []byte
		if o.Offset != nil {
			if v, err = json.Marshal(o.Offset); err != nil {
				return fmt.Errorf("source offset %v of %s: %w", o.Offset, conn, err)
			}
		}
		rs = append(rs, &kgo.Record{Key: k, Value: v})
	}
	if len(rs) == 0 {
		return nil
	}
	return s.log.writeMany(ctx, rs)
}
