package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/labstack/echo/v4"
)

// readBody reads the request body (bounded), keeping the bytes so a
// forwarded request carries exactly what the client sent.
func readBody(c echo.Context) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(c.Request().Body, maxBody+1))
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "Cannot read the request body: %v", err)
	}
	if len(b) > maxBody {
		return nil, errorf(http.StatusRequestEntityTooLarge, "Request body is larger than %d bytes", maxBody)
	}
	return b, nil
}

// decodeJSON decodes one JSON value (numbers kept exact) and reports
// malformed input as a 400 naming the problem and where it is.
func decodeJSON(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return errorf(http.StatusBadRequest, "Request body is empty; a JSON body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return malformed(b, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errorf(http.StatusBadRequest, "Malformed JSON request body: unexpected data after the JSON value at offset %d", dec.InputOffset())
	}
	return nil
}

func malformed(b []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return errorf(http.StatusBadRequest, "Malformed JSON request body: %v (at offset %d)", se, se.Offset)
	case errors.As(err, &te):
		where := te.Field
		if where == "" {
			where = "the body"
		}
		return errorf(http.StatusBadRequest, "Malformed JSON request body: %s must be %s, not a JSON %s", where, jsonKind(te.Type.Kind().String()), te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(http.StatusBadRequest, "Malformed JSON request body: unexpected end of input after %d bytes", len(b))
	}
	return errorf(http.StatusBadRequest, "Malformed JSON request body: %v", err)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "map", "struct":
		return "an object"
	case "slice", "array":
		return "an array"
	case "string":
		return "a string"
	}
	return "a " + goKind
}

// configMap turns a decoded JSON object into a connector config map, as
// Kafka Connect's Map<String,String> bodies read: strings as they are,
// numbers and booleans as their JSON text, null values listed apart (an
// error on create and PUT, a removal on PATCH), objects and arrays refused.
func configMap(obj map[string]any, what string) (cfg map[string]string, nulls []string, err error) {
	cfg = make(map[string]string, len(obj))
	for k, v := range obj {
		switch x := v.(type) {
		case string:
			cfg[k] = x
		case json.Number:
			cfg[k] = x.String()
		case bool:
			cfg[k] = strconv.FormatBool(x)
		case nil:
			nulls = append(nulls, k)
		default:
			kind := "an object"
			if _, ok := v.([]any); ok {
				kind = "an array"
			}
			return nil, nil, errorf(http.StatusBadRequest, "Malformed JSON request body: the value of %q in %s is %s; config values must be strings, numbers or booleans", k, what, kind)
		}
	}
	sort.Strings(nulls)
	return cfg, nulls, nil
}

// decodeConfig decodes a body that is a flat config map.
func decodeConfig(b []byte) (map[string]string, []string, error) {
	var obj map[string]any
	if err := decodeJSON(b, &obj); err != nil {
		return nil, nil, err
	}
	if obj == nil {
		return nil, nil, errorf(http.StatusBadRequest, "Request body must be a JSON object of config keys and values")
	}
	return configMap(obj, "the config")
}

// nameParam returns the unescaped connector name of the path.
func nameParam(c echo.Context) string { return pathParam(c, "name") }

// pathParam returns a path parameter unescaped. Echo routes on the raw
// path when the request has one (an escaped character such as %2F), and
// then the parameter is still escaped.
func pathParam(c echo.Context, key string) string {
	p := c.Param(key)
	if c.Request().URL.RawPath == "" {
		return p
	}
	if u, err := url.PathUnescape(p); err == nil {
		return u
	}
	return p
}

// boolParam reads a query parameter as Java's Boolean.valueOf does.
func boolParam(c echo.Context, key string) bool {
	v := c.QueryParam(key)
	return len(v) == 4 && (v[0]|0x20) == 't' && (v[1]|0x20) == 'r' && (v[2]|0x20) == 'u' && (v[3]|0x20) == 'e'
}
