package connect

import (
	"time"
)

// Header is one Kafka record header. Value nil means a null header value.
type Header struct {
	Key   string
	Value []byte
}

// Headers are a record's headers in order; a key may repeat, as in Kafka.
type Headers []Header

// Get returns the value of the last header named key.
func (h Headers) Get(key string) ([]byte, bool) {
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Key == key {
			return h[i].Value, true
		}
	}
	return nil, false
}

// Add appends a header.
func (h *Headers) Add(key string, value []byte) { *h = append(*h, Header{key, value}) }

// Set replaces every header named key with one header.
func (h *Headers) Set(key string, value []byte) {
	h.Del(key)
	h.Add(key, value)
}

// Del removes every header named key.
func (h *Headers) Del(key string) {
	out := (*h)[:0]
	for _, x := range *h {
		if x.Key != key {
			out = append(out, x)
		}
	}
	*h = out
}

// Record is one message on its way through a connector: consumed from Kafka
// for a sink, or produced by a source task for Kafka.
type Record struct {
	Topic     string
	Partition int32 // -1 on a source record: let the producer choose
	Offset    int64 // Kafka offset; meaningless on a source record
	Timestamp time.Time
	Key       Data
	Value     Data
	Headers   Headers

	// SourcePartition and SourceOffset say where a source record came from
	// (for example {"filename": "/x"} and {"position": 30}). The runtime stores
	// the offset once Kafka acknowledged the record and hands it back to the
	// task on restart. Both maps hold only string keys and primitive values.
	SourcePartition map[string]any
	SourceOffset    map[string]any

	acker Acker
	seq   uint64
}

// Acker receives a sink record's acknowledgement. The runtime installs one
// on every record it hands to SinkTask.Put.
type Acker interface {
	Ack(seq uint64)
}

// SetAcker attaches the runtime's acknowledgement target. Connectors never call it.
func (r *Record) SetAcker(a Acker, seq uint64) { r.acker, r.seq = a, seq }

// Acker returns the acknowledgement target and sequence set by SetAcker,
// so the runtime can find its bookkeeping for a record a task reports.
func (r *Record) Acker() (Acker, uint64) { return r.acker, r.seq }

// Ack tells the runtime that the target durably accepted this record (or
// that the task deliberately dropped it), so its offset may be committed.
// A sink task must ack every record it was given exactly once, in any order,
// from any goroutine. A record that is never acked holds back the offset of
// its partition: on restart it and everything after it is delivered again.
func (r *Record) Ack() {
	if r.acker != nil {
		r.acker.Ack(r.seq)
	}
}

// AckAll acks every record of a batch.
func AckAll(records []*Record) {
	for _, r := range records {
		r.Ack()
	}
}

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Coordinates renders "topic/partition@offset" for error messages.
func (r *Record) Coordinates() string {
	return r.Topic + "/" + itoa(int64(r.Partition)) + "@" + itoa(r.Offset)
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
