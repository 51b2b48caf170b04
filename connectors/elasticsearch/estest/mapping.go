package estest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// index is an index or data stream: its documents and the mapping of its
// top-level fields.
type index struct {
	name       string
	uuid       string
	created    time.Time
	dataStream bool
	dynamic    string            // "true", "false" or "strict"
	fields     map[string]string // top-level field -> ES type
	docs       map[string]*stored
	nextSeqNo  int64
}

// stored is a document, or the tombstone of a deleted one, which keeps
// versions increasing across deletes. ES drops tombstones after
// index.gc_deletes (60s); estest keeps them.
type stored struct {
	source  json.RawMessage
	version int64
	seqNo   int64
	deleted bool
}

// isDataStreamName reports whether ES's built-in index templates make name
// a data stream.
func isDataStreamName(name string) bool {
	for _, p := range []string{"logs-", "metrics-", "synthetics-"} {
		if rest, ok := strings.CutPrefix(name, p); ok {
			i := strings.IndexByte(rest, '-')
			return i > 0 && i < len(rest)-1
		}
	}
	return false
}

func newIndex(name string) *index {
	ix := &index{name: name, uuid: randomID(16), created: time.Now().UTC(), dataStream: isDataStreamName(name),
		dynamic: "true", fields: map[string]string{}, docs: map[string]*stored{}}
	if ix.dataStream {
		ix.fields["@timestamp"] = "date"
	}
	return ix
}

// concrete is the name ES reports as _index: a data stream's first backing
// index, or the index itself.
func (ix *index) concrete() string {
	if ix.dataStream {
		return fmt.Sprintf(".ds-%s-%s-000001", ix.name, ix.created.Format("2006.01.02"))
	}
	return ix.name
}

// invalidIndexName applies MetadataCreateIndexService.validateIndexName. It
// returns the error, or nil if name is valid.
func invalidIndexName(name string) *esError {
	why := ""
	switch {
	case name == "":
		why = "must not be empty"
	case strings.ContainsAny(name, "\\/*?\"<>| ,"):
		why = `must not contain the following characters [ , ", *, \, <, |, ,, >, /, ?]`
	case strings.Contains(name, "#"):
		why = "must not contain '#'"
	case strings.Contains(name, ":"):
		why = "must not contain ':'"
	case strings.ContainsAny(name[:1], "_-+"):
		why = "must not start with '_', '-', or '+'"
	case len(name) > 255:
		why = fmt.Sprintf("index name is too long, (%d > 255)", len(name))
	case name == "." || name == "..":
		why = "must not be '.' or '..'"
	case strings.ToLower(name) != name:
		why = "must be lowercase"
	default:
		return nil
	}
	return newErr("invalid_index_name_exception", "Invalid index name [%s], %s", name, why).withIndex(name)
}

// checkSource parses src the way ES's DocumentParser does at the top level
// of a document: it must be one JSON object whose fields fit the mapping;
// unmapped fields are mapped dynamically, or rejected when the mapping is
// strict. It returns the fields the document adds to the mapping, which the
// caller commits only if the write succeeds. Errors carry ES's
// "[1:column]" locations, columns counted in bytes.
func (ix *index) checkSource(src []byte, id string) (map[string]string, *esError) {
	fail := func(err error) (map[string]string, *esError) {
		col, msg := jsonError(src, err)
		return nil, newErr("document_parsing_exception", "[1:%d] failed to parse: [1:%d] %s", col, col, msg).
			causedBy(newErr("x_content_parse_exception", "[1:%d] %s", col, msg))
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil && err != io.EOF {
		return fail(err)
	} else if tok != json.Delim('{') {
		return nil, newErr("document_parsing_exception", "Malformed content, must start with an object")
	}
	added := map[string]string{}
	hasTimestamp := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail(err)
		}
		name := tok.(string)
		off := skipSeparators(src, int(dec.InputOffset()))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fail(err)
		}
		if name == "" {
			return nil, newErr("document_parsing_exception", "[1:%d] failed to parse: Field name cannot be an empty string", off+1).
				causedBy(newErr("illegal_argument_exception", "Field name cannot be an empty string"))
		}
		isNull := string(raw) == "null"
		hasTimestamp = hasTimestamp || name == "@timestamp" && !isNull
		typ, ok := ix.fields[name]
		if !ok {
			typ, ok = added[name]
		}
		if !ok {
			if ix.dynamic == "strict" {
				return nil, newErr("strict_dynamic_mapping_exception",
					"[1:%d] mapping set to strict, dynamic introduction of [%s] within [_doc] is not allowed", off+1, name)
			}
			if typ = inferType(raw); typ == "" || ix.dynamic == "false" {
				continue
			}
			added[name] = typ
		}
		if e := checkValue(src, off, raw, name, typ, id); e != nil {
			return nil, e
		}
	}
	if _, err := dec.Token(); err != nil {
		return fail(err)
	}
	end := int(dec.InputOffset())
	if tok, err := dec.Token(); err != io.EOF {
		if err != nil {
			return fail(err)
		}
		return nil, newErr("document_parsing_exception", "[1:%d] failed to parse: Malformed content, found extra data after parsing: %s", end, tokenName(tok))
	}
	if ix.dataStream && !hasTimestamp {
		const msg = "data stream timestamp field [@timestamp] is missing"
		return nil, newErr("document_parsing_exception", "[1:%d] failed to parse: %s", end, msg).causedBy(newErr("illegal_argument_exception", msg))
	}
	return added, nil
}

// checkValue checks a value at byte offset off of src against its field's
// type, element by element for arrays. Numbers and dates accept numeric
// strings and booleans accept "true" and "false", as with ES's default
// coerce; text and keyword accept any scalar.
func checkValue(src []byte, off int, raw json.RawMessage, field, typ, id string) *esError {
	fieldError := func(cause *esError) *esError {
		return newErr("document_parsing_exception", "[1:%d] failed to parse field [%s] of type [%s] in document with id '%s'. "+
			"Preview of field's value: '%s'", off+1, field, typ, id, preview(raw)).causedBy(cause)
	}
	var s string
	isString := json.Unmarshal(raw, &s) == nil
	isBool := raw[0] == 't' || raw[0] == 'f'
	numeric := strings.Contains(" long integer short byte unsigned_long double float half_float scaled_float ", " "+typ+" ")
	switch {
	case raw[0] == 'n':
		return nil
	case raw[0] == '[':
		var elems []json.RawMessage
		json.Unmarshal(raw, &elems)
		for pos, i := off+1, 0; i < len(elems); pos, i = pos+len(elems[i]), i+1 {
			pos = skipSeparators(src, pos)
			if e := checkValue(src, pos, elems[i], field, typ, id); e != nil {
				return e
			}
		}
		return nil
	case typ == "object" || typ == "nested" || typ == "flattened":
		if raw[0] == '{' {
			return nil
		}
		return newErr("document_parsing_exception",
			"[1:%d] object mapping for [%s] tried to parse field [%s] as object, but found a concrete value", off+1, field, field)
	case raw[0] == '{' && (numeric || strings.Contains(" text keyword boolean date ", " "+typ+" ")):
		return fieldError(newErr("illegal_state_exception", "Can't get text on a START_OBJECT at 1:%d", off+1))
	case typ == "boolean":
		if isBool || s == "true" || s == "false" || isString && s == "" {
			return nil
		}
		return fieldError(newErr("illegal_argument_exception", "Failed to parse value [%s] as only [true] or [false] are allowed.", preview(raw)))
	case typ == "date":
		if !isBool && (isDate(s) || isNumber(string(raw)) || isNumber(s)) {
			return nil
		}
		return fieldError(newErr("illegal_argument_exception",
			"failed to parse date field [%s] with format [strict_date_optional_time||epoch_millis]", preview(raw)))
	case numeric:
		if isBool {
			return fieldError(newErr("x_content_parse_exception", "[1:%d] Current token (%s) not numeric, can not use numeric value accessors",
				off+1, tokenName(raw[0] == 't')))
		}
		if !isString {
			s = string(raw)
		} else if s == "" {
			return nil // an empty string is a null number
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return fieldError(newErr("illegal_argument_exception", "For input string: %q", s))
		}
		if typ == "long" && (f >= math.MaxInt64 || f < math.MinInt64) {
			return fieldError(newErr("illegal_argument_exception", "Value [%s] is out of range for a long", s))
		}
	}
	return nil
}

// preview is a value as ES's "Preview of field's value" shows it: strings
// unquoted, other values as compact JSON (ES prints objects as Java maps).
func preview(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var b bytes.Buffer
	json.Compact(&b, raw)
	return b.String()
}

// inferType is ES's dynamic mapping of a JSON value: whole numbers map to
// long, other numbers to float, strings to date if they look like one
// (date_detection) and to text otherwise.
func inferType(raw json.RawMessage) string {
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		var elems []json.RawMessage
		json.Unmarshal(raw, &elems)
		for _, el := range elems {
			if t := inferType(el); t != "" {
				return t
			}
		}
		return ""
	case '"':
		var s string
		if json.Unmarshal(raw, &s); isDate(s) {
			return "date"
		}
		return "text"
	case 't', 'f':
		return "boolean"
	case 'n':
		return ""
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		if bytes.ContainsAny(raw, ".eE") {
			return "float"
		}
	}
	return "long"
}

// dateRE matches the strings ES's default dynamic_date_formats detect:
// strict_date_optional_time and "yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z".
var dateRE = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2})([Tt]\d{2}(:\d{2}(:\d{2}([.,]\d{1,9})?)?)?([Zz]|[+-]\d{2}(:?\d{2})?)?)?$` +
	`|^(\d{4}/\d{2}/\d{2})( \d{2}:\d{2}:\d{2})? [+-]\d{4}$`)

func isDate(s string) bool {
	m := dateRE.FindStringSubmatch(s)
	if m == nil {
		return false
	}
	_, err := time.Parse("2006-01-02", strings.ReplaceAll(m[1]+m[8], "/", "-"))
	return err == nil
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// skipSeparators returns the offset of the next JSON token at or after off.
func skipSeparators(src []byte, off int) int {
	for off < len(src) && strings.IndexByte(" \t\r\n,:", src[off]) >= 0 {
		off++
	}
	return off
}

// tokenName names a JSON token as XContent does in messages.
func tokenName(tok any) string {
	switch v := tok.(type) {
	case json.Delim:
		return map[json.Delim]string{'{': "START_OBJECT", '}': "END_OBJECT", '[': "START_ARRAY", ']': "END_ARRAY"}[v]
	case string:
		return "VALUE_STRING"
	case json.Number, float64:
		if strings.ContainsAny(fmt.Sprint(v), ".eE") {
			return "VALUE_NUMBER_FLOAT"
		}
		return "VALUE_NUMBER_INT"
	case bool:
		return map[bool]string{true: "VALUE_TRUE", false: "VALUE_FALSE"}[v]
	}
	return "VALUE_NULL"
}
