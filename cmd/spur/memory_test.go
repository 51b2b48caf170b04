package main

import (
	"io"
	"log/slog"
	"runtime/debug"
	"testing"
)

func TestMemoryLimitSetsTheRuntime(t *testing.T) {
	oldLimit, oldGC := debug.SetMemoryLimit(-1), debug.SetGCPercent(-1)
	debug.SetGCPercent(oldGC)
	t.Cleanup(func() { debug.SetMemoryLimit(oldLimit); debug.SetGCPercent(oldGC) })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	noEnv := func(string) string { return "" }

	applyMemoryLimit(0, noEnv, log)
	if got := debug.SetMemoryLimit(-1); got != oldLimit {
		t.Fatalf("limit 0 changed the memory limit to %d", got)
	}

	applyMemoryLimit(96<<20, noEnv, log)
	if got := debug.SetMemoryLimit(-1); got != 96<<20 {
		t.Fatalf("memory limit %d, want %d", got, 96<<20)
	}
	if got := debug.SetGCPercent(gcPercentWithLimit); got != gcPercentWithLimit {
		t.Fatalf("GOGC %d, want %d", got, gcPercentWithLimit)
	}

	// A smaller GOMEMLIMIT from the environment is kept.
	debug.SetMemoryLimit(50 << 20)
	applyMemoryLimit(96<<20, func(k string) string {
		if k == "GOMEMLIMIT" {
			return "50MiB"
		}
		return ""
	}, log)
	if got := debug.SetMemoryLimit(-1); got != 50<<20 {
		t.Fatalf("memory limit %d, want the environment's %d", got, 50<<20)
	}

	// GOGC from the environment is kept.
	debug.SetGCPercent(150)
	applyMemoryLimit(64<<20, func(k string) string {
		if k == "GOGC" {
			return "150"
		}
		return ""
	}, log)
	if got := debug.SetGCPercent(150); got != 150 {
		t.Fatalf("GOGC %d, want the environment's 150", got)
	}
}
