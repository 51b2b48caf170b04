package httpsink

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/connect/connecttest"
)

// BenchmarkPutFlush measures records through Put+Flush into a local
// httptest server that reads (and gunzips) every body. b.N counts records;
// MB/s is of record value bytes.
//
//	go test -run XXX -bench PutFlush -benchmem ./connectors/httpsink/
func BenchmarkPutFlush(b *testing.B) {
	for _, bc := range []struct {
		name   string
		format connect.Format
		kv     []string
	}{
		{"json-array", connect.FormatJSON, []string{keyBodyFormat, "json"}},
		{"json-array-gzip", connect.FormatJSON, []string{keyBodyFormat, "json", keyCompression, "gzip"}},
		{"envelope-gzip", connect.FormatJSON, []string{keyBodyFormat, "json", keyCompression, "gzip", keyEnvelope, `{"api_key":"k","events":"${records}"}`}},
		{"ndjson", connect.FormatJSON, []string{keyBodyFormat, "ndjson"}},
		{"string-values-spliced", connect.FormatString, []string{keyBodyFormat, "json"}},
		{"string-values-quoted", connect.FormatString, []string{keyBodyFormat, "json", keyJSONStrings, "quote"}},
		{"grouped-by-value-field", connect.FormatJSON, []string{keyBodyFormat, "json", keyEnvelope, `{"client_id":"${value.user}","events":"${records}"}`}},
	} {
		b.Run(bc.name, func(b *testing.B) { benchPutFlush(b, bc.format, bc.kv) })
	}
}

func benchPutFlush(b *testing.B, format connect.Format, kv []string) {
	var received atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				w.WriteHeader(400)
				return
			}
			body = zr
		}
		n, _ := io.Copy(io.Discard, body)
		received.Add(n)
	}))
	defer srv.Close()

	raw := map[string]string{keyURL: srv.URL, keyMaxSize: "500", keyMaxBytes: "1048576", keyInFlight: "4"}
	for i := 0; i+1 < len(kv); i += 2 {
		raw[kv[i]] = kv[i+1]
	}
	c, errs := Spec().Parse(raw)
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	sc := &connecttest.SinkContext{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	task := NewTask()
	if err := task.Start(context.Background(), c, sc); err != nil {
		b.Fatal(err)
	}
	defer task.Stop(context.Background())

	// ~300-byte tracking events, as JsonConverter hands them over.
	const batch = 500
	values := make([][]byte, 4096)
	size := 0
	for i := range values {
		values[i] = []byte(fmt.Sprintf(`{"type":"track","event":"Product Viewed","user":"u%04d","messageId":"m-%08d","timestamp":"2026-11-21T10:00:00.000Z","properties":{"sku":"SKU-%06d","price":%d.99,"currency":"EUR","name":"Thing \u00fc %d","tags":["a","b"]},"context":{"ip":"10.0.0.1","locale":"de-DE"}}`, i%64, i, i*7, i%500, i))
		size += len(values[i])
	}
	b.SetBytes(int64(size / len(values)))
	recs := make([]connect.Record, batch)
	ptrs := make([]*connect.Record, batch)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var off int64
	for done := 0; done < b.N; {
		n := min(batch, b.N-done)
		for i := 0; i < n; i++ {
			recs[i] = connect.Record{Topic: "tracking", Partition: int32(off % 6), Offset: off,
				Value: connect.RawData(format, values[int(off)%len(values)])}
			ptrs[i] = &recs[i]
			off++
		}
		if err := task.Put(ctx, ptrs[:n]); err != nil {
			b.Fatal(err)
		}
		// Put with batch.linger.ms=0 seals at its end; the runtime calls
		// Flush on its commit interval, here every 20 Puts.
		if (done/batch)%20 == 19 {
			if err := task.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
		done += n
	}
	if err := task.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
	if received.Load() == 0 {
		b.Fatal("server received nothing")
	}
}
