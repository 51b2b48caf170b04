package file

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spur-connect/spur/connect"
)

// pollInterval is how long Poll waits when the file has no new complete
// line (or does not exist yet) before it looks again. Kafka waits 1 s.
const pollInterval = 250 * time.Millisecond

const (
	readSize  = 64 << 10 // bytes asked of one read, and the initial buffer
	chunkSize = 64 << 10 // lines are copied into shared chunks of this size
	slabSize  = 64       // records are allocated this many at a time
)

type sourceTask struct {
	log         *slog.Logger
	path        string
	topic       string
	batch       int
	asJSON      bool
	passInvalid bool // behavior.on.invalid.json=string
	partition   map[string]any

	mu   sync.Mutex // guards everything below against a concurrent Stop
	f    *os.File
	base int64  // file position of buf[0]
	buf  []byte // bytes read but not yet handed out, from buf[start:]
	// start is where the unconsumed bytes of buf begin; base+start is the
	// position after the last line handed out, which the next record's
	// offset is computed from.
	start         int
	waitingLogged bool
	stopped       bool

	done     chan struct{}
	stopOnce sync.Once
}

func newSourceTask() *sourceTask { return &sourceTask{done: make(chan struct{})} }

func (t *sourceTask) Start(_ context.Context, cfg connect.Config, sc connect.SourceContext) error {
	t.log = sc.Logger()
	t.path = cfg.String(keyFile)
	t.topic = cfg.String(keyTopic)
	t.batch = int(cfg.Int(keyBatchSize))
	t.asJSON = strings.EqualFold(cfg.String(keyFormat), formatJSON)
	t.passInvalid = strings.EqualFold(cfg.String(keyOnInvalidJSON), invalidString)
	t.partition = map[string]any{"filename": t.path}
	if off := sc.Offset(t.partition); off != nil {
		pos, err := connect.OffsetInt(off["position"])
		if err != nil {
			return fmt.Errorf("file source %s: committed source offset %v: position: %w", t.path, off, err)
		}
		t.base = pos
	}
	t.log.Info("file source started", "file", t.path, "topic", t.topic, "position", t.base, "format", cfg.String(keyFormat))
	return nil
}

// Poll returns the complete lines appended since the last Poll, at most
// batch.size of them. With none, it waits pollInterval (or until ctx ends
// or the task stops) and returns nothing, so the runtime keeps control.
func (t *sourceTask) Poll(ctx context.Context) ([]*connect.Record, error) {
	recs, err := t.read(time.Now())
	if err != nil || len(recs) > 0 {
		return recs, err
	}
	t.sleep(ctx, pollInterval)
	return nil, nil
}

func (t *sourceTask) read(now time.Time) ([]*connect.Record, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return nil, nil
	}
	if t.f == nil {
		if err := t.open(); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				if !t.waitingLogged {
					t.waitingLogged = true
					t.log.Warn("file source: file does not exist yet; waiting for it", "file", t.path)
				}
				return nil, nil
			}
			return nil, err
		}
	}

	var (
		out   []*connect.Record
		slab  []connect.Record
		chunk []byte
	)
	for len(out) < t.batch {
		line, n, ok := nextLine(t.buf[t.start:])
		if !ok {
			more, err := t.fill()
			if err != nil {
				if len(out) > 0 {
					break // hand out what was read; the error recurs on the next Poll
				}
				return nil, err
			}
			if !more {
				break
			}
			continue
		}
		format := connect.FormatString
		var headers connect.Headers
		if t.asJSON {
			if isBlank(line) {
				t.start += n // a blank line holds no value; skipping it loses nothing
				continue
			}
			if connect.ValidJSON(line) {
				format = connect.FormatJSON
			} else {
				perr := jsonError(line)
				if !t.passInvalid {
					if len(out) > 0 {
						break // hand out the good lines first; the next Poll fails here
					}
					return nil, t.invalidLineError(perr)
				}
				headers = connect.Headers{{Key: HeaderInvalidJSON, Value: []byte(perr.Error())}}
			}
		}
		t.start += n

		// Copy the line out of the read buffer, which is reused. The
		// three-index slice keeps a consumer's append from running into
		// the next line in the chunk. The chunk is never nil, so an empty
		// line is an empty string, not a null value.
		if chunk == nil || cap(chunk)-len(chunk) < len(line) {
			chunk = make([]byte, 0, max(chunkSize, len(line)))
		}
		from := len(chunk)
		chunk = append(chunk, line...)
		value := connect.RawData(format, chunk[from:len(chunk):len(chunk)])

		if len(slab) == cap(slab) {
			slab = make([]connect.Record, 0, min(slabSize, t.batch-len(out)))
		}
		slab = append(slab, connect.Record{
			Topic:           t.topic,
			Partition:       -1,
			Timestamp:       now,
			Value:           value,
			Headers:         headers,
			SourcePartition: t.partition,
			SourceOffset:    map[string]any{"position": t.base + int64(t.start)},
		})
		out = append(out, &slab[len(slab)-1])
	}
	return out, nil
}

// jsonError explains why json.Valid rejected a line. json.Valid is the
// judge: connect.DecodeJSON trims trailing Unicode spaces such as "\v"
// before checking for trailing data, so it accepts a few lines that are
// not JSON; for those the message is generic.
func jsonError(line []byte) error {
	if _, err := connect.DecodeJSON(line); err != nil {
		return err
	}
	return errors.New("invalid JSON: characters that are not JSON whitespace around the value")
}

// isBlank reports whether a line holds only JSON whitespace (space and tab;
// a line holds no CR or LF). Other Unicode spaces are not blank: a line of
// them is invalid JSON, and skipping it would lose it.
func isBlank(line []byte) bool {
	for _, c := range line {
		if c != ' ' && c != '\t' {
			return false
		}
	}
	return true
}

func (t *sourceTask) invalidLineError(perr error) error {
	pos := t.base + int64(t.start)
	line, err := lineNumberAt(t.path, pos)
	if err != nil {
		return fmt.Errorf("file source: %s at byte %d: %w (set %s=%s to pass such lines on as strings)", t.path, pos, perr, keyOnInvalidJSON, invalidString)
	}
	return fmt.Errorf("file source: %s line %d (byte %d): %w (set %s=%s to pass such lines on as strings)", t.path, line, pos, perr, keyOnInvalidJSON, invalidString)
}

// open opens the file and seeks to the committed position. A file shorter
// than that position was truncated or replaced since: reading starts over
// from the beginning rather than waiting for the new file to grow past a
// position that means nothing in it.
func (t *sourceTask) open() error {
	f, err := os.Open(t.path)
	if err != nil {
		return fmt.Errorf("file source: open %s: %w", t.path, err)
	}
	if t.waitingLogged {
		t.waitingLogged = false
		t.log.Info("file source: file appeared", "file", t.path)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("file source: stat %s: %w", t.path, err)
	}
	if fi.IsDir() {
		f.Close()
		return fmt.Errorf("file source: %s=%s is a directory", keyFile, t.path)
	}
	if fi.Size() < t.base {
		t.log.Warn("file source: file is shorter than the committed position; it was truncated or replaced, reading it from the start",
			"file", t.path, "position", t.base, "size", fi.Size())
		t.base = 0
	}
	if _, err := f.Seek(t.base, io.SeekStart); err != nil {
		f.Close()
		return fmt.Errorf("file source: seek %s to %d: %w", t.path, t.base, err)
	}
	t.f = f
	t.buf = make([]byte, 0, readSize)
	t.start = 0
	return nil
}

// fill reads more of the file into buf, first dropping the bytes already
// handed out. It reports whether anything new was read. At the end of the
// file it checks for truncation (as logrotate's copytruncate does) and
// starts over from the beginning if the file shrank below what was read.
func (t *sourceTask) fill() (bool, error) {
	if t.start > 0 {
		n := copy(t.buf, t.buf[t.start:])
		t.base += int64(t.start)
		t.buf = t.buf[:n]
		t.start = 0
	}
	if len(t.buf) == cap(t.buf) { // one line longer than the buffer: grow it
		nb := make([]byte, len(t.buf), 2*cap(t.buf))
		copy(nb, t.buf)
		t.buf = nb
	}
	free := t.buf[len(t.buf):min(cap(t.buf), len(t.buf)+readSize)]
	n, err := t.f.Read(free)
	t.buf = t.buf[:len(t.buf)+n]
	if n > 0 {
		return true, nil
	}
	if err != nil && err != io.EOF {
		return false, fmt.Errorf("file source: read %s at %d: %w", t.path, t.base+int64(len(t.buf)), err)
	}
	fi, err := t.f.Stat()
	if err != nil {
		return false, fmt.Errorf("file source: stat %s: %w", t.path, err)
	}
	if read := t.base + int64(len(t.buf)); fi.Size() < read {
		t.log.Warn("file source: file shrank below the read position; it was truncated, reading it from the start",
			"file", t.path, "position", read, "size", fi.Size())
		if _, err := t.f.Seek(0, io.SeekStart); err != nil {
			return false, fmt.Errorf("file source: seek %s to 0: %w", t.path, err)
		}
		t.base, t.start, t.buf = 0, 0, t.buf[:0]
		return true, nil
	}
	return false, nil
}

// Commit has nothing to acknowledge upstream: the runtime stores the
// position, which is all a restart needs.
func (t *sourceTask) Commit(context.Context, *connect.Record) error { return nil }

// Stop closes the file. It may be called from another goroutine while
// Poll waits; that Poll returns at once.
func (t *sourceTask) Stop(context.Context) error {
	t.stopOnce.Do(func() { close(t.done) })
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	if t.f == nil {
		return nil
	}
	err := t.f.Close()
	t.f = nil
	if err != nil {
		return fmt.Errorf("file source: close %s: %w", t.path, err)
	}
	return nil
}

func (t *sourceTask) sleep(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	case <-t.done:
	}
}
