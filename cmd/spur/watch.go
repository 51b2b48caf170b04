package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/spur-connect/spur/runtime"
)

// watchInterval is how often `spur run --watch` reads the definitions.
// Polling a content hash needs no platform file-notification API and
// sees changes made by git checkouts, ConfigMap symlink swaps and editors
// that replace files, which notifications report inconsistently.
const watchInterval = 3 * time.Second

// watchDefinitions keeps the cluster in line with a directory (or file) of
// definitions while the worker runs: when the files change, they are
// loaded and validated as at startup (a bad file is logged and nothing is
// applied until it is fixed), changed and new connectors are applied, and
// connectors whose definition was removed from the directory are deleted.
// Connectors that never were in the directory (created over REST) are
// left alone. The first tick reconciles whatever the directory holds then,
// so an edit made while run.go's startup apply ran is not missed; as
// applyDefinitions skips connectors whose config is equal, that costs no
// restart.
func watchDefinitions(ctx context.Context, dir string, w *runtime.Worker, opts runtime.Options, log *slog.Logger) {
	watchLoop(ctx, dir, w, opts, log, watchInterval)
}

func watchLoop(ctx context.Context, dir string, w *runtime.Worker, opts runtime.Options, log *slog.Logger, every time.Duration) {
	log = log.With("connectors", dir)
	var applied [sha256.Size]byte // nothing yet: the first tick applies
	managed := map[string]bool{}
	if defs, err := loadDefinitions(dir); err == nil {
		for _, d := range defs {
			managed[d.Name] = true
		}
	}
	log.Info("watching connector definitions", "interval", every)
	tick := time.NewTicker(every)
	defer tick.Stop()
	var lastProblem string // logged once, not at every tick
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		h, err := hashDefinitions(dir)
		if err != nil {
			if msg := err.Error(); msg != lastProblem {
				log.Error("cannot read connector definitions", "err", err)
				lastProblem = msg
			}
			continue
		}
		if h == applied {
			continue
		}
		defs, err := loadDefinitions(dir)
		if err == nil {
			err = validateDefinitions(opts, defs)
		}
		if err != nil {
			if msg := err.Error(); msg != lastProblem {
				log.Error("connector definitions changed but are invalid; nothing applied", "err", err)
				lastProblem = msg
			}
			continue
		}
		lastProblem = ""
		log.Info("connector definitions changed; applying")
		if err := applyDefinitions(ctx, w, defs, log); err != nil {
			// Left as not applied: the next tick tries again.
			log.Error("applying connector definitions failed", "err", err)
			continue
		}
		now := map[string]bool{}
		for _, d := range defs {
			now[d.Name] = true
		}
		failed := false
		for _, name := range sortedKeys(managed) {
			if now[name] {
				continue
			}
			if err := removeDefinition(ctx, w, name); err != nil {
				log.Error("deleting connector whose definition was removed", "connector", name, "err", err)
				failed = true
				now[name] = true // still managed: retried with the next apply
				continue
			}
			log.Info("connector definition removed; connector deleted", "connector", name)
		}
		managed = now
		if !failed {
			applied = h
		}
	}
}

// hashDefinitions hashes the names and contents of the files
// loadDefinitions reads, so any edit, addition, removal or rename shows.
func hashDefinitions(path string) ([sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	st, err := os.Stat(path)
	if err != nil {
		return sum, err
	}
	files := []string{path}
	if st.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return sum, err
		}
		files = nil
		for _, e := range entries {
			if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
		sort.Strings(files)
	}
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return sum, err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", filepath.Base(f), len(b))
		h.Write(b)
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// removeDefinition deletes a connector through the leader: in process when
// this worker leads, else over the leader's REST API. It retries while
// the worker starts or rebalances, as applyDefinitions does.
func removeDefinition(ctx context.Context, w *runtime.Worker, name string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		err := w.DeleteConnector(ctx, name)
		var nl *runtime.NotLeaderError
		if errors.As(err, &nl) && nl.LeaderURL != "" {
			err = deleteOnLeader(ctx, nl.LeaderURL, name)
		}
		if err == nil || errors.Is(err, runtime.ErrNotFound) {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func deleteOnLeader(ctx context.Context, leader, name string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, leader+"/connectors/"+url.PathEscape(name), nil)
	if err != nil {
		return fmt.Errorf("deleting connector %s on the leader: %w", name, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("deleting connector %s on the leader %s: %w", name, leader, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusNotFound:
		return runtime.ErrNotFound
	}
	return fmt.Errorf("deleting connector %s: the leader answered %s: %s", name, resp.Status, msg)
}
