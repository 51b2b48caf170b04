package connect

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Format says how a Data's raw bytes are to be read.
type Format uint8

const (
	// FormatBytes is opaque bytes (ByteArrayConverter). Decoded form: []byte.
	FormatBytes Format = iota
	// FormatString is UTF-8 text (StringConverter). Decoded form: string.
	FormatString
	// FormatJSON is JSON text (JsonConverter). Decoded form: the tree produced
	// by encoding/json with UseNumber: map[string]any, []any, json.Number,
	// string, bool or nil.
	FormatJSON
)

func (f Format) String() string {
	switch f {
	case FormatBytes:
		return "bytes"
	case FormatString:
		return "string"
	case FormatJSON:
		return "json"
	}
	return "format(" + strconv.Itoa(int(f)) + ")"
}

// Data is a record key or value. It carries the raw bytes it was read with
// and decodes them only when somebody asks for the structured form, so a
// record that passes through untouched is never decoded. Once Set is called
// the structured form is authoritative and Raw re-encodes it.
//
// A Data with nil raw bytes and no decoded value is null (a tombstone value).
type Data struct {
	format  Format
	raw     []byte
	val     any
	decoded bool // val holds the decoded form
	dirty   bool // val was Set; raw is stale
	// Schema is the Kafka Connect schema that came with the value (the
	// JsonConverter envelope with schemas.enable=true), or nil if schemaless.
	Schema *Schema
}

// RawData returns Data holding b in format f without looking at it.
func RawData(f Format, b []byte) Data { return Data{format: f, raw: b} }

// ValueData returns JSON Data holding an already structured value.
func ValueData(v any) Data {
	return Data{format: FormatJSON, val: v, decoded: true, dirty: true}
}

// Format reports how the raw bytes are read.
func (d *Data) Format() Format { return d.format }

// IsNull reports whether the data is null (Kafka tombstone or JSON null).
func (d *Data) IsNull() bool {
	if d.dirty {
		return d.val == nil
	}
	if d.raw == nil {
		return true
	}
	if d.format == FormatJSON {
		return isJSONNull(d.raw)
	}
	return false
}

// Decoded reports whether the structured form has been computed or set.
func (d *Data) Decoded() bool { return d.decoded }

// Value returns the structured form, decoding the raw bytes on first use.
// JSON numbers are json.Number so 64-bit integers survive unchanged.
func (d *Data) Value() (any, error) {
	if d.decoded {
		return d.val, nil
	}
	if d.raw == nil {
		d.val, d.decoded = nil, true
		return nil, nil
	}
	switch d.format {
	case FormatBytes:
		d.val = d.raw
	case FormatString:
		d.val = string(d.raw)
	case FormatJSON:
		v, err := DecodeJSON(d.raw)
		if err != nil {
			return nil, err
		}
		d.val = v
	}
	d.decoded = true
	return d.val, nil
}

// Set replaces the structured form. The format becomes JSON unless v is a
// string or []byte and the data was string or bytes before.
func (d *Data) Set(v any) {
	switch v.(type) {
	case string:
		if d.format != FormatString && d.format != FormatJSON {
			d.format = FormatString
		}
	case []byte:
		if d.format != FormatBytes && d.format != FormatJSON {
			d.format = FormatBytes
		}
	default:
		d.format = FormatJSON
	}
	d.val, d.decoded, d.dirty = v, true, true
	d.raw = nil
}

// SetRaw replaces the data with raw bytes in format f, dropping any decoded form.
func (d *Data) SetRaw(f Format, b []byte) {
	*d = Data{format: f, raw: b, Schema: d.Schema}
}

// Raw returns the bytes of the data in its format: the original bytes if the
// value was not replaced, else the encoding of the structured form (JSON for
// FormatJSON). It returns nil for null.
func (d *Data) Raw() ([]byte, error) {
	if !d.dirty {
		return d.raw, nil
	}
	if d.val == nil {
		return nil, nil
	}
	switch d.format {
	case FormatString:
		if s, ok := d.val.(string); ok {
			return []byte(s), nil
		}
	case FormatBytes:
		if b, ok := d.val.([]byte); ok {
			return b, nil
		}
	}
	b, err := EncodeJSON(d.val)
	if err != nil {
		return nil, err
	}
	d.raw, d.dirty, d.format = b, false, FormatJSON
	return b, nil
}

// AppendJSON appends the data as a JSON value to dst: raw JSON is copied
// as it is (it was validated when it was read), strings are quoted and
// bytes become base64 strings, as Kafka Connect's JsonConverter writes them.
// Null appends null.
func (d *Data) AppendJSON(dst []byte) ([]byte, error) {
	if d.IsNull() {
		return append(dst, "null"...), nil
	}
	if !d.dirty {
		switch d.format {
		case FormatJSON:
			return append(dst, trimJSONSpace(d.raw)...), nil
		case FormatString:
			return appendJSONString(dst, string(d.raw)), nil
		case FormatBytes:
			return appendBase64JSON(dst, d.raw), nil
		}
	}
	switch v := d.val.(type) {
	case string:
		return appendJSONString(dst, v), nil
	case []byte:
		return appendBase64JSON(dst, v), nil
	}
	b, err := EncodeJSON(d.val)
	if err != nil {
		return nil, err
	}
	return append(dst, b...), nil
}

// String renders the data for humans and for sinks that write text: strings
// as they are, bytes as they are, structured values as JSON.
func (d *Data) String() string {
	if d.IsNull() {
		return ""
	}
	if !d.dirty && d.format != FormatJSON {
		return string(d.raw)
	}
	if s, ok := d.val.(string); ok && d.dirty {
		return s
	}
	b, err := d.AppendJSON(nil)
	if err != nil {
		return fmt.Sprintf("<unencodable: %v>", err)
	}
	return string(b)
}

// DecodeJSON decodes one JSON value with UseNumber and rejects trailing data.
func DecodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if len(trimJSONSpace(b[dec.InputOffset():])) != 0 {
		return nil, errors.New("invalid JSON: data after the top-level value")
	}
	return v, nil
}

// EncodeJSON encodes a structured value without HTML escaping, so "<" and
// "&" in event payloads reach the target as they were sent.
func EncodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode JSON: %w", err)
	}
	b := buf.Bytes()
	return b[:len(b)-1], nil // drop Encoder's newline
}

func isJSONNull(b []byte) bool {
	return string(trimJSONSpace(b)) == "null"
}

// decodeRune is utf8.DecodeRune for strings and byte slices, without a copy.
func decodeRune[S ~string | ~[]byte](s S) (rune, int) {
	if b, ok := any(s).([]byte); ok {
		return utf8.DecodeRune(b)
	}
	return utf8.DecodeRuneInString(string(s))
}

// trimJSONSpace trims the four characters JSON counts as whitespace, and
// nothing else (bytes.TrimSpace would also eat \v, \f, U+0085 and U+00A0,
// which are not JSON).
func trimJSONSpace(b []byte) []byte {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func appendJSONString(dst []byte, s string) []byte { return AppendJSONString(dst, s) }

// AppendJSONString appends s as a JSON string without allocating: quotes,
// backslashes and control characters escaped, invalid UTF-8 replaced by
// U+FFFD, and U+2028/U+2029 escaped (as encoding/json does) so the output
// is also safe inside JavaScript. HTML characters are not escaped.
func AppendJSONString[S ~string | ~[]byte](dst []byte, s S) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip plain ASCII eight bytes at a time: no quote, backslash,
		// control character or non-ASCII byte among them.
		for i+8 <= len(s) {
			if x := load64(s, i); (stopBytes(x)|x)&hi != 0 {
				break
			}
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := decodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\\ufffd"...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

func appendBase64JSON(dst, b []byte) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}
