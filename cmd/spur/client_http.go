package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// apiClient talks to a Kafka Connect compatible REST API (Spur or Kafka
// Connect itself): only documented endpoints, JSON bodies, Kafka Connect's
// error body.
type apiClient struct {
	base     string // without a trailing slash
	user     string
	password string
	token    string
	http     *http.Client
	// retryFor bounds how long 409 answers (rebalance, no leader yet,
	// worker starting) are retried before the command gives up.
	retryFor time.Duration
}

// apiError is a non-2xx answer: the status and Kafka Connect's message.
type apiError struct {
	Method  string
	Path    string
	Status  int
	Message string
}

func (e *apiError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s (HTTP %d from %s %s)", msg, e.Status, e.Method, e.Path)
}

// statusOf returns the HTTP status of an API error, or 0.
func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

func newAPIClient(g *clientFlags) (*apiClient, error) {
	u, err := url.Parse(g.url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageErrorf("--url %q: expected http://host:port or https://host:port", g.url)
	}
	if g.token != "" && g.user != "" {
		return nil, usageErrorf("--token and --user are exclusive: choose bearer or basic auth")
	}
	if g.password != "" && g.user == "" {
		return nil, usageErrorf("--password needs --user")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if g.cacert != "" || g.insecure {
		tc := &tls.Config{InsecureSkipVerify: g.insecure} //nolint:gosec // asked for with --insecure
		if g.cacert != "" {
			pem, err := os.ReadFile(g.cacert)
			if err != nil {
				return nil, fmt.Errorf("--cacert: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--cacert %s: no PEM certificate found", g.cacert)
			}
			tc.RootCAs = pool
		}
		tr.TLSClientConfig = tc
	}
	return &apiClient{
		base: strings.TrimRight(g.url, "/"), user: g.user, password: g.password, token: g.token,
		// A write may wait up to 30 s for a rebalance on the server, and be
		// forwarded twice: the per-request timeout leaves room for that.
		http:     &http.Client{Transport: tr, Timeout: 2 * time.Minute},
		retryFor: g.retryTimeout,
	}, nil
}

// do sends one request and decodes a 2xx JSON answer into out (when out is
// not nil and the body is not empty). 409 answers are retried with backoff
// for c.retryFor, as Kafka Connect answers 409 while it rebalances or has
// no leader; a create of an existing connector is a 409 that will not get
// better, so it is not retried.
func (c *apiClient) do(ctx context.Context, method, path string, query url.Values, body, out any) (int, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return 0, fmt.Errorf("encoding the request body: %w", err)
		}
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	deadline := time.Now().Add(c.retryFor)
	backoff := 200 * time.Millisecond
	for {
		status, data, err := c.once(ctx, method, u, payload)
		if err != nil {
			return 0, err
		}
		if status >= 200 && status < 300 {
			if out != nil && len(bytes.TrimSpace(data)) > 0 {
				if err := json.Unmarshal(data, out); err != nil {
					return status, fmt.Errorf("%s %s: unexpected answer: %w", method, path, err)
				}
			}
			return status, nil
		}
		ae := &apiError{Method: method, Path: path, Status: status, Message: errorMessage(data)}
		if status != http.StatusConflict || alreadyExists(method, path, ae.Message) || time.Now().Add(backoff).After(deadline) {
			return status, ae
		}
		select {
		case <-ctx.Done():
			return status, ae
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

func (c *apiClient) once(ctx context.Context, method, u string, payload []byte) (int, []byte, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("building the request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case c.token != "":
		req.Header.Set("Authorization", "Bearer "+c.token)
	case c.user != "":
		req.SetBasicAuth(c.user, c.password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("cannot reach the REST API at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: reading the answer: %w", method, u, err)
	}
	return resp.StatusCode, data, nil
}

// errorMessage extracts Kafka Connect's {"error_code","message"}; other
// bodies (a proxy's HTML page) are shortened to their first line.
func errorMessage(data []byte) string {
	var em struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &em) == nil && em.Message != "" {
		return em.Message
	}
	s := strings.TrimSpace(string(data))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

func alreadyExists(method, path, msg string) bool {
	return method == http.MethodPost && path == "/connectors" && strings.Contains(msg, "already exists")
}

// connectorPath is /connectors/{name} with the name escaped, plus suffix.
func connectorPath(name, suffix string) string {
	return "/connectors/" + url.PathEscape(name) + suffix
}
