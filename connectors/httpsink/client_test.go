package httpsink

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// writeLog is a net.Conn that records the size of every Write.
type writeLog struct {
	net.Conn
	buf    bytes.Buffer
	writes []int
}

func (w *writeLog) Write(p []byte) (int, error) {
	w.writes = append(w.writes, len(p))
	return w.buf.Write(p)
}

func TestBodyConnWritesTheRestOfABodyInOneCall(t *testing.T) {
	body := getBuffer()
	for i := range 300_000 {
		body.b = append(body.b, byte('a'+i%26))
	}
	defer body.release()
	for _, tc := range []struct {
		name       string
		read, size int64 // bytes read before, limit of the transport
	}{
		{"whole body", 0, 300_000},
		{"after the transport's buffer took a piece", 4000, 296_000},
		{"limit shorter than the body", 10, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := body.reader().(*bodyReader)
			defer r.Close()
			if _, err := io.CopyN(io.Discard, r, tc.read); err != nil {
				t.Fatal(err)
			}
			c := &writeLog{}
			lr := &io.LimitedReader{R: r, N: tc.size}
			n, err := bodyConn{c}.ReadFrom(lr)
			if err != nil || n != tc.size {
				t.Fatalf("ReadFrom = %d, %v; want %d", n, err, tc.size)
			}
			if len(c.writes) != 1 {
				t.Fatalf("%d writes (%v), want 1", len(c.writes), c.writes)
			}
			if !bytes.Equal(c.buf.Bytes(), body.b[tc.read:tc.read+tc.size]) {
				t.Fatal("written bytes differ from the body")
			}
			if lr.N != 0 || int64(r.Len()) != int64(len(body.b))-tc.read-tc.size {
				t.Fatalf("limit left %d, reader left %d", lr.N, r.Len())
			}
		})
	}
	t.Run("other readers are copied", func(t *testing.T) {
		c := &writeLog{}
		n, err := bodyConn{c}.ReadFrom(io.LimitReader(bytes.NewReader(body.b), 70_000))
		if err != nil || n != 70_000 || !bytes.Equal(c.buf.Bytes(), body.b[:70_000]) {
			t.Fatalf("ReadFrom = %d, %v", n, err)
		}
	})
}

// TestBodiesThroughTheTransport sends pooled bodies of several sizes over
// one keep-alive connection of the sink's client, plain and under TLS (where
// tls.Conn wraps bodyConn), and checks every byte.
func TestBodiesThroughTheTransport(t *testing.T) {
	for _, secure := range []bool{false, true} {
		var got [][]byte
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, err := io.ReadAll(r.Body)
			if err != nil {
				t.Error(err)
			}
			got = append(got, b)
		})
		s := &settings{connTimeout: time.Second, reqTimeout: 10 * time.Second, inFlight: 1}
		var srv *httptest.Server
		if secure {
			srv = httptest.NewTLSServer(h)
			s.tls.config = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
		} else {
			srv = httptest.NewServer(h)
		}
		hc := newHTTPClient(s)
		for _, size := range []int{0, 1, 4000, 4096, 100_000, 1 << 20} {
			body := getBuffer()
			for i := range size {
				body.b = append(body.b, byte(i*7))
			}
			req, _ := http.NewRequest(http.MethodPost, srv.URL, body.reader())
			req.ContentLength = int64(size)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatalf("TLS %v, %d bytes: %v", secure, size, err)
			}
			resp.Body.Close()
			if !bytes.Equal(got[len(got)-1], body.b) {
				t.Fatalf("TLS %v, %d bytes: the server got %d bytes that differ", secure, size, len(got[len(got)-1]))
			}
			body.release()
		}
		srv.Close()
	}
}

// A body the transport closed before reading it to the end may still be
// in its write loop: its buffer must not go back to the pool. One closed
// unread (retryablehttp measures the length that way) or read to the end
// may.
func TestBodyClosedEarlyIsNotPooled(t *testing.T) {
	for _, tc := range []struct {
		name      string
		read      func(r *bodyReader)
		abandoned bool
	}{
		{"never read", func(r *bodyReader) {}, false},
		{"read to the end", func(r *bodyReader) { io.Copy(io.Discard, io.LimitReader(r, 10_000)) }, false},
		{"written to the end by bodyConn", func(r *bodyReader) {
			bodyConn{&writeLog{}}.ReadFrom(&io.LimitedReader{R: r, N: 10_000})
		}, false},
		{"read in part", func(r *bodyReader) { io.CopyN(io.Discard, r, 100) }, true},
		{"read after close", func(r *bodyReader) {
			r.Close()
			if n, err := r.Read(make([]byte, 10)); n != 0 || err != errBodyClosed {
				panic(fmt.Sprintf("read after close: %d, %v", n, err))
			}
			if _, err := (bodyConn{&writeLog{}}).ReadFrom(&io.LimitedReader{R: r, N: 10}); err != errBodyClosed {
				panic(fmt.Sprintf("ReadFrom after close: %v", err))
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := getBuffer()
			body.b = append(body.b, bytes.Repeat([]byte("x"), 10_000)...)
			r := body.reader().(*bodyReader)
			tc.read(r)
			r.Close()
			if got := body.abandoned.Load(); got != tc.abandoned {
				t.Fatalf("abandoned = %v, want %v", got, tc.abandoned)
			}
			body.release()
		})
	}
}
