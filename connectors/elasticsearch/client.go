package elasticsearch

import (
	"context"
	"encoding/base64"
	"fmt"
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
)

const (
	userAgent = "spur-elasticsearch-sink/" + Version
	// maxResponse bounds what is read of a response: a bulk response is
	// about 200 bytes per item.
	maxResponse = 256 << 20
)

// client talks to the cluster: bulk requests and index checks, each to the
// next URL of connection.url.
type client struct {
	s    *settings
	hc   *http.Client
	auth string // Authorization header value, or ""
	next atomic.Uint32
}

func newClient(s *settings) *client {
	dialer := &net.Dialer{Timeout: s.connTimeout, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		MaxIdleConnsPerHost:   s.inFlight + 1,
		IdleConnTimeout:       s.idle,
		TLSHandshakeTimeout:   s.connTimeout,
		ResponseHeaderTimeout: s.readTimeout,
		TLSClientConfig:       s.tls,
		ForceAttemptHTTP2:     true,
	}
	if s.proxy != nil {
		tr.Proxy = http.ProxyURL(s.proxy)
	}
	c := &client{s: s, hc: &http.Client{Transport: tr}}
	switch {
	case s.apiKey != "":
		c.auth = "ApiKey " + s.apiKey
	case s.user != "" && s.pass != "":
		c.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(s.user+":"+s.pass))
	}
	return c
}

func (c *client) close() { c.hc.CloseIdleConnections() }

// base returns the URL for the next request.
func (c *client) base() *url.URL {
	return c.s.urls[int(c.next.Add(1)-1)%len(c.s.urls)]
}

// bulkResult is a bulk response: its status and, on 200, the items (nil
// when every item succeeded).
type bulkResult struct {
	status     int
	body       []byte
	items      []bulkItem
	retryAfter time.Duration // from a Retry-After header
}

// bulk sends one bulk request of n items. Transport errors and unreadable
// 200 responses are returned as errors (worth retrying); error statuses
// are a result.
func (c *client) bulk(ctx context.Context, body *buffer, n int) (*bulkResult, error) {
	// read.timeout.ms bounds the wait for the response headers; this
	// bounds the whole attempt, so a server that stalls while a body is
	// sent or read cannot hold the task forever. A second per MiB covers
	// the transfer of large requests.
	ctx, cancel := context.WithTimeout(ctx, c.s.connTimeout+2*c.s.readTimeout+time.Duration(len(body.b)>>20+1)*time.Second)
	defer cancel()
	base := c.base()
	payload := body
	if c.s.gzip {
		payload = getBuffer(len(body.b) / 4)
		zw, _ := gzipPool.Get().(*gzip.Writer)
		if zw == nil {
			zw, _ = gzip.NewWriterLevel(appender{payload}, gzip.BestSpeed)
		} else {
			zw.Reset(appender{payload})
		}
		zw.Write(body.b) // appending cannot fail
		zw.Close()
		gzipPool.Put(zw)
		defer payload.release()
	}
	rd := newBodyReader(payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base.String()+"/_bulk", rd)
	if err != nil {
		rd.Close()
		return nil, err
	}
	req.ContentLength = int64(len(payload.b))
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Accept", "application/json")
	if c.s.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	c.decorate(req)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("bulk request of %d items to %s: %w", n, redact(base), err)
	}
	defer resp.Body.Close()
	rb, err := readBody(resp.Body, maxResponse)
	if err != nil {
		return nil, fmt.Errorf("reading the bulk response from %s: %w", redact(base), err)
	}
	res := &bulkResult{status: resp.StatusCode, body: rb}
	if resp.StatusCode == http.StatusOK {
		if res.items, err = parseBulk(rb, n); err != nil {
			return nil, fmt.Errorf("%s: %w", redact(base), err)
		}
	}
	res.retryAfter = retryAfter(resp)
	return res, nil
}

// gzipPool keeps compressors: one holds several hundred KiB of tables.
var gzipPool sync.Pool

// appender is an io.Writer appending to a buffer.
type appender struct{ x *buffer }

func (a appender) Write(p []byte) (int, error) {
	a.x.b = append(a.x.b, p...)
	return len(p), nil
}

// ensureIndex creates index unless it exists. A 400
// resource_already_exists_exception (another task was faster) is success.
func (c *client) ensureIndex(ctx context.Context, index string) error {
	ctx, cancel := context.WithTimeout(ctx, c.s.connTimeout+c.s.readTimeout)
	defer cancel()
	u := c.base().String() + "/" + url.PathEscape(index)
	status, body, err := c.do(ctx, http.MethodHead, u)
	if err != nil {
		return err
	}
	switch status {
	case http.StatusOK:
		return nil
	case http.StatusNotFound:
	default:
		return fmt.Errorf("HEAD /%s: %d", index, status)
	}
	status, body, err = c.do(ctx, http.MethodPut, u)
	if err != nil {
		return err
	}
	if status == http.StatusOK || (status == http.StatusBadRequest && strings.Contains(string(body), "resource_already_exists_exception")) {
		return nil
	}
	return fmt.Errorf("PUT /%s: %d %s", index, status, responseError(body))
}

func (c *client) do(ctx context.Context, method, u string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return 0, nil, err
	}
	c.decorate(req)
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := readBody(resp.Body, 1<<20)
	return resp.StatusCode, body, err
}

func (c *client) decorate(req *http.Request) {
	req.Header.Set("User-Agent", userAgent)
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
}

// redact drops credentials from a URL for messages.
func redact(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	c.User = url.User("[hidden]")
	return c.String()
}

// retryAfter parses a Retry-After header in seconds (or an HTTP date).
func retryAfter(resp *http.Response) time.Duration {
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
		return time.Duration(min(n, 3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// retryDelay returns the wait before retry number attempt+1: Retry-After
// when the last response had one, else exponential from base to most.
func retryDelay(base, most time.Duration, attempt int, res *bulkResult) time.Duration {
	if res != nil && res.retryAfter > 0 {
		return res.retryAfter
	}
	return backoff.Exponential(base, most, attempt)
}
