package httpsink

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/connect/connecttest"
)

func TestRejectedRecords(t *testing.T) {
	for _, tc := range []struct {
		name, format, body string
		n                  int
		want               []int
	}{
		{"amplitude invalid and missing fields", "amplitude",
			`{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"time":[3,1]},"events_with_missing_fields":{"event_type":[3,4]}}`, 5, []int{1, 3, 4}},
		{"amplitude id lengths", "amplitude",
			`{"code":400,"error":"Invalid id length for user_id or device_id","events_with_invalid_id_lengths":{"user_id":[0],"device_id":[2]}}`, 3, []int{0, 2}},
		{"amplitude without a list", "amplitude", `{"code":400,"error":"Request missing required field","missing_field":"api_key"}`, 5, nil},
		{"amplitude index past the request", "amplitude", `{"events_with_invalid_fields":{"time":[1,5]}}`, 5, nil},
		{"amplitude negative index", "amplitude", `{"events_with_invalid_fields":{"time":[-1]}}`, 5, nil},
		{"not JSON", "amplitude", `Bad Request`, 5, nil},
		{"mixpanel failed records", "mixpanel",
			`{"code":400,"error":"some data points in the request failed validation","failed_records":[{"index":4,"$insert_id":"b","field":"properties.time","message":"'properties.time' is invalid"},{"index":0,"$insert_id":"a","field":"event","message":"'event' must not be empty"}],"num_records_imported":3,"status":"Bad Request"}`,
			5, []int{0, 4}},
		{"mixpanel record without an index", "mixpanel", `{"failed_records":[{"$insert_id":"a"}]}`, 5, nil},
		{"mixpanel without failed_records", "mixpanel", `{"code":400,"error":"invalid JSON","status":"Bad Request"}`, 5, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rejectedRecords(tc.format, []byte(tc.body), tc.n); !slices.Equal(got, tc.want) {
				t.Fatalf("rejectedRecords = %v, want %v", got, tc.want)
			}
		})
	}
}

// amplitudeBody parses an Amplitude HTTP V2 request body and returns its
// api_key and the "event" field of each event.
func amplitudeBody(t *testing.T, b []byte) (string, []string) {
	t.Helper()
	var body struct {
		APIKey string `json:"api_key"`
		Events []struct {
			Event string `json:"event"`
		} `json:"events"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("body %s: %v", b, err)
	}
	var events []string
	for _, e := range body.Events {
		events = append(events, e.Event)
	}
	return body.APIKey, events
}

// settled checks how many requests the server got, which offsets went to
// Report, and that every record was acknowledged exactly once.
func settled(t *testing.T, rec *recorder, sc *connecttest.SinkContext, requests int, reported ...int64) {
	t.Helper()
	if n := len(rec.requests()); n != requests {
		t.Fatalf("%d requests, want %d", n, requests)
	}
	if got := reportedOffsets(sc); !slices.Equal(got, reported) {
		t.Fatalf("reported offsets %v, want %v", got, reported)
	}
	if sc.Unacked() != 0 || sc.DoubleAcked() != 0 {
		t.Fatalf("unacked %d, acked twice %d", sc.Unacked(), sc.DoubleAcked())
	}
}

func reportedOffsets(sc *connecttest.SinkContext) []int64 {
	var offs []int64
	for _, r := range sc.Reports() {
		offs = append(offs, r.Record.Offset)
	}
	return offs
}

// Amplitude answers 400 listing the events it refused and ingests none: the
// listed ones go to Report, the others are sent again (gzipped, in the same
// envelope, under an idempotency key of their own) and acknowledged.
func TestAmplitudeRejectedEventsGoToReportAndTheRestIsSentAgain(t *testing.T) {
	rec := newRecorder(t, func(n int, r *received, w http.ResponseWriter) {
		if n == 0 {
			http.Error(w, `{"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"time":[1,3]},"events_with_missing_fields":{"event_type":[3]}}`, http.StatusBadRequest)
		}
	})
	task, sc := startTask(t, cfg(rec.URL+"/2/httpapi", keyBodyFormat, "json", keyMaxSize, "5", keyCompression, "gzip",
		keyEnvelope, `{"api_key": "amp_key", "events": "${records}"}`, keyPartial, "amplitude", keyIdempotency, "Idempotency-Key"))
	put(t, task, sc, events("t", 5, 1)...)
	flush(t, task)
	settled(t, rec, sc, 2, 1, 3)
	reqs := rec.requests()
	if _, first := amplitudeBody(t, reqs[0].Body); !slices.Equal(first, []string{"e0", "e1", "e2", "e3", "e4"}) {
		t.Fatalf("first request held %v", first)
	}
	key, again := amplitudeBody(t, reqs[1].Body)
	if key != "amp_key" || !slices.Equal(again, []string{"e0", "e2", "e4"}) {
		t.Fatalf("second request: api_key %q, events %v; want amp_key, [e0 e2 e4]", key, again)
	}
	if reqs[1].Header.Get("Content-Encoding") != "gzip" {
		t.Error("the request sent again is not gzipped")
	}
	if k0, k1 := reqs[0].Header.Get("Idempotency-Key"), reqs[1].Header.Get("Idempotency-Key"); k0 == "" || k0 == k1 {
		t.Errorf("idempotency keys %q and %q: the second request holds other records and needs its own", k0, k1)
	}
	var de *DeliveryError
	err := sc.Reports()[0].Err
	if !errors.As(err, &de) || de.Status != 400 || !strings.Contains(de.Body, "events_with_invalid_fields") ||
		!strings.Contains(err.Error(), "amplitude rejected 2 of the request's 5 records") {
		t.Fatalf("report error: %v", err)
	}
}

// Mixpanel's /import?strict=1 imports the valid records of a 400: only the
// failed ones go to Report, and nothing is sent again.
func TestMixpanelFailedRecordsGoToReport(t *testing.T) {
	rec := newRecorder(t, func(n int, r *received, w http.ResponseWriter) {
		http.Error(w, `{"code":400,"error":"some data points in the request failed validation","failed_records":[{"index":2,"$insert_id":"x","field":"properties.time","message":"'properties.time' is invalid"}],"num_records_imported":4,"status":"Bad Request"}`, http.StatusBadRequest)
	})
	task, sc := startTask(t, cfg(rec.URL+"/import?strict=1", keyBodyFormat, "json", keyMaxSize, "5", keyPartial, "mixpanel"))
	put(t, task, sc, events("t", 5, 1)...)
	flush(t, task)
	settled(t, rec, sc, 1, 2)
}

// A 400 that lists no records, or an index the request does not have, fails
// the whole request as without partial.failure.format.
func TestPartialFailureWithoutAListFailsTheWholeRequest(t *testing.T) {
	for _, tc := range []struct{ format, body string }{
		{"amplitude", `{"code":400,"error":"Request missing required field","missing_field":"api_key"}`},
		{"amplitude", `{"code":400,"events_with_invalid_fields":{"time":[7]}}`},
		{"mixpanel", `{"code":400,"error":"invalid api key","status":"Bad Request"}`},
	} {
		t.Run(tc.format, func(t *testing.T) {
			rec := newRecorder(t, func(n int, r *received, w http.ResponseWriter) {
				http.Error(w, tc.body, http.StatusBadRequest)
			})
			task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keyMaxSize, "5", keyPartial, tc.format))
			put(t, task, sc, events("t", 5, 1)...)
			flush(t, task)
			settled(t, rec, sc, 1, 0, 1, 2, 3, 4)
		})
	}
}

// When the request sent again fails too, its records take the error path
// with the rejected ones, each set with its own cause in the error.
func TestAmplitudeRequestSentAgainFails(t *testing.T) {
	rec := newRecorder(t, func(n int, r *received, w http.ResponseWriter) {
		if n == 0 {
			http.Error(w, `{"code":400,"events_with_missing_fields":{"event_type":[0]}}`, http.StatusBadRequest)
			return
		}
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	})
	task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keyMaxSize, "3", keyPartial, "amplitude",
		keyMaxRetries, "1", keyBackoff, "1"))
	put(t, task, sc, events("t", 3, 1)...)
	flush(t, task)
	settled(t, rec, sc, 3, 0, 1, 2) // the batch, the rest, one retry of the rest
	msg := sc.Reports()[0].Err.Error()
	for _, want := range []string{"amplitude rejected 1 of the request's 3 records", "the other 2 records", "status 503"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
}

// The key names exactly the records: a subset of a request's records (the
// ones sent again after a partial rejection) never gets the request's key.
func TestIdempotencyKeyNamesExactlyTheRecords(t *testing.T) {
	at := func(p int32, offs ...int64) []*connect.Record {
		var out []*connect.Record
		for _, o := range offs {
			out = append(out, jsonRec("t", p, o, `{}`))
		}
		return out
	}
	run := idempotencyKey(at(0, 40, 41, 42, 43, 44))
	if run != "t-0-40-44" {
		t.Fatalf("consecutive offsets: key %q, want t-0-40-44", run)
	}
	gap := idempotencyKey(at(0, 40, 42, 44))
	if gap == run || len(gap) != 64 || gap != idempotencyKey(at(0, 40, 42, 44)) {
		t.Fatalf("offsets with gaps: key %q (run %q): want a stable SHA-256 of its own", gap, run)
	}
	two := idempotencyKey(append(at(0, 40), at(1, 40)...))
	if len(two) != 64 || two == gap {
		t.Fatalf("two partitions: key %q", two)
	}
}

// Amplitude may refuse part of the records sent again: each refusal takes
// its records out, the rest go again, and every record is settled once.
func TestAmplitudeRefusesPartOfTheRecordsSentAgain(t *testing.T) {
	rec := newRecorder(t, func(n int, r *received, w http.ResponseWriter) {
		if n < 2 { // refuse the first event of the request, twice
			http.Error(w, `{"code":400,"events_with_invalid_fields":{"time":[0]}}`, http.StatusBadRequest)
		}
	})
	task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keyMaxSize, "5", keyPartial, "amplitude",
		keyEnvelope, `{"api_key": "k", "events": "${records}"}`))
	put(t, task, sc, events("t", 5, 1)...)
	flush(t, task)
	settled(t, rec, sc, 3, 0, 1)
	if _, last := amplitudeBody(t, rec.requests()[2].Body); !slices.Equal(last, []string{"e2", "e3", "e4"}) {
		t.Fatalf("third request held %v, want [e2 e3 e4]", last)
	}
	if msg := sc.Reports()[0].Err.Error(); !strings.Contains(msg, "then:") {
		t.Errorf("error %q does not carry both refusals", msg)
	}
}

// A retry of the records sent again is reported through Retrying, and
// cleared once they are delivered.
func TestRetryOfTheRecordsSentAgainIsCleared(t *testing.T) {
	rec := newRecorder(t, func(n int, r *received, w http.ResponseWriter) {
		switch n {
		case 0:
			http.Error(w, `{"code":400,"events_with_invalid_fields":{"time":[1]}}`, http.StatusBadRequest)
		case 1:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}
	})
	task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keyMaxSize, "3", keyPartial, "amplitude", keyBackoff, "1"))
	put(t, task, sc, events("t", 3, 1)...)
	flush(t, task)
	settled(t, rec, sc, 3, 1)
	if err := sc.RetryingErr(); err != nil {
		t.Fatalf("still retrying after the delivery: %v", err)
	}
}

// With drop.on.status.codes=400 the refused records are dropped
// (acknowledged) and the rest are still sent again.
func TestRefusedRecordsDroppedPerDropOn(t *testing.T) {
	rec := newRecorder(t, func(n int, r *received, w http.ResponseWriter) {
		if n == 0 {
			http.Error(w, `{"code":400,"events_with_missing_fields":{"event_type":[2]}}`, http.StatusBadRequest)
		}
	})
	task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keyMaxSize, "3", keyPartial, "amplitude", keyDropOn, "400"))
	put(t, task, sc, events("t", 3, 1)...)
	flush(t, task)
	settled(t, rec, sc, 2)
}

// A request that retried before its partial rejection does not leave the
// task reported as retrying once the records sent again are delivered.
func TestRetryBeforeAPartialRejectionIsCleared(t *testing.T) {
	rec := newRecorder(t, func(n int, r *received, w http.ResponseWriter) {
		switch n {
		case 0:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case 1:
			http.Error(w, `{"code":400,"events_with_invalid_fields":{"time":[0]}}`, http.StatusBadRequest)
		}
	})
	task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keyMaxSize, "3", keyPartial, "amplitude", keyBackoff, "1"))
	put(t, task, sc, events("t", 3, 1)...)
	flush(t, task)
	settled(t, rec, sc, 3, 0)
	if err := sc.RetryingErr(); err != nil {
		t.Fatalf("still retrying after the delivery: %v", err)
	}
}
