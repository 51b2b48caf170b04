package httpsink

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"

	"github.com/spur-connect/spur/connect"
)

// rejectedRecords reads a 400 response that rejects some records of a
// request, in the provider's format (partial.failure.format), and returns
// the indexes of the rejected records, sorted. It returns nil when the
// response lists none, or lists an index the request does not have: then
// the whole request failed.
func rejectedRecords(format string, body []byte, n int) []int {
	var idx []int
	switch format {
	case "amplitude":
		// {"code":400,"error":"...","events_with_invalid_fields":{"time":[3,4]},
		//  "events_with_missing_fields":{"event_type":[5]},
		//  "events_with_invalid_id_lengths":{"user_id":[1]}}
		var resp struct {
			Invalid   map[string][]int `json:"events_with_invalid_fields"`
			Missing   map[string][]int `json:"events_with_missing_fields"`
			IDLengths map[string][]int `json:"events_with_invalid_id_lengths"`
		}
		if json.Unmarshal(body, &resp) != nil {
			return nil
		}
		for _, m := range []map[string][]int{resp.Invalid, resp.Missing, resp.IDLengths} {
			for _, l := range m {
				idx = append(idx, l...)
			}
		}
	case "mixpanel":
		// {"code":400,"error":"some data points in the request failed validation",
		//  "failed_records":[{"index":0,"$insert_id":"..","field":"properties.time","message":".."}],
		//  "num_records_imported":999,"status":"Bad Request"}
		var resp struct {
			Failed []struct {
				Index *int `json:"index"`
			} `json:"failed_records"`
		}
		if json.Unmarshal(body, &resp) != nil {
			return nil
		}
		for _, f := range resp.Failed {
			if f.Index == nil {
				return nil
			}
			idx = append(idx, *f.Index)
		}
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	if len(idx) == 0 || idx[0] < 0 || idx[len(idx)-1] >= n {
		return nil
	}
	return idx
}

// partialFailure settles a request the provider rejected in part. The
// rejected records (indexes bad) take the error path like those of a failed
// request. The others are delivered: Mixpanel imported them already;
// Amplitude ingested nothing, so they go again at once, in a request of
// their own that keeps the failed one's place in its partitions' order.
func (t *Task) partialFailure(q *request, bad []int, text []byte, attempts int) (outcome, error) {
	all := q.records
	var rejected, rest []*connect.Record
	for i, r := range all {
		if len(bad) > 0 && bad[0] == i {
			rejected, bad = append(rejected, r), bad[1:]
		} else {
			rest = append(rest, r)
		}
	}
	q.records = rejected
	derr := t.deliveryError(q, http.StatusBadRequest, text, attempts,
		fmt.Errorf("%s rejected %d of the request's %d records", t.s.partial, len(rejected), len(all)))
	out := failed
	if t.s.dropOn.has(http.StatusBadRequest) {
		out = dropped
	}
	if len(rest) == 0 {
		return out, derr
	}
	if t.s.partial == "mixpanel" {
		connect.AckAll(rest)
		return out, derr
	}

	t.log.Warn("http sink: provider rejected part of a request; sending the rest again", "error", derr, "resend", len(rest))
	again := &request{method: q.method, target: q.target, group: q.group, records: rest, parts: q.parts}
	body, err := t.rebody(rest)
	if err != nil {
		q.records = all
		return failed, fmt.Errorf("%w; rebuilding the request for the other %d records: %w", derr, len(rest), err)
	}
	again.body = body
	out2, err2 := t.deliver(again)
	t.retryMu.Lock()
	if again.retrying {
		t.retrying--
	}
	t.retryMu.Unlock()
	switch out2 {
	case aborted:
		q.records = all // the task is stopping: nothing is settled
		return aborted, err2
	case delivered:
		connect.AckAll(rest)
	case dropped:
		t.log.Warn("http sink: dropping records per "+keyDropOn, "error", err2)
		connect.AckAll(rest)
	case failed:
		if out == dropped {
			t.log.Warn("http sink: dropping records per "+keyDropOn, "error", derr)
			connect.AckAll(rejected)
			q.records = rest
			return failed, err2
		}
		q.records = all
		return failed, fmt.Errorf("%w; the other %d records: %w", derr, len(rest), err2)
	}
	return out, derr
}

// rebody builds the body of a request for records, as sealing a batch of
// them would have: framing, elements, gzip.
func (t *Task) rebody(records []*connect.Record) (*buffer, error) {
	buf := getBuffer()
	suffix, err := t.frame(buf, records[0])
	for i, r := range records {
		if err != nil {
			break
		}
		if i > 0 {
			buf.b = append(buf.b, t.sep...)
		}
		buf.b, err = t.s.enc.appendElement(buf.b, r)
	}
	if err != nil {
		buf.release()
		return nil, err
	}
	buf.b = append(buf.b, suffix...)
	if !t.s.gzip {
		return buf, nil
	}
	defer buf.release()
	return compress(buf.b, t.s.level)
}
