package transforms

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/spur-connect/spur/connect"
)

const castPurpose = "cast types"

// Kafka's Schema.Type names, as the cast spec takes them.
const (
	kInt8    = "INT8"
	kInt16   = "INT16"
	kInt32   = "INT32"
	kInt64   = "INT64"
	kFloat32 = "FLOAT32"
	kFloat64 = "FLOAT64"
	kBoolean = "BOOLEAN"
	kString  = "STRING"
	kBytes   = "BYTES"
	kArray   = "ARRAY"
	kMap     = "MAP"
	kStruct  = "STRUCT"
	kDecimal = "DECIMAL" // BYTES with the Decimal logical name
)

var (
	kafkaTypes     = []string{kInt8, kInt16, kInt32, kInt64, kFloat32, kFloat64, kBoolean, kString, kBytes, kArray, kMap, kStruct}
	castOutputs    = []string{kInt8, kInt16, kInt32, kInt64, kFloat32, kFloat64, kBoolean, kString}
	castInputs     = []string{kInt8, kInt16, kInt32, kInt64, kFloat32, kFloat64, kBoolean, kString, kBytes}
	jsonSchemaType = map[string]string{kInt8: typeInt8, kInt16: typeInt16, kInt32: typeInt32, kInt64: typeInt64,
		kFloat32: typeFloat32, kFloat64: typeFloat64, kBoolean: typeBoolean, kString: typeString, kBytes: typeBytes,
		kArray: typeArray, kMap: typeMap, kStruct: typeStruct}
)

func castSpec() *connect.ConfigSpec {
	return connect.NewSpec(
		connect.ConfigKey{Name: "spec", Type: connect.TypeList, Required: true, Importance: connect.High,
			Doc: "List of fields and the type to cast them to of the form field1:type,field2:type to cast fields of " +
				"Maps or Structs. A single type to cast the entire value. Valid types are int8, int16, int32, " +
				"int64, float32, float64, boolean, and string. Note that binary fields can only be cast to string.",
			Validate: func(v any) error {
				_, _, err := parseCastSpec(v.([]string))
				return err
			}},
		replaceNullConfigKey,
		syntaxConfigKey,
	)
}

type fieldCast struct {
	path   fieldPath
	target string
}

// parseCastSpec returns the field casts, or the whole-value target type.
func parseCastSpec(list []string) (fields []fieldCast, whole string, err error) {
	if len(list) == 0 {
		return nil, "", errors.New("Must specify at least one field to cast.")
	}
	for _, m := range list {
		parts := javaSplit(m, ":")
		if len(parts) > 2 || len(parts) == 0 {
			return nil, "", errors.New("Invalid rename mapping: " + m)
		}
		typ := strings.ToUpper(strings.TrimSpace(parts[len(parts)-1]))
		if !contains(kafkaTypes, typ) {
			return nil, "", errors.New("Invalid type found in casting spec: " + strings.TrimSpace(parts[len(parts)-1]))
		}
		if !contains(castOutputs, typ) {
			return nil, "", fmt.Errorf("Cast transformation does not support casting to %s; supported types are [%s]", typ, strings.Join(castOutputs, ", "))
		}
		if len(parts) == 1 {
			whole = typ
		} else {
			fields = append(fields, fieldCast{path: fieldPath{text: strings.TrimSpace(parts[0])}, target: typ})
		}
	}
	if whole != "" && len(list) > 1 {
		return nil, "", errors.New("Cast transformations that specify a type to cast the entire value to may ony specify a single cast in their spec")
	}
	return fields, whole, nil
}

type cast struct {
	key         bool
	fields      []fieldCast
	whole       string
	replaceNull bool
	cache       schemaCache
}

func newCast(cfg connect.Config, key bool) (connect.Transformation, error) {
	fields, whole, err := parseCastSpec(cfg.List("spec"))
	if err != nil {
		return nil, connect.KeyError{Key: "spec", Message: err.Error()}
	}
	v2 := syntaxV2Enabled(cfg)
	for i := range fields {
		if fields[i].path, err = parsePath(fields[i].path.text, v2); err != nil {
			return nil, connect.KeyError{Key: "spec", Message: err.Error()}
		}
	}
	return &cast{key: key, fields: fields, whole: whole, replaceNull: cfg.Bool(replaceNullKey)}, nil
}

func (t *cast) Apply(r *connect.Record) (*connect.Record, error) {
	d := operand(r, t.key)
	if d.IsNull() {
		return r, nil
	}
	v, err := d.Value()
	if err != nil {
		return nil, err
	}
	if d.Schema == nil {
		if t.whole != "" {
			out, err := castValue(v, nil, t.whole)
			if err != nil {
				return nil, err
			}
			d.Set(out)
			return r, nil
		}
		m, err := requireMap(v, castPurpose)
		if err != nil {
			return nil, err
		}
		for _, fc := range t.fields {
			parent := fc.path.parent(m)
			if parent == nil {
				continue
			}
			out, err := castValue(parent[fc.path.last()], nil, fc.target)
			if err != nil {
				return nil, err
			}
			parent[fc.path.last()] = out // absent fields become null, as in Kafka
		}
		d.Set(m)
		return r, nil
	}
	schema, err := t.cache.get(d.Schema, t.updateSchema)
	if err != nil {
		return nil, err
	}
	if t.whole != "" {
		out, err := castValue(v, d.Schema, t.whole)
		if err != nil {
			return nil, err
		}
		d.Set(out)
		d.Schema = schema
		return r, nil
	}
	m, err := requireStruct(v, d.Schema, castPurpose)
	if err != nil {
		return nil, err
	}
	if t.replaceNull {
		withDefaults(m, d.Schema)
	}
	for _, fc := range t.fields {
		fs := schemaAt(d.Schema, fc.path.steps)
		parent := fc.path.parent(m)
		if fs == nil || parent == nil {
			continue
		}
		out, err := castValue(parent[fc.path.last()], fs, fc.target)
		if err != nil {
			return nil, err
		}
		parent[fc.path.last()] = out
	}
	d.Set(m)
	d.Schema = schema
	return r, nil
}

func (t *cast) updateSchema(s *connect.Schema) (*connect.Schema, error) {
	if t.whole != "" {
		// Kafka copies name, version, doc and parameters (copySchemaBasics).
		out := &connect.Schema{Type: jsonSchemaType[t.whole], Optional: s.Optional, Name: s.Name, Version: s.Version, Doc: s.Doc, Parameters: s.Parameters}
		if s.Default != nil {
			def, err := castValue(s.Default, s, t.whole)
			if err != nil {
				return nil, err
			}
			out.Default = def
		}
		return out, nil
	}
	if s.Type != typeStruct {
		return nil, fmt.Errorf("Only Struct objects supported for [%s], found: %s", castPurpose, s.Type)
	}
	for _, fc := range t.fields {
		out, err := editStruct(s, fc.path.parents(), func(st *connect.Schema) error {
			i := fieldIndex(st, fc.path.last())
			if i < 0 {
				return nil
			}
			f := st.Fields[i]
			nf := &connect.Schema{Type: jsonSchemaType[fc.target], Optional: f.Optional, Field: f.Field}
			if f.Default != nil {
				def, err := castValue(f.Default, f, fc.target)
				if err != nil {
					return err
				}
				nf.Default = def
			}
			st.Fields[i] = nf
			return nil
		})
		if err == nil {
			s = out
		} else if !errors.Is(err, errNoField) {
			return nil, err
		}
	}
	return s, nil
}

// castInputType is the Kafka type of a value: from its schema, or inferred
// as Kafka's JsonConverter reads schemaless JSON.
func castInputType(v any, s *connect.Schema) string {
	if s != nil {
		if s.Name == logicalDecimal {
			return kDecimal
		}
		for k, t := range jsonSchemaType {
			if t == s.Type {
				return k
			}
		}
		return strings.ToUpper(s.Type)
	}
	switch x := v.(type) {
	case json.Number:
		if isIntegral(x) {
			return kInt64
		}
		return kFloat64
	case string:
		return kString
	case bool:
		return kBoolean
	case []byte:
		return kBytes
	case map[string]any:
		return kMap
	case []any:
		return kArray
	}
	return typeName(v)
}

// castValue casts one value as Kafka's Cast.castValueToType does.
func castValue(v any, s *connect.Schema, target string) (any, error) {
	if v == nil {
		return nil, nil
	}
	v = normalizeNumber(v)
	in := castInputType(v, s)
	if in != kDecimal && !contains(castInputs, in) {
		return nil, fmt.Errorf("Cast transformation does not support casting from %s; supported types are [%s]", in, strings.Join(castInputs, ", "))
	}
	if target == kString {
		return castToString(v, s, in)
	}
	// Read the input as an int64, a float64, a bool, a string or a decimal.
	var (
		n       int64
		f       float64
		b       bool
		str     string
		dec     *big.Rat
		isInt   bool
		isFloat bool
		isBool  bool
		isStr   bool
	)
	switch in {
	case kInt8, kInt16, kInt32, kInt64:
		num, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("Unexpected type in Cast transformation: %s", typeName(v))
		}
		var err error
		if n, err = strconv.ParseInt(string(num), 10, 64); err != nil {
			return nil, outOfRange(v)
		}
		isInt = true
	case kFloat32, kFloat64:
		num, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Errorf("Unexpected type in Cast transformation: %s", typeName(v))
		}
		var err error
		if f, err = strconv.ParseFloat(string(num), 64); err != nil {
			return nil, outOfRange(v)
		}
		isFloat = true
	case kBoolean:
		b, isBool = v.(bool)
	case kString:
		str, isStr = v.(string)
	case kDecimal:
		var err error
		if dec, err = decodeDecimal(v, s); err != nil {
			return nil, err
		}
	}
	switch target {
	case kInt8, kInt16, kInt32, kInt64:
		bits := intBits[jsonSchemaType[target]]
		var out int64
		switch {
		case isInt:
			out = n
		case isFloat:
			out = javaFloatToInt(f, bits)
		case isBool:
			if b {
				out = 1
			}
		case isStr:
			var err error
			if out, err = strconv.ParseInt(str, 10, bits); err != nil {
				return nil, outOfRange(v)
			}
		case dec != nil:
			out = new(big.Int).Quo(dec.Num(), dec.Denom()).Int64() // low 64 bits, as BigDecimal.longValue
		default:
			return nil, fmt.Errorf("Unexpected type in Cast transformation: %s", typeName(v))
		}
		return intNumber(wrapInt(out, bits)), nil
	case kFloat32, kFloat64:
		bits := 64
		if target == kFloat32 {
			bits = 32
		}
		switch {
		case isInt:
			f = float64(n)
		case isFloat:
		case isBool:
			f = 0
			if b {
				f = 1
			}
		case isStr:
			var err error
			if f, err = parseJavaDouble(str); err != nil {
				return nil, outOfRange(v)
			}
		case dec != nil:
			f, _ = dec.Float64()
		default:
			return nil, fmt.Errorf("Unexpected type in Cast transformation: %s", typeName(v))
		}
		out, err := javaDouble(f, bits)
		if err != nil {
			return nil, outOfRange(v)
		}
		return out, nil
	case kBoolean:
		switch {
		case isInt:
			return n != 0, nil
		case isFloat:
			return javaFloatToInt(f, 64) != 0, nil
		case isBool:
			return b, nil
		case isStr:
			return strings.EqualFold(str, "true"), nil
		case dec != nil:
			return new(big.Int).Quo(dec.Num(), dec.Denom()).Sign() != 0, nil
		}
		return nil, fmt.Errorf("Unexpected type in Cast transformation: %s", typeName(v))
	}
	return nil, fmt.Errorf("%s is not supported in the Cast transformation.", target)
}

func outOfRange(v any) error {
	return fmt.Errorf("Value (%v) was out of range for requested data type", v)
}

// wrapInt narrows like Java's (byte), (short) and (int) casts.
func wrapInt(n int64, bits int) int64 {
	switch bits {
	case 8:
		return int64(int8(n))
	case 16:
		return int64(int16(n))
	case 32:
		return int64(int32(n))
	}
	return n
}

// javaFloatToInt is Java's double-to-integer conversion: NaN is 0, values
// saturate at the int (bits <= 32) or long range, then (byte)/(short) wrap.
func javaFloatToInt(f float64, bits int) int64 {
	if math.IsNaN(f) {
		return 0
	}
	lo, hi := float64(math.MinInt64), float64(math.MaxInt64)
	if bits <= 32 {
		lo, hi = math.MinInt32, math.MaxInt32
	}
	var n int64
	switch {
	case f <= lo:
		n = int64(lo)
	case f >= hi:
		if bits <= 32 {
			n = math.MaxInt32
		} else {
			n = math.MaxInt64
		}
	default:
		n = int64(f)
	}
	return wrapInt(n, bits)
}

// parseJavaDouble parses like Java's Double.parseDouble: surrounding blanks
// and a d/f suffix are allowed.
func parseJavaDouble(s string) (float64, error) {
	s = strings.TrimSpace(s)
	if t := strings.TrimRight(s, "dDfF"); len(t) == len(s)-1 && t != "" {
		s = t
	}
	if strings.Contains(s, "_") {
		return 0, errors.New("invalid")
	}
	return strconv.ParseFloat(s, 64)
}

func castToString(v any, s *connect.Schema, in string) (any, error) {
	if s != nil {
		switch s.Name {
		case logicalDate, logicalTime, logicalTimestamp:
			num, ok := v.(json.Number)
			if !ok {
				break
			}
			ms, err := strconv.ParseInt(string(num), 10, 64)
			if err != nil {
				return nil, outOfRange(v)
			}
			if s.Name == logicalDate {
				ms *= 86400000
			}
			return isoDate(ms), nil
		case logicalDecimal:
			if _, ok := v.(json.Number); ok {
				break // numeric decimal: its text
			}
			dec, err := decodeDecimal(v, s)
			if err != nil {
				return nil, err
			}
			return decimalString(dec, decimalScale(s)), nil
		}
	}
	switch x := v.(type) {
	case json.Number:
		return string(x), nil // exact text: 1.10 stays 1.10
	case bool:
		return strconv.FormatBool(x), nil
	case string:
		return x, nil // bytes arrive base64-encoded, which is Kafka's cast of bytes to string
	case []byte:
		return base64.StdEncoding.EncodeToString(x), nil
	}
	return nil, fmt.Errorf("Unexpected type in Cast transformation: %s", in)
}

// isoDate formats like Kafka's Values.dateFormatFor: a time of day below one
// day, a date at midnight, else a timestamp; all UTC.
func isoDate(ms int64) string {
	t := time.UnixMilli(ms).UTC()
	switch {
	case ms < 86400000:
		return t.Format("15:04:05.000Z")
	case ms%86400000 == 0:
		return t.Format("2006-01-02")
	}
	return t.Format("2006-01-02T15:04:05.000Z")
}

func decimalScale(s *connect.Schema) int {
	if s == nil {
		return 0
	}
	n, _ := strconv.Atoi(s.Parameters["scale"])
	return n
}

// decodeDecimal reads a Decimal: base64 of the big-endian two's complement
// unscaled value (JsonConverter's default) or a JSON number (decimal.format=NUMERIC).
func decodeDecimal(v any, s *connect.Schema) (*big.Rat, error) {
	switch x := v.(type) {
	case json.Number:
		r, ok := new(big.Rat).SetString(string(x))
		if !ok {
			return nil, outOfRange(v)
		}
		return r, nil
	case string:
		b, err := base64.StdEncoding.DecodeString(x)
		if err != nil {
			return nil, fmt.Errorf("invalid Decimal: %v", err)
		}
		unscaled := new(big.Int).SetBytes(b)
		if len(b) > 0 && b[0]&0x80 != 0 {
			unscaled.Sub(unscaled, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
		}
		scale := decimalScale(s)
		r := new(big.Rat).SetInt(unscaled)
		p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(scale))), nil)
		if scale >= 0 {
			r.Quo(r, new(big.Rat).SetInt(p))
		} else {
			r.Mul(r, new(big.Rat).SetInt(p))
		}
		return r, nil
	}
	return nil, fmt.Errorf("Unexpected type in Cast transformation: %s", typeName(v))
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// decimalString renders a decimal as Java's BigDecimal.toString at scale.
func decimalString(r *big.Rat, scale int) string {
	p := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(scale))), nil))
	u := new(big.Rat).Set(r)
	if scale >= 0 {
		u.Mul(u, p)
	} else {
		u.Quo(u, p)
	}
	unscaled := new(big.Int).Quo(u.Num(), u.Denom())
	digits := new(big.Int).Abs(unscaled).String()
	sign := ""
	if unscaled.Sign() < 0 {
		sign = "-"
	}
	adjusted := -scale + len(digits) - 1
	if scale >= 0 && adjusted >= -6 {
		if scale == 0 {
			return sign + digits
		}
		if len(digits) <= scale {
			digits = strings.Repeat("0", scale-len(digits)+1) + digits
		}
		return sign + digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
	}
	out := sign + digits[:1]
	if len(digits) > 1 {
		out += "." + digits[1:]
	}
	if adjusted >= 0 {
		return out + "E+" + strconv.Itoa(adjusted)
	}
	return out + "E" + strconv.Itoa(adjusted)
}
