package httpsink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/spur-connect/spur/connectors/internal/backoff"
	"golang.org/x/time/rate"
)

// newHTTPClient builds the client a task sends with: a pooled transport with
// the configured timeouts, proxy and TLS, and authentication.
func newHTTPClient(s *settings) *http.Client {
	dialer := &net.Dialer{Timeout: s.connTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return bodyConn{c}, nil
		},
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   max(s.inFlight, 2),
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   s.connTimeout,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       s.tls.config,
	}
	if s.proxy != nil {
		tr.Proxy = http.ProxyURL(s.proxy)
	}
	var rt http.RoundTripper = tr
	switch s.auth {
	case "BASIC":
		rt = &basicAuth{next: rt, user: s.user, pass: s.pass}
	case "BEARER":
		rt = &staticAuth{next: rt, value: "Bearer " + strings.TrimSpace(s.bearer)}
	case "OAUTH2":
		tokenClient := &http.Client{Transport: tr, Timeout: s.reqTimeout}
		rt = &oauthAuth{next: rt, src: &tokenSource{cfg: s.oauth, client: tokenClient}}
	}
	return &http.Client{Transport: rt, Timeout: s.reqTimeout}
}

// gate holds every request attempt of a task until a provider's
// Retry-After has passed and the rate limiter grants a token. It waits
// before an attempt starts, outside the attempt's timeout, so a long wait
// never counts as a failed attempt.
type gate struct {
	limiter   *rate.Limiter // nil: unlimited
	notBefore atomic.Int64  // unix nanos before which nothing is sent
}

func newGate(perSecond float64) *gate {
	g := &gate{}
	if perSecond > 0 {
		g.limiter = rate.NewLimiter(rate.Limit(perSecond), 1)
	}
	return g
}

// wait blocks until the next attempt may start or ctx is done.
func (g *gate) wait(ctx context.Context) {
	if nb := g.notBefore.Load(); nb != 0 {
		if d := time.Until(time.Unix(0, nb)); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
	}
	if g.limiter != nil {
		g.limiter.Wait(ctx) // fails only when ctx is done: the attempt then fails too
	}
}

// observe holds back every request after a 429 or 503 with Retry-After.
func (g *gate) observe(resp *http.Response) {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return
	}
	d, ok := retryAfter(resp)
	if !ok || d <= 0 {
		return
	}
	until := time.Now().Add(d).UnixNano()
	for {
		cur := g.notBefore.Load()
		if cur >= until || g.notBefore.CompareAndSwap(cur, until) {
			return
		}
	}
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// retryAfter parses a Retry-After header in seconds or as an HTTP date.
func retryAfter(resp *http.Response) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(min(n, int64(24*time.Hour/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// retryDelay returns the wait before retry number attempt+1 (attempt counts
// from 0): Retry-After when the response has one, else exponential from
// base to most with "equal jitter" (half fixed, half random).
func retryDelay(base, most time.Duration, constant bool, attempt int, resp *http.Response) time.Duration {
	if d, ok := retryAfter(resp); ok {
		return d
	}
	if constant || base <= 0 {
		return base
	}
	return backoff.Exponential(base, most, attempt)
}

type basicAuth struct {
	next       http.RoundTripper
	user, pass string
}

func (a *basicAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	r := cloneHeaders(req)
	r.SetBasicAuth(a.user, a.pass)
	return a.next.RoundTrip(r)
}

type staticAuth struct {
	next  http.RoundTripper
	value string
}

func (a *staticAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	r := cloneHeaders(req)
	r.Header.Set("Authorization", a.value)
	return a.next.RoundTrip(r)
}

// cloneHeaders returns a shallow copy of req with its own header map, as a
// RoundTripper must not modify the request it was given.
func cloneHeaders(req *http.Request) *http.Request {
	r := new(http.Request)
	*r = *req
	r.Header = req.Header.Clone()
	if r.Header == nil {
		r.Header = http.Header{}
	}
	return r
}

type oauthConfig struct {
	tokenURL, clientID, secret, property, scope string
	inURL                                       bool
	headers                                     [][2]string
}

type oauthAuth struct {
	next http.RoundTripper
	src  *tokenSource
}

// RoundTrip sends with the current token; on 401 it fetches a new token and
// tries once more (when the body can be replayed).
func (a *oauthAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := a.src.token(req.Context())
	if err != nil {
		closeBody(req)
		return nil, err
	}
	r := cloneHeaders(req)
	r.Header.Set("Authorization", "Bearer "+tok)
	resp, err := a.next.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || req.GetBody == nil {
		return resp, err
	}
	a.src.invalidate(tok)
	fresh, err := a.src.token(req.Context())
	if err != nil || fresh == tok {
		return resp, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return resp, nil
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	r2 := cloneHeaders(req)
	r2.Body = body
	r2.Header.Set("Authorization", "Bearer "+fresh)
	return a.next.RoundTrip(r2)
}

// tokenSource fetches and caches an OAuth2 client-credentials token.
type tokenSource struct {
	cfg    oauthConfig
	client *http.Client

	mu     sync.Mutex
	tok    string
	expiry time.Time
}

func (s *tokenSource) token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != "" && (s.expiry.IsZero() || time.Until(s.expiry) > 30*time.Second) {
		return s.tok, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	if s.cfg.scope != "" {
		form.Set("scope", s.cfg.scope)
	}
	if s.cfg.inURL {
		form.Set("client_id", s.cfg.clientID)
		form.Set("client_secret", s.cfg.secret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("oauth2 token request: %w", err)
	}
	for _, h := range s.cfg.headers {
		req.Header.Set(h[0], h[1])
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if !s.cfg.inURL {
		req.SetBasicAuth(url.QueryEscape(s.cfg.clientID), url.QueryEscape(s.cfg.secret))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("oauth2 token request to %s: %w", redactURL(s.cfg.tokenURL), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("oauth2 token request to %s: status %d: %s", redactURL(s.cfg.tokenURL), resp.StatusCode, excerpt(body))
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return "", fmt.Errorf("oauth2 token response from %s is not a JSON object: %w", redactURL(s.cfg.tokenURL), err)
	}
	tok, _ := m[s.cfg.property].(string)
	if tok == "" {
		return "", fmt.Errorf("oauth2 token response from %s has no string field %q", redactURL(s.cfg.tokenURL), s.cfg.property)
	}
	s.tok, s.expiry = tok, time.Time{}
	var secs float64
	switch e := m["expires_in"].(type) {
	case json.Number:
		secs, _ = e.Float64()
	case string:
		secs, _ = strconv.ParseFloat(e, 64)
	}
	if secs > 0 {
		s.expiry = time.Now().Add(time.Duration(secs * float64(time.Second)))
	}
	return tok, nil
}

func (s *tokenSource) invalidate(tok string) {
	s.mu.Lock()
	if s.tok == tok {
		s.tok = ""
	}
	s.mu.Unlock()
}

// buffer is a pooled byte slice shared by a request and the readers the
// HTTP transport holds: it returns to the pool once every holder released
// it, so a body still being written by the transport is never reused.
type buffer struct {
	b    []byte
	refs atomic.Int32
	// abandoned: a reader was closed after the transport started reading it
	// and before it reached the end. net/http closes a request body early
	// on some errors while its write loop may still be copying from it, so
	// such a buffer is left to the garbage collector, never pooled again.
	abandoned atomic.Bool
}

const maxPooledBuffer = 8 << 20

var bufferPool = sync.Pool{New: func() any { return &buffer{b: make([]byte, 0, 32<<10)} }}

func getBuffer() *buffer {
	b := bufferPool.Get().(*buffer)
	b.b = b.b[:0]
	b.refs.Store(1)
	return b
}

func (b *buffer) release() {
	if b.refs.Add(-1) == 0 && cap(b.b) <= maxPooledBuffer && !b.abandoned.Load() {
		bufferPool.Put(b)
	}
}

// reader returns a new reader over the buffer that holds a reference until closed.
func (b *buffer) reader() io.Reader {
	b.refs.Add(1)
	return &bodyReader{Reader: bytes.NewReader(b.b), buf: b, data: b.b}
}

type bodyReader struct {
	*bytes.Reader
	buf     *buffer
	data    []byte      // the bytes Reader reads: b.b when the reader was made
	started atomic.Bool // something read from it
	done    atomic.Bool // read to the end
	closed  atomic.Bool
}

// errBodyClosed is what a body read after Close returns.
var errBodyClosed = errors.New("http-sink: request body read after close")

// start marks the reader as read from and reports whether it may be: a
// reader that Close already released must not touch the buffer. Close sets
// closed before it looks at started, so one of the two always sees the
// other, and a buffer being read is never pooled.
func (r *bodyReader) start() bool {
	r.started.Store(true)
	return !r.closed.Load()
}

// noteEnd records that the reader reached the end of the body; only the
// goroutine reading calls it.
func (r *bodyReader) noteEnd() {
	if r.Reader.Len() == 0 {
		r.done.Store(true)
	}
}

func (r *bodyReader) Read(p []byte) (int, error) {
	if !r.start() {
		return 0, errBodyClosed
	}
	n, err := r.Reader.Read(p)
	r.noteEnd()
	return n, err
}

func (r *bodyReader) WriteTo(w io.Writer) (int64, error) {
	if !r.start() {
		return 0, errBodyClosed
	}
	n, err := r.Reader.WriteTo(w)
	r.noteEnd()
	return n, err
}

// bodyConn is a connection of the sink's transport that writes the sink's
// request bodies in one call. net/http copies a body of known length through
// io.LimitReader, which hides the body's WriterTo, so each request's bytes
// went through a fresh 32 KiB buffer, 32 KiB per write syscall (a 250 KB
// batch: 8 copies, 8 syscalls and a 32 KiB allocation). The transport's
// buffered writer hands the body to ReadFrom once it has flushed the
// headers; ReadFrom recognises a bodyReader behind the limit and writes the
// rest of it straight from the pooled buffer. Anything else is copied as
// before. Under TLS the transport wraps this connection, and tls.Conn does
// its own buffering.
type bodyConn struct{ net.Conn }

func (c bodyConn) ReadFrom(r io.Reader) (int64, error) {
	if lr, ok := r.(*io.LimitedReader); ok {
		if br, ok := lr.R.(*bodyReader); ok {
			// br.data, not br.buf.b: net/http may close the body (and the
			// buffer go back to the pool) while its write loop still runs.
			if !br.start() {
				return 0, errBodyClosed
			}
			rest := br.data[br.Size()-int64(br.Len()):]
			if int64(len(rest)) > lr.N {
				rest = rest[:lr.N]
			}
			n, err := c.Conn.Write(rest)
			_, _ = br.Seek(int64(n), io.SeekCurrent)
			br.noteEnd()
			lr.N -= int64(n)
			return int64(n), err
		}
	}
	return io.Copy(writerOnly{c.Conn}, r)
}

// writerOnly hides a writer's ReadFrom, so io.Copy does not call it back.
type writerOnly struct{ io.Writer }

func (r *bodyReader) Close() error {
	if r.closed.CompareAndSwap(false, true) {
		if r.started.Load() && !r.done.Load() {
			r.buf.abandoned.Store(true)
		}
		r.buf.release()
	}
	return nil
}

var gzipPools [10]sync.Pool

// compress gzips src into a new pooled buffer with a pooled writer.
func compress(src []byte, level int) (*buffer, error) {
	out := getBuffer()
	w := &appendWriter{buf: out}
	zw, _ := gzipPools[level].Get().(*gzip.Writer)
	if zw == nil {
		var err error
		if zw, err = gzip.NewWriterLevel(w, level); err != nil {
			out.release()
			return nil, err
		}
	} else {
		zw.Reset(w)
	}
	if _, err := zw.Write(src); err != nil {
		out.release()
		return nil, err
	}
	if err := zw.Close(); err != nil {
		out.release()
		return nil, err
	}
	zw.Reset(io.Discard)
	gzipPools[level].Put(zw)
	return out, nil
}

type appendWriter struct{ buf *buffer }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.buf.b = append(w.buf.b, p...)
	return len(p), nil
}

// redactURL renders a URL for logs and errors: no user info, and query
// values whose names suggest a secret replaced.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	u.User = nil
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if secretName(k) {
				q[k] = []string{"REDACTED"}
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

func secretName(k string) bool {
	k = strings.ToLower(k)
	for _, w := range []string{"secret", "key", "token", "password", "passwd", "auth", "sig", "credential"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// excerpt shortens a response body for an error message.
func excerpt(b []byte) string {
	const most = 512
	b = bytes.TrimSpace(b)
	if len(b) > most {
		return string(b[:most]) + "...(truncated)"
	}
	return string(b)
}
