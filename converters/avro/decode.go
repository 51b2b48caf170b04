package avro

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"

	"github.com/spur-connect/spur/connect"
)

// Limits that keep a hostile or corrupt record from costing more than its
// size suggests. Kafka's Java decoder has none and fails with an
// OutOfMemoryError or a StackOverflowError instead.
const (
	maxDepth = 500 // nesting of the data (recursive records)
	// maxEmptyItems bounds an array or map block of items that take no
	// bytes (nulls, empty records), whose count the input cannot bound.
	maxEmptyItems = 1 << 16
)

var errShort = errors.New("unexpected end of data")

// maxPlainScale is the largest decimal scale written with a point; larger
// ones (no real schema has them, a hostile one might) use an exponent.
const maxPlainScale = 64

// decoder reads Avro's binary encoding and appends the value as JSON, in
// the form Kafka Connect's JsonConverter writes the same data: records as
// objects in field order, bytes and fixed as base64 strings, enums as
// strings, logical types as their underlying value except decimals, which
// are numbers; optional values ([null, T] unions) as the value or null, and
// other unions as an object with one field per branch, all null but the
// one that is set.
type decoder struct {
	buf   []byte
	pos   int
	depth int
	empty int // items of arrays whose items may take no bytes, so far
}

func (d *decoder) appendJSON(dst []byte, s *schema) ([]byte, error) {
	switch s.kind {
	case kindNull:
		return append(dst, "null"...), nil
	case kindBoolean:
		if d.pos >= len(d.buf) {
			return dst, errShort
		}
		b := d.buf[d.pos]
		d.pos++
		switch b {
		case 0:
			return append(dst, "false"...), nil
		case 1:
			return append(dst, "true"...), nil
		}
		return dst, fmt.Errorf("boolean byte %d is neither 0 nor 1", b)
	case kindInt:
		n, err := d.long()
		if err != nil {
			return dst, err
		}
		if n != int64(int32(n)) {
			return dst, fmt.Errorf("int %d out of range", n)
		}
		return strconv.AppendInt(dst, n, 10), nil
	case kindLong:
		n, err := d.long()
		if err != nil {
			return dst, err
		}
		return strconv.AppendInt(dst, n, 10), nil
	case kindFloat:
		if len(d.buf)-d.pos < 4 {
			return dst, errShort
		}
		f := math.Float32frombits(binary.LittleEndian.Uint32(d.buf[d.pos:]))
		d.pos += 4
		return appendFloat(dst, float64(f), 32), nil
	case kindDouble:
		if len(d.buf)-d.pos < 8 {
			return dst, errShort
		}
		f := math.Float64frombits(binary.LittleEndian.Uint64(d.buf[d.pos:]))
		d.pos += 8
		return appendFloat(dst, f, 64), nil
	case kindBytes, kindString:
		b, err := d.bytes()
		if err != nil {
			return dst, err
		}
		switch {
		case s.logical == "decimal":
			return appendDecimal(dst, b, s.scale), nil
		case s.kind == kindString:
			return connect.AppendJSONString(dst, b), nil
		}
		return appendBase64(dst, b), nil
	case kindFixed:
		if len(d.buf)-d.pos < s.size {
			return dst, errShort
		}
		b := d.buf[d.pos : d.pos+s.size]
		d.pos += s.size
		if s.logical == "decimal" {
			return appendDecimal(dst, b, s.scale), nil
		}
		return appendBase64(dst, b), nil
	case kindEnum:
		i, err := d.long()
		if err != nil {
			return dst, err
		}
		if i < 0 || i >= int64(len(s.symbols)) {
			return dst, fmt.Errorf("enum %s has no symbol %d", s.name, i)
		}
		return connect.AppendJSONString(dst, s.symbols[i]), nil
	case kindRecord:
		if err := d.enter(); err != nil {
			return dst, err
		}
		if err := d.tooLong(dst); err != nil {
			return dst, err
		}
		dst = append(dst, '{')
		for i, f := range s.fields {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, f.key...)
			var err error
			if dst, err = d.appendJSON(dst, f.schema); err != nil {
				return dst, fmt.Errorf("%s.%s: %w", s.name, f.name, err)
			}
		}
		d.depth--
		return append(dst, '}'), nil
	case kindArray, kindMap:
		return d.appendBlocks(dst, s)
	case kindUnion:
		i, err := d.long()
		if err != nil {
			return dst, err
		}
		if i < 0 || i >= int64(len(s.branches)) {
			return dst, fmt.Errorf("union has no branch %d", i)
		}
		b := s.branches[i]
		if s.nullable >= 0 || b.kind == kindNull {
			return d.appendJSON(dst, b)
		}
		if err := d.enter(); err != nil {
			return dst, err
		}
		dst = append(dst, '{')
		for j, other := range s.branches {
			if other.kind == kindNull {
				continue
			}
			if dst[len(dst)-1] != '{' {
				dst = append(dst, ',')
			}
			dst = append(dst, s.keys[j]...)
			if int64(j) != i {
				dst = append(dst, "null"...)
				continue
			}
			if dst, err = d.appendJSON(dst, b); err != nil {
				return dst, err
			}
		}
		d.depth--
		return append(dst, '}'), nil
	}
	return dst, fmt.Errorf("unknown avro type %d", s.kind)
}

func (d *decoder) enter() error {
	if d.depth++; d.depth > maxDepth {
		return fmt.Errorf("data nested deeper than %d levels", maxDepth)
	}
	return nil
}

// tooLong bounds the JSON a record may read as: 64 times its size plus
// 1 MiB. Values that take no bytes (empty records, nulls) make JSON of
// nothing, so a small record with a hostile schema could otherwise read as
// gigabytes.
func (d *decoder) tooLong(dst []byte) error {
	if limit := 64*len(d.buf) + 1<<20; len(dst) > limit {
		return fmt.Errorf("the record reads as more than %d bytes of JSON", limit)
	}
	return nil
}

// appendBlocks reads an array or a map: blocks of items, each a count
// (negative: followed by the block's size in bytes), ended by a zero count.
func (d *decoder) appendBlocks(dst []byte, s *schema) ([]byte, error) {
	if err := d.enter(); err != nil {
		return dst, err
	}
	open, close, item := byte('['), byte(']'), s.items
	if s.kind == kindMap {
		open, close, item = '{', '}', s.values
	}
	dst = append(dst, open)
	first := true
	for {
		n, err := d.long()
		if err != nil {
			return dst, err
		}
		if n == 0 {
			break
		}
		if n < 0 {
			if n == math.MinInt64 {
				return dst, errors.New("block count out of range")
			}
			n = -n
			if _, err := d.long(); err != nil { // the block's size in bytes
				return dst, err
			}
		}
		// Every item takes at least a byte (a map's key does), unless the
		// items may be empty: those count against a budget per record.
		if s.kind == kindArray && zeroWidth(item) {
			if d.empty += int(min(n, maxEmptyItems+1)); d.empty > maxEmptyItems {
				return dst, fmt.Errorf("more than %d items that take no bytes", maxEmptyItems)
			}
		} else if n > int64(len(d.buf)-d.pos) {
			return dst, fmt.Errorf("block of %d items in %d bytes", n, len(d.buf)-d.pos)
		}
		for range n {
			if err := d.tooLong(dst); err != nil {
				return dst, err
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			if s.kind == kindMap {
				k, err := d.bytes()
				if err != nil {
					return dst, err
				}
				dst = connect.AppendJSONString(dst, k)
				dst = append(dst, ':')
			}
			if dst, err = d.appendJSON(dst, item); err != nil {
				return dst, err
			}
		}
	}
	d.depth--
	return append(dst, close), nil
}

// zeroWidth reports whether a value of s may take no bytes at all. Deeply
// nested (or recursive) records count as taking bytes: a wrong "no" only
// refuses a block count larger than the data.
func zeroWidth(s *schema) bool { return zeroWidthAt(s, 0) }

func zeroWidthAt(s *schema, depth int) bool {
	switch s.kind {
	case kindNull:
		return true
	case kindFixed:
		return s.size == 0
	case kindRecord:
		if depth > 8 {
			return false
		}
		for _, f := range s.fields {
			if !zeroWidthAt(f.schema, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// long reads a zig-zag varint.
func (d *decoder) long() (int64, error) {
	var u uint64
	for shift := uint(0); ; shift += 7 {
		if d.pos >= len(d.buf) {
			return 0, errShort
		}
		b := d.buf[d.pos]
		d.pos++
		if shift == 63 && b > 1 {
			return 0, errors.New("varint overflows a long")
		}
		u |= uint64(b&0x7f) << shift
		if b < 0x80 {
			break
		}
	}
	return int64(u>>1) ^ -int64(u&1), nil
}

func (d *decoder) bytes() ([]byte, error) {
	n, err := d.long()
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, fmt.Errorf("negative length %d", n)
	}
	if n > int64(len(d.buf)-d.pos) {
		return nil, errShort
	}
	b := d.buf[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return b, nil
}

// appendFloat writes a number as JSON; NaN and the infinities, which JSON
// cannot hold, become the strings Jackson writes for them.
func appendFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'g', -1, bits)
	// Jackson writes a whole double as 10.0, not 10: a reader that guesses
	// types (Elasticsearch's dynamic mapping) then sees a floating-point
	// number.
	for _, c := range dst[start:] {
		if c == '.' || c == 'e' {
			return dst
		}
	}
	return append(dst, '.', '0')
}

func appendBase64(dst, b []byte) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}

// appendDecimal writes a decimal (big-endian two's complement unscaled
// value) as a JSON number with exactly its scale's digits after the point.
func appendDecimal(dst, b []byte, scale int) []byte {
	var digits []byte
	neg := len(b) > 0 && b[0]&0x80 != 0
	if len(b) <= 8 {
		var v int64
		for _, c := range b {
			v = v<<8 | int64(c)
		}
		if neg && len(b) < 8 {
			v -= 1 << (8 * len(b))
		}
		var tmp [24]byte
		digits = strconv.AppendInt(tmp[:0], v, 10)
	} else {
		n := new(big.Int).SetBytes(b)
		if neg {
			n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
		}
		digits = n.Append(nil, 10)
	}
	if len(digits) > 0 && digits[0] == '-' {
		dst = append(dst, '-')
		digits = digits[1:]
	}
	if scale == 0 {
		return append(dst, digits...)
	}
	if scale > maxPlainScale {
		// 1234e-5000: exact, without writing thousands of zeros.
		dst = append(dst, digits...)
		dst = append(dst, 'e', '-')
		return strconv.AppendInt(dst, int64(scale), 10)
	}
	if len(digits) <= scale {
		dst = append(dst, '0', '.')
		for range scale - len(digits) {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	}
	dst = append(dst, digits[:len(digits)-scale]...)
	dst = append(dst, '.')
	return append(dst, digits[len(digits)-scale:]...)
}
