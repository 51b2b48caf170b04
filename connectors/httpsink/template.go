package httpsink

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/spur-connect/spur/connect"
)

// A template is a string with references to the record it is rendered for:
//
//	${topic}        the record's topic
//	${partition}    the record's partition number
//	${key}          the record key as text (a JSON string key without its quotes)
//	${value.a.b}    a field of the record value (JSON), decoded on demand
//
// "$${" writes a literal "${". A reference containing a colon, such as
// ${env:VAR} or ${file:/path:key}, is a config-provider reference that the
// runtime resolves before the task starts; a template keeps it as literal
// text, so validating a config that still holds one does not fail.
type template struct {
	src   string
	parts []tmplPart
	// needsValue reports whether rendering decodes the record value.
	needsValue bool
}

type partKind uint8

const (
	partLiteral partKind = iota
	partTopic
	partPartition
	partKey
	partValue
)

type tmplPart struct {
	kind partKind
	lit  string   // partLiteral
	path []string // partValue: the field path below the value
	// inQuery is set for URL templates: the reference stands after the "?"
	// and is escaped as a query component rather than as a path segment.
	inQuery bool
}

// errMissingField is wrapped by render errors for a value field that is
// absent or null in a record.
var errMissingField = errors.New("field missing or null")

// parseTemplate parses s. It fails on an unterminated or unknown reference,
// naming what it expected.
func parseTemplate(s string) (*template, error) {
	t := &template{src: s}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.parts = append(t.parts, tmplPart{kind: partLiteral, lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "$${") {
			lit.WriteString("${")
			i += 3
			continue
		}
		if !strings.HasPrefix(s[i:], "${") {
			lit.WriteByte(s[i])
			i++
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return nil, fmt.Errorf("unterminated reference at position %d: %q lacks a closing '}'", i, s[i:])
		}
		name := s[i+2 : i+2+end]
		ref := s[i : i+3+end]
		i += 3 + end
		if strings.Contains(name, ":") { // config provider, resolved by the runtime
			lit.WriteString(ref)
			continue
		}
		p, err := parseRef(name)
		if err != nil {
			return nil, err
		}
		flush()
		if p.kind == partValue {
			t.needsValue = true
		}
		t.parts = append(t.parts, p)
	}
	flush()
	return t, nil
}

func parseRef(name string) (tmplPart, error) {
	switch strings.TrimSpace(name) {
	case "topic":
		return tmplPart{kind: partTopic}, nil
	case "partition":
		return tmplPart{kind: partPartition}, nil
	case "key":
		return tmplPart{kind: partKey}, nil
	case "value":
		return tmplPart{}, fmt.Errorf("reference ${value} must name a field, as in ${value.user_id}")
	}
	if rest, ok := strings.CutPrefix(name, "value."); ok {
		path, err := parsePath(rest)
		if err != nil {
			return tmplPart{}, fmt.Errorf("reference ${%s}: %w", name, err)
		}
		return tmplPart{kind: partValue, path: path}, nil
	}
	return tmplPart{}, fmt.Errorf("unknown reference ${%s}: expected ${topic}, ${partition}, ${key} or ${value.<field>}", name)
}

// parsePath splits a dotted field path; every segment must be non-empty.
func parsePath(s string) ([]string, error) {
	segs := strings.Split(s, ".")
	for _, seg := range segs {
		if seg == "" || strings.TrimSpace(seg) != seg {
			return nil, fmt.Errorf("field path %q has an empty or blank segment", s)
		}
	}
	return segs, nil
}

// static reports whether the template renders the same for every record.
func (t *template) static() bool {
	for _, p := range t.parts {
		if p.kind != partLiteral {
			return false
		}
	}
	return true
}

// literal returns the rendered text of a static template.
func (t *template) literal() string {
	var b strings.Builder
	for _, p := range t.parts {
		b.WriteString(p.lit)
	}
	return b.String()
}

// String returns a source text that parses to the same template.
func (t *template) String() string {
	var b strings.Builder
	for _, p := range t.parts {
		switch p.kind {
		case partLiteral:
			b.WriteString(strings.ReplaceAll(p.lit, "${", "$${"))
		case partTopic:
			b.WriteString("${topic}")
		case partPartition:
			b.WriteString("${partition}")
		case partKey:
			b.WriteString("${key}")
		case partValue:
			b.WriteString("${value." + strings.Join(p.path, ".") + "}")
		}
	}
	return b.String()
}

// markURL marks the references after the first literal "?" as query parts.
func (t *template) markURL() {
	q := false
	for i := range t.parts {
		if q {
			t.parts[i].inQuery = true
		} else if t.parts[i].kind == partLiteral && strings.Contains(t.parts[i].lit, "?") {
			q = true
		}
	}
}

// escaping says how rendered references are escaped.
type escaping uint8

const (
	escNone escaping = iota
	escURL           // path segment or query component, per tmplPart.inQuery
)

// render appends the template rendered for r to dst.
func (t *template) render(dst []byte, r *connect.Record, esc escaping) ([]byte, error) {
	for i := range t.parts {
		p := &t.parts[i]
		if p.kind == partLiteral {
			dst = append(dst, p.lit...)
			continue
		}
		start := len(dst)
		var err error
		dst, err = appendRef(dst, p, r)
		if err != nil {
			return dst, err
		}
		if esc == escURL {
			s := string(dst[start:])
			if p.inQuery {
				s = url.QueryEscape(s)
			} else {
				s = url.PathEscape(s)
			}
			dst = append(dst[:start], s...)
		}
	}
	return dst, nil
}

func appendRef(dst []byte, p *tmplPart, r *connect.Record) ([]byte, error) {
	switch p.kind {
	case partTopic:
		return append(dst, r.Topic...), nil
	case partPartition:
		return strconv.AppendInt(dst, int64(r.Partition), 10), nil
	case partKey:
		return appendDataText(dst, &r.Key)
	case partValue:
		raw, v, err := field(&r.Value, p.path)
		if err != nil {
			return dst, err
		}
		if raw != nil {
			return appendRawText(dst, raw)
		}
		return appendScalarText(dst, v)
	}
	return dst, nil
}

// field returns the value at path below d: its raw JSON bytes when d is
// undecoded JSON (or a string holding a JSON object or array), found by
// scanning without decoding; else the decoded form.
func field(d *connect.Data, path []string) (raw []byte, v any, err error) {
	if d.Decoded() || d.IsNull() || (d.Format() != connect.FormatJSON && d.Format() != connect.FormatString) {
		v, err = lookupValue(d, path)
		return nil, v, err
	}
	b, err := d.Raw()
	if err != nil {
		return nil, nil, err
	}
	missing := fmt.Errorf("value.%s: %w", strings.Join(path, "."), errMissingField)
	if b = trimSpace(b); len(b) == 0 || (b[0] != '{' && b[0] != '[') {
		return nil, nil, missing // a scalar or plain text has no fields
	}
	val, ok, err := rawField(b, path)
	switch {
	case err != nil && d.Format() == connect.FormatJSON:
		return nil, nil, fmt.Errorf("value.%s: %w", strings.Join(path, "."), err)
	case err != nil || !ok:
		return nil, nil, missing
	case d.Format() == connect.FormatString && !connect.ValidJSON(val):
		return nil, nil, fmt.Errorf("value.%s: %w", strings.Join(path, "."), errScan) // text that only looks like JSON
	}
	return val, nil, nil
}

// lookupValue decodes the record value (once; Data caches it) and walks path.
func lookupValue(d *connect.Data, path []string) (any, error) {
	v, err := d.Value()
	if err != nil {
		return nil, fmt.Errorf("decode value for ${value.%s}: %w", strings.Join(path, "."), err)
	}
	if s, ok := v.(string); ok && d.Format() == connect.FormatString {
		// A StringConverter value holding JSON: look inside it.
		if dv, err := connect.DecodeJSON([]byte(s)); err == nil {
			v = dv
		}
	}
	for _, seg := range path {
		switch c := v.(type) {
		case map[string]any:
			v = c[seg]
		case []any:
			n, err := strconv.Atoi(seg)
			if err != nil || n < 0 || n >= len(c) {
				v = nil
			} else {
				v = c[n]
			}
		default:
			v = nil
		}
		if v == nil {
			break
		}
	}
	if v == nil {
		return nil, fmt.Errorf("value.%s: %w", strings.Join(path, "."), errMissingField)
	}
	return v, nil
}

// appendScalarText renders a decoded JSON value as text: strings without
// quotes, numbers as written, objects and arrays as JSON.
func appendScalarText(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return append(dst, x...), nil
	case json.Number:
		return append(dst, x...), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case []byte:
		return append(dst, x...), nil
	}
	b, err := connect.EncodeJSON(v)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// appendDataText renders a key or value as text: strings and bytes as they
// are, a JSON string without its quotes, other JSON as JSON. Null renders
// as nothing.
func appendDataText(dst []byte, d *connect.Data) ([]byte, error) {
	if d.IsNull() {
		return dst, nil
	}
	if d.Decoded() {
		v, _ := d.Value()
		return appendScalarText(dst, v)
	}
	raw, err := d.Raw()
	if err != nil {
		return dst, err
	}
	if d.Format() == connect.FormatJSON {
		raw = trimSpace(raw)
		if len(raw) > 0 && raw[0] == '"' {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return dst, fmt.Errorf("key: %w", err)
			}
			return append(dst, s...), nil
		}
	}
	return append(dst, raw...), nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
