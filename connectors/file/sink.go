package file

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/spur-connect/spur/connect"
)

const writeBufferSize = 256 << 10

type sinkTask struct {
	log  *slog.Logger
	sc   connect.SinkContext
	path string

	mu sync.Mutex // Put, Flush and Stop may come from different goroutines
	f  *os.File
	w  *bufio.Writer
	// pending are the records whose lines were written since the last
	// Flush: acknowledged only once those lines are on disk.
	pending []*connect.Record
	// failed poisons the task after a failed write or fsync. After a failed
	// fsync the kernel may have dropped the dirty pages and a second fsync
	// would succeed without them, so nothing may be acknowledged again.
	failed error
	closed bool
}

// Start opens the file for appending, creating it if needed. It does not
// create directories: a missing directory is far more often a typo or an
// unmounted volume than an intent, and creating it would hide the mistake.
func (t *sinkTask) Start(_ context.Context, cfg connect.Config, sc connect.SinkContext) error {
	t.log = sc.Logger()
	t.sc = sc
	t.path = cfg.String(keyFile)
	f, err := os.OpenFile(t.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("file sink: %s=%s: directory %s does not exist (the sink does not create directories): %w",
				keyFile, t.path, filepath.Dir(t.path), err)
		}
		return fmt.Errorf("file sink: %s=%s: %w", keyFile, t.path, err)
	}
	t.f = f
	t.w = bufio.NewWriterSize(f, writeBufferSize)
	t.log.Info("file sink started", "file", t.path)
	return nil
}

// Put writes one line per record value, one write per batch. Null values (and
// JSON null) have no line: they are acknowledged at once. A JSON value
// that spans lines is compacted onto one, which changes only whitespace.
func (t *sinkTask) Put(ctx context.Context, records []*connect.Record) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.usable(); err != nil {
		return err
	}
	for _, r := range records {
		if r.Value.IsNull() {
			r.Ack()
			continue
		}
		line, err := appendLine(t.w.AvailableBuffer(), &r.Value)
		if err != nil {
			if rerr := t.sc.Report(ctx, r, fmt.Errorf("file sink %s: %w", t.path, err)); rerr != nil {
				return rerr
			}
			continue
		}
		if _, err := t.w.Write(line); err != nil {
			t.failed = fmt.Errorf("file sink: write %s: %w", t.path, err)
			return t.failed
		}
		t.pending = append(t.pending, r)
	}
	// Hand the batch to the OS now, as Kafka's FileStreamSink does, so
	// readers of the file see lines without waiting for the next flush.
	// Acknowledgement still waits for the fsync in Flush.
	if err := t.w.Flush(); err != nil {
		t.failed = fmt.Errorf("file sink: write %s: %w", t.path, err)
		return t.failed
	}
	return nil
}

// appendLine appends a value and a newline: JSON as JSON text (raw JSON
// byte for byte), strings and bytes as they are, like Kafka's sink.
func appendLine(dst []byte, d *connect.Data) ([]byte, error) {
	if d.Format() == connect.FormatJSON {
		start := len(dst)
		var err error
		if dst, err = d.AppendJSON(dst); err != nil {
			return nil, err
		}
		// Line breaks in valid JSON are whitespace between tokens (a string
		// cannot hold a raw one), so compacting keeps the value and keeps it
		// to one line. Only such values are touched.
		if bytes.ContainsAny(dst[start:], "\r\n") {
			var c bytes.Buffer
			if err := json.Compact(&c, dst[start:]); err != nil {
				return nil, fmt.Errorf("value is not valid JSON: %w", err)
			}
			dst = append(dst[:start], c.Bytes()...)
		}
		return append(dst, '\n'), nil
	}
	raw, err := d.Raw()
	if err != nil {
		return nil, err
	}
	return append(append(dst, raw...), '\n'), nil
}

// Flush writes the buffer, fsyncs the file and then acknowledges every
// record written since the last Flush: an ack means the line is on disk.
func (t *sinkTask) Flush(context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.usable(); err != nil {
		return err
	}
	return t.flush()
}

func (t *sinkTask) flush() error {
	if len(t.pending) == 0 {
		return nil
	}
	if err := t.w.Flush(); err != nil {
		t.failed = fmt.Errorf("file sink: write %s: %w", t.path, err)
		return t.failed
	}
	if err := t.f.Sync(); err != nil {
		t.failed = fmt.Errorf("file sink: fsync %s: %w", t.path, err)
		return t.failed
	}
	connect.AckAll(t.pending)
	clear(t.pending) // drop the references so acked records can be collected
	t.pending = t.pending[:0]
	return nil
}

func (t *sinkTask) usable() error {
	if t.failed != nil {
		return t.failed
	}
	if t.closed || t.f == nil {
		return fmt.Errorf("file sink %s: task is stopped", t.path)
	}
	return nil
}

// Stop flushes (acknowledging what reached the disk) and closes the file.
func (t *sinkTask) Stop(context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.f == nil {
		return nil
	}
	var err error
	if t.failed == nil {
		err = t.flush()
	}
	t.closed = true
	if cerr := t.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("file sink: close %s: %w", t.path, cerr)
	}
	return err
}
