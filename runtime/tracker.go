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
	base      uint64       // seq of buf[head]
	next      uint64       // seq of the next record added
	buf       []pendingRec // buf[head:]: records not yet released, in offset order
	head      int
	commit    int64         // next offset to consume = safe commit point; -1 unknown
	committed int64         // last offset committed to Kafka
	total     *atomic.Int64 // outstanding records across the task
}

type pendingRec struct {
	offset int64
	acked  bool
	orig   *kgo.Record
}

// keepBuf is the largest buffer an idle tracker keeps for reuse.
const keepBuf = 4096

func newPartTracker(total *atomic.Int64) *partTracker {
	return &partTracker{commit: -1, committed: -1, total: total}
}

// add registers a record about to be handed to the task and returns its seq.
// The buffer is reused: released records at its front make room by moving
// the pending ones down rather than by growing a new array (which, record
// after record, was most of what the tracker allocated).
func (p *partTracker) add(r *kgo.Record) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.head == len(p.buf) {
		p.base, p.head, p.buf = p.next, 0, p.buf[:0]
	} else if len(p.buf) == cap(p.buf) && p.head >= len(p.buf)/2 {
		n := copy(p.buf, p.buf[p.head:])
		clear(p.buf[n:]) // drop references to the original records
		p.head, p.buf = 0, p.buf[:n]
	}
	p.buf = append(p.buf, pendingRec{offset: r.Offset, orig: r})
	p.next++
	p.total.Add(1)
	return p.next - 1
}

// Ack implements connect.Acker. Acks of unknown or already released records
// are ignored, so a task that acks twice cannot skip an offset.
func (p *partTracker) Ack(seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pending := p.buf[p.head:]
	if seq < p.base || seq >= p.base+uint64(len(pending)) {
		return
	}
	i := seq - p.base
	if pending[i].acked {
		return
	}
	pending[i].acked = true
	n := 0
	for n < len(pending) && pending[n].acked {
		n++
	}
	if n == 0 {
		return
	}
	p.commit = pending[n-1].offset + 1
	clear(pending[:n]) // drop references to the original records
	p.head += n
	p.base += uint64(n)
	p.total.Add(-int64(n))
	if p.head == len(p.buf) {
		p.head, p.buf = 0, p.buf[:0]
		if cap(p.buf) > keepBuf {
			p.buf = nil // let a burst's large array go
		}
	}
}

// original returns the consumed record behind a seq, for the DLQ.
func (p *partTracker) original(seq uint64) *kgo.Record {
	p.mu.Lock()
	defer p.mu.Unlock()
	pending := p.buf[p.head:]
	if seq < p.base || seq >= p.base+uint64(len(pending)) {
		return nil
	}
	return pending[seq-p.base].orig
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
	n := len(p.buf) - p.head
	p.total.Add(-int64(n))
	p.base += uint64(n)
	p.head, p.buf = 0, nil
}
