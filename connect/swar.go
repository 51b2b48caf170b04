package connect

// Eight bytes at a time ("SIMD within a register"): the portable scans of
// JSON strings.

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

// load64 reads 8 bytes of s from i, little-endian (one load once compiled).
func load64[S ~string | ~[]byte](s S, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}
