package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// LogLevels maps Kafka Connect's named loggers (GET/PUT /admin/loggers)
// onto slog levels. A logger's level applies to log records whose handler
// carries its name, found in the "logger" attribute, or "connector.<name>"
// for records with a "connector" attribute (the runtime tags task loggers
// so); names are hierarchical on dots and the most specific level set
// wins, then "root". Wrap the process's handler with Handler to make the
// levels effective.
type LogLevels struct {
	mu      sync.RWMutex
	root    logLevel
	rootSet bool // root taken from the worker config once
	named   map[string]logLevel
}

type logLevel struct {
	name     string // as set (TRACE, DEBUG, ...)
	level    slog.Level
	modified *int64 // epoch ms of the last REST change
}

// Levels is the process's logger registry, used by every Server.
var Levels = NewLogLevels()

// NewLogLevels returns a registry with root at INFO.
func NewLogLevels() *LogLevels {
	return &LogLevels{root: logLevel{name: "INFO", level: slog.LevelInfo}, named: map[string]logLevel{}}
}

// log4j level names and their slog levels.
var levelNames = map[string]slog.Level{
	"ALL":   slog.Level(-1000),
	"TRACE": slog.LevelDebug - 4,
	"DEBUG": slog.LevelDebug,
	"INFO":  slog.LevelInfo,
	"WARN":  slog.LevelWarn,
	"ERROR": slog.LevelError,
	"FATAL": slog.LevelError + 4,
	"OFF":   slog.Level(1000),
}

// initRoot sets root from the worker config the first time a server starts.
func (l *LogLevels) initRoot(level string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rootSet {
		return
	}
	l.rootSet = true
	name := strings.ToUpper(strings.TrimSpace(level))
	if lv, ok := levelNames[name]; ok {
		l.root = logLevel{name: name, level: lv}
	}
}

// Set sets a logger and all its descendants (every logger, for root) and
// returns the names it changed, sorted. The level is a log4j level name.
func (l *LogLevels) Set(logger, level string) ([]string, error) {
	name := strings.ToUpper(strings.TrimSpace(level))
	lv, ok := levelNames[name]
	if !ok {
		return nil, errors.New("invalid log level '" + level + "'.")
	}
	now := time.Now().UnixMilli()
	ll := logLevel{name: name, level: lv, modified: &now}
	l.mu.Lock()
	defer l.mu.Unlock()
	var changed []string
	if logger == "root" {
		l.root = ll
		changed = append(changed, "root")
		for n := range l.named {
			l.named[n] = ll
			changed = append(changed, n)
		}
	} else {
		l.named[logger] = ll
		changed = append(changed, logger)
		for n := range l.named {
			if strings.HasPrefix(n, logger+".") {
				l.named[n] = ll
				changed = append(changed, n)
			}
		}
	}
	sort.Strings(changed)
	return changed, nil
}

// LoggerLevel is Kafka Connect's LoggerLevel body.
type LoggerLevel struct {
	Level        string `json:"level"`
	LastModified *int64 `json:"last_modified"`
}

// Get returns a logger's level, if it was set (root always is).
func (l *LogLevels) Get(logger string) (LoggerLevel, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if logger == "root" {
		return LoggerLevel{l.root.name, l.root.modified}, true
	}
	ll, ok := l.named[logger]
	return LoggerLevel{ll.name, ll.modified}, ok
}

// All returns root and every logger with a level.
func (l *LogLevels) All() map[string]LoggerLevel {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := map[string]LoggerLevel{"root": {l.root.name, l.root.modified}}
	for n, ll := range l.named {
		out[n] = LoggerLevel{ll.name, ll.modified}
	}
	return out
}

// effective is the level of the most specific ancestor set, else root.
func (l *LogLevels) effective(logger string) slog.Level {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for n := logger; n != ""; {
		if ll, ok := l.named[n]; ok {
			return ll.level
		}
		i := strings.LastIndexByte(n, '.')
		if i < 0 {
			break
		}
		n = n[:i]
	}
	return l.root.level
}

// Handler wraps h so that records pass by these levels. h's own level
// should be the lowest (e.g. slog.HandlerOptions{Level: slog.Level(-8)}),
// or it filters first.
func (l *LogLevels) Handler(h slog.Handler) slog.Handler {
	return &levelHandler{inner: h, levels: l}
}

type levelHandler struct {
	inner  slog.Handler
	levels *LogLevels
	logger string
}

func (h *levelHandler) Enabled(_ context.Context, lv slog.Level) bool {
	return lv >= h.levels.effective(h.logger)
}

func (h *levelHandler) Handle(ctx context.Context, r slog.Record) error {
	return h.inner.Handle(ctx, r)
}

func (h *levelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	logger := h.logger
	for _, a := range attrs {
		switch a.Key {
		case "logger":
			logger = a.Value.String()
		case "connector":
			if logger == "" || strings.HasPrefix(logger, "connector.") {
				logger = "connector." + a.Value.String()
			}
		}
	}
	return &levelHandler{inner: h.inner.WithAttrs(attrs), levels: h.levels, logger: logger}
}

func (h *levelHandler) WithGroup(name string) slog.Handler {
	return &levelHandler{inner: h.inner.WithGroup(name), levels: h.levels, logger: h.logger}
}

func (s *Server) listLoggers(c echo.Context) error {
	return c.JSON(http.StatusOK, s.levels.All())
}

func (s *Server) getLogger(c echo.Context) error {
	name := pathParam(c, "logger")
	ll, ok := s.levels.Get(name)
	if !ok {
		return errorf(http.StatusNotFound, "Logger %s not found.", name)
	}
	return c.JSON(http.StatusOK, ll)
}

func (s *Server) setLogger(c echo.Context) error {
	name := pathParam(c, "logger")
	body, err := readBody(c)
	if err != nil {
		return err
	}
	var req map[string]any
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	level, _ := req["level"].(string)
	if level == "" {
		return errorf(http.StatusBadRequest, "Desired 'level' parameter was not specified in the request.")
	}
	changed, err := s.levels.Set(name, level)
	if err != nil {
		return errorf(http.StatusNotFound, "%s", err.Error())
	}
	s.log.Info("logger level set", "logger", name, "level", strings.ToUpper(level), "scope", c.QueryParam("scope"))
	if strings.EqualFold(c.QueryParam("scope"), "cluster") {
		if err := s.setClusterLogger(c, name, body); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	}
	return c.JSON(http.StatusOK, changed)
}

// setClusterLogger records the level in the config topic; every running
// worker, this one included, applies it when it reads the record.
func (s *Server) setClusterLogger(c echo.Context, name string, body []byte) error {
	var req map[string]any
	_ = decodeJSON(body, &req)
	level, _ := req["level"].(string)
	return s.w.SetClusterLogLevel(c.Request().Context(), name, strings.ToUpper(level))
}
