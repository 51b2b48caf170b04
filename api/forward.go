package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/spur-connect/spur/runtime"
)

// rebalanceWait bounds how long a write waits for a rebalance to settle
// before it gives up with 409. Kafka Connect's herder queues requests
// during a rebalance the same way (bounded by its 90 s request timeout).
var rebalanceWait = 30 * time.Second

// settle runs op, and while the runtime says the leader is unknown or is
// this worker but not confirmed yet (a rebalance is under way, as after
// every change of the set of connectors or tasks), waits and runs it again.
// It returns op's last error, for orForward.
func (s *Server) settle(ctx context.Context, op func() error) error {
	deadline := time.Now().Add(rebalanceWait)
	self := strings.TrimRight(s.w.Config().AdvertisedURL, "/")
	for {
		err := op()
		var nle *runtime.NotLeaderError
		if !errors.As(err, &nle) || (nle.LeaderURL != "" && strings.TrimRight(nle.LeaderURL, "/") != self) {
			return err
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// orForward handles the error of a write: when the runtime says the
// leader must do it, the request is forwarded there (Kafka Connect's
// NotLeaderException path); any other error is returned as is.
func (s *Server) orForward(c echo.Context, body []byte, err error) error {
	var nle *runtime.NotLeaderError
	if errors.As(err, &nle) {
		if nle.LeaderURL == "" {
			return errorf(http.StatusConflict, msgNoLeader)
		}
		return s.forward(c, nle.LeaderURL, body)
	}
	return err
}

// forward re-issues the request to another worker and relays its status,
// headers that matter and body. The hop count travels in ?forward=: a
// request without it is forwarded with forward=true, one with forward=true
// with forward=false, and one with forward=false is refused with 409, so a
// request makes at most two worker-to-worker hops. Only the Authorization
// header is propagated.
func (s *Server) forward(c echo.Context, target string, body []byte) error {
	req := c.Request()
	hop := req.URL.Query().Get("forward")
	next := "true"
	switch {
	case hop == "":
	case strings.EqualFold(hop, "true"):
		next = "false"
	default:
		return errorf(http.StatusConflict, msgConflict)
	}
	if strings.TrimRight(target, "/") == strings.TrimRight(s.w.Config().AdvertisedURL, "/") {
		// The cluster's view says this worker, the worker says not: a
		// rebalance is under way.
		return errorf(http.StatusConflict, msgConflict)
	}
	u, err := url.Parse(strings.TrimRight(target, "/"))
	if err != nil || u.Host == "" {
		return errorf(http.StatusInternalServerError, "IO Error trying to forward REST request: invalid worker URL %q", target)
	}
	basePath := u.Path
	u.Path = basePath + req.URL.Path
	u.RawPath = basePath + req.URL.EscapedPath()
	q := req.URL.Query()
	q.Set("forward", next)
	u.RawQuery = q.Encode()

	fr, err := http.NewRequestWithContext(req.Context(), req.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return errorf(http.StatusInternalServerError, "IO Error trying to forward REST request: %v", err)
	}
	if len(body) > 0 {
		fr.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	}
	fr.Header.Set(echo.HeaderAccept, echo.MIMEApplicationJSON)
	fr.Header.Set("User-Agent", "spur/"+runtime.Version)
	if a := req.Header.Get(echo.HeaderAuthorization); a != "" {
		fr.Header.Set(echo.HeaderAuthorization, a)
	}
	resp, err := s.client.Do(fr)
	if err != nil {
		return errorf(http.StatusInternalServerError, "IO Error trying to forward REST request: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return errorf(http.StatusInternalServerError, "IO Error trying to forward REST request: %v", err)
	}
	s.log.Debug("request forwarded", "method", req.Method, "path", req.URL.Path, "to", target, "status", resp.StatusCode)
	if loc := resp.Header.Get(echo.HeaderLocation); loc != "" {
		// Point at this worker, which the client talks to.
		if lu, err := url.Parse(loc); err == nil {
			c.Response().Header().Set(echo.HeaderLocation, s.baseURL(c)+lu.EscapedPath())
		}
	}
	if len(b) == 0 {
		return c.NoContent(resp.StatusCode)
	}
	ct := resp.Header.Get(echo.HeaderContentType)
	if ct == "" {
		ct = echo.MIMEApplicationJSON
	}
	return c.Blob(resp.StatusCode, ct, b)
}

// baseURL is the scheme and host the client used to reach this worker.
func (s *Server) baseURL(c echo.Context) string {
	return c.Scheme() + "://" + c.Request().Host
}
