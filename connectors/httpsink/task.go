package httpsink

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/connectors/internal/condwait"
)

// Limits on what a task holds in memory besides the requests in flight.
const (
	maxOpenGroups = 1024 // open batches (distinct rendered targets / batch keys)
	userAgent     = "spur-http-sink/" + Version
)

// Task is the HTTP sink task. Put encodes records into per-group batches
// (group = rendered URL, headers, batch.key.pattern and envelope fields),
// seals a batch when it is full by count or bytes, when it lingered long
// enough, or at the end of Put with batch.linger.ms=0, and sends sealed
// batches in the background. Records are acknowledged when their request
// succeeded (or was dropped per config); failed requests go to
// SinkContext.Report from the runtime's goroutine, inside Put or Flush.
type Task struct {
	s    *settings
	sc   connect.SinkContext
	log  *slog.Logger
	hc   *http.Client
	gate *gate

	prefix, sep, suffix []byte  // framing of static bodies
	static              bool    // one group for every record: no templates to render
	fixed               *target // the target when static
	maxQueued           int
	openLimit           int

	sendCtx context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	// Used by the Put goroutine only.
	scratch []byte
	keyBuf  []byte
	offs    []int

	mu         sync.Mutex
	cond       *sync.Cond
	groups     map[string]*group
	open       []*group // open groups, oldest first
	openBytes  int
	reqs       []*request // sealed and unfinished, in sealing order
	inflight   int
	fatal      error
	stopped    bool
	timer      *time.Timer
	timerArmed bool

	retryMu   sync.Mutex
	retrying  int  // requests currently between attempts
	retryNote bool // Retrying(err) was reported and not yet cleared
}

// target is where a request goes.
type target struct {
	url     string
	headers [][2]string
}

type group struct {
	key       string
	target    *target
	buf       *buffer // prefix and the records so far
	prefixLen int
	suffix    []byte
	records   []*connect.Record
	parts     []connect.TopicPartition
	created   time.Time
}

type reqState uint8

const (
	stateQueued reqState = iota
	stateSending
	stateNeedReport // failed; its records wait for Report on the runtime goroutine
	stateReporting  // Report is running; the request still holds its partitions back
)

type request struct {
	method   string
	target   *target
	group    string
	barrier  bool    // a DELETE: ordered against every request of its partition
	body     *buffer // nil for DELETE
	zipped   *zipJob // with gzip: the body being compressed ahead of sending
	records  []*connect.Record
	parts    []connect.TopicPartition
	state    reqState
	err      error
	retrying bool
	rejected *rejection // set by deliver with the outcome partial
}

// NewTask returns an unstarted task.
func NewTask() *Task { return &Task{} }

// Start checks the config and prepares the HTTP client.
func (t *Task) Start(_ context.Context, cfg connect.Config, sc connect.SinkContext) error {
	s, errs := newSettings(cfg)
	if len(errs) > 0 {
		return fmt.Errorf("http-sink config: %w", connect.ConfigErrors(errs))
	}
	t.s, t.sc, t.log = s, sc, sc.Logger()
	t.gate = newGate(s.rate)
	t.hc = newHTTPClient(s)
	t.cond = sync.NewCond(&t.mu)
	t.groups = map[string]*group{}
	// The requests in flight and one sealed, ready to go when one of them
	// finishes. More queued bought 1-2% throughput (bench) for 15-25 MB of
	// RSS: records and bodies waiting, not moving.
	t.maxQueued = s.inFlight + 1
	t.openLimit = 2 * s.maxBytes
	t.sendCtx, t.cancel = context.WithCancel(context.Background())

	switch {
	case s.format == "string":
		t.prefix, t.sep, t.suffix = []byte(s.prefix), []byte(s.separator), []byte(s.suffix)
	case s.format == "ndjson":
		t.prefix, t.sep, t.suffix = nil, []byte("\n"), []byte("\n")
	case s.envelope != nil:
		t.prefix, t.sep, t.suffix = append(append([]byte{}, s.envelope.prefix...), '['), []byte(","), append([]byte("]"), s.envelope.suffix...)
	case s.asArray:
		t.prefix, t.sep, t.suffix = []byte("["), []byte(","), []byte("]")
	}
	t.static = s.url.static() && s.batchKey.static() && (s.envelope == nil || s.envelope.quick)
	for _, h := range s.headers {
		t.static = t.static && h.value.static()
	}
	if t.static {
		t.fixed = t.staticTarget()
	}
	t.log.Info("http sink task started", "url", redactURL(s.url.src), "method", s.method, "format", s.format,
		"batch.max.size", s.maxSize, "batch.max.bytes", s.maxBytes, "batch.linger.ms", s.linger.Milliseconds(),
		"compression", map[bool]string{true: "gzip", false: "none"}[s.gzip], "max.in.flight.requests", s.inFlight)
	return nil
}

// Put adds records to batches and sends full ones. It blocks while too many
// requests are unfinished (backpressure).
func (t *Task) Put(ctx context.Context, records []*connect.Record) error {
	t.mu.Lock()
	if t.stopped {
		t.mu.Unlock()
		return errors.New("http-sink: Put after Stop")
	}
	for t.fatal == nil && t.drainReports(ctx) {
	}
	err := t.fatal
	t.mu.Unlock()
	if err != nil {
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
		t.sealAll()
	}
	return t.waitCapacity(ctx)
}

// Flush sends every open batch and waits until all requests finished and
// their failed records were reported. A Flush cut short by ctx returns a
// retriable error: nothing failed, the records are still in flight.
func (t *Task) Flush(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sealAll()
	for t.fatal == nil && len(t.reqs) > 0 {
		if t.drainReports(ctx) {
			continue
		}
		if err := t.wait(ctx); err != nil {
			return connect.RetriableError(fmt.Errorf("http-sink flush: %d requests still unfinished: %w", len(t.reqs), err))
		}
	}
	return t.fatal
}

// Stop cancels requests in flight (their records stay unacknowledged and
// are delivered again after a restart) and waits for the senders.
func (t *Task) Stop(ctx context.Context) error {
	if t.cancel == nil {
		return nil
	}
	t.mu.Lock()
	t.stopped = true
	if t.timer != nil {
		t.timer.Stop()
	}
	for _, g := range t.open {
		g.buf.release()
	}
	t.open, t.groups = nil, map[string]*group{}
	t.cond.Broadcast()
	t.mu.Unlock()
	t.cancel()
	done := make(chan struct{})
	go func() { t.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("http-sink stop: senders still running: %w", ctx.Err())
	}
	t.hc.CloseIdleConnections()
	return nil
}

// add puts one record into its batch.
func (t *Task) add(ctx context.Context, r *connect.Record) error {
	if r.Value.IsNull() {
		return t.addNull(ctx, r)
	}
	var key []byte
	if !t.static {
		var err error
		if key, err = t.groupKey(r); err != nil {
			return t.recordError(ctx, r, fmt.Errorf("http-sink: record %s: %w", r.Coordinates(), err))
		}
	}
	elem, err := t.s.enc.appendElement(t.scratch[:0], r)
	t.scratch = elem
	if err != nil {
		return t.recordError(ctx, r, fmt.Errorf("http-sink: record %s: %w", r.Coordinates(), err))
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return errors.New("http-sink: Put after Stop")
	}
	g := t.groups[string(key)]
	if g != nil && len(g.buf.b)+len(t.sep)+len(elem)+len(g.suffix) > t.s.maxBytes {
		if g.prefixLen+len(elem)+len(g.suffix) > t.s.maxBytes {
			t.mu.Unlock()
			err = t.recordError(ctx, r, t.tooLarge(r, g.prefixLen+len(elem)+len(g.suffix)))
			t.mu.Lock()
			return err
		}
		t.seal(g)
		g = nil
	}
	if g == nil {
		if g, err = t.newGroup(key, r); err != nil {
			t.mu.Unlock()
			err = t.recordError(ctx, r, fmt.Errorf("http-sink: record %s: %w", r.Coordinates(), err))
			t.mu.Lock()
			return err
		}
		if size := len(g.buf.b) + len(elem) + len(g.suffix); size > t.s.maxBytes {
			g.buf.release()
			t.mu.Unlock()
			err = t.recordError(ctx, r, t.tooLarge(r, size))
			t.mu.Lock()
			return err
		}
		t.groups[g.key] = g
		t.open = append(t.open, g)
		t.openBytes += len(g.buf.b)
		t.armLinger()
	} else {
		g.buf.b = append(g.buf.b, t.sep...)
		t.openBytes += len(t.sep)
	}
	g.buf.b = append(g.buf.b, elem...)
	t.openBytes += len(elem)
	g.records = append(g.records, r)
	g.parts = addPartition(g.parts, r)
	if len(g.records) >= t.s.maxSize {
		t.seal(g)
	}
	for len(t.open) > 0 && (len(t.open) > maxOpenGroups || t.openBytes > t.openLimit) {
		t.seal(t.open[0])
	}
	return t.waitCapacity(ctx)
}

func (t *Task) tooLarge(r *connect.Record, size int) error {
	return fmt.Errorf("http-sink: record %s: %w: a request holding only it has %d bytes, more than %s=%d",
		r.Coordinates(), ErrRecordTooLarge, size, keyMaxBytes, t.s.maxBytes)
}

// addNull handles a tombstone per behavior.on.null.values.
func (t *Task) addNull(ctx context.Context, r *connect.Record) error {
	switch t.s.onNull {
	case "ignore":
		r.Ack()
		return nil
	case "log":
		t.log.Info("http sink: skipping record with null value", "record", r.Coordinates())
		r.Ack()
		return nil
	case "fail":
		return t.recordError(ctx, r, fmt.Errorf("http-sink: record %s has a null value and %s=fail", r.Coordinates(), keyOnNull))
	}
	// delete
	tg, err := t.renderTarget(r)
	if err != nil {
		return t.recordError(ctx, r, fmt.Errorf("http-sink: record %s: DELETE target: %w", r.Coordinates(), err))
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	tp := connect.TopicPartition{Topic: r.Topic, Partition: r.Partition}
	for i := 0; i < len(t.open); {
		if hasPartition(t.open[i].parts, tp) {
			t.seal(t.open[i])
			continue
		}
		i++
	}
	t.enqueue(&request{method: http.MethodDelete, target: tg, barrier: true, records: []*connect.Record{r}, parts: []connect.TopicPartition{tp}})
	return t.waitCapacity(ctx)
}

// groupKey renders the record's URL, headers, batch key and envelope fields
// into t.keyBuf, NUL-separated, recording where each part ends in t.offs.
func (t *Task) groupKey(r *connect.Record) ([]byte, error) {
	b, offs := t.keyBuf[:0], t.offs[:0]
	var err error
	defer func() { t.keyBuf, t.offs = b, offs }()
	if b, err = t.s.url.render(b, r, escURL); err != nil {
		return nil, fmt.Errorf("%s: %w", keyURL, err)
	}
	offs = append(offs, len(b))
	for _, h := range t.s.headers {
		b = append(b, 0)
		if b, err = h.value.render(b, r, escNone); err != nil {
			return nil, fmt.Errorf("header %s: %w", h.name, err)
		}
		offs = append(offs, len(b))
	}
	b = append(b, 0)
	if b, err = t.s.batchKey.render(b, r, escNone); err != nil {
		return nil, fmt.Errorf("%s: %w", keyBatchKey, err)
	}
	if env := t.s.envelope; env != nil && !env.quick {
		b = append(b, 0)
		if b, _, err = env.render(b, r); err != nil {
			return nil, fmt.Errorf("%s: %w", keyEnvelope, err)
		}
	}
	return b, nil
}

func (t *Task) staticTarget() *target {
	tg := &target{url: t.s.url.literal()}
	for _, h := range t.s.headers {
		tg.headers = append(tg.headers, [2]string{h.name, h.value.literal()})
	}
	return tg
}

// renderTarget renders URL and headers for one record (DELETE requests).
func (t *Task) renderTarget(r *connect.Record) (*target, error) {
	u, err := t.s.url.render(nil, r, escURL)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyURL, err)
	}
	tg := &target{url: string(u)}
	for _, h := range t.s.headers {
		v, err := h.value.render(nil, r, escNone)
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", h.name, err)
		}
		tg.headers = append(tg.headers, [2]string{h.name, string(v)})
	}
	return tg, nil
}

// newGroup opens a batch for key, framing it for record r. mu is held.
func (t *Task) newGroup(key []byte, r *connect.Record) (*group, error) {
	g := &group{key: string(key), buf: getBuffer(), created: time.Now(),
		records: make([]*connect.Record, 0, min(t.s.maxSize, 64))}
	if t.static {
		g.target = t.fixed
	} else {
		g.target = &target{url: string(key[:t.offs[0]])}
		for i, h := range t.s.headers {
			g.target.headers = append(g.target.headers, [2]string{h.name, string(key[t.offs[i]+1 : t.offs[i+1]])})
		}
	}
	var err error
	if g.suffix, err = t.frame(g.buf, r); err != nil {
		g.buf.release()
		return nil, err
	}
	g.prefixLen = len(g.buf.b)
	return g, nil
}

// frame appends the start of a request body to buf, the envelope rendered
// for r when it references record fields, and returns its end.
func (t *Task) frame(buf *buffer, r *connect.Record) (suffix []byte, err error) {
	if env := t.s.envelope; env != nil && !env.quick {
		b, at, err := env.render(buf.b, r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", keyEnvelope, err)
		}
		suffix = append([]byte("]"), b[at:]...)
		buf.b = append(b[:at], '[')
		return suffix, nil
	}
	buf.b = append(buf.b, t.prefix...)
	return t.suffix, nil
}

// seal closes an open group and queues its request. mu is held.
func (t *Task) seal(g *group) {
	delete(t.groups, g.key)
	for i, o := range t.open {
		if o == g {
			t.open = append(t.open[:i], t.open[i+1:]...)
			break
		}
	}
	t.openBytes -= len(g.buf.b)
	g.buf.b = append(g.buf.b, g.suffix...)
	q := &request{method: t.s.method, target: g.target, group: g.key, body: g.buf, records: g.records, parts: g.parts}
	if t.s.gzip {
		// Compress now, in the background, not when the request's turn
		// comes: requests that must keep their order (the same partition
		// and group) go one at a time, and compressing the next one while
		// the current one is on the wire keeps both cores busy.
		q.zipped = t.startZip(q.body)
		q.body = nil
	}
	t.enqueue(q)
}

// zipJob is the gzip compression of a request body, started when the
// request is sealed.
type zipJob struct {
	done chan struct{}
	out  *buffer
	err  error
}

// startZip compresses body in a new goroutine (tracked by wg, so Stop waits
// for it) and releases body when done.
func (t *Task) startZip(body *buffer) *zipJob {
	z := &zipJob{done: make(chan struct{})}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		defer close(z.done)
		z.out, z.err = compress(body.b, t.s.level)
		body.release()
	}()
	return z
}

func (t *Task) sealAll() {
	for len(t.open) > 0 {
		t.seal(t.open[0])
	}
}

func (t *Task) enqueue(q *request) {
	t.reqs = append(t.reqs, q)
	t.schedule()
}

// armLinger makes sure the linger timer runs while groups are open. mu is held.
func (t *Task) armLinger() {
	if t.s.linger <= 0 || t.timerArmed || len(t.open) == 0 {
		return
	}
	d := time.Until(t.open[0].created.Add(t.s.linger))
	if t.timer == nil {
		t.timer = time.AfterFunc(d, t.lingerExpired)
	} else {
		t.timer.Reset(d)
	}
	t.timerArmed = true
}

func (t *Task) lingerExpired() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.timerArmed = false
	if t.stopped {
		return
	}
	now := time.Now()
	for len(t.open) > 0 && !now.Before(t.open[0].created.Add(t.s.linger)) {
		t.seal(t.open[0])
	}
	t.armLinger()
}

// schedule starts every queued request that may go: within the in-flight
// limit, and only after every earlier unfinished request it must not
// overtake (same partition and group, or a DELETE on the partition). mu is held.
func (t *Task) schedule() {
	if t.fatal != nil || t.stopped {
		return
	}
	for i, q := range t.reqs {
		if t.inflight >= t.s.inFlight {
			return
		}
		if q.state != stateQueued || t.mustWait(i) {
			continue
		}
		q.state = stateSending
		t.inflight++
		t.wg.Add(1)
		go t.send(q)
	}
}

func (t *Task) mustWait(i int) bool {
	q := t.reqs[i]
	for _, e := range t.reqs[:i] {
		if (e.group == q.group || e.barrier || q.barrier) && sharePartition(e.parts, q.parts) {
			return true
		}
	}
	return false
}

// remove drops a finished request. mu is held.
func (t *Task) remove(q *request) {
	for i, e := range t.reqs {
		if e == q {
			t.reqs = append(t.reqs[:i], t.reqs[i+1:]...)
			return
		}
	}
}

// waitCapacity blocks while too many requests are unfinished, reporting
// failed records meanwhile. mu is held.
func (t *Task) waitCapacity(ctx context.Context) error {
	for t.fatal == nil && len(t.reqs) >= t.maxQueued {
		if t.drainReports(ctx) {
			continue
		}
		if err := t.wait(ctx); err != nil {
			return err
		}
	}
	return t.fatal
}

// wait waits for a change of the task's state or for ctx. mu is held.
func (t *Task) wait(ctx context.Context) error {
	err := condwait.Wait(ctx, t.cond)
	if t.stopped {
		return errors.New("http-sink: task stopped")
	}
	return err
}

// drainReports hands the records of one failed request to Report, in
// request order, and reports whether it did. mu is held, and released
// while Report runs.
func (t *Task) drainReports(ctx context.Context) bool {
	for _, q := range t.reqs {
		if q.state != stateNeedReport {
			continue
		}
		q.state = stateReporting
		t.mu.Unlock()
		err := t.reportAll(ctx, q.records, q.err)
		t.mu.Lock()
		t.remove(q)
		if err != nil && t.fatal == nil {
			t.fatal = err
		}
		t.schedule()
		t.cond.Broadcast()
		return true
	}
	return false
}

func (t *Task) reportAll(ctx context.Context, records []*connect.Record, cause error) error {
	for _, r := range records {
		if err := t.sc.Report(ctx, r, cause); err != nil {
			if errors.Is(err, cause) {
				return err
			}
			return fmt.Errorf("%v; the error handler failed too: %w", cause, err)
		}
	}
	return nil
}

// recordError sends one record down the error path per behavior.on.error.
// It runs on the Put goroutine without mu.
func (t *Task) recordError(ctx context.Context, r *connect.Record, err error) error {
	switch t.s.onError {
	case "log":
		t.log.Error("http sink: dropping record", "record", r.Coordinates(), "error", err)
		r.Ack()
		return nil
	case "ignore":
		t.log.Debug("http sink: dropping record", "record", r.Coordinates(), "error", err)
		r.Ack()
		return nil
	}
	if rerr := t.reportAll(ctx, []*connect.Record{r}, err); rerr != nil {
		t.mu.Lock()
		if t.fatal == nil {
			t.fatal = rerr
		}
		t.mu.Unlock()
		return rerr
	}
	return nil
}

type outcome uint8

const (
	delivered outcome = iota
	dropped
	failed
	aborted // the task is stopping: leave the records unacknowledged
	partial // a 400 refused some records (partial.failure.format); see request.rejected
)

// send delivers one request and settles its records.
func (t *Task) send(q *request) {
	defer t.wg.Done()
	out, err := t.deliver(q)
	if out == partial {
		// q's own retries are over; ending them now lets a delivery of
		// the records sent again clear the task's retry note.
		t.settleRetry(q, false)
		out, err = t.settlePartial(q)
	}
	switch out {
	case delivered:
		connect.AckAll(q.records)
	case dropped:
		t.log.Warn("http sink: dropping records per "+keyDropOn, "error", err)
		connect.AckAll(q.records)
	case failed:
		switch t.s.onError {
		case "log":
			t.log.Error("http sink: dropping records of a failed request", "error", err)
			connect.AckAll(q.records)
		case "ignore":
			t.log.Debug("http sink: dropping records of a failed request", "error", err)
			connect.AckAll(q.records)
		}
	}
	t.settleRetry(q, out == delivered)

	t.mu.Lock()
	defer t.mu.Unlock()
	t.inflight--
	if out == failed && t.s.onError == "fail" {
		q.state, q.err = stateNeedReport, err
	} else {
		t.remove(q)
	}
	t.schedule()
	t.cond.Broadcast()
}

// deliver sends q with retries and classifies the result.
func (t *Task) deliver(q *request) (outcome, error) {
	body := q.body
	q.body = nil
	if z := q.zipped; z != nil {
		q.zipped = nil
		<-z.done
		if z.err != nil {
			return failed, t.deliveryError(q, 0, nil, 0, fmt.Errorf("gzip: %w", z.err))
		}
		body = z.out
	}
	var rawBody any
	if body != nil {
		rawBody = retryablehttp.ReaderFunc(func() (io.Reader, error) { return body.reader(), nil })
		defer body.release()
	}
	req, err := retryablehttp.NewRequestWithContext(t.sendCtx, q.method, q.target.url, rawBody)
	if err != nil {
		return failed, t.deliveryError(q, 0, nil, 0, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", t.s.contentType)
		if t.s.gzip {
			req.Header.Set("Content-Encoding", "gzip")
		}
	}
	req.Header.Set("User-Agent", userAgent)
	for _, h := range q.target.headers {
		req.Header.Set(h[0], h[1])
	}
	if t.s.idempotency != "" && len(q.records) > 0 {
		req.Header.Set(t.s.idempotency, idempotencyKey(q.records))
	}

	attempts := 0
	var lastProblem string
	retryMax := t.s.maxRetries
	if retryMax < 0 {
		retryMax = math.MaxInt32
	}
	rc := &retryablehttp.Client{
		HTTPClient:   t.hc,
		RetryMax:     retryMax,
		RetryWaitMin: t.s.backoff,
		RetryWaitMax: t.s.backoffMax,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
		RequestLogHook: func(_ retryablehttp.Logger, req *http.Request, _ int) {
			t.gate.wait(req.Context())
		},
		ResponseLogHook: func(_ retryablehttp.Logger, resp *http.Response) { t.gate.observe(resp) },
		CheckRetry: func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			attempts++
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			if err != nil {
				lastProblem = err.Error()
				retry, _ := retryablehttp.ErrorPropagatedRetryPolicy(ctx, nil, err)
				return retry, nil
			}
			lastProblem = "status " + resp.Status
			return t.retryable(resp.StatusCode), nil
		},
		Backoff: func(lo, hi time.Duration, attempt int, resp *http.Response) time.Duration {
			wait := retryDelay(lo, hi, t.s.constBackoff, attempt, resp)
			t.noteRetry(q, fmt.Errorf("http-sink: %s %s (records %s): attempt %d: %s; retrying in %s",
				q.method, redactURL(q.target.url), describeRecords(q.records), attempts, lastProblem, wait.Round(time.Millisecond)))
			return wait
		},
	}
	resp, err := rc.Do(req)
	if err != nil {
		if resp != nil { // the retry check gave up on a response
			resp.Body.Close()
		}
		if t.sendCtx.Err() != nil {
			return aborted, err
		}
		return failed, t.deliveryError(q, 0, nil, attempts, err)
	}
	defer resp.Body.Close()
	status := resp.StatusCode
	if t.success(status) {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return delivered, nil
	}
	limit := int64(4 << 10)
	if t.s.partial != "" && status == http.StatusBadRequest {
		limit = 1 << 20 // the lists of rejected records
	}
	text, _ := io.ReadAll(io.LimitReader(resp.Body, limit))
	if t.s.partial != "" && status == http.StatusBadRequest {
		if bad := rejectedRecords(t.s.partial, text, len(q.records)); len(bad) > 0 {
			q.rejected = &rejection{bad: bad, text: text, attempts: attempts}
			return partial, nil
		}
	}
	derr := t.deliveryError(q, status, text, attempts, nil)
	if t.s.dropOn.has(status) {
		return dropped, derr
	}
	return failed, derr
}

func (t *Task) success(status int) bool {
	return status/100 == 2 || t.s.successOn.has(status)
}

func (t *Task) retryable(status int) bool {
	return !t.success(status) && !t.s.dropOn.has(status) && t.s.retryOn.has(status)
}

func (t *Task) deliveryError(q *request, status int, body []byte, attempts int, err error) *DeliveryError {
	return &DeliveryError{Method: q.method, URL: redactURL(q.target.url), Status: status, Body: excerpt(body),
		Attempts: max(attempts, 1), Records: describeRecords(q.records), Err: err}
}

// noteRetry reports a retry in progress through SinkContext.Retrying.
func (t *Task) noteRetry(q *request, err error) {
	t.retryMu.Lock()
	defer t.retryMu.Unlock()
	if !q.retrying {
		q.retrying = true
		t.retrying++
	}
	t.retryNote = true
	t.log.Warn("http sink: request failed, retrying", "error", err)
	t.sc.Retrying(err)
}

// settleRetry ends q's retry, if it had one, and clears the task's retry
// note after a delivery when no other request is retrying.
func (t *Task) settleRetry(q *request, delivered bool) {
	t.retryMu.Lock()
	defer t.retryMu.Unlock()
	if q.retrying {
		q.retrying = false
		t.retrying--
	}
	if delivered && t.retrying == 0 && t.retryNote {
		t.retryNote = false
		t.sc.Retrying(nil)
	}
}

func addPartition(parts []connect.TopicPartition, r *connect.Record) []connect.TopicPartition {
	if n := len(parts); n > 0 && parts[n-1].Partition == r.Partition && parts[n-1].Topic == r.Topic {
		return parts
	}
	tp := connect.TopicPartition{Topic: r.Topic, Partition: r.Partition}
	if hasPartition(parts, tp) {
		return parts
	}
	return append(parts, tp)
}

func hasPartition(parts []connect.TopicPartition, tp connect.TopicPartition) bool {
	for _, p := range parts {
		if p == tp {
			return true
		}
	}
	return false
}

func sharePartition(a, b []connect.TopicPartition) bool {
	for _, p := range a {
		if hasPartition(b, p) {
			return true
		}
	}
	return false
}

// idempotencyKey names exactly the records of a request, the same on every
// retry: <topic>-<partition>-<first offset>-<last offset> when they are a
// run of consecutive offsets of one partition, else a SHA-256 of every
// topic-partition-offset (the records Amplitude did not reject, sent again,
// span the same offsets as the request it rejected in part). A key
// that named only the first record would, after a restart with different
// batch boundaries, be reused for a different set of events, and a
// provider dropping seen keys would lose the rest.
func idempotencyKey(records []*connect.Record) string {
	first, last := records[0], records[len(records)-1]
	same := true
	for _, r := range records {
		if r.Topic != first.Topic || r.Partition != first.Partition {
			same = false
			break
		}
	}
	if same && last.Offset-first.Offset+1 == int64(len(records)) {
		return first.Topic + "-" + strconv.Itoa(int(first.Partition)) + "-" + strconv.FormatInt(first.Offset, 10) + "-" + strconv.FormatInt(last.Offset, 10)
	}
	h := sha256.New()
	var buf []byte
	for _, r := range records {
		buf = append(buf[:0], r.Topic...)
		buf = append(buf, '-')
		buf = strconv.AppendInt(buf, int64(r.Partition), 10)
		buf = append(buf, '-')
		buf = strconv.AppendInt(buf, r.Offset, 10)
		buf = append(buf, '\n')
		h.Write(buf)
	}
	return hex.EncodeToString(h.Sum(nil))
}
