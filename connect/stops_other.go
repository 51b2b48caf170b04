//go:build !amd64 || purego

package connect

import "encoding/binary"

const (
	lo7 = 0x0101010101010101
	hi  = 0x8080808080808080
	lo  = 0x7f7f7f7f7f7f7f7f
)

// zeroBytes flags (high bit of each byte) exactly the zero bytes of x: a
// byte's low seven bits plus 0x7f carry into its high bit unless they are
// all zero, and no carry crosses into the next byte.
func zeroBytes(x uint64) uint64 { return ^((x&lo + lo) | x | lo) }

// stopBytes flags the bytes of x that end the plain run of a JSON string:
// '"', '\\' and control characters (< 0x20, the bytes whose top three bits
// are zero).
func stopBytes(x uint64) uint64 {
	return zeroBytes(x^(lo7*'"')) | zeroBytes(x^(lo7*'\\')) | zeroBytes(x&(lo7*0xe0))
}

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
