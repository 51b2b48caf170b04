package file

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/connectors/datagen"
)

// BenchmarkSinkPut writes tracking events (~700 bytes of JSON each) in
// batches of 500 and flushes (fsync, then ack) every 10,000 records, as a
// runtime with a short commit interval would. MB/s counts the lines.
func BenchmarkSinkPut(b *testing.B) {
	const batch, flushEvery = 500, 10000
	values := make([]connect.Data, 1000)
	var size int64
	for i := range values {
		v, _ := datagen.AppendEvent(nil, 0, 0, int64(i))
		values[i] = connect.RawData(connect.FormatJSON, v)
		size += int64(len(v) + 1)
	}
	tk, sc := startSink(b, filepath.Join(b.TempDir(), "out.jsonl"))
	recs := make([]*connect.Record, batch)
	for i := range recs {
		recs[i] = &connect.Record{}
	}
	b.SetBytes(size / int64(len(values)))
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n += batch {
		m := min(batch, b.N-n)
		for i := 0; i < m; i++ {
			*recs[i] = connect.Record{Topic: "events", Value: values[(n+i)%len(values)]}
		}
		if err := tk.Put(context.Background(), sc.Track(recs[:m]...)); err != nil {
			b.Fatal(err)
		}
		if (n+m)%flushEvery == 0 {
			if err := tk.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tk.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
}

// BenchmarkSourceRead reads a file of tracking events as JSON lines:
// splitting, validating and copying each line into a record.
func BenchmarkSourceRead(b *testing.B) {
	path := filepath.Join(b.TempDir(), "in.jsonl")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	const lines = 20000
	var size int64
	for i := 0; i < lines; i++ {
		v, _ := datagen.AppendEvent(nil, 0, 0, int64(i))
		v = append(v, '\n')
		size += int64(len(v))
		if _, err := f.Write(v); err != nil {
			b.Fatal(err)
		}
	}
	f.Close()
	b.SetBytes(size / lines)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; {
		b.StopTimer()
		tk := startSource(b, newSourceContext(), sourceConfig(path, "file.format", "json"))
		b.StartTimer()
		for n < b.N {
			recs, err := tk.read(time.Now())
			if err != nil {
				b.Fatal(err)
			}
			if len(recs) == 0 {
				break
			}
			n += len(recs)
		}
		b.StopTimer()
		tk.Stop(context.Background())
		b.StartTimer()
	}
}
