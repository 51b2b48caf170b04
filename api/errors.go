package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/spur-connect/spur/runtime"
)

// ErrorMessage is Kafka Connect's error body.
type ErrorMessage struct {
	ErrorCode int    `json:"error_code"`
	Message   string `json:"message"`
}

// apiError is an error with its HTTP status.
type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return e.msg }

func errorf(code int, format string, args ...any) error {
	return &apiError{code: code, msg: fmt.Sprintf(format, args...)}
}

// Kafka Connect's messages for requests that cannot be served right now.
const (
	msgConflict = "Cannot complete request because of a conflicting operation (e.g. worker rebalance)"
	msgNoLeader = "Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway."
	msgStarting = "Cannot complete request momentarily: the worker is still starting (reading the internal topics and joining the group)"
)

// httpError maps an error to a status and message: runtime sentinels to
// Kafka Connect's codes, anything unexpected to 500.
func httpError(err error) (int, string) {
	var ae *apiError
	var he *echo.HTTPError
	var ice *runtime.InvalidConfigError
	var nle *runtime.NotLeaderError
	switch {
	case errors.As(err, &ae):
		return ae.code, ae.msg
	case errors.As(err, &he):
		if m, ok := he.Message.(string); ok && m != http.StatusText(he.Code) {
			return he.Code, m
		}
		return he.Code, fmt.Sprintf("HTTP %d %s", he.Code, http.StatusText(he.Code))
	case errors.As(err, &ice):
		return http.StatusBadRequest, ice.Error()
	case errors.As(err, &nle):
		if nle.LeaderURL == "" {
			return http.StatusConflict, msgNoLeader
		}
		return http.StatusConflict, msgConflict
	case errors.Is(err, runtime.ErrNotReady):
		return http.StatusConflict, msgStarting
	case errors.Is(err, runtime.ErrNotFound):
		return http.StatusNotFound, trim(err, runtime.ErrNotFound)
	case errors.Is(err, runtime.ErrExists):
		return http.StatusConflict, trim(err, runtime.ErrExists)
	case errors.Is(err, runtime.ErrBadRequest):
		return http.StatusBadRequest, trim(err, runtime.ErrBadRequest)
	case errors.Is(err, runtime.ErrForbidden):
		return http.StatusForbidden, trim(err, runtime.ErrForbidden)
	case errors.Is(err, runtime.ErrNotOwner):
		return http.StatusConflict, msgConflict
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusInternalServerError, "Request timed out. " + err.Error()
	}
	return http.StatusInternalServerError, err.Error()
}

// trim cuts the sentinel's text the runtime appends with %w.
func trim(err, sentinel error) string {
	msg := err.Error()
	if msg == sentinel.Error() {
		return msg
	}
	return strings.TrimSuffix(msg, ": "+sentinel.Error())
}

func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code, msg := httpError(err)
	if code >= 500 {
		s.log.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "status", code, "err", msg)
	}
	if code == http.StatusUnauthorized {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, s.cfg.challenge())
	}
	_ = c.JSON(code, ErrorMessage{ErrorCode: code, Message: msg})
}
