package hdfs

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/connectors/internal/backoff"
)

// maxBackoff caps the wait between retries of an HDFS request.
const maxBackoff = time.Minute

// Task is the HDFS sink task. It keeps one open file per Kafka partition,
// in memory, and commits it (writes it to a temp file, then renames it to
// <topic>+<partition>+<first>+<last>.<ext>) when it holds flush.size
// records, when its time is up (rotate.*), when a record belongs in
// another directory, or when the task holds max.open.records. A record is
// acknowledged once its file is committed.
//
// Exactly once: a committed file names the offsets it holds, and a task
// that takes over a partition first reads the committed names and skips
// every record at or below the highest offset committed, whatever Kafka's
// committed offset says. A crash between a rename and the offset commit
// therefore rewrites nothing; temp files of a crashed writer are deleted.
type Task struct {
	s   *settings
	sc  connect.SinkContext
	log *slog.Logger
	c   *client
	now func() time.Time

	mu        sync.Mutex
	writers   map[connect.TopicPartition]*writer
	committed map[connect.TopicPartition]int64 // highest committed offset; -1: none; absent: not read yet
	scans     map[string]map[int32]int64       // per topic, the committed names read by recovery
	dirs      map[string]bool                  // directories known to exist
	open      int                              // records in open files
	retrying  bool                             // Retrying(err) was reported
	schedule  time.Time                        // next rotate.schedule.interval.ms boundary
}

// writer is one Kafka partition's open file.
type writer struct {
	tp         connect.TopicPartition
	dir        string // partition directory, relative to the topic's
	buf        []byte
	recs       []*connect.Record
	start, end int64
	first      time.Time // record time of the first record (rotate.interval.ms)
	touched    bool      // a record was added since the last Flush
}

// NewTask returns an unstarted task.
func NewTask() *Task { return &Task{now: time.Now} }

// Start checks the config. It does not talk to HDFS: a cluster that is
// down makes the first commit retry, not the task fail to start.
func (t *Task) Start(_ context.Context, cfg connect.Config, sc connect.SinkContext) error {
	s, errs := newSettings(cfg)
	if len(errs) > 0 {
		return connect.ConfigErrors(errs)
	}
	t.s, t.sc, t.log, t.c = s, sc, sc.Logger(), newClient(s)
	t.writers = map[connect.TopicPartition]*writer{}
	t.committed = map[connect.TopicPartition]int64{}
	t.scans = map[string]map[int32]int64{}
	t.dirs = map[string]bool{}
	t.schedule = t.nextSchedule(t.now())
	return nil
}

// Open forgets what was known of newly assigned partitions: another task
// may have committed files for them since.
func (t *Task) Open(_ context.Context, partitions []connect.TopicPartition) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tp := range partitions {
		delete(t.committed, tp)
		delete(t.scans, tp.Topic)
	}
	return nil
}

// Close drops the open files of revoked partitions: their records stay
// unacknowledged and are written by the partition's next owner.
func (t *Task) Close(_ context.Context, partitions []connect.TopicPartition) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tp := range partitions {
		if w := t.writers[tp]; w != nil {
			t.open -= len(w.recs)
			delete(t.writers, tp)
		}
		delete(t.committed, tp)
	}
	return nil
}

// Put adds records to their partitions' open files, committing files as
// they fill up. An HDFS request that fails for a passing reason is
// retried until it succeeds or ctx ends; any other failure fails the task.
func (t *Task) Put(ctx context.Context, records []*connect.Record) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, r := range records {
		if err := t.add(ctx, r); err != nil {
			return err
		}
	}
	return t.rotateDue(ctx, false)
}

// Flush commits the files whose time is up (rotate.schedule.interval.ms,
// and rotate.interval.ms with the Wallclock extractor) and the files of
// partitions that went quiet: no record since the previous Flush. The
// files of busy partitions stay open, filling towards flush.size: their
// records are not acknowledged yet, and the runtime commits offsets only
// below them. If ctx ends while HDFS is failing, the error is retriable:
// nothing is lost, the files are committed at a later flush.
func (t *Task) Flush(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	err := t.rotateDue(ctx, true)
	if err != nil && ctx.Err() != nil {
		return connect.RetriableError(err)
	}
	return err
}

// Stop leaves open files unwritten; their records are not acknowledged.
func (t *Task) Stop(context.Context) error {
	if t.c != nil {
		t.c.hc.CloseIdleConnections()
	}
	return nil
}

func (t *Task) add(ctx context.Context, r *connect.Record) error {
	tp := connect.TopicPartition{Topic: r.Topic, Partition: r.Partition}
	last, err := t.recovered(ctx, tp)
	if err != nil {
		return err
	}
	if r.Offset <= last {
		r.Ack() // in a committed file already
		return nil
	}
	if r.Value.IsNull() {
		t.log.Debug("hdfs sink: skipping a record with a null value", "record", r.Coordinates())
		r.Ack()
		return nil
	}
	now := t.now()
	dir, err := t.s.part.dir(r, now)
	if err != nil {
		return t.refuse(ctx, r, err)
	}
	w := t.writers[tp]
	if w == nil {
		w = &writer{tp: tp}
		t.writers[tp] = w
	}
	if len(w.recs) > 0 && dir != w.dir {
		// One open file per partition keeps each committed file one
		// contiguous offset range, which recovery relies on.
		if err := t.commit(ctx, w); err != nil {
			return err
		}
	}
	n := len(w.buf)
	if w.buf, err = t.s.format.appendRecord(w.buf, r); err != nil {
		w.buf = w.buf[:n]
		return t.refuse(ctx, r, err)
	}
	if len(w.recs) == 0 {
		w.dir, w.start = dir, r.Offset
		if w.first, err = t.s.part.recordTime(r, now); err != nil {
			w.first = now
		}
	}
	w.recs = append(w.recs, r)
	w.end = r.Offset
	w.touched = true
	t.open++
	if len(w.recs) >= t.s.flushSize || t.spanDue(w, r, now) {
		if err := t.commit(ctx, w); err != nil {
			return err
		}
	}
	if t.open >= t.s.maxOpen {
		var largest *writer
		for _, o := range t.writers {
			if largest == nil || len(o.recs) > len(largest.recs) {
				largest = o
			}
		}
		return t.commit(ctx, largest)
	}
	return nil
}

// spanDue reports whether rotate.interval.ms has passed between the
// file's first record and r.
func (t *Task) spanDue(w *writer, r *connect.Record, now time.Time) bool {
	if t.s.rotate <= 0 {
		return false
	}
	ts, err := t.s.part.recordTime(r, now)
	return err == nil && ts.Sub(w.first) >= t.s.rotate
}

// rotateDue commits files whose time is up by the wall clock. mu is held.
func (t *Task) rotateDue(ctx context.Context, flushing bool) error {
	now := t.now()
	scheduled := t.s.rotateSchedule > 0 && !now.Before(t.schedule)
	for _, w := range t.writers {
		due := scheduled || (flushing && !w.touched)
		if flushing {
			w.touched = false
		}
		if flushing && t.s.rotate > 0 && t.s.part.extractor == "Wallclock" && now.Sub(w.first) >= t.s.rotate {
			due = true
		}
		if due && len(w.recs) > 0 {
			if err := t.commit(ctx, w); err != nil {
				return err
			}
		}
	}
	if scheduled {
		t.schedule = t.nextSchedule(now)
	}
	return nil
}

// nextSchedule is the next multiple of rotate.schedule.interval.ms after
// now, counted from midnight in the configured time zone.
func (t *Task) nextSchedule(now time.Time) time.Time {
	every := t.s.rotateSchedule
	if every <= 0 {
		return time.Time{}
	}
	local := now.In(t.s.part.loc)
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, t.s.part.loc)
	return midnight.Add((now.Sub(midnight)/every + 1) * every)
}

// refuse hands a record that cannot be written to the error path.
func (t *Task) refuse(ctx context.Context, r *connect.Record, err error) error {
	return t.sc.Report(ctx, r, fmt.Errorf("hdfs sink: %w", err))
}

// commit writes w's records to a temp file and renames it to its
// committed name, then acknowledges them. mu is held.
func (t *Task) commit(ctx context.Context, w *writer) error {
	if len(w.recs) == 0 {
		return nil
	}
	topicDir := t.s.topicsDir + "/" + w.tp.Topic
	name := w.tp.Topic + "+" + strconv.Itoa(int(w.tp.Partition)) + "+" + padded(w.start, t.s.padWidth) + "+" + padded(w.end, t.s.padWidth) + t.s.format.ext()
	final := topicDir + "/" + w.dir + "/" + name
	tmp := t.s.topicsDir + "/+tmp/" + w.tp.Topic + "/" + name + "." + randomHex() + ".tmp"

	parent := path.Dir(final)
	created := false
	err := t.retry(ctx, func() error {
		if !created {
			if err := t.c.create(ctx, tmp, w.buf); err != nil {
				return err
			}
			created = true
		}
		if !t.dirs[parent] {
			if err := t.c.mkdirs(ctx, parent); err != nil {
				return err
			}
			t.dirs[parent] = true
		}
		ok, err := t.c.rename(ctx, tmp, final)
		if err != nil || ok {
			return err
		}
		// Refused: an earlier attempt may have renamed it and lost the
		// answer, or somebody else committed these offsets.
		n, err := t.c.length(ctx, final)
		if err != nil {
			return err
		}
		if n == int64(len(w.buf)) {
			_ = t.c.delete(ctx, tmp)
			return nil
		}
		if n < 0 {
			// The parent or the temp file was removed under us: make
			// them again.
			delete(t.dirs, parent)
			if tn, err := t.c.length(ctx, tmp); err == nil && tn < 0 {
				created = false
			}
			return &RemoteError{Op: "RENAME", Path: tmp, Status: http.StatusServiceUnavailable, Message: "refused although " + final + " does not exist"}
		}
		return permanent{fmt.Errorf("%s exists already with other content (%d bytes, ours %d): is another writer (a second connector with the same topics.dir, or a worker cut off from Kafka) writing this partition?", final, n, len(w.buf))}
	})
	if err != nil {
		return fmt.Errorf("hdfs sink: committing %s: %w", final, err)
	}
	connect.AckAll(w.recs)
	t.log.Debug("hdfs sink: file committed", "file", final, "records", len(w.recs))
	t.committed[w.tp] = w.end
	t.open -= len(w.recs)
	clear(w.recs)
	w.recs, w.buf = w.recs[:0], w.buf[:0]
	return nil
}

// recovered returns the highest offset committed in a file of tp, reading
// the committed names (and deleting tp's temp files) the first time. mu is held.
func (t *Task) recovered(ctx context.Context, tp connect.TopicPartition) (int64, error) {
	if last, ok := t.committed[tp]; ok {
		return last, nil
	}
	scan, ok := t.scans[tp.Topic]
	if !ok || t.s.part.kind == "default" {
		scan = map[int32]int64{}
		dir := t.s.topicsDir + "/" + tp.Topic
		if t.s.part.kind == "default" {
			dir += "/partition=" + strconv.Itoa(int(tp.Partition))
		}
		if err := t.retry(ctx, func() error { return t.scan(ctx, dir, tp.Topic, scan) }); err != nil {
			return 0, fmt.Errorf("hdfs sink: reading the committed files of %s: %w", tp.Topic, err)
		}
		if t.s.part.kind != "default" {
			t.scans[tp.Topic] = scan
		}
	}
	last, ok := scan[tp.Partition]
	if !ok {
		last = -1
	}
	// Temp files of this partition are left from a writer that stopped
	// or crashed before renaming them.
	tmpDir := t.s.topicsDir + "/+tmp/" + tp.Topic
	prefix := tp.Topic + "+" + strconv.Itoa(int(tp.Partition)) + "+"
	err := t.retry(ctx, func() error {
		entries, err := t.c.list(ctx, tmpDir)
		for _, e := range entries {
			if err == nil && e.Type == "FILE" && strings.HasPrefix(e.PathSuffix, prefix) {
				err = t.c.delete(ctx, tmpDir+"/"+e.PathSuffix)
			}
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("hdfs sink: deleting the temp files of %s: %w", tmpDir, err)
	}
	t.committed[tp] = last
	if last >= 0 {
		t.log.Info("hdfs sink: resuming after the committed files", "topic", tp.Topic, "partition", tp.Partition, "last_offset", last)
	}
	return last, nil
}

// scan walks dir and records, per partition of topic, the highest last
// offset in a committed file name.
func (t *Task) scan(ctx context.Context, dir, topic string, into map[int32]int64) error {
	entries, err := t.c.list(ctx, dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type == "DIRECTORY" {
			if err := t.scan(ctx, dir+"/"+e.PathSuffix, topic, into); err != nil {
				return err
			}
			continue
		}
		if p, end, ok := parseName(e.PathSuffix, topic); ok {
			if cur, seen := into[p]; !seen || end > cur {
				into[p] = end
			}
		}
	}
	return nil
}

// parseName reads <topic>+<partition>+<first>+<last>.<ext>.
func parseName(name, topic string) (partition int32, last int64, ok bool) {
	rest, found := strings.CutPrefix(name, topic+"+")
	if !found {
		return 0, 0, false
	}
	if i := strings.IndexByte(rest, '.'); i >= 0 {
		rest = rest[:i]
	}
	parts := strings.Split(rest, "+")
	if len(parts) != 3 {
		return 0, 0, false
	}
	p, err1 := strconv.ParseInt(parts[0], 10, 32)
	first, err2 := strconv.ParseInt(parts[1], 10, 64)
	last, err3 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || first > last {
		return 0, 0, false
	}
	return int32(p), last, true
}

// retry runs fn until it succeeds, fails for good, or ctx ends, waiting
// between attempts. The task's status shows the error while it retries.
func (t *Task) retry(ctx context.Context, fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil || !transient(err) {
			if err == nil && t.retrying {
				t.retrying = false
				t.sc.Retrying(nil)
			}
			return err
		}
		t.retrying = true
		t.sc.Retrying(err)
		t.log.Warn("hdfs sink: retrying", "attempt", attempt+1, "error", err)
		select {
		case <-time.After(max(backoff.Exponential(t.s.backoff, maxBackoff, attempt), 10*time.Millisecond)):
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up retrying: %v)", err, ctx.Err())
		}
	}
}

// permanent marks an error retrying cannot fix.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

func randomHex() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// format is how records become lines of a file.
type format uint8

const (
	formatJSON format = iota
	formatString
)

func (f format) ext() string {
	if f == formatString {
		return ".txt"
	}
	return ".json"
}

// appendRecord appends r's value as one line.
func (f format) appendRecord(dst []byte, r *connect.Record) ([]byte, error) {
	if f == formatString {
		return append(append(dst, r.Value.String()...), '\n'), nil
	}
	start := len(dst)
	dst, err := r.Value.AppendJSON(dst)
	if err != nil {
		return dst, err
	}
	// A newline inside JSON can only be whitespace (strings escape it):
	// keep one value per line.
	for i := start; ; {
		j := bytes.IndexByte(dst[i:], '\n')
		if j < 0 {
			break
		}
		i += j
		dst[i] = ' '
	}
	return append(dst, '\n'), nil
}
