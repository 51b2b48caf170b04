package httpsink

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unsafe"

	"github.com/spur-connect/spur/connect"
)

// errInvalidJSON is wrapped by encoding errors for values that are not JSON.
var errInvalidJSON = errors.New("not valid JSON")

// encoder turns one record value into its bytes in the request body.
type encoder struct {
	text        bool     // request.body.format=string: the value's text, not a JSON value
	splice      bool     // a string that holds a JSON object or array is written as that JSON
	validate    bool     // re-validate raw JSON values (request.body.json.validate)
	elementPath []string // batch.element.path
	regexes     []*regexp.Regexp
	replaces    []*template // regex.replacements, rendered per record (${key}, ${topic})
}

// appendElement appends r's value as it goes into a request body.
func (e *encoder) appendElement(dst []byte, r *connect.Record) ([]byte, error) {
	start := len(dst)
	var err error
	switch {
	case e.elementPath != nil:
		dst, err = e.appendPath(dst, r)
	case e.text:
		dst, err = appendText(dst, &r.Value)
	default:
		dst, err = e.appendJSON(dst, &r.Value)
	}
	if err != nil || len(e.regexes) == 0 {
		return dst, err
	}
	out, err := e.rewrite(dst[start:], r)
	if err != nil {
		return dst, err
	}
	dst = append(dst[:start], out...)
	if !e.text && !connect.ValidJSON(dst[start:]) {
		return dst, fmt.Errorf("value after regex.replacements: %w", errInvalidJSON)
	}
	return dst, nil
}

// appendJSON appends d as one JSON value. Raw JSON is copied without being
// decoded (and validated again when configured); structured values (set by a transform) are encoded
// as JSON; strings are quoted, or spliced when they hold a JSON object or
// array and splicing is on.
func (e *encoder) appendJSON(dst []byte, d *connect.Data) ([]byte, error) {
	if d.IsNull() {
		return append(dst, "null"...), nil
	}
	if d.Decoded() {
		v, _ := d.Value()
		switch x := v.(type) {
		case string:
			return e.appendString(dst, unsafe.Slice(unsafe.StringData(x), len(x))), nil
		case []byte:
			if d.Format() == connect.FormatString {
				return e.appendString(dst, x), nil
			}
		}
		return d.AppendJSON(dst)
	}
	raw, err := d.Raw()
	if err != nil {
		return dst, err
	}
	switch d.Format() {
	case connect.FormatJSON:
		// Raw JSON was validated by the converter that read it (the
		// contract of connect.Data); validate again only if asked to.
		raw = trimSpace(raw)
		if e.validate && !connect.ValidJSON(raw) {
			return dst, fmt.Errorf("value: %w", errInvalidJSON)
		}
		if e.splice && len(raw) > 0 && raw[0] == '"' && holdsJSONContainer(raw) {
			var s string
			if err := json.Unmarshal(raw, &s); err == nil {
				return e.appendString(dst, []byte(s)), nil
			}
		}
		return append(dst, raw...), nil
	case connect.FormatString:
		return e.appendString(dst, raw), nil
	}
	return d.AppendJSON(dst) // bytes: base64, as JsonConverter writes them
}

// holdsJSONContainer reports whether a JSON string literal's content starts
// like an object or array, which is cheap to test before unquoting.
func holdsJSONContainer(lit []byte) bool {
	for i := 1; i < len(lit); i++ {
		switch lit[i] {
		case ' ', '\t':
			continue
		case '\\':
			// escaped whitespace such as \n before the '{'
			if i+1 < len(lit) && (lit[i+1] == 'n' || lit[i+1] == 'r' || lit[i+1] == 't') {
				i++
				continue
			}
			return false
		case '{', '[':
			return true
		}
		return false
	}
	return false
}

// appendString appends text as a JSON value: spliced when it is a JSON
// object or array and splicing is on, else quoted.
func (e *encoder) appendString(dst, s []byte) []byte {
	if e.splice {
		if t := trimSpace(s); len(t) > 0 && (t[0] == '{' || t[0] == '[') && connect.ValidJSON(t) {
			return append(dst, t...)
		}
	}
	return appendQuoted(dst, s)
}

// appendText appends d's text for request.body.format=string: strings and
// raw JSON as they are, structured values as JSON (never a print form).
func appendText(dst []byte, d *connect.Data) ([]byte, error) {
	if d.IsNull() {
		return dst, nil
	}
	if d.Decoded() {
		v, _ := d.Value()
		switch x := v.(type) {
		case string:
			return append(dst, x...), nil
		case []byte:
			return append(dst, x...), nil
		}
		return d.AppendJSON(dst)
	}
	raw, err := d.Raw()
	if err != nil {
		return dst, err
	}
	if d.Format() == connect.FormatJSON {
		raw = trimSpace(raw)
	}
	return append(dst, raw...), nil
}

// appendPath appends the JSON of one field of the value (batch.element.path).
func (e *encoder) appendPath(dst []byte, r *connect.Record) ([]byte, error) {
	raw, v, err := field(&r.Value, e.elementPath)
	if err != nil {
		return dst, fmt.Errorf("batch.element.path: %w", err)
	}
	if raw != nil {
		if e.splice && raw[0] == '"' && holdsJSONContainer(raw) {
			var s string
			if err := json.Unmarshal(raw, &s); err == nil {
				return e.appendString(dst, []byte(s)), nil
			}
		}
		return append(dst, raw...), nil
	}
	if s, ok := v.(string); ok {
		return e.appendString(dst, []byte(s)), nil
	}
	b, err := connect.EncodeJSON(v)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// rewrite applies regex.patterns with regex.replacements, in order.
func (e *encoder) rewrite(b []byte, r *connect.Record) ([]byte, error) {
	out := b
	for i, re := range e.regexes {
		repl, err := e.replaces[i].render(nil, r, escNone)
		if err != nil {
			return nil, fmt.Errorf("regex.replacements: %w", err)
		}
		out = re.ReplaceAll(out, repl)
	}
	return out, nil
}

// appendQuoted appends s as a JSON string (connect.AppendJSONString: as
// encoding/json writes it, HTML characters unescaped, no allocation).
func appendQuoted(dst, s []byte) []byte { return connect.AppendJSONString(dst, s) }

// recordsMarker is the string value that stands for the batch's records in
// a batch.envelope template.
const recordsMarker = "${records}"

// envelope is a parsed batch.envelope: a JSON object whose string values may
// be templates and one of whose values is "${records}". It is kept as
// structure and rendered as JSON, never pasted together from user text.
type envelope struct {
	root  *jnode
	quick bool // no references: prefix and suffix are the same for every request
	// prefix and suffix surround the records array of a static envelope.
	prefix, suffix []byte
	needsValue     bool
}

// jnode is one JSON value of an envelope, with object members in order.
type jnode struct {
	kind    byte // '{', '[', 's' (string), 'v' (other scalar), 'r' (records marker)
	members []jmember
	items   []*jnode
	raw     []byte    // 'v': the scalar's JSON; 's': the string's JSON
	tmpl    *template // 's' holding references
	// whole is set for a string that is exactly one ${value.x} or ${key}
	// reference: the field is inserted as JSON with its own type.
	whole *tmplPart
}

type jmember struct {
	name []byte // the key's JSON (quoted)
	val  *jnode
}

func parseEnvelope(s string) (*envelope, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("must be a JSON object such as {\"batch\": \"%s\"}", recordsMarker)
	}
	env := &envelope{}
	markers := 0
	root, err := parseNode(dec, tok, env, &markers)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the JSON object")
	}
	if markers != 1 {
		return nil, fmt.Errorf("must hold the string %q exactly once, as the value where the records array goes (found %d)", recordsMarker, markers)
	}
	env.root = root
	env.quick = !hasRefs(root)
	if env.quick {
		buf, at, _ := env.render(nil, nil)
		env.prefix, env.suffix = buf[:at], buf[at:]
	}
	return env, nil
}

func parseNode(dec *json.Decoder, tok json.Token, env *envelope, markers *int) (*jnode, error) {
	switch x := tok.(type) {
	case json.Delim:
		switch x {
		case '{':
			n := &jnode{kind: '{'}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				name := appendQuoted(nil, []byte(kt.(string)))
				vt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := parseNode(dec, vt, env, markers)
				if err != nil {
					return nil, err
				}
				n.members = append(n.members, jmember{name, v})
			}
			_, err := dec.Token() // '}'
			return n, err
		case '[':
			n := &jnode{kind: '['}
			for dec.More() {
				vt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := parseNode(dec, vt, env, markers)
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, v)
			}
			_, err := dec.Token() // ']'
			return n, err
		}
	case string:
		if x == recordsMarker {
			*markers++
			return &jnode{kind: 'r'}, nil
		}
		t, err := parseTemplate(x)
		if err != nil {
			return nil, err
		}
		n := &jnode{kind: 's', raw: appendQuoted(nil, []byte(x))}
		if !t.static() {
			n.tmpl = t
			if t.needsValue {
				env.needsValue = true
			}
			if len(t.parts) == 1 && (t.parts[0].kind == partValue || t.parts[0].kind == partKey) {
				n.whole = &t.parts[0]
			}
		} else {
			n.raw = appendQuoted(nil, []byte(t.literal()))
		}
		return n, nil
	case json.Number:
		return &jnode{kind: 'v', raw: []byte(x.String())}, nil
	case bool:
		return &jnode{kind: 'v', raw: strconv.AppendBool(nil, x)}, nil
	case nil:
		return &jnode{kind: 'v', raw: []byte("null")}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

func hasRefs(n *jnode) bool {
	if n.tmpl != nil {
		return true
	}
	for _, m := range n.members {
		if hasRefs(m.val) {
			return true
		}
	}
	for _, it := range n.items {
		if hasRefs(it) {
			return true
		}
	}
	return false
}

// render appends the envelope for record r (the first record of a request)
// and returns where in dst the records array goes.
func (env *envelope) render(dst []byte, r *connect.Record) ([]byte, int, error) {
	at := -1
	dst, err := renderNode(dst, env.root, r, &at)
	return dst, at, err
}

func renderNode(dst []byte, n *jnode, r *connect.Record, at *int) ([]byte, error) {
	var err error
	switch n.kind {
	case '{':
		dst = append(dst, '{')
		for i, m := range n.members {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, m.name...)
			dst = append(dst, ':')
			if dst, err = renderNode(dst, m.val, r, at); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case '[':
		dst = append(dst, '[')
		for i, it := range n.items {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = renderNode(dst, it, r, at); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case 'r':
		*at = len(dst)
		return dst, nil
	case 's':
		if n.tmpl == nil || r == nil {
			return append(dst, n.raw...), nil
		}
		if n.whole != nil {
			return appendFieldJSON(dst, n.whole, r)
		}
		s, err := n.tmpl.render(nil, r, escNone)
		if err != nil {
			return dst, err
		}
		return appendQuoted(dst, s), nil
	}
	return append(dst, n.raw...), nil
}

// appendFieldJSON appends a referenced field as JSON with its own type.
func appendFieldJSON(dst []byte, p *tmplPart, r *connect.Record) ([]byte, error) {
	switch p.kind {
	case partKey:
		s, err := appendDataText(nil, &r.Key)
		if err != nil {
			return dst, err
		}
		return appendQuoted(dst, s), nil
	case partValue:
		raw, v, err := field(&r.Value, p.path)
		if err != nil {
			return dst, err
		}
		if raw != nil {
			return append(dst, raw...), nil
		}
		b, err := connect.EncodeJSON(v)
		if err != nil {
			return dst, err
		}
		return append(dst, b...), nil
	}
	return dst, nil
}
