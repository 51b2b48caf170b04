package elasticsearch

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// buffer is a pooled bulk request body. A batch holds one reference while
// it is being delivered, and each request attempt another until the HTTP
// transport closes its body: net/http may still read a request body after
// Do returned (the doc of RoundTripper says so), so only the last holder
// returns it to the pool. Pooling keeps a busy task from allocating (and
// the collector from scanning) a fresh megabyte-sized body per request.
type buffer struct {
	b    []byte
	refs atomic.Int32
}

var bufferPool sync.Pool

// maxPooled keeps an unusually large body out of the pool.
const maxPooled = 16 << 20

func getBuffer(capHint int) *buffer {
	x, _ := bufferPool.Get().(*buffer)
	if x == nil {
		x = &buffer{}
	}
	if cap(x.b) < capHint {
		x.b = make([]byte, 0, capHint)
	}
	x.b = x.b[:0]
	x.refs.Store(1)
	return x
}

func (x *buffer) hold() { x.refs.Add(1) }

func (x *buffer) release() {
	if x.refs.Add(-1) == 0 && cap(x.b) <= maxPooled {
		bufferPool.Put(x)
	}
}

var errBodyClosed = errors.New("elasticsearch sink: request body read after close")

// bodyReader is one attempt's view of a buffer. Close (called by the
// transport once it is done with the body) waits for a Read in progress
// and makes later Reads fail, so the buffer is never read after release.
type bodyReader struct {
	mu     sync.Mutex
	buf    *buffer
	off    int
	closed bool
}

func newBodyReader(x *buffer) *bodyReader {
	x.hold()
	return &bodyReader{buf: x}
}

func (r *bodyReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, errBodyClosed
	}
	if r.off >= len(r.buf.b) {
		return 0, io.EOF
	}
	n := copy(p, r.buf.b[r.off:])
	r.off += n
	return n, nil
}

func (r *bodyReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.closed = true
		r.buf.release()
	}
	return nil
}
