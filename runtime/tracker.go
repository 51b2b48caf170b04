package runtime

import (
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"
)

// partTracker follows the records of one partition from the moment they are
// handed to a sink task until they are acknowledged, and knows the offset
// that is safe to commit: the one after the longest prefix of acknowledged
// records. Acks may come in any order, from any goroutine.
type partTracker struct {
	mu        sync.Mutex
	base      uint64        // seq of pending[0]
	next      uint64        // seq of the next record added
	pending   []pendingRec  // records not yet released, in offset order
	commit    int64         // next offset to consume = safe commit point; -1 unknown
	committed int64         // last offset committed to Kafka
	total     *atomic.Int64 // outstanding records across the task
}

type pendingRec struct {
	offset int64
	acked  bool
	orig   *kgo.Record
}

func newPartTracker(total *atomic.Int64) *partTracker {
	return &partTracker{commit: -1, committed: -1, total: total}
}

// add registers a record about to be handed to the task and returns its seq.
func (p *partTracker) add(r *kgo.Record) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.pending) == 0 {
		p.base = p.next
	}
	p.pending = append(p.pending, pendingRec{offset: r.Offset, orig: r})
	p.next++
	p.total.Add(1)
	return p.next - 1
}

// Ack implements connect.Acker. Acks of unknown or already released records
// are ignored, so a task that acks twice cannot skip an offset.
func (p *partTracker) Ack(seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if seq < p.base || seq >= p.base+uint64(len(p.pending)) {
		return
	}
	i := seq - p.base
	if p.pending[i].acked {
		return
	}
	p.pending[i].acked = true
	n := 0
	for n < len(p.pending) && p.pending[n].acked {
		n++
	}
	if n == 0 {
		return
	}
	p.commit = p.pending[n-1].offset + 1
	clear(p.pending[:n]) // drop references to the original records
	p.pending = p.pending[n:]
	p.base += uint64(n)
	p.total.Add(-int64(n))
	if len(p.pending) == 0 {
		p.pending = nil // let the backing array go
	}
}

// original returns the consumed record behind a seq, for the DLQ.
func (p *partTracker) original(seq uint64) *kgo.Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	if seq < p.base || seq >= p.base+uint64(len(p.pending)) {
		return nil
	}
	return p.pending[seq-p.base].orig
}

// toCommit returns the offset to commit if it moved since the last commit.
func (p *partTracker) toCommit() (int64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.commit, p.commit >= 0 && p.commit != p.committed
}

func (p *partTracker) markCommitted(off int64) {
	p.mu.Lock()
	p.committed = off
	p.mu.Unlock()
}

// release forgets every pending record (the partition was revoked or lost).
func (p *partTracker) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total.Add(-int64(len(p.pending)))
	p.base += uint64(len(p.pending))
	p.pending = nil
}
