package httpsink

import (
	"encoding/json"
	"errors"
	"strconv"
)

// errScan is returned by rawField for input it cannot walk (not JSON).
var errScan = errors.New("malformed JSON")

// rawField finds the value at path in raw JSON without decoding it: it
// walks object members and array items, skipping everything else, and
// returns the field's bytes (a literal, string with quotes, object or
// array, as written). ok is false when the field is absent or null.
func rawField(raw []byte, path []string) (val []byte, ok bool, err error) {
	i := skipWS(raw, 0)
	for _, seg := range path {
		if i >= len(raw) {
			return nil, false, errScan
		}
		switch raw[i] {
		case '{':
			i, ok, err = findMember(raw, i, seg)
		case '[':
			i, ok, err = findItem(raw, i, seg)
		default:
			return nil, false, nil // a scalar has no fields
		}
		if err != nil || !ok {
			return nil, false, err
		}
	}
	end, err := skipValue(raw, i)
	if err != nil {
		return nil, false, err
	}
	val = raw[i:end]
	if string(val) == "null" {
		return nil, false, nil
	}
	return val, true, nil
}

// findMember returns the start of the value of member name in the object
// at raw[i]. Like encoding/json, the last of duplicate members wins.
func findMember(raw []byte, i int, name string) (int, bool, error) {
	found := -1
	i = skipWS(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return 0, false, nil
	}
	for i < len(raw) {
		if raw[i] != '"' {
			return 0, false, errScan
		}
		end, err := skipString(raw, i)
		if err != nil {
			return 0, false, err
		}
		match := keyEquals(raw[i:end], name)
		i = skipWS(raw, end)
		if i >= len(raw) || raw[i] != ':' {
			return 0, false, errScan
		}
		i = skipWS(raw, i+1)
		if match {
			found = i
		}
		if i, err = skipValue(raw, i); err != nil {
			return 0, false, err
		}
		i = skipWS(raw, i)
		if i >= len(raw) {
			return 0, false, errScan
		}
		if raw[i] == '}' {
			return found, found >= 0, nil
		}
		if raw[i] != ',' {
			return 0, false, errScan
		}
		i = skipWS(raw, i+1)
	}
	return 0, false, errScan
}

// findItem returns the start of item number seg of the array at raw[i].
func findItem(raw []byte, i int, seg string) (int, bool, error) {
	n, err := strconv.Atoi(seg)
	if err != nil || n < 0 {
		return 0, false, nil
	}
	i = skipWS(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		return 0, false, nil
	}
	for k := 0; i < len(raw); k++ {
		if k == n {
			return i, true, nil
		}
		if i, err = skipValue(raw, i); err != nil {
			return 0, false, err
		}
		i = skipWS(raw, i)
		if i >= len(raw) {
			return 0, false, errScan
		}
		if raw[i] == ']' {
			return 0, false, nil
		}
		if raw[i] != ',' {
			return 0, false, errScan
		}
		i = skipWS(raw, i+1)
	}
	return 0, false, errScan
}

// keyEquals compares a quoted key with name, unquoting only keys with escapes.
func keyEquals(quoted []byte, name string) bool {
	inner := quoted[1 : len(quoted)-1]
	for _, c := range inner {
		if c == '\\' {
			var s string
			return json.Unmarshal(quoted, &s) == nil && s == name
		}
	}
	return string(inner) == name
}

func skipWS(raw []byte, i int) int {
	for i < len(raw) && isSpace(raw[i]) {
		i++
	}
	return i
}

// skipString returns the index after the string starting at raw[i].
func skipString(raw []byte, i int) (int, error) {
	for j := i + 1; j < len(raw); j++ {
		switch raw[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errScan
}

// skipValue returns the index after the JSON value starting at raw[i].
func skipValue(raw []byte, i int) (int, error) {
	if i >= len(raw) {
		return 0, errScan
	}
	switch raw[i] {
	case '"':
		return skipString(raw, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(raw); j++ {
			switch raw[j] {
			case '"':
				end, err := skipString(raw, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errScan
	}
	j := i
	for j < len(raw) && !isSpace(raw[j]) && raw[j] != ',' && raw[j] != '}' && raw[j] != ']' {
		j++
	}
	if j == i {
		return 0, errScan
	}
	return j, nil
}

// appendRawText renders a raw JSON field as text: a string without quotes
// (unescaped), anything else as written.
func appendRawText(dst, val []byte) ([]byte, error) {
	if len(val) == 0 || val[0] != '"' {
		return append(dst, val...), nil
	}
	inner := val[1 : len(val)-1]
	for _, c := range inner {
		if c == '\\' {
			var s string
			if err := json.Unmarshal(val, &s); err != nil {
				return dst, err
			}
			return append(dst, s...), nil
		}
	}
	return append(dst, inner...), nil
}
