//go:build !amd64 || purego

package connect

import "encoding/binary"

// stops64 returns the stop bits of 64 bytes.
func stops64(b []byte) uint64 {
	_ = b[63]
	var m uint64
	for j := 0; j < 8; j++ {
		x := stopBytes(binary.LittleEndian.Uint64(b[8*j:])) & hi
		// Gather the eight flags (bits 7, 15, ..., 63) into one byte.
		m |= (x * 0x0002040810204081 >> 56) << (8 * j)
	}
	return m
}

// stopBlocks sets stops[k] to the stop bits of b[64k:64k+64] (see
// strStops). len(b) is a multiple of 64 and len(stops) is len(b)/64.
func stopBlocks(b []byte, stops []uint64) {
	for k := range stops {
		stops[k] = stops64(b[64*k : 64*k+64 : 64*k+64])
	}
}
