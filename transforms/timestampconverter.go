package transforms

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spur-connect/spur/connect"
)

const tsPurpose = "converting timestamp formats"

// Target types of TimestampConverter.
const (
	tsString    = "string"
	tsUnix      = "unix"
	tsDate      = "Date"
	tsTime      = "Time"
	tsTimestamp = "Timestamp"
)

const msPerDay = 86400000

func timestampConverterSpec() *connect.ConfigSpec {
	return connect.NewSpec(
		connect.ConfigKey{Name: "field", Type: connect.TypeString, Importance: connect.High,
			Doc: "The field containing the timestamp, or empty if the entire value is a timestamp (a path with field.syntax.version=V2)."},
		connect.ConfigKey{Name: "target.type", Type: connect.TypeString, Required: true, Importance: connect.High,
			Validate: validString(tsString, tsUnix, tsDate, tsTime, tsTimestamp), Recommended: []string{tsString, tsUnix, tsDate, tsTime, tsTimestamp},
			Doc: "The desired timestamp representation: string, unix, Date, Time, or Timestamp."},
		connect.ConfigKey{Name: "format", Type: connect.TypeString, Importance: connect.Medium,
			Doc: "A SimpleDateFormat-compatible format for the timestamp (UTC). Used to generate the output when type=string " +
				"or used to parse the input if the input is a string.",
			Validate: func(v any) error {
				if _, err := compileDateFormat(v.(string)); err != nil {
					return fmt.Errorf("TimestampConverter requires a SimpleDateFormat-compatible pattern for string timestamps: %s (%v)", v, err)
				}
				return nil
			}},
		connect.ConfigKey{Name: "unix.precision", Type: connect.TypeString, Default: "milliseconds", Importance: connect.Low,
			Validate:    validString("nanoseconds", "microseconds", "milliseconds", "seconds"),
			Recommended: []string{"nanoseconds", "microseconds", "milliseconds", "seconds"},
			Doc: "The desired Unix precision for the timestamp: seconds, milliseconds, microseconds, or nanoseconds. " +
				"Used to generate the output when type=unix or used to parse the input if the input is a number. " +
				"Note: This SMT will cause precision loss during conversions from, and to, values with sub-millisecond components."},
		replaceNullConfigKey,
		syntaxConfigKey,
	)
}

// validString is Kafka's case-sensitive ConfigDef.ValidString.
func validString(values ...string) func(any) error {
	return func(v any) error {
		if contains(values, v.(string)) {
			return nil
		}
		return fmt.Errorf("String must be one of: %s", strings.Join(values, ", "))
	}
}

type timestampConverter struct {
	key         bool
	path        *fieldPath // nil: the whole value
	target      string
	format      *dateFormat
	precision   string
	replaceNull bool
	cache       schemaCache
}

func newTimestampConverter(cfg connect.Config, key bool) (connect.Transformation, error) {
	t := &timestampConverter{key: key, target: cfg.String("target.type"), precision: cfg.String("unix.precision"), replaceNull: cfg.Bool(replaceNullKey)}
	if f := cfg.String("field"); f != "" {
		p, err := parsePath(f, syntaxV2Enabled(cfg))
		if err != nil {
			return nil, connect.KeyError{Key: "field", Message: err.Error()}
		}
		t.path = &p
	}
	pattern := cfg.String("format")
	if t.target == tsString && isBlank(pattern) {
		return nil, connect.KeyError{Key: "format", Message: "TimestampConverter requires format option to be specified when using string timestamps"}
	}
	if !isBlank(pattern) {
		t.format, _ = compileDateFormat(pattern) // validated by the spec
	}
	return t, nil
}

func isBlank(s string) bool {
	for _, c := range s {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

func (t *timestampConverter) Apply(r *connect.Record) (*connect.Record, error) {
	d := operand(r, t.key)
	if d.Schema == nil {
		if d.IsNull() {
			return r, nil
		}
		v, err := d.Value()
		if err != nil {
			return nil, err
		}
		if t.path == nil {
			out, err := t.convert(v, "")
			if err != nil {
				return nil, err
			}
			d.Set(out)
			return r, nil
		}
		m, err := requireMap(v, tsPurpose)
		if err != nil {
			return nil, err
		}
		parent := t.path.parent(m)
		if parent == nil {
			d.Set(m)
			return r, nil
		}
		out, err := t.convert(parent[t.path.last()], "")
		if err != nil {
			return nil, err
		}
		parent[t.path.last()] = out // an absent field becomes null, as in Kafka
		d.Set(m)
		return r, nil
	}
	schema, err := t.cache.get(d.Schema, t.updateSchema)
	if err != nil {
		return nil, err
	}
	if d.IsNull() {
		d.Schema = schema
		return r, nil
	}
	v, err := d.Value()
	if err != nil {
		return nil, err
	}
	if t.path == nil {
		from, err := tsTypeOf(d.Schema)
		if err != nil {
			return nil, err
		}
		out, err := t.convert(v, from)
		if err != nil {
			return nil, err
		}
		d.Set(out)
		d.Schema = schema
		return r, nil
	}
	m, err := requireStruct(v, d.Schema, tsPurpose)
	if err != nil {
		return nil, err
	}
	if t.replaceNull {
		withDefaults(m, d.Schema)
	}
	if fs := schemaAt(d.Schema, t.path.steps); fs != nil {
		if parent := t.path.parent(m); parent != nil {
			from, err := tsTypeOf(fs)
			if err != nil {
				return nil, err
			}
			out, err := t.convert(parent[t.path.last()], from)
			if err != nil {
				return nil, err
			}
			parent[t.path.last()] = out
		}
	}
	d.Set(m)
	d.Schema = schema
	return r, nil
}

func (t *timestampConverter) targetSchema(optional bool) *connect.Schema {
	switch t.target {
	case tsString:
		return primitive(typeString, optional)
	case tsUnix:
		return primitive(typeInt64, optional)
	case tsDate:
		return logical(logicalDate, optional)
	case tsTime:
		return logical(logicalTime, optional)
	}
	return logical(logicalTimestamp, optional)
}

func (t *timestampConverter) updateSchema(s *connect.Schema) (*connect.Schema, error) {
	if t.path == nil {
		return t.targetSchema(s.Optional), nil
	}
	if s.Type != typeStruct {
		return nil, fmt.Errorf("Only Struct objects supported for [%s], found: %s", tsPurpose, s.Type)
	}
	out, err := editStruct(s, t.path.parents(), func(st *connect.Schema) error {
		if i := fieldIndex(st, t.path.last()); i >= 0 {
			st.Fields[i] = named(t.targetSchema(st.Fields[i].Optional), st.Fields[i].Field)
		}
		return nil
	})
	if errors.Is(err, errNoField) {
		return s, nil
	}
	return out, err
}

// tsTypeOf is Kafka's timestampTypeFromSchema.
func tsTypeOf(s *connect.Schema) (string, error) {
	switch {
	case s.Name == logicalTimestamp:
		return tsTimestamp, nil
	case s.Name == logicalDate:
		return tsDate, nil
	case s.Name == logicalTime:
		return tsTime, nil
	case s.Type == typeString:
		return tsString, nil
	case s.Type == typeInt64:
		return tsUnix, nil
	}
	return "", fmt.Errorf("Schema %s does not correspond to a known timestamp type format", s.Type)
}

// convert converts one timestamp; from is its type, "" to infer it from the
// JSON value (a string is formatted text, an integer a unix time).
func (t *timestampConverter) convert(v any, from string) (any, error) {
	if v == nil {
		return nil, nil
	}
	v = normalizeNumber(v)
	if from == "" {
		switch x := v.(type) {
		case string:
			from = tsString
		case json.Number:
			if !isIntegral(x) {
				return nil, errors.New("TimestampConverter does not support non-integral numbers as timestamps")
			}
			from = tsUnix
		default:
			return nil, fmt.Errorf("TimestampConverter does not support %s objects as timestamps", typeName(v))
		}
	}
	ms, err := t.toMillis(v, from)
	if err != nil {
		return nil, err
	}
	switch t.target {
	case tsString:
		return t.format.format(time.UnixMilli(ms)), nil
	case tsUnix:
		switch t.precision {
		case "seconds":
			return intNumber(ms / 1000), nil // TimeUnit truncates toward zero
		case "microseconds":
			return intNumber(saturatingMul(ms, 1000)), nil
		case "nanoseconds":
			return intNumber(saturatingMul(ms, 1000000)), nil
		}
		return intNumber(ms), nil
	case tsDate: // days since the epoch
		return intNumber(floorDiv(ms, msPerDay)), nil
	case tsTime: // milliseconds since midnight
		return intNumber(ms - floorDiv(ms, msPerDay)*msPerDay), nil
	}
	return intNumber(ms), nil
}

// toMillis reads a timestamp of the given type as epoch milliseconds.
func (t *timestampConverter) toMillis(v any, from string) (int64, error) {
	switch from {
	case tsString:
		s, ok := v.(string)
		if !ok {
			return 0, fmt.Errorf("Expected string timestamp to be a String, but found %s", typeName(v))
		}
		if t.format == nil {
			return 0, errors.New("TimestampConverter requires format option to be specified when using string timestamps")
		}
		tm, err := t.format.parse(s)
		if err != nil {
			return 0, fmt.Errorf("Could not parse timestamp: value (%s) does not match pattern (%s)", s, t.format.pattern)
		}
		return tm.UnixMilli(), nil
	case tsUnix:
		n, err := intValue(v, "Expected Unix timestamp to be a Long")
		if err != nil {
			return 0, err
		}
		switch t.precision {
		case "seconds":
			return saturatingMul(n, 1000), nil
		case "microseconds":
			return n / 1000, nil
		case "nanoseconds":
			return n / 1000000, nil
		}
		return n, nil
	case tsDate:
		n, err := intValue(v, "Expected Date to be a java.util.Date")
		return saturatingMul(n, msPerDay), err
	}
	return intValue(v, "Expected "+from+" to be a java.util.Date")
}

func intValue(v any, what string) (int64, error) {
	num, ok := v.(json.Number)
	if !ok || !isIntegral(num) {
		return 0, fmt.Errorf("%s, but found %s", what, typeName(v))
	}
	n, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil {
		return 0, outOfRange(v)
	}
	return n, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// saturatingMul is Java's TimeUnit conversion to a finer unit (b > 0):
// overflow saturates.
func saturatingMul(a, b int64) int64 {
	switch {
	case a > math.MaxInt64/b:
		return math.MaxInt64
	case a < math.MinInt64/b:
		return math.MinInt64
	}
	return a * b
}
