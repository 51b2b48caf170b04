// Package api is Spur's REST server: the Kafka Connect REST API (same
// paths, query parameters, bodies, status codes and error bodies), plus
// /metrics in the Prometheus text format and a richer /health.
//
// Reads are served from the local worker's stores; writes that only the
// leader may do are forwarded to the leader's advertised URL (at most two
// hops, then 409), as Kafka Connect does. See docs/rest-api.md.
package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/spur-connect/spur/runtime"
)

// Options configure a Server. Auth, TLS and CORS settings are read from the
// worker config (see Spec).
type Options struct {
	Worker *runtime.Worker
	Logger *slog.Logger
}

// Server is the REST server of one worker.
type Server struct {
	w      *runtime.Worker
	log    *slog.Logger
	cfg    restConfig
	e      *echo.Echo
	client *http.Client // worker-to-worker forwarding
	levels *LogLevels

	mu   sync.Mutex
	addr string
}

// requestTimeout bounds a request that waits for the worker, as Kafka
// Connect's 90 s (DEFAULT_REST_REQUEST_TIMEOUT_MS).
const requestTimeout = 90 * time.Second

// maxBody bounds request bodies.
const maxBody = 16 << 20

// New builds the server; Run serves it.
func New(opts Options) (*Server, error) {
	if opts.Worker == nil {
		return nil, errors.New("api: a worker is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	cfg, err := parseRESTConfig(opts.Worker.Config())
	if err != nil {
		return nil, err
	}
	s := &Server{
		w:      opts.Worker,
		log:    opts.Logger.With("component", "rest"),
		cfg:    cfg,
		levels: Levels,
	}
	s.levels.initRoot(opts.Worker.Config().String("log.level"))
	opts.Worker.OnClusterLogLevel(func(ns, level string) {
		if _, err := s.levels.Set(ns, level); err != nil {
			s.log.Warn("cluster log level not applied", "logger", ns, "level", level, "err", err)
		}
	})
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.clientTLS != nil {
		tr.TLSClientConfig = cfg.clientTLS
	}
	s.client = &http.Client{Transport: tr, Timeout: requestTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	s.e = s.routes()
	return s, nil
}

// Handler returns the HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.e }

// Addr returns the address the server listens on once Run has started
// listening ("" before).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Run listens on the worker's listener address (TLS when the listener is
// https://) until ctx is done, then shuts down gracefully.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.w.Config().ListenAddr)
	if err != nil {
		return fmt.Errorf("REST listener: %w", err)
	}
	if s.cfg.serverTLS != nil {
		ln = tls.NewListener(ln, s.cfg.serverTLS)
	}
	s.mu.Lock()
	s.addr = ln.Addr().String()
	s.mu.Unlock()
	srv := &http.Server{
		Handler:           s.e,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	scheme := "http"
	if s.cfg.serverTLS != nil {
		scheme = "https"
	}
	s.log.Info("REST server listening", "addr", s.addr, "scheme", scheme, "auth", s.cfg.authType)
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("REST server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	<-errc
	if err != nil {
		return fmt.Errorf("REST server shutdown: %w", err)
	}
	return nil
}

func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Pre(middleware.RemoveTrailingSlash())
	if len(s.cfg.corsOrigins) > 0 {
		e.Pre(middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins: s.cfg.corsOrigins,
			AllowMethods: s.cfg.corsMethods,
			AllowHeaders: []string{"Authorization", "Content-Type", "Accept", "Origin", "X-Requested-With"},
		}))
	}
	e.Pre(s.authenticate, headAsGet)
	e.Use(restoreHead, s.logRequests, s.negotiate)

	e.GET("/", s.serverInfo)
	e.GET("/health", s.health)
	e.GET("/metrics", s.metrics)

	e.GET("/connectors", s.listConnectors)
	e.POST("/connectors", s.createConnector)
	e.GET("/connectors/:name", s.getConnector)
	e.DELETE("/connectors/:name", s.deleteConnector)
	e.GET("/connectors/:name/config", s.getConfig)
	e.PUT("/connectors/:name/config", s.putConfig)
	e.PATCH("/connectors/:name/config", s.patchConfig)
	e.GET("/connectors/:name/status", s.connectorStatus)
	e.GET("/connectors/:name/tasks", s.taskConfigs)
	e.GET("/connectors/:name/tasks-config", s.tasksConfig)
	e.GET("/connectors/:name/tasks/:task/status", s.taskStatus)
	e.POST("/connectors/:name/tasks/:task/restart", s.restartTask)
	e.POST("/connectors/:name/restart", s.restartConnector)
	e.PUT("/connectors/:name/pause", s.pause)
	e.PUT("/connectors/:name/resume", s.resume)
	e.PUT("/connectors/:name/stop", s.stop)
	e.GET("/connectors/:name/offsets", s.getOffsets)
	e.PATCH("/connectors/:name/offsets", s.alterOffsets)
	e.DELETE("/connectors/:name/offsets", s.resetOffsets)
	e.GET("/connectors/:name/topics", s.topics)
	e.PUT("/connectors/:name/topics/reset", s.resetTopics)

	e.GET("/connector-plugins", s.listPlugins)
	e.GET("/connector-plugins/:plugin/config", s.pluginConfig)
	e.PUT("/connector-plugins/:plugin/config/validate", s.validate)

	e.GET("/admin/loggers", s.listLoggers)
	e.GET("/admin/loggers/:logger", s.getLogger)
	e.PUT("/admin/loggers/:logger", s.setLogger)

	return e
}

// logRequests logs each request at debug level (never bodies: they may
// hold secrets) and failures at info/error, and bounds the request time.
func (s *Server) logRequests(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		ctx, cancel := context.WithTimeout(c.Request().Context(), requestTimeout)
		defer cancel()
		c.SetRequest(c.Request().WithContext(ctx))
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		lvl := slog.LevelDebug
		if status >= 500 {
			lvl = slog.LevelError
		}
		if s.log.Enabled(ctx, lvl) {
			s.log.Log(ctx, lvl, "request", "method", c.Request().Method, "path", c.Request().URL.Path,
				"status", status, "took", time.Since(start).Round(time.Microsecond))
		}
		return nil
	}
}

// headAsGet routes HEAD like GET (as JAX-RS does). The method changes only
// for routing: restoreHead puts HEAD back before the handler runs, because
// net/http reads the method of this same *Request to drop the body. Left at
// GET, the body went out to a client that reads none, and the next response
// on that keep-alive connection was garbage.
func headAsGet(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if r := c.Request(); r.Method == http.MethodHead {
			c.Set(ctxHead, true)
			r.Method = http.MethodGet
		}
		return next(c)
	}
}

const ctxHead = "spur.head"

// restoreHead runs after routing; see headAsGet.
func restoreHead(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Get(ctxHead) == true {
			c.Request().Method = http.MethodHead
		}
		return next(c)
	}
}

// negotiate enforces JSON in and out, as Kafka Connect's JAX-RS resources
// do: a body with another content type is 415, an Accept that excludes
// JSON is 406.
func (s *Server) negotiate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if ct := r.Header.Get(echo.HeaderContentType); ct != "" && r.ContentLength != 0 &&
			(r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch) && !isJSON(ct) {
			return echo.ErrUnsupportedMediaType
		}
		if acc := r.Header.Get(echo.HeaderAccept); acc != "" && c.Path() != "/metrics" && !acceptsJSON(acc) {
			return echo.NewHTTPError(http.StatusNotAcceptable)
		}
		return next(c)
	}
}

func isJSON(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func acceptsJSON(acc string) bool {
	for _, part := range strings.Split(acc, ",") {
		mt, _, _ := strings.Cut(part, ";")
		switch mt = strings.ToLower(strings.TrimSpace(mt)); {
		case mt == "*/*", mt == "application/*", mt == "application/json", strings.HasSuffix(mt, "+json"):
			return true
		}
	}
	return false
}
