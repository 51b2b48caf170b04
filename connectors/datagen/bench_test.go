package datagen

import (
	"context"
	"testing"
	"time"

	"github.com/spur-connect/spur/connect/connecttest"
)

// BenchmarkPoll measures the connector as the runtime drives it: unpaced
// polls of 500 records. It reports records/s and MB/s of generated JSON.
func BenchmarkPoll(b *testing.B) {
	tk := newTask()
	cfg, errs := spec.Parse(map[string]string{"kafka.topic": "events"})
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	if err := tk.Start(context.Background(), cfg, &connecttest.SourceContext{Log: quiet}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var bytes int64
	start := time.Now()
	for n := 0; n < b.N; {
		recs, err := tk.Poll(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range recs {
			v, _ := r.Value.Raw()
			bytes += int64(len(v))
		}
		n += len(recs)
	}
	sec := time.Since(start).Seconds()
	b.ReportMetric(float64(b.N)/sec, "records/s")
	b.ReportMetric(float64(bytes)/1e6/sec, "MB/s")
	b.ReportMetric(float64(bytes)/float64(b.N), "B/record")
}

// BenchmarkAppendEvent measures the encoder alone into a reused buffer.
func BenchmarkAppendEvent(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 2048)
	var size int
	for i := 0; i < b.N; i++ {
		buf, _ = AppendEvent(buf[:0], 42, 0, int64(i))
		size += len(buf)
	}
	b.SetBytes(int64(size / max(b.N, 1)))
}
