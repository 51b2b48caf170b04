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

// rejection is what deliver read from a 400 that refused some records.
type rejection struct {
	bad      []int // indexes into the request's records, sorted
	text     []byte
	attempts int
}

// settlePartial settles a request the provider refused in part, after
// deliver closed its response. The refused records take the error path
// like those of a failed request (or are dropped with
// drop.on.status.codes=400). The others are delivered: Mixpanel imported
// them already; Amplitude ingested nothing, so they go again at once, in a
// request of their own, which Amplitude may refuse in part again. The
// request keeps its place in its partitions' order meanwhile. On return
// q.records holds the records for send to settle per the outcome: those to
// report when it is failed, none when everything was settled here.
func (t *Task) settlePartial(q *request) (outcome, error) {
	all := q.records
	var report []*connect.Record // refused, or failed when sent again
	var cause error
	addCause := func(err error) {
		if cause == nil {
			cause = err
		} else {
			cause = fmt.Errorf("%w; then: %w", cause, err)
		}
	}
	cur := q
	for {
		rej := cur.rejected
		var refused, rest []*connect.Record
		bad := rej.bad
		for i, r := range cur.records {
			if len(bad) > 0 && bad[0] == i {
				refused, bad = append(refused, r), bad[1:]
			} else {
				rest = append(rest, r)
			}
		}
		derr := t.deliveryError(cur, http.StatusBadRequest, rej.text, rej.attempts,
			fmt.Errorf("%s rejected %d of the request's %d records", t.s.partial, len(refused), len(cur.records)))
		derr.Records = describeRecords(refused) // the error is theirs, not the whole request's
		if t.s.dropOn.has(http.StatusBadRequest) {
			t.log.Warn("http sink: dropping records per "+keyDropOn, "error", derr)
			connect.AckAll(refused)
		} else {
			report = append(report, refused...)
			addCause(derr)
		}
		if len(rest) == 0 {
			break
		}
		if t.s.partial == "mixpanel" {
			connect.AckAll(rest)
			break
		}
		t.log.Warn("http sink: provider refused part of a request; sending the rest again", "error", derr, "records", len(rest))
		again := &request{method: q.method, target: q.target, group: q.group, records: rest, parts: q.parts}
		body, err := t.rebody(rest)
		if err != nil {
			report = append(report, rest...)
			addCause(fmt.Errorf("rebuilding the request for the other %d records: %w", len(rest), err))
			break
		}
		again.body = body
		out, err := t.deliver(again)
		t.settleRetry(again, out == delivered)
		if out == partial {
			cur = again
			continue
		}
		switch out {
		case aborted:
			q.records = all // the task is stopping: what is not acknowledged stays so
			return aborted, err
		case delivered:
			connect.AckAll(rest)
		case dropped:
			t.log.Warn("http sink: dropping records per "+keyDropOn, "error", err)
			connect.AckAll(rest)
		case failed:
			report = append(report, rest...)
			addCause(fmt.Errorf("the other %d records: %w", len(rest), err))
		}
		break
	}
	if len(report) == 0 {
		q.records = nil
		return delivered, nil
	}
	// Report in the request's order.
	pos := make(map[*connect.Record]int, len(all))
	for i, r := range all {
		pos[r] = i
	}
	slices.SortFunc(report, func(a, b *connect.Record) int { return pos[a] - pos[b] })
	q.records = report
	return failed, cause
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
