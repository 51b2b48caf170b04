package transforms

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/spur-connect/spur/connect"
)

// operand returns the key or the value of r.
func operand(r *connect.Record, key bool) *connect.Data {
	if key {
		return &r.Key
	}
	return &r.Value
}

// typeName names the type of a decoded value in error messages, where
// Kafka names the Java class.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case json.Number, float64, float32, int, int32, int64:
		return "number"
	case bool:
		return "boolean"
	case []byte:
		return "bytes"
	}
	return fmt.Sprintf("%T", v)
}

// requireMap is Kafka's Requirements.requireMap for schemaless values.
func requireMap(v any, purpose string) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("Only Map objects supported in absence of schema for [%s], found: %s", purpose, typeName(v))
	}
	return m, nil
}

// requireStruct is Kafka's Requirements.requireStruct: the schema must be a
// struct and the value a JSON object.
func requireStruct(v any, s *connect.Schema, purpose string) (map[string]any, error) {
	if s.Type != typeStruct {
		return nil, fmt.Errorf("Only Struct objects supported for [%s], found: %s", purpose, s.Type)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("Only Struct objects supported for [%s], found: %s", purpose, typeName(v))
	}
	return m, nil
}

// isIntegral reports whether a JSON number is written without fraction or
// exponent, which is how Kafka's JsonConverter tells an int64 from a double.
func isIntegral(n json.Number) bool { return !strings.ContainsAny(string(n), ".eE") }

// normalizeNumber turns a Go number (from a schema default decoded without
// UseNumber, or a value a source task built) into the json.Number the
// transforms work on; floats get Java's text, so they stay non-integral.
func normalizeNumber(v any) any {
	switch x := v.(type) {
	case int:
		return intNumber(int64(x))
	case int8:
		return intNumber(int64(x))
	case int16:
		return intNumber(int64(x))
	case int32:
		return intNumber(int64(x))
	case int64:
		return intNumber(x)
	case uint:
		return json.Number(strconv.FormatUint(uint64(x), 10))
	case uint8:
		return intNumber(int64(x))
	case uint16:
		return intNumber(int64(x))
	case uint32:
		return intNumber(int64(x))
	case uint64:
		return json.Number(strconv.FormatUint(x, 10))
	case float32:
		if n, err := javaDouble(float64(x), 32); err == nil {
			return n
		}
	case float64:
		if n, err := javaDouble(x, 64); err == nil {
			return n
		}
	}
	return v
}

// intNumber renders an integer as a JSON number.
func intNumber(n int64) json.Number { return json.Number(strconv.FormatInt(n, 10)) }

// javaDouble renders a float as Java's Double.toString (Float.toString for
// bits=32) does, which is what Kafka's JsonConverter writes for a FLOAT64
// (FLOAT32) value: 5.0, 1.1, 1.0E7, 1.0E-4. NaN and infinities have no JSON
// form and are an error.
func javaDouble(f float64, bits int) (json.Number, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("%v cannot be written as a JSON number", f)
	}
	if bits == 32 {
		f = float64(float32(f))
		if math.IsInf(f, 0) {
			return "", fmt.Errorf("value out of range for float32")
		}
	}
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0", nil
		}
		return "0.0", nil
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, bits)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return json.Number(s), nil
	}
	s := strconv.FormatFloat(f, 'e', -1, bits)
	mant, exp, _ := strings.Cut(s, "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return json.Number(mant + "E" + strconv.Itoa(e)), nil
}

// deepCopy copies a decoded JSON tree, so a subtree copied from the value to
// the key does not change when a later transform edits the value in place.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = deepCopy(e)
		}
		return a
	case []byte:
		return append([]byte(nil), x...)
	}
	return v
}

// headerBytes renders a decoded value as a header value: strings as their
// UTF-8 bytes, null as a null header, anything else as JSON (numbers keep
// their text), as Kafka's SimpleHeaderConverter writes them.
func headerBytes(v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []byte(x), nil
	case []byte:
		return x, nil
	}
	return connect.EncodeJSON(v)
}
