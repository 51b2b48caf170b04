package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spur-connect/spur/api"
	"github.com/spur-connect/spur/runtime"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func cmdRun(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("spur run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFile := fs.String("c", "", "worker config YAML file")
	dataDir := fs.String("data-dir", "", "embedded broker data directory (data.dir)")
	connDir := fs.String("connectors", "", "directory (or file) of connector definitions to apply at startup")
	watch := fs.Bool("watch", false, "with --connectors: apply the definitions again when the files change")
	var sets stringList
	fs.Var(&sets, "set", "worker setting key=value (repeatable)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *watch && *connDir == "" {
		fmt.Fprintln(stderr, "spur run: --watch needs --connectors DIR")
		return exitUsage
	}
	if *dataDir != "" {
		sets = append(sets, "data.dir="+*dataDir)
	}
	raw, err := loadWorkerConfig(*cfgFile, os.Environ(), sets)
	if err != nil {
		fmt.Fprintln(stderr, "spur run:", err)
		return exitConfig
	}
	wcfg, unknown, err := runtime.ParseWorkerConfig(raw)
	if err != nil {
		fmt.Fprintf(stderr, "spur run: invalid worker config%s:\n%v\n", from(*cfgFile), err)
		return exitConfig
	}
	log := newLogger(stderr, wcfg.String("log.format"))
	for _, k := range unknown {
		log.Warn("unknown worker config key (kept, not used)", "key", k)
	}
	applyMemoryLimit(memoryLimit(wcfg.Int("memory.limit.bytes"), containerMemoryLimit("/"), log), os.Getenv, log)
	reg, err := newRegistry()
	if err != nil {
		fmt.Fprintln(stderr, "spur run:", err)
		return exitError
	}
	opts := runtimeOptions(reg)
	opts.Logger = log

	// Connector definitions are checked before anything starts: a bad file
	// stops the worker with nothing applied.
	var defs []definition
	if *connDir != "" {
		if defs, err = loadDefinitions(*connDir); err != nil {
			fmt.Fprintln(stderr, "spur run: connector definitions:", err)
			return exitConfig
		}
		if err := validateDefinitions(opts, defs); err != nil {
			fmt.Fprintln(stderr, "spur run: connector definitions:", err)
			return exitConfig
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	started := time.Now()

	if len(wcfg.Bootstrap) == 0 {
		dir, _ := filepath.Abs(wcfg.String("data.dir"))
		b, err := runtime.StartBroker(wcfg.String("embedded.broker.address"), dir)
		if err != nil {
			fmt.Fprintln(stderr, "spur run:", err)
			return exitError
		}
		defer b.Close()
		wcfg.SetBootstrap(b.Addrs())
		log.Info("embedded broker started", "addrs", b.Addrs(), "data_dir", dir)
	}
	w, err := runtime.NewWorker(wcfg, opts)
	if err != nil {
		fmt.Fprintln(stderr, "spur run:", err)
		return exitError
	}
	srv, err := api.New(api.Options{Worker: w, Logger: log})
	if err != nil {
		fmt.Fprintln(stderr, "spur run:", err)
		return exitConfig
	}
	errc := make(chan error, 2)
	apiCtx, stopAPI := context.WithCancel(context.Background())
	defer stopAPI()
	go func() { errc <- srv.Run(apiCtx) }()
	workerDone := make(chan error, 1)
	go func() { workerDone <- w.Run(ctx) }()
	if len(defs) > 0 {
		go func() {
			if err := applyDefinitions(ctx, w, defs, log); err != nil {
				log.Error("applying connector definitions failed", "err", err)
			}
		}()
	}
	if *watch {
		go watchDefinitions(ctx, *connDir, w, opts, log)
	}
	go func() {
		for !w.Ready() && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
		}
		log.Info("worker ready", "url", wcfg.AdvertisedURL, "startup", time.Since(started).Round(time.Millisecond))
	}()

	code := exitOK
	select {
	case err := <-workerDone:
		if err != nil {
			log.Error("worker stopped", "err", err)
			code = exitError
		}
		stopAPI()
		return code
	case err := <-errc:
		log.Error("REST server stopped", "err", err)
		stop()
		if err := <-workerDone; err != nil {
			log.Error("worker stopped", "err", err)
		}
		return exitError
	}
}

func from(file string) string {
	if file == "" {
		return ""
	}
	return " (" + file + ")"
}

// newLogger builds the process logger. Levels are decided by api.Levels
// (root from log.level, changeable per logger through /admin/loggers), so
// the inner handler lets everything through.
func newLogger(w io.Writer, format string) *slog.Logger {
	o := &slog.HandlerOptions{Level: slog.Level(-8)}
	var h slog.Handler = slog.NewTextHandler(w, o)
	if strings.EqualFold(format, "json") {
		h = slog.NewJSONHandler(w, o)
	}
	return slog.New(api.Levels.Handler(h))
}

// validateDefinitions checks every definition against the plugins.
func validateDefinitions(opts runtime.Options, defs []definition) error {
	var msgs []string
	for _, d := range defs {
		v := runtime.ValidateConnector(opts, d.Config)
		for _, e := range v.Errors {
			msgs = append(msgs, fmt.Sprintf("%s: connector %s: %s: %s", d.Source, d.Name, e.Key, e.Message))
		}
	}
	if len(msgs) > 0 {
		return errors.New(strings.Join(msgs, "\n"))
	}
	return nil
}

// applyDefinitions makes the cluster hold the definitions: connectors that
// are missing are created, those whose config differs are updated, equal
// ones are left alone (so a restart does not restart them). Writes go to
// the leader; a follower forwards them over REST.
func applyDefinitions(ctx context.Context, w *runtime.Worker, defs []definition, log *slog.Logger) error {
	for _, d := range defs {
		deadline := time.Now().Add(2 * time.Minute)
		for {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			done, err := applyOne(ctx, w, d)
			if done && err != nil {
				return fmt.Errorf("%s: connector %s: %w", d.Source, d.Name, err)
			}
			if done {
				log.Info("connector definition applied", "connector", d.Name, "source", d.Source)
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: connector %s: %w", d.Source, d.Name, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return nil
}

func applyOne(ctx context.Context, w *runtime.Worker, d definition) (bool, error) {
	if !w.Ready() {
		return false, runtime.ErrNotReady
	}
	if c, ok := w.Snapshot().Connectors[d.Name]; ok && maps.Equal(c.Config, d.Config) {
		return true, nil
	}
	target := runtime.TargetState("")
	switch d.InitialState {
	case "RUNNING":
		target = runtime.TargetStarted
	case "PAUSED":
		target = runtime.TargetPaused
	case "STOPPED":
		target = runtime.TargetStopped
	}
	_, err := w.PutConnector(ctx, d.Name, d.Config, target, true)
	var nl *runtime.NotLeaderError
	if errors.As(err, &nl) && nl.LeaderURL != "" {
		return forwardDefinition(ctx, nl.LeaderURL, d)
	}
	var inv *runtime.InvalidConfigError
	if errors.As(err, &inv) {
		return true, err // will not get better by retrying
	}
	return err == nil, err
}

// forwardDefinition creates (with initial_state) or updates a connector
// through the leader's REST API.
func forwardDefinition(ctx context.Context, leader string, d definition) (bool, error) {
	body, _ := json.Marshal(map[string]any{"name": d.Name, "config": d.Config, "initial_state": d.InitialState})
	method, u := http.MethodPost, leader+"/connectors"
	if d.InitialState == "" {
		body, _ = json.Marshal(d.Config)
		method, u = http.MethodPut, leader+"/connectors/"+url.PathEscape(d.Name)+"/config"
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode < 300:
		return true, nil
	case resp.StatusCode == http.StatusConflict && method == http.MethodPost:
		// Exists already: update the config instead.
		d.InitialState = ""
		return forwardDefinition(ctx, leader, d)
	case resp.StatusCode == http.StatusBadRequest:
		return true, fmt.Errorf("leader rejected the config: %s", msg)
	}
	return false, fmt.Errorf("leader answered %s: %s", resp.Status, msg)
}
