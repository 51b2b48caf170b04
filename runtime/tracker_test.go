package runtime

import (
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestTrackerCommitsTheAckedPrefix acks records in random order, in bursts
// of adds and acks (so the buffer is reused, moved down and grown), and
// checks after every ack that the commit point is the offset after the
// longest acknowledged prefix and that the outstanding count is right, and
// after every burst that every unreleased seq, and no released one, still
// finds its original record.
func TestTrackerCommitsTheAckedPrefix(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, seed))
		var total atomic.Int64
		p := newPartTracker(&total)
		type rec struct {
			seq   uint64
			kr    *kgo.Record
			acked bool
		}
		var all []*rec
		released := 0 // all[:released] is the acknowledged prefix
		offset := int64(100)
		for round := 0; round < 50; round++ {
			for range rng.IntN(300) {
				kr := &kgo.Record{Offset: offset}
				offset += 1 + int64(rng.IntN(3)) // compacted topics have gaps
				all = append(all, &rec{seq: p.add(kr), kr: kr})
			}
			var open []*rec
			for _, r := range all[released:] {
				if !r.acked {
					open = append(open, r)
				}
			}
			rng.Shuffle(len(open), func(i, j int) { open[i], open[j] = open[j], open[i] })
			for _, r := range open[:rng.IntN(len(open)+1)] {
				p.Ack(r.seq)
				p.Ack(r.seq) // a second ack changes nothing
				r.acked = true
				for released < len(all) && all[released].acked {
					released++
				}
				if got, _ := p.toCommit(); released > 0 && got != all[released-1].kr.Offset+1 {
					t.Fatalf("seed %d: commit %d, want %d", seed, got, all[released-1].kr.Offset+1)
				}
				if want := int64(len(all) - released); total.Load() != want {
					t.Fatalf("seed %d: %d outstanding, want %d", seed, total.Load(), want)
				}
			}
			for i, r := range all {
				got := p.original(r.seq)
				if i < released && got != nil {
					t.Fatalf("seed %d: released seq %d still has its record", seed, r.seq)
				}
				if i >= released && got != r.kr {
					t.Fatalf("seed %d: seq %d: original is %v, want offset %d", seed, r.seq, got, r.kr.Offset)
				}
			}
		}
		// Acks of seqs never handed out are ignored.
		p.Ack(1 << 40)
		p.release()
		if total.Load() != 0 {
			t.Fatalf("seed %d: %d outstanding after release", seed, total.Load())
		}
	}
}

// BenchmarkTracker adds and acks in windows, as a sink task does.
func BenchmarkTracker(b *testing.B) {
	var total atomic.Int64
	p := newPartTracker(&total)
	recs := make([]kgo.Record, 500)
	seqs := make([]uint64, 500)
	b.ReportAllocs()
	for b.Loop() {
		for i := range recs {
			recs[i].Offset++
			seqs[i] = p.add(&recs[i])
		}
		for _, s := range seqs {
			p.Ack(s)
		}
	}
}
