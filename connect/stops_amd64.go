//go:build amd64 && !purego

package connect

// stopBlocks sets stops[k] to the stop bits of b[64k:64k+64] (see
// strStops). len(b) is a multiple of 64 and len(stops) is len(b)/64. In
// assembly (SSE2, which every amd64 CPU has), 16 bytes per step.
//
//go:noescape
func stopBlocks(b []byte, stops []uint64)
