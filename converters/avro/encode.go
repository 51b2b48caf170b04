package avro

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// encoder writes a value in Avro's binary encoding by a schema. Values are
// what JSON decodes to (map[string]any, []any, json.Number, string, bool,
// nil), so a schemaless JSON record from a source connector can be written
// with the subject's registered schema. Mismatches are errors that name the
// field path.
type encoder struct {
	depth int
}

// typeError says what a value should have been.
func typeError(want string, v any) error {
	return fmt.Errorf("want %s, got %s", want, describe(v))
}

func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "the number " + string(x)
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return strconv.Quote(x)
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	case []byte:
		return "bytes"
	}
	return fmt.Sprintf("%T", v)
}

// pathError prefixes an error with the place it happened.
func pathError(at string, err error) error {
	var pe *encodePathError
	if errors.As(err, &pe) {
		return &encodePathError{path: at + "." + pe.path, err: pe.err}
	}
	return &encodePathError{path: at, err: err}
}

type encodePathError struct {
	path string
	err  error
}

func (e *encodePathError) Error() string { return e.path + ": " + e.err.Error() }
func (e *encodePathError) Unwrap() error { return e.err }

// appendValue appends v encoded by s. fromDefault reads bytes and fixed as
// Avro's JSON defaults write them (one character per byte) rather than as
// base64, the form Kafka Connect's JsonConverter gives bytes.
func (e *encoder) appendValue(dst []byte, s *schema, v any, fromDefault bool) ([]byte, error) {
	switch s.kind {
	case kindNull:
		if v != nil {
			return dst, typeError("null", v)
		}
		return dst, nil
	case kindBoolean:
		b, ok := v.(bool)
		if !ok {
			return dst, typeError("a boolean", v)
		}
		if b {
			return append(dst, 1), nil
		}
		return append(dst, 0), nil
	case kindInt, kindLong:
		n, ok := v.(json.Number)
		if !ok {
			return dst, typeError("an integer", v)
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil || (s.kind == kindInt && i != int64(int32(i))) {
			return dst, typeError("an integer in the range of an Avro "+branchName(s), v)
		}
		return appendLong(dst, i), nil
	case kindFloat, kindDouble:
		var f float64
		switch x := v.(type) {
		case json.Number:
			var err error
			if f, err = x.Float64(); err != nil {
				return dst, typeError("a number", v)
			}
		case string: // as appendFloat writes them
			switch x {
			case "NaN":
				f = math.NaN()
			case "Infinity":
				f = math.Inf(1)
			case "-Infinity":
				f = math.Inf(-1)
			default:
				return dst, typeError("a number", v)
			}
		default:
			return dst, typeError("a number", v)
		}
		if s.kind == kindFloat {
			return binary.LittleEndian.AppendUint32(dst, math.Float32bits(float32(f))), nil
		}
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f)), nil
	case kindString:
		str, ok := v.(string)
		if !ok {
			return dst, typeError("a string", v)
		}
		dst = appendLong(dst, int64(len(str)))
		return append(dst, str...), nil
	case kindBytes, kindFixed:
		b, err := bytesOf(s, v, fromDefault)
		if err != nil {
			return dst, err
		}
		if s.kind == kindFixed {
			if len(b) != s.size {
				return dst, fmt.Errorf("want %d bytes for fixed %s, got %d", s.size, s.name, len(b))
			}
			return append(dst, b...), nil
		}
		dst = appendLong(dst, int64(len(b)))
		return append(dst, b...), nil
	case kindEnum:
		str, ok := v.(string)
		if !ok {
			return dst, typeError("a symbol of enum "+s.name, v)
		}
		for i, sym := range s.symbols {
			if sym == str {
				return appendLong(dst, int64(i)), nil
			}
		}
		return dst, fmt.Errorf("%q is not a symbol of enum %s", str, s.name)
	case kindArray:
		items, ok := v.([]any)
		if !ok {
			return dst, typeError("an array", v)
		}
		if err := e.enter(); err != nil {
			return dst, err
		}
		if len(items) > 0 {
			dst = appendLong(dst, int64(len(items)))
			for i, it := range items {
				var err error
				if dst, err = e.appendValue(dst, s.items, it, fromDefault); err != nil {
					return dst, pathError("["+strconv.Itoa(i)+"]", err)
				}
			}
		}
		e.depth--
		return append(dst, 0), nil
	case kindMap:
		m, ok := v.(map[string]any)
		if !ok {
			return dst, typeError("an object", v)
		}
		if err := e.enter(); err != nil {
			return dst, err
		}
		if len(m) > 0 {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys) // the same value always encodes the same
			dst = appendLong(dst, int64(len(keys)))
			for _, k := range keys {
				dst = appendLong(dst, int64(len(k)))
				dst = append(dst, k...)
				var err error
				if dst, err = e.appendValue(dst, s.values, m[k], fromDefault); err != nil {
					return dst, pathError(k, err)
				}
			}
		}
		e.depth--
		return append(dst, 0), nil
	case kindRecord:
		m, ok := v.(map[string]any)
		if !ok {
			return dst, typeError("an object for record "+s.name, v)
		}
		if err := e.enter(); err != nil {
			return dst, err
		}
		for _, f := range s.fields {
			fv, present := m[f.name]
			def := fromDefault
			if !present {
				if !f.hasDef {
					return dst, pathError(f.name, fmt.Errorf("missing, and the field has no default"))
				}
				fv, def = f.def, true
			}
			var err error
			if dst, err = e.appendValue(dst, f.schema, fv, def); err != nil {
				return dst, pathError(f.name, err)
			}
		}
		if len(m) > len(s.fields) || !allKnown(m, s) {
			// Writing would drop data the record carries.
			for k := range m {
				if !hasField(s, k) {
					return dst, pathError(k, fmt.Errorf("not a field of record %s", s.name))
				}
			}
		}
		e.depth--
		return dst, nil
	case kindUnion:
		return e.appendUnion(dst, s, v, fromDefault)
	}
	return dst, fmt.Errorf("unknown avro type %d", s.kind)
}

// appendUnion writes the first branch that takes the value (a default
// always takes the first branch, as the specification says). null goes to
// the null branch.
func (e *encoder) appendUnion(dst []byte, s *schema, v any, fromDefault bool) ([]byte, error) {
	if fromDefault {
		dst = appendLong(dst, 0)
		return e.appendValue(dst, s.branches[0], v, true)
	}
	var errs []error
	for i, b := range s.branches {
		if (v == nil) != (b.kind == kindNull) {
			continue
		}
		start := len(dst)
		out, err := e.appendValue(appendLong(dst, int64(i)), b, v, false)
		if err == nil {
			return out, nil
		}
		errs = append(errs, fmt.Errorf("as %s: %w", branchName(b), err))
		dst = out[:start]
	}
	if len(errs) == 1 {
		return dst, errs[0]
	}
	return dst, fmt.Errorf("%s fits no branch of the union (%w)", describe(v), errors.Join(errs...))
}

func (e *encoder) enter() error {
	if e.depth++; e.depth > maxDepth {
		return fmt.Errorf("value nested deeper than %d levels", maxDepth)
	}
	return nil
}

func allKnown(m map[string]any, s *schema) bool {
	for k := range m {
		if !hasField(s, k) {
			return false
		}
	}
	return true
}

func hasField(s *schema, name string) bool {
	for _, f := range s.fields {
		if f.name == name {
			return true
		}
	}
	return false
}

// bytesOf reads a bytes or fixed value: a decimal from a number, bytes
// from base64 (JsonConverter's form) or from a default's ISO-8859-1 string.
func bytesOf(s *schema, v any, fromDefault bool) ([]byte, error) {
	if s.logical == "decimal" && !fromDefault {
		// A number, or a string holding one (how producers keep decimals
		// exact in JSON). Kafka's base64 form of decimals is not read.
		switch x := v.(type) {
		case json.Number:
			return decimalBytes(x, s)
		case string:
			if jsonNumber.MatchString(x) {
				return decimalBytes(json.Number(x), s)
			}
		}
		return nil, typeError("a decimal number", v)
	}
	switch x := v.(type) {
	case []byte:
		return x, nil
	case string:
		if fromDefault {
			b := make([]byte, 0, len(x))
			for _, r := range x {
				if r > 0xff {
					return nil, fmt.Errorf("default %q is not one character per byte", x)
				}
				b = append(b, byte(r))
			}
			return b, nil
		}
		b, err := base64.StdEncoding.DecodeString(x)
		if err != nil {
			return nil, fmt.Errorf("want base64 bytes: %w", err)
		}
		return b, nil
	}
	return nil, typeError("bytes (a base64 string)", v)
}

// decimalBytes is a number's unscaled value at the schema's scale, in the
// fewest big-endian two's complement bytes (for fixed: exactly its size).
// A number with more digits after the point than the scale is refused
// rather than rounded.
func decimalBytes(n json.Number, s *schema) ([]byte, error) {
	// An exponent past the scale and precision cannot fit, and 1e999999999
	// would cost a billion-digit power of ten to find out.
	if i := strings.IndexAny(string(n), "eE"); i >= 0 {
		if e, err := strconv.Atoi(string(n[i+1:])); err != nil || e > 1000 || e < -1000 {
			return nil, fmt.Errorf("%s is out of the range of a decimal of precision %d", n, s.precision)
		}
	}
	r, ok := new(big.Rat).SetString(string(n))
	if !ok {
		return nil, typeError("a decimal number", n)
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(s.scale)), nil)))
	if !r.IsInt() {
		return nil, fmt.Errorf("%s has more than %d digits after the point", n, s.scale)
	}
	u := r.Num()
	if digits := len(new(big.Int).Abs(u).String()); digits > s.precision && u.Sign() != 0 {
		return nil, fmt.Errorf("%s has more than the %d digits of its precision", n, s.precision)
	}
	size := (u.BitLen() + 8) / 8 // room for the sign bit
	if s.kind == kindFixed {
		if size > s.size {
			return nil, fmt.Errorf("%s does not fit in fixed %s of %d bytes", n, s.name, s.size)
		}
		size = s.size
	}
	b := make([]byte, size)
	if u.Sign() >= 0 {
		u.FillBytes(b)
		return b, nil
	}
	// Two's complement: 2^(8*size) + u.
	t := new(big.Int).Lsh(big.NewInt(1), uint(8*size))
	t.Add(t, u)
	t.FillBytes(b)
	return b, nil
}

// jsonNumber is the grammar of a JSON number, for decimals given as strings.
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// appendLong appends a zig-zag varint.
func appendLong(dst []byte, n int64) []byte {
	return binary.AppendUvarint(dst, uint64(n<<1)^uint64(n>>63))
}
