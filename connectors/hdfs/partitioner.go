package hdfs

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spur-connect/spur/connect"
)

// partitioner names the directory a record's file goes to, as
// kafka-connect-storage-common's partitioners do.
type partitioner struct {
	kind      string // default, field, time (hourly and daily are time)
	fields    [][]string
	fieldKeys []string // last path element of each field: the directory key
	duration  int64    // ms, time
	layout    []layoutPart
	loc       *time.Location
	extractor string // Wallclock, Record, RecordField
	tsField   []string
}

// layoutPart is one piece of a path.format: literal text, or a date field
// with its width.
type layoutPart struct {
	lit   string
	field byte // 'y', 'M', 'd', 'H', 'm', 's'; 0 for a literal
	width int
}

func newPartitioner(c connect.Config) (*partitioner, []connect.KeyError) {
	var errs []connect.KeyError
	bad := func(key, format string, args ...any) {
		errs = append(errs, connect.KeyError{Key: key, Message: fmt.Sprintf(format, args...)})
	}
	p := &partitioner{kind: partitioners[c.String(keyPartitioner)], extractor: c.String(keyExtractor), loc: time.UTC}
	p.tsField = strings.Split(strings.TrimPrefix(c.String(keyTSField), "value."), ".")
	pathFormat, duration := c.String(keyPathFormat), c.Int(keyDuration)
	switch p.kind {
	case "field":
		for _, f := range c.List(keyFieldName) {
			path := strings.Split(strings.TrimPrefix(f, "value."), ".")
			p.fields = append(p.fields, path)
			p.fieldKeys = append(p.fieldKeys, path[len(path)-1])
		}
		if len(p.fields) == 0 {
			bad(keyFieldName, "must name at least one field for FieldPartitioner")
		}
		return p, errs
	case "hourly":
		p.kind, pathFormat, duration = "time", "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH", 3600000
	case "daily":
		p.kind, pathFormat, duration = "time", "'year'=YYYY/'month'=MM/'day'=dd", 86400000
	case "time":
		if duration <= 0 {
			bad(keyDuration, "must be positive for TimeBasedPartitioner")
		}
	default:
		return p, errs
	}
	p.duration = duration
	var err error
	if p.layout, err = parseLayout(pathFormat); err != nil {
		bad(keyPathFormat, "%v", err)
	}
	tz := c.String(keyTimezone)
	if tz == "" {
		bad(keyTimezone, "must be set for time-based partitioners (e.g. UTC)")
	} else if p.loc, err = time.LoadLocation(tz); err != nil {
		p.loc = time.UTC // validated by the spec already
	}
	return p, errs
}

// parseLayout reads the Joda-Time subset of path.format.
func parseLayout(f string) ([]layoutPart, error) {
	if strings.TrimSpace(f) == "" {
		return nil, fmt.Errorf("must be set for time-based partitioners, e.g. 'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH")
	}
	var out []layoutPart
	lit := func(s string) {
		if n := len(out); n > 0 && out[n-1].field == 0 {
			out[n-1].lit += s
			return
		}
		out = append(out, layoutPart{lit: s})
	}
	for i := 0; i < len(f); {
		c := f[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(f[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unclosed quote in %q", f)
			}
			if j == 0 {
				lit("'") // '' is a quote
			} else {
				lit(f[i+1 : i+1+j])
			}
			i += j + 2
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(f) && f[j] == c {
				j++
			}
			var field byte
			switch c {
			case 'Y', 'y':
				field = 'y'
			case 'M', 'd', 'H', 'm', 's':
				field = c
			default:
				return nil, fmt.Errorf("unsupported field %q in %q (supported: YYYY, MM, dd, HH, mm, ss)", f[i:j], f)
			}
			if (field == 'y' && j-i != 4) || (field != 'y' && j-i > 2) {
				return nil, fmt.Errorf("unsupported field %q in %q (supported: YYYY, MM, dd, HH, mm, ss)", f[i:j], f)
			}
			out = append(out, layoutPart{field: field, width: j - i})
			i = j
		default:
			lit(string(c))
			i++
		}
	}
	return out, nil
}

// recordTime is the record's time per timestamp.extractor.
func (p *partitioner) recordTime(r *connect.Record, now time.Time) (time.Time, error) {
	switch p.extractor {
	case "Record":
		if r.Timestamp.IsZero() {
			return time.Time{}, fmt.Errorf("%s has no timestamp (timestamp.extractor=Record)", r.Coordinates())
		}
		return r.Timestamp, nil
	case "RecordField":
		v, err := field(r, p.tsField)
		if err != nil {
			return time.Time{}, err
		}
		switch v := v.(type) {
		case json.Number:
			ms, err := v.Int64()
			if err != nil {
				return time.Time{}, fmt.Errorf("%s: %s=%s is not epoch milliseconds", r.Coordinates(), keyTSField, v)
			}
			return time.UnixMilli(ms), nil
		case string:
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return time.Time{}, fmt.Errorf("%s: %s=%q is not an RFC 3339 time", r.Coordinates(), keyTSField, v)
			}
			return t, nil
		}
		return time.Time{}, fmt.Errorf("%s: %s is a %T, not a time", r.Coordinates(), keyTSField, v)
	}
	return now, nil
}

// dir returns the partition directory of r, relative to the topic's.
func (p *partitioner) dir(r *connect.Record, now time.Time) (string, error) {
	switch p.kind {
	case "field":
		parts := make([]string, len(p.fields))
		for i, path := range p.fields {
			v, err := field(r, path)
			if err != nil {
				return "", err
			}
			var s string
			switch v := v.(type) {
			case string:
				s = v
			case json.Number:
				s = v.String()
			case bool:
				s = strconv.FormatBool(v)
			default:
				return "", fmt.Errorf("%s: field %s is a %T; FieldPartitioner takes strings, numbers and booleans", r.Coordinates(), strings.Join(path, "."), v)
			}
			if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\x00") {
				return "", fmt.Errorf("%s: field %s=%q cannot be a directory name", r.Coordinates(), strings.Join(path, "."), s)
			}
			parts[i] = p.fieldKeys[i] + "=" + s
		}
		return strings.Join(parts, "/"), nil
	case "time":
		t, err := p.recordTime(r, now)
		if err != nil {
			return "", err
		}
		// The start of the duration bucket, counted in the zone's local
		// time (as Confluent's TimeBasedPartitioner does).
		// Wall-clock time in the zone, held as UTC so that formatting it
		// does not apply the zone's offset a second time (which differs
		// across a daylight saving change).
		_, off := t.In(p.loc).Zone()
		local := t.UnixMilli() + int64(off)*1000
		return p.format(time.UnixMilli(local - floorMod(local, p.duration)).UTC()), nil
	}
	return "partition=" + strconv.Itoa(int(r.Partition)), nil
}

func floorMod(a, b int64) int64 { return ((a % b) + b) % b }

func (p *partitioner) format(t time.Time) string {
	var b strings.Builder
	for _, part := range p.layout {
		var n int
		switch part.field {
		case 0:
			b.WriteString(part.lit)
			continue
		case 'y':
			n = t.Year()
		case 'M':
			n = int(t.Month())
		case 'd':
			n = t.Day()
		case 'H':
			n = t.Hour()
		case 'm':
			n = t.Minute()
		case 's':
			n = t.Second()
		}
		s := strconv.Itoa(n)
		for i := len(s); i < part.width; i++ {
			b.WriteByte('0')
		}
		b.WriteString(s)
	}
	return b.String()
}

// field reads a field of the record's value (decoding it).
func field(r *connect.Record, path []string) (any, error) {
	v, err := r.Value.Value()
	if err != nil {
		return nil, fmt.Errorf("%s: value: %v", r.Coordinates(), err)
	}
	for _, name := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: the value has no field %s", r.Coordinates(), strings.Join(path, "."))
		}
		if v, ok = m[name]; !ok || v == nil {
			return nil, fmt.Errorf("%s: the value has no field %s", r.Coordinates(), strings.Join(path, "."))
		}
	}
	return v, nil
}
