package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
)

// receiver is the HTTP endpoint the sink delivers to: it reads every body,
// gunzips it when it is gzipped, and counts the events in it (ground truth at
// the sink). It also counts the bytes on the wire (request bodies as sent)
// and after decompression.
//
// It counts the datagen events of a body by their first key, `{"event_id":`,
// which every event has exactly once and which cannot occur inside a JSON
// string (the quote would be escaped). bytes.Count finds it at several GB/s;
// the depth-tracking scan it replaced cost ~0.3 µs of the two shared cores per
// 354 B event, about a seventh of all the CPU a drain used, and so measured
// the receiver as much as the sink. -verify adds json.Valid and the scan, and
// counts a body whose two counts differ as bad.
type receiver struct {
	srv *http.Server
	url string

	records   atomic.Int64
	requests  atomic.Int64
	wireBytes atomic.Int64
	bodyBytes atomic.Int64
	bad       atomic.Int64 // bodies that were not a JSON array
	firstNano atomic.Int64 // arrival of the first request
	lastNano  atomic.Int64 // arrival of the request that reached want
	want      int64
	done      chan struct{}
	doneOnce  sync.Once
	verify    bool // json.Valid every body (costs receiver CPU)
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}
var gzPool sync.Pool

func newReceiver(want int64, verify bool) (*receiver, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{want: want, done: make(chan struct{}), verify: verify, url: "http://" + l.Addr().String() + "/ingest"}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(l)
	return r, nil
}

func (r *receiver) close() { r.srv.Close() }

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method == http.MethodHead {
		w.WriteHeader(200) // the Elasticsearch sink checking that its index exists
		return
	}
	now := time.Now().UnixNano()
	r.firstNano.CompareAndSwap(0, now)
	wire := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(wire)
	wire.Reset()
	if _, err := wire.ReadFrom(req.Body); err != nil {
		w.WriteHeader(400)
		return
	}
	r.wireBytes.Add(int64(wire.Len()))
	body := wire.Bytes()
	if req.Header.Get("Content-Encoding") == "gzip" {
		plain := bufPool.Get().(*bytes.Buffer)
		defer bufPool.Put(plain)
		plain.Reset()
		zr, _ := gzPool.Get().(*gzip.Reader)
		var err error
		if zr == nil {
			zr, err = gzip.NewReader(bytes.NewReader(body))
		} else {
			err = zr.Reset(bytes.NewReader(body))
		}
		if err == nil {
			_, err = plain.ReadFrom(zr)
			gzPool.Put(zr)
		}
		if err != nil {
			r.bad.Add(1)
			w.WriteHeader(400)
			return
		}
		body = plain.Bytes()
	}
	r.bodyBytes.Add(int64(len(body)))
	bulk := strings.HasSuffix(req.URL.Path, "/_bulk")
	var n int
	var ok bool
	if bulk {
		n, ok = countBulk(body)
	} else {
		n, ok = countEvents(body)
	}
	if r.verify && !bulk {
		m, arr := countArray(body)
		ok = ok && arr && m == n && json.Valid(body)
	}
	if !ok {
		r.bad.Add(1)
		w.WriteHeader(400)
		return
	}
	r.requests.Add(1)
	if total := r.records.Add(int64(n)); total >= r.want {
		r.doneOnce.Do(func() {
			r.lastNano.Store(time.Now().UnixNano())
			close(r.done)
		})
	}
	if bulk {
		// What Elasticsearch answers when every item succeeded; the sink
		// reads no further than "errors".
		w.Header().Set("Content-Type", "application/json")
		w.Write(bulkOK)
		return
	}
	w.WriteHeader(200)
}

var bulkOK = []byte(`{"took":1,"errors":false,"items":[]}`)

// countBulk counts the datagen events in an Elasticsearch bulk body
// (NDJSON: an action line, then the document).
func countBulk(b []byte) (int, bool) {
	if len(b) == 0 || b[len(b)-1] != '\n' {
		return 0, false
	}
	return bytes.Count(b, eventStart), true
}

var eventStart = []byte(`{"event_id":`)

// countEvents counts the datagen events in b, a JSON array of them.
func countEvents(b []byte) (int, bool) {
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return 0, false
	}
	return bytes.Count(b, eventStart), true
}

// countArray counts the elements of a JSON array of values by scanning
// for commas at depth 1 outside strings. It does not validate the JSON.
func countArray(b []byte) (int, bool) {
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return 0, false
	}
	if len(bytes.TrimSpace(b[1:len(b)-1])) == 0 {
		return 0, true
	}
	depth, commas := 0, 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			// Skip the string: find the closing quote not escaped.
			for {
				j := bytes.IndexByte(b[i+1:], '"')
				if j < 0 {
					return 0, false
				}
				i += j + 1
				bs := 0
				for k := i - 1; k >= 0 && b[k] == '\\'; k-- {
					bs++
				}
				if bs%2 == 0 {
					break
				}
			}
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		case ',':
			if depth == 1 {
				commas++
			}
		}
	}
	return commas + 1, depth == 0
}
