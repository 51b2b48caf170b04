package elasticsearch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spur-connect/spur/connect"
)

// indexName derives a topic's index name as Confluent's connector does:
// lower case, at most 255 bytes, without a leading '-' or '_', and "." and
// ".." spelled "dot" and "dotdot".
func indexName(topic string) string {
	name := strings.ToLower(topic)
	if len(name) > 255 {
		name = name[:255]
		for !utf8.ValidString(name) { // do not cut a character in half
			name = name[:len(name)-1]
		}
	}
	if strings.HasPrefix(name, "-") || strings.HasPrefix(name, "_") {
		name = name[1:]
	}
	if name == "." || name == ".." {
		name = strings.ReplaceAll(name, ".", "dot")
	}
	return name
}

// checkIndexName applies Elasticsearch's rules for index, alias and data
// stream names, so a bad name is reported before any request.
func checkIndexName(name string) error {
	switch {
	case name == "":
		return errors.New("an index name may not be empty")
	case name == "." || name == "..":
		return fmt.Errorf("invalid index name [%s]: may not be '.' or '..'", name)
	case len(name) > 255:
		return fmt.Errorf("invalid index name [%s]: longer than 255 bytes", name)
	case strings.ToLower(name) != name:
		return fmt.Errorf("invalid index name [%s]: must be lower case", name)
	case strings.ContainsAny(name[:1], "-_+"):
		return fmt.Errorf("invalid index name [%s]: may not start with '-', '_' or '+'", name)
	case strings.ContainsAny(name, "\\/*?\"<>| ,#:"):
		return fmt.Errorf("invalid index name [%s]: may not contain \\, /, *, ?, \", <, >, |, ' ', ',', # or :", name)
	}
	return nil
}

// op is a bulk action.
type op uint8

const (
	opIndex op = iota
	opCreate
	opUpdate
	opDelete
)

var opNames = [...]string{"index", "create", "update", "delete"}

// errInvalid marks a record that cannot become a bulk item (a key that
// cannot be an id, a value that is not a JSON object...): it takes the
// drop.invalid.message / error path without ever being sent.
var errInvalid = errors.New("elasticsearch sink: record cannot be written")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errInvalid, fmt.Sprintf(format, args...))
}

// appendItem appends the bulk action line and, but for deletes, the source
// line of r to dst. The value's JSON is copied as it is, never decoded,
// unless a data stream needs a field of it for @timestamp.
func (t *Task) appendItem(dst []byte, r *connect.Record, index string) ([]byte, op, error) {
	s := t.s
	o := opIndex
	switch {
	case r.Value.IsNull():
		o = opDelete
	case s.dataStreams():
		o = opCreate
	case s.upsert:
		o = opUpdate
	}

	start := len(dst)
	dst = append(dst, `{"`...)
	dst = append(dst, opNames[o]...)
	dst = append(dst, `":{"_index":`...)
	dst = connect.AppendJSONString(dst, index)
	keyID := !s.autoIDs && !s.dataStreams() && !s.keyIgnore && !s.keyIgnoreFor[r.Topic]
	switch {
	case keyID:
		dst = append(dst, `,"_id":`...)
		var err error
		if dst, err = appendKeyID(dst, r); err != nil {
			return dst[:start], o, err
		}
	case !s.autoIDs || o == opDelete:
		// topic+partition+offset: unique per record, so a retry or a
		// replay after a crash rewrites the same document.
		dst = append(dst, `,"_id":`...)
		dst = connect.AppendJSONString(dst, r.Topic)
		dst[len(dst)-1] = '+' // in place of the closing quote
		dst = strconv.AppendInt(dst, int64(r.Partition), 10)
		dst = append(dst, '+')
		dst = strconv.AppendInt(dst, r.Offset, 10)
		dst = append(dst, '"')
	}
	if keyID && !s.upsert {
		// The offset (or a header) is the version: a replayed or
		// overtaken older write loses against a newer one. Not with
		// upsert: updates carry no external version, so Elasticsearch
		// counts the document's versions itself and a delete versioned
		// by offset could be refused as old (one request at a time keeps
		// the order there).
		v := r.Offset
		if s.versionHeader != "" {
			var err error
			if v, err = headerVersion(r, s.versionHeader); err != nil {
				return dst[:start], o, err
			}
		}
		dst = append(dst, `,"version":`...)
		dst = strconv.AppendInt(dst, v, 10)
		dst = append(dst, `,"version_type":"external"`...)
	}
	if o == opUpdate {
		dst = append(dst, `,"retry_on_conflict":`...)
		dst = strconv.AppendInt(dst, int64(min(s.inFlight, 5)), 10)
	}
	dst = append(dst, "}}\n"...)
	if o == opDelete {
		return dst, o, nil
	}

	if o == opUpdate {
		dst = append(dst, `{"doc":`...)
	}
	doc := len(dst)
	var err error
	if o == opCreate {
		dst, err = t.appendStreamDoc(dst, r)
	} else {
		dst, err = r.Value.AppendJSON(dst)
	}
	if err != nil {
		return dst[:start], o, invalid("value of %s: %v", r.Coordinates(), err)
	}
	if i := firstNonSpace(dst[doc:]); i < 0 || dst[doc+i] != '{' {
		return dst[:start], o, invalid("value of %s is %s, not a JSON object; Elasticsearch documents are objects (use the JsonConverter for JSON values)", r.Coordinates(), describeJSON(dst[doc:]))
	}
	// Raw JSON may be pretty-printed. A newline can only be whitespace
	// there (JSON strings escape it), and the bulk format ends a line at
	// every newline, so each becomes a space.
	for i := doc; ; {
		j := bytes.IndexByte(dst[i:], '\n')
		if j < 0 {
			break
		}
		i += j
		dst[i] = ' '
	}
	if o == opUpdate {
		dst = append(dst, `,"doc_as_upsert":true}`...)
	}
	return append(dst, '\n'), o, nil
}

// maxIDBytes is Elasticsearch's limit on a document id.
const maxIDBytes = 512

// appendKeyID appends the record key as a JSON string: a string, or an
// integer, as Confluent's connector accepts. An id Elasticsearch would
// refuse (empty, over 512 bytes, not UTF-8) is refused here, one record
// at a time: in a bulk request it would fail the whole request.
func appendKeyID(dst []byte, r *connect.Record) ([]byte, error) {
	k := &r.Key
	if k.IsNull() {
		return dst, invalid("%s has a null key, and key.ignore=false makes the key the document id (set key.ignore=true for <topic>+<partition>+<offset> ids)", r.Coordinates())
	}
	var id []byte
	if !k.Decoded() && k.Format() == connect.FormatString {
		id, _ = k.Raw()
	} else if !k.Decoded() && k.Format() == connect.FormatJSON {
		raw, _ := k.Raw()
		raw = bytes.TrimSpace(raw)
		switch {
		case len(raw) > 0 && raw[0] == '"' && bytes.IndexByte(raw, '\\') < 0:
			id = raw[1 : len(raw)-1] // no escapes: the bytes are the id
		case len(raw) > 0 && raw[0] == '"':
			var str string
			if err := json.Unmarshal(raw, &str); err != nil {
				return dst, invalid("the key of %s: %v", r.Coordinates(), err)
			}
			id = []byte(str)
		case isInteger(raw):
			id = raw
		default:
			return dst, invalid("the key of %s is %s; a document id must be a string or an integer", r.Coordinates(), describeJSON(raw))
		}
	} else {
		v, err := k.Value()
		if err != nil {
			return dst, invalid("the key of %s: %v", r.Coordinates(), err)
		}
		switch v := v.(type) {
		case string:
			id = []byte(v)
		case json.Number:
			if !isInteger([]byte(v)) {
				return dst, invalid("the key of %s is %s; a document id must be a string or an integer", r.Coordinates(), v)
			}
			id = []byte(v)
		case int64:
			id = strconv.AppendInt(nil, v, 10)
		case int:
			id = strconv.AppendInt(nil, int64(v), 10)
		default:
			return dst, invalid("the key of %s is a %T; a document id must be a string or an integer", r.Coordinates(), v)
		}
	}
	switch {
	case len(id) == 0:
		return dst, invalid("the key of %s is empty; Elasticsearch refuses an empty document id", r.Coordinates())
	case len(id) > maxIDBytes:
		return dst, invalid("the key of %s is %d bytes; Elasticsearch refuses document ids over %d bytes", r.Coordinates(), len(id), maxIDBytes)
	case !utf8.Valid(id):
		return dst, invalid("the key of %s is not valid UTF-8 (%q); Elasticsearch refuses it as a document id", r.Coordinates(), excerpt(id))
	}
	return connect.AppendJSONString(dst, id), nil
}

// headerVersion reads external.version.header: a decimal long.
func headerVersion(r *connect.Record, name string) (int64, error) {
	b, ok := r.Headers.Get(name)
	if !ok || b == nil {
		return 0, invalid("%s has no header %s (external.version.header) to version its document by", r.Coordinates(), name)
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || v < 0 {
		return 0, invalid("header %s of %s is %q, not a non-negative decimal version", name, r.Coordinates(), excerpt(b))
	}
	return v, nil
}

// appendStreamDoc appends a data stream document: the value with an
// @timestamp. Without data.stream.timestamp.field the record timestamp is
// added unless the document has its own; only then is the value decoded
// (a document merely mentioning "@timestamp" somewhere, or spelling it
// with an escape such as \u0040, is checked properly).
func (t *Task) appendStreamDoc(dst []byte, r *connect.Record) ([]byte, error) {
	if len(t.s.tsFields) == 0 {
		raw, err := r.Value.Raw()
		if err == nil && r.Value.Format() == connect.FormatJSON && !r.Value.Decoded() && !bytes.Contains(raw, []byte(`"@timestamp"`)) && !bytes.Contains(raw, []byte(`\u`)) {
			raw = bytes.TrimSpace(raw)
			if len(raw) < 2 || raw[0] != '{' {
				return append(dst, raw...), nil // refused by the caller
			}
			dst = append(dst, `{"@timestamp":"`...)
			dst = r.Timestamp.UTC().AppendFormat(dst, timestampLayout)
			dst = append(dst, '"')
			if rest := bytes.TrimSpace(raw[1:]); len(rest) > 0 && rest[0] != '}' {
				dst = append(dst, ',')
			}
			return append(dst, raw[1:]...), nil
		}
	}
	v, err := r.Value.Value()
	if err != nil {
		return dst, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return r.Value.AppendJSON(dst) // refused by the caller
	}
	ts, found := any(nil), false
	for _, path := range t.s.tsFields {
		if ts, found = lookup(m, path); found {
			break
		}
	}
	if !found {
		if _, has := m["@timestamp"]; has && len(t.s.tsFields) == 0 {
			return r.Value.AppendJSON(dst)
		}
		ts = r.Timestamp.UTC().Format(timestampLayout)
	}
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	out["@timestamp"] = ts
	b, err := connect.EncodeJSON(out)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

func lookup(m map[string]any, path []string) (any, bool) {
	var v any = m
	for _, p := range path {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = obj[p]; !ok {
			return nil, false
		}
	}
	return v, v != nil
}

func isInteger(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func firstNonSpace(b []byte) int {
	for i, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return i
		}
	}
	return -1
}

// describeJSON names the kind of a JSON value for an error message.
func describeJSON(b []byte) string {
	i := firstNonSpace(b)
	if i < 0 {
		return "empty"
	}
	switch c := b[i]; {
	case c == '"':
		return "a string"
	case c == '[':
		return "an array"
	case c == '{':
		return "an object"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	default:
		return "a number"
	}
}

func excerpt(b []byte) string {
	const most = 200
	if len(b) > most {
		return string(b[:most]) + "..."
	}
	return string(b)
}

// timestampLayout renders @timestamp in a form Elasticsearch's default
// date format (strict_date_optional_time) reads, in UTC with milliseconds.
const timestampLayout = "2006-01-02T15:04:05.000Z"
