package api

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// benchStatus prepares a running connector with 4 tasks on the shared
// cluster and returns the follower (reads are served locally anywhere).
func benchStatus(b *testing.B) *node {
	c := shared(b)
	if r := call(b, "GET", c.leader().url+"/connectors/bench/status", ""); r.code != 200 {
		createOK(b, c.leader(), "bench", map[string]string{"connector.class": "datagen", "kafka.topic": "bench", "iterations": "1", "tasks.max": "4"})
	}
	return c.follower()
}

// BenchmarkStatusHandler: GET /connectors/{n}/status through the handler
// (routing, middleware, status store, JSON), one goroutine.
func BenchmarkStatusHandler(b *testing.B) {
	h := benchStatus(b).srv.Handler()
	req := httptest.NewRequest("GET", "/connectors/bench/status", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code, rec.Body.String())
		}
	}
}

// BenchmarkStatusHandlerParallel: the same from GOMAXPROCS goroutines.
func BenchmarkStatusHandlerParallel(b *testing.B) {
	h := benchStatus(b).srv.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest("GET", "/connectors/bench/status", nil)
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Error(rec.Code)
				return
			}
		}
	})
}

// BenchmarkStatusHTTP: over a loopback TCP connection (keep-alive), for
// the cost of the network stack on top.
func BenchmarkStatusHTTP(b *testing.B) {
	url := benchStatus(b).url + "/connectors/bench/status"
	cl := &http.Client{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := cl.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatal(resp.StatusCode)
		}
	}
}
