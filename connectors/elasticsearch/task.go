package elasticsearch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/connectors/internal/condwait"
)

// Task is the Elasticsearch sink task. Put turns records into bulk items
// (an action line and the document, copied as it is) and collects them in
// a batch; a batch is sealed when it is full by count or bytes, when it
// lingered long enough, or on Flush, and sent in the background, at most
// max.in.flight.requests at once. A record is acknowledged once
// Elasticsearch acknowledged its item. Items refused for good go to
// SinkContext.Report on the runtime's goroutine, inside Put or Flush;
// requests and items that keep failing for passing reasons (429, 503, a
// dead node) fail the task after max.retries, leaving their records
// unacknowledged, so nothing is committed past them.
type Task struct {
	s   *settings
	sc  connect.SinkContext
	log *slog.Logger
	c   *client

	sendCtx context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	// Used by the Put goroutine only.
	index   map[string]string // topic -> index, data stream or alias
	ensured map[string]bool   // indices checked or created

	mu         sync.Mutex
	cond       *sync.Cond
	cur        *batch   // open batch
	pending    []*batch // sealed, not yet sent, in sealing order
	inflight   int
	buffered   int // records in cur, pending and in flight
	reports    []report
	fatal      error
	stopped    bool
	timer      *time.Timer
	timerArmed bool
	retrying   int // requests waiting to retry
	itemBytes  int // moving average of an item's size, for sizing batches
}

// batch is one bulk request: the NDJSON body and where each record's item is.
type batch struct {
	buf   *buffer
	items []item
}

type item struct {
	r          *connect.Record
	op         op
	start, end int // the item's lines in body
}

// report is a record to hand to SinkContext.Report.
type report struct {
	r   *connect.Record
	err error
}

// NewTask returns an unstarted task.
func NewTask() *Task { return &Task{} }

// Start checks the config and prepares the HTTP client. It does not talk
// to Elasticsearch: a cluster that is down makes the first request retry,
// not the task fail to start.
func (t *Task) Start(_ context.Context, cfg connect.Config, sc connect.SinkContext) error {
	s, errs := newSettings(cfg)
	if len(errs) > 0 {
		return connect.ConfigErrors(errs)
	}
	t.s, t.sc, t.log = s, sc, sc.Logger()
	t.c = newClient(s)
	t.index, t.ensured = map[string]string{}, map[string]bool{}
	t.cond = sync.NewCond(&t.mu)
	t.sendCtx, t.cancel = context.WithCancel(context.Background())
	return nil
}

// Put adds records to the open batch and sends full batches. It blocks
// while the task holds max.buffered.records or more requests are waiting
// than can be in flight (backpressure).
func (t *Task) Put(ctx context.Context, records []*connect.Record) error {
	if err := t.settle(ctx); err != nil {
		return err
	}
	for _, r := range records {
		if err := t.add(ctx, r); err != nil {
			return err
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.s.linger == 0 {
		t.seal()
	}
	for t.fatal == nil && (t.buffered >= t.s.buffered || len(t.pending) > t.s.inFlight) {
		if t.drainReports(ctx) {
			continue
		}
		if err := t.wait(ctx); err != nil {
			return err
		}
	}
	return t.fatal
}

// Flush sends the open batch and waits until every request finished and
// its refused records were reported. When flush.timeout.ms or ctx ends
// first it returns a retriable error: nothing failed, the runtime commits
// what was acknowledged and the rest waits for the next flush.
func (t *Task) Flush(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, t.s.flushTimeout)
	defer cancel()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seal()
	for t.fatal == nil && (len(t.pending) > 0 || t.inflight > 0 || len(t.reports) > 0) {
		if t.drainReports(ctx) {
			continue
		}
		if err := t.wait(ctx); err != nil {
			return connect.RetriableError(fmt.Errorf("elasticsearch sink flush: %d requests still unfinished: %w", len(t.pending)+t.inflight, err))
		}
	}
	return t.fatal
}

// Stop abandons requests in flight (their records stay unacknowledged and
// are delivered again by whoever consumes the partitions next) and waits
// for the senders.
func (t *Task) Stop(ctx context.Context) error {
	if t.cancel == nil {
		return nil
	}
	t.mu.Lock()
	t.stopped = true
	if t.timer != nil {
		t.timer.Stop()
	}
	t.cur, t.pending = nil, nil
	t.cond.Broadcast()
	t.mu.Unlock()
	t.cancel()
	done := make(chan struct{})
	go func() { t.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("elasticsearch sink stop: requests still running: %w", ctx.Err())
	}
	t.c.close()
	return nil
}

// settle reports refused records and returns the task's fatal error.
func (t *Task) settle(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return errors.New("elasticsearch sink: Put after Stop")
	}
	for t.fatal == nil && t.drainReports(ctx) {
	}
	return t.fatal
}

// add appends one record to the open batch, or sends it down the error path.
func (t *Task) add(ctx context.Context, r *connect.Record) error {
	if r.Value.IsNull() {
		switch t.s.onNull {
		case "ignore":
			r.Ack()
			return nil
		case "fail":
			return t.refuse(ctx, r, invalid("%s has a null value (a tombstone) and behavior.on.null.values=fail; set it to ignore or delete", r.Coordinates()))
		}
	}
	index, err := t.indexFor(ctx, r.Topic)
	if err != nil {
		return t.refuse(ctx, r, invalid("%s: %v", r.Coordinates(), err))
	}

	t.mu.Lock()
	if t.cur == nil {
		t.cur = t.newBatch()
	}
	b := t.cur
	start := len(b.buf.b)
	body, o, err := t.appendItem(b.buf.b, r, index)
	b.buf.b = body
	if err != nil {
		t.mu.Unlock()
		return t.refuse(ctx, r, err)
	}
	if t.s.bulkBytes > 0 && len(body) > t.s.bulkBytes && len(b.items) > 0 {
		// The item does not fit: it starts the next batch.
		next := t.newBatch()
		next.buf.b = append(next.buf.b, body[start:]...)
		b.buf.b = body[:start]
		t.seal()
		b, t.cur, start = next, next, 0
	}
	if len(b.items) == 0 {
		t.armLinger()
	}
	b.items = append(b.items, item{r: r, op: o, start: start, end: len(b.buf.b)})
	t.buffered++
	t.itemBytes = t.itemBytes - t.itemBytes/64 + (len(b.buf.b)-start)/64 + 1
	if len(b.items) >= t.s.batchSize || (t.s.bulkBytes > 0 && len(b.buf.b) >= t.s.bulkBytes) {
		t.seal()
	}
	t.mu.Unlock()
	return nil
}

// newBatch opens a batch, sized for batch.size items of the recent average
// size so that it rarely grows (pooled buffers keep their size). mu is held.
func (t *Task) newBatch() *batch {
	size := t.s.batchSize * max(t.itemBytes, 64) * 9 / 8
	if t.s.bulkBytes > 0 {
		size = min(size, t.s.bulkBytes+t.s.bulkBytes/8)
	}
	return &batch{buf: getBuffer(min(size, maxPooled)), items: make([]item, 0, min(t.s.batchSize, 4096))}
}

// refuse handles a record that cannot be written: dropped with
// drop.invalid.message, else reported. It runs on the Put goroutine.
func (t *Task) refuse(ctx context.Context, r *connect.Record, err error) error {
	if t.s.dropInvalid && errors.Is(err, errInvalid) {
		t.log.Warn("elasticsearch sink: dropping a record per "+keyDropInvalid, "record", r.Coordinates(), "error", err)
		r.Ack()
		return nil
	}
	if rerr := t.sc.Report(ctx, r, err); rerr != nil {
		t.mu.Lock()
		if t.fatal == nil {
			t.fatal = rerr
		}
		t.mu.Unlock()
		return rerr
	}
	return nil
}

// indexFor returns the index, data stream or alias a topic's records go
// to, creating a derived index on first use if it is missing (like
// Confluent's connector; with auto-creation on in Elasticsearch this only
// costs one HEAD request per index and task).
func (t *Task) indexFor(ctx context.Context, topic string) (string, error) {
	if name, ok := t.index[topic]; ok {
		return name, nil
	}
	var name string
	switch {
	case t.s.resourceKind != "":
		name = t.s.resources[topic]
		if name == "" {
			return "", fmt.Errorf("topic %q has no entry in %s", topic, keyResourceMapping)
		}
	case t.s.streamType != "":
		ns := strings.ReplaceAll(t.s.streamNS, "${topic}", strings.ToLower(topic))
		if len(ns) > 100 {
			ns = ns[:100]
		}
		name = t.s.streamType + "-" + t.s.streamDataset + "-" + ns
	default:
		name = indexName(topic)
	}
	if err := checkIndexName(name); err != nil {
		return "", fmt.Errorf("records of topic %q: %v", topic, err)
	}
	t.index[topic] = name
	if t.s.resourceKind == "" && t.s.streamType == "" && !t.ensured[name] {
		t.ensured[name] = true
		if err := t.c.ensureIndex(ctx, name); err != nil {
			// Writes will say what is wrong, item by item.
			t.log.Warn("elasticsearch sink: could not check or create the index", "index", name, "error", err)
		}
	}
	return name, nil
}

// armLinger starts the linger timer for a new open batch. mu is held.
func (t *Task) armLinger() {
	if t.s.linger <= 0 || t.timerArmed {
		return
	}
	t.timerArmed = true
	if t.timer == nil {
		t.timer = time.AfterFunc(t.s.linger, t.lingerExpired)
	} else {
		t.timer.Reset(t.s.linger)
	}
}

func (t *Task) lingerExpired() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.timerArmed = false
	if !t.stopped {
		t.seal()
	}
}

// seal queues the open batch for sending. mu is held.
func (t *Task) seal() {
	if t.cur != nil && len(t.cur.items) > 0 {
		t.pending = append(t.pending, t.cur)
		t.cur = nil
	}
	t.dispatch()
}

// dispatch starts senders for queued batches while there is room. With
// write.method=upsert one request is out at a time: an update carries no
// external version, so a retried item must not overtake a later update of
// the same document. mu is held.
func (t *Task) dispatch() {
	limit := t.s.inFlight
	if t.s.upsert {
		limit = 1
	}
	for t.inflight < limit && len(t.pending) > 0 && t.fatal == nil && !t.stopped {
		b := t.pending[0]
		t.pending[0] = nil
		t.pending = t.pending[1:]
		t.inflight++
		t.wg.Add(1)
		go t.send(b)
	}
}

// send delivers one batch and settles its records.
func (t *Task) send(b *batch) {
	defer t.wg.Done()
	refused, err := t.deliver(b)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inflight--
	t.buffered -= len(b.items)
	t.reports = append(t.reports, refused...)
	if err != nil && t.fatal == nil {
		t.fatal = err
	}
	t.dispatch()
	t.cond.Broadcast()
}

// drainReports hands refused records to Report in the order they came
// back, and reports whether there were any. mu is held, and released
// while Report runs.
func (t *Task) drainReports(ctx context.Context) bool {
	if len(t.reports) == 0 {
		return false
	}
	rs := t.reports
	t.reports = nil
	t.mu.Unlock()
	var err error
	for _, rep := range rs {
		if err = t.sc.Report(ctx, rep.r, rep.err); err != nil {
			// The task fails; the records not reported stay unacknowledged.
			if !errors.Is(err, rep.err) {
				err = fmt.Errorf("%v; the error handler failed too: %w", rep.err, err)
			}
			break
		}
	}
	t.mu.Lock()
	if err != nil && t.fatal == nil {
		t.fatal = err
	}
	t.cond.Broadcast()
	return true
}

// wait waits for a change of the task's state or for ctx. mu is held.
func (t *Task) wait(ctx context.Context) error {
	err := condwait.Wait(ctx, t.cond)
	if t.stopped {
		return errors.New("elasticsearch sink: task stopped")
	}
	return err
}

// deliver sends b until every item is settled: acknowledged, refused
// (returned, to be reported) or out of retries (the error, fatal).
func (t *Task) deliver(b *batch) ([]report, error) {
	return t.deliverItems(b.buf, b.items, nil)
}

// deliverItems sends the items in body; it releases body.
func (t *Task) deliverItems(body *buffer, items []item, refused []report) ([]report, error) {
	retried := false
	defer func() {
		body.release()
		if retried {
			t.endRetry()
		}
	}()
	for attempt := 0; ; attempt++ {
		if t.sendCtx.Err() != nil {
			return refused, nil // stopping: leave the rest unacknowledged
		}
		res, err := t.c.bulk(t.sendCtx, body, len(items))
		var cause error
		switch {
		case err != nil:
			cause = err
		case res.status == http.StatusOK:
			var retry []item
			retry, refused, cause = t.settleItems(items, res, refused)
			if len(retry) == 0 {
				return refused, nil
			}
			next, nextItems := rebuild(body, retry)
			body.release()
			body, items = next, nextItems
		case retriableStatus(res.status):
			cause = &RequestError{Status: res.status, Reason: responseError(res.body), Items: len(items)}
		case res.status == http.StatusBadRequest || res.status == http.StatusRequestEntityTooLarge:
			// Elasticsearch checks every item before it runs any, so one
			// bad item (or one too large for http.max_content_length)
			// fails the whole request: halve it until the culprit is
			// alone, and hand that one to the error path.
			reqErr := &RequestError{Status: res.status, Reason: responseError(res.body), Items: len(items)}
			if len(items) == 1 {
				return append(refused, report{items[0].r, reqErr}), nil
			}
			t.log.Warn("elasticsearch sink: bulk request refused as a whole; sending its halves apart", "items", len(items), "error", reqErr)
			half := len(items) / 2
			for _, part := range [][]item{items[:half], items[half:]} {
				pb, pitems := rebuild(body, part)
				var err error
				refused, err = t.deliverItems(pb, pitems, refused)
				if err != nil {
					return refused, err
				}
			}
			return refused, nil
		default:
			return refused, fmt.Errorf("%w; the records stay unacknowledged", &RequestError{Status: res.status, Reason: responseError(res.body), Items: len(items)})
		}
		if t.sendCtx.Err() != nil {
			return refused, nil
		}
		if t.s.maxRetries >= 0 && attempt >= t.s.maxRetries {
			return refused, fmt.Errorf("elasticsearch sink: giving up after %d attempts (%s=%d); the records stay unacknowledged: %w", attempt+1, keyMaxRetries, t.s.maxRetries, cause)
		}
		if !retried {
			retried = true
			t.beginRetry(cause)
		}
		t.log.Warn("elasticsearch sink: retrying", "attempt", attempt+1, "items", len(items), "error", cause)
		wait := retryDelay(t.s.backoff, t.s.backoffMax, attempt, res)
		select {
		case <-time.After(wait):
		case <-t.sendCtx.Done():
			return refused, nil
		}
	}
}

// settleItems acknowledges the items Elasticsearch accepted, appends the
// refused ones to refused and returns those to retry, with the first
// retry's cause.
func (t *Task) settleItems(items []item, res *bulkResult, refused []report) (retry []item, _ []report, cause error) {
	if res.items == nil {
		for _, it := range items {
			it.r.Ack()
		}
		return nil, refused, nil
	}
	for i, it := range items {
		bi := &res.items[i]
		switch {
		case bi.Status >= 200 && bi.Status < 300:
			it.r.Ack()
		case it.op == opDelete && bi.Status == http.StatusNotFound && bi.Error == nil:
			it.r.Ack() // nothing to delete
		case bi.Status == http.StatusConflict && it.op != opUpdate:
			// An external version at or below the stored one is a write
			// that was already made or was overtaken by a newer one; on
			// create (data streams) the document exists from an earlier
			// attempt: ids are topic+partition+offset there.
			t.log.Debug("elasticsearch sink: version conflict, the document is newer", "record", it.r.Coordinates(), "error", bi.Error.String())
			it.r.Ack()
		case retriableStatus(bi.Status) || bi.Status == http.StatusConflict:
			retry = append(retry, it)
			if cause == nil {
				cause = itemErr(it, bi)
			}
		case isMalformed(bi.Error) && t.s.onMalformed != "fail":
			if t.s.onMalformed == "warn" {
				t.log.Warn("elasticsearch sink: dropping a malformed document per "+keyOnMalformed, "record", it.r.Coordinates(), "error", bi.Error.String())
			}
			it.r.Ack()
		default:
			refused = append(refused, report{it.r, itemErr(it, bi)})
		}
	}
	return retry, refused, cause
}

func itemErr(it item, bi *bulkItem) *ItemError {
	e := &ItemError{Record: it.r.Coordinates(), Action: opNames[it.op], Index: bi.Index, ID: bi.ID, Status: bi.Status}
	if bi.Error != nil {
		e.Type, e.Reason = bi.Error.Type, bi.Error.String()
	}
	return e
}

// rebuild makes the body of a retry from the items to retry.
func rebuild(body *buffer, items []item) (*buffer, []item) {
	n := 0
	for _, it := range items {
		n += it.end - it.start
	}
	out := getBuffer(n)
	next := make([]item, len(items))
	for i, it := range items {
		next[i] = it
		next[i].start = len(out.b)
		out.b = append(out.b, body.b[it.start:it.end]...)
		next[i].end = len(out.b)
	}
	return out, next
}

// beginRetry and endRetry keep the task's retry note: set while any
// request waits to retry, cleared when the last one is done. The note is
// changed under mu so two requests cannot interleave set and clear.
func (t *Task) beginRetry(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.retrying++
	t.sc.Retrying(err)
}

func (t *Task) endRetry() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.retrying--; t.retrying == 0 {
		t.sc.Retrying(nil)
	}
}

// retriableStatus reports whether a status is worth retrying: overload and
// unavailability, never a refusal.
func retriableStatus(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout,
		http.StatusInternalServerError:
		return true
	}
	return false
}
