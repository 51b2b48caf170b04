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
	"unicode/utf8"
)

// encoder writes a value in Avro's binary encoding by a schema. Values are
// what JSON decodes to (map[string]any, []any, json.Number, string, bool,
// nil), so a schemaless JSON record from a source connector can be written
// with the subject's registered schema. Mismatches are errors that name the
// field path.
type encoder struct {
	depth    int
	attempts int // union branches tried, against maxUnionAttempts
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
	// Only a path error itself is merged: one wrapped inside a union's
	// joined errors keeps its place in that message.
	if pe, ok := err.(*encodePathError); ok {
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
			if f32 := float32(f); math.IsInf(float64(f32), 0) && !math.IsInf(f, 0) {
				return dst, typeError("a number in the range of an Avro float", v)
			}
			return binary.LittleEndian.AppendUint32(dst, math.Float32bits(float32(f))), nil
		}
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(f)), nil
	case kindString:
		str, ok := v.(string)
		if b, isBytes := v.([]byte); isBytes && utf8.Valid(b) {
			str, ok = string(b), true // bytes data (ByteArrayConverter-shaped) that is text
		}
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
	if i, w, ok := unionStruct(s, v); ok {
		// Kafka Connect's form of the union, as Spur reads it:
		// {"string":null,"long":5}.
		if i < 0 {
			return e.appendUnion(dst, s, nil, false)
		}
		out, err := e.appendValue(appendLong(dst, int64(i)), s.branches[i], w, false)
		if err != nil {
			return dst, pathError(branchName(s.branches[i]), err)
		}
		return out, nil
	}
	_, isString := v.(string)
	hasString := false
	for _, b := range s.branches {
		hasString = hasString || b.kind == kindString
	}
	var errs []error
	try := func(i int) ([]byte, error) {
		b := s.branches[i]
		if e.attempts++; e.attempts > maxUnionAttempts {
			return dst, fmt.Errorf("more than %d union branches tried for one value: the schema's unions are too ambiguous for it", maxUnionAttempts)
		}
		start, depth := len(dst), e.depth
		out, err := e.appendValue(appendLong(dst, int64(i)), b, v, false)
		if err != nil {
			e.depth = depth // the failed branch left early
			dst = out[:start]
		}
		return out, err
	}
	tried, unfit := 0, -1
	for i, b := range s.branches {
		if (v == nil) != (b.kind == kindNull) {
			continue
		}
		if isString && hasString && (b.kind == kindFloat || b.kind == kindDouble) {
			continue // "NaN" is text when the union can hold text
		}
		if b.kind == kindRecord && !mayFit(b, v) {
			unfit = i // not tried: its fields are not the object's
			continue
		}
		tried++
		out, err := try(i)
		if err == nil {
			return out, nil
		}
		if e.attempts > maxUnionAttempts {
			return dst, err
		}
		errs = append(errs, fmt.Errorf("as %s: %w", branchName(s.branches[i]), err))
	}
	if tried == 0 && unfit >= 0 {
		// Only records whose fields are not the object's: the last one's
		// error says which field.
		out, err := try(unfit)
		if err != nil {
			return dst, err
		}
		return out, nil
	}
	if len(errs) == 1 {
		return dst, errs[0]
	}
	return dst, fmt.Errorf("%s fits no branch of the union (%w)", describe(v), errors.Join(errs...))
}

// unionStruct recognises Kafka Connect's form of a union of several types
// (io.confluent.connect.avro.Union): an object with a field per non-null
// branch, named by its type, all null but one. It returns that branch and
// its value, or -1 when all are null.
func unionStruct(s *schema, v any) (branch int, value any, ok bool) {
	if s.nullable >= 0 {
		return 0, nil, false
	}
	m, isMap := v.(map[string]any)
	if !isMap || len(m) == 0 {
		return 0, nil, false
	}
	names := 0
	for _, b := range s.branches {
		if b.kind != kindNull {
			names++
		}
	}
	if len(m) != names {
		return 0, nil, false
	}
	branch = -1
	for i, b := range s.branches {
		if b.kind == kindNull {
			continue
		}
		w, present := m[branchName(b)]
		if !present {
			return 0, nil, false
		}
		if w != nil {
			if branch >= 0 {
				return 0, nil, false // two set: not the union's form
			}
			branch, value = i, w
		}
	}
	return branch, value, true
}

// maxUnionAttempts bounds the branches tried while writing one value: a
// union whose branches only differ deep inside could otherwise make the
// search exponential in the value's depth.
const maxUnionAttempts = 10_000

// mayFit is a cheap check before trying a record branch: the value is an
// object whose keys are all fields, with every field without a default.
func mayFit(s *schema, v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for k := range m {
		if !hasField(s, k) {
			return false
		}
	}
	for _, f := range s.fields {
		if _, present := m[f.name]; !present && !f.hasDef {
			return false
		}
	}
	return true
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
	if len(n) > s.precision+s.scale+32 {
		return nil, fmt.Errorf("a number of %d characters is longer than a decimal of precision %d", len(n), s.precision)
	}
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
	// The fewest bytes that hold u with its sign bit, as Java's
	// BigInteger.toByteArray writes it: -128 is one byte (80), 128 two.
	bits := u.BitLen()
	if u.Sign() < 0 {
		bits = new(big.Int).Sub(new(big.Int).Neg(u), big.NewInt(1)).BitLen()
	}
	size := bits/8 + 1
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
