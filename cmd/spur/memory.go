package main

import (
	"log/slog"
	"runtime/debug"

	"github.com/spur-connect/spur/runtime"
)

// gcPercentWithLimit is the GOGC `spur run` uses under memory.limit.bytes.
// With Go's 100 the collector runs whenever the heap doubles, and a sink's
// live heap is small (a few MB of records in flight) while it allocates
// ~1 KB per record, so it collected ~80 times a second in the bench, ~18%
// of the worker's CPU. Under a limit the heap may grow five times the live
// data, never past the limit: 16% more throughput at 82 MB RSS with a 70 MiB
// limit (bench, 354 B events).
const gcPercentWithLimit = 400

// memoryLimit resolves memory.limit.bytes: 0 takes 90% of the container's
// memory limit (the rest is room for what Go does not count: the binary,
// stacks, the kernel's socket buffers), as container-aware JVMs size their
// heap from it; -1, or 0 outside a limited container, means none.
func memoryLimit(configured, container int64, log *slog.Logger) int64 {
	switch {
	case configured != 0:
		return max(configured, 0)
	case container <= 0:
		return 0
	case container/10*9 < runtime.MinMemoryLimit:
		log.Warn("the container's memory limit is too small to derive memory.limit.bytes from; using Go's defaults", "container_limit", container)
		return 0
	}
	log.Info("memory.limit.bytes from the container's memory limit (90%)", "container_limit", container)
	return container / 10 * 9
}

// applyMemoryLimit gives the process memory.limit.bytes as Go's soft memory
// limit (or GOMEMLIMIT from the environment, if smaller) and relaxes GOGC,
// unless the GOGC environment variable chose one. A limit of 0 leaves Go's
// defaults.
func applyMemoryLimit(limit int64, getenv func(string) string, log *slog.Logger) {
	if limit <= 0 {
		return
	}
	if env := getenv("GOMEMLIMIT"); env != "" {
		// The environment's limit (often derived from a container's) is
		// kept when it is the smaller one.
		if cur := debug.SetMemoryLimit(-1); cur < limit {
			log.Warn("GOMEMLIMIT is below memory.limit.bytes; keeping it", "GOMEMLIMIT", env, "memory.limit.bytes", limit)
			limit = cur
		}
	}
	debug.SetMemoryLimit(limit)
	gogc := "GOGC from the environment"
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercentWithLimit)
		gogc = "400"
	}
	log.Info("memory limit set", "bytes", limit, "gogc", gogc)
}
