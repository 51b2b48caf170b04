package transforms

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	"github.com/spur-connect/spur/connect"
)

const maskPurpose = "mask fields"

// nonEmptyList is Kafka's NonEmptyListValidator.
func nonEmptyList(v any) error {
	if l, _ := v.([]string); len(l) == 0 {
		return errors.New("Empty list")
	}
	return nil
}

func maskFieldSpec() *connect.ConfigSpec {
	return connect.NewSpec(
		connect.ConfigKey{Name: "fields", Type: connect.TypeList, Required: true, Importance: connect.High, Validate: nonEmptyList,
			Doc: "Names of fields to mask (paths with field.syntax.version=V2)."},
		connect.ConfigKey{Name: "replacement", Type: connect.TypeString, Importance: connect.Low, Validate: connect.NonEmpty,
			Doc: "Custom value replacement, that will be applied to all 'fields' values (numeric or non-empty string values only)."},
		connect.ConfigKey{Name: "hash.algorithm", Type: connect.TypeString, Default: "none", Importance: connect.Medium,
			Validate: connect.OneOf("none", "sha256", "sha512"), Recommended: []string{"none", "sha256", "sha512"},
			Doc: "Spur extension: replace each non-null value by the lowercase hex digest of its text (a string's characters, " +
				"anything else its JSON) instead of masking it. With a schema the field becomes a string. none: mask as Kafka does."},
		connect.ConfigKey{Name: "hash.salt", Type: connect.TypePassword, Importance: connect.Medium,
			Doc: "Spur extension: secret salt for hash.algorithm; when set the digest is HMAC(salt, value), so equal values " +
				"still join but cannot be recovered by hashing guesses without the salt."},
		syntaxConfigKey,
	)
}

type maskField struct {
	key         bool
	paths       []fieldPath
	replacement *string
	hashNew     func() hash.Hash // nil: no hashing
	salt        []byte
	cache       schemaCache
}

func newMaskField(cfg connect.Config, key bool) (connect.Transformation, error) {
	paths, err := parsePaths(cfg.List("fields"), syntaxV2Enabled(cfg))
	if err != nil {
		return nil, connect.KeyError{Key: "fields", Message: err.Error()}
	}
	t := &maskField{key: key, paths: paths}
	if cfg.IsSet("replacement") {
		s := cfg.String("replacement")
		t.replacement = &s
	}
	switch strings.ToLower(cfg.String("hash.algorithm")) {
	case "sha256":
		t.hashNew = sha256.New
	case "sha512":
		t.hashNew = sha512.New
	}
	if t.hashNew != nil && t.replacement != nil {
		return nil, connect.KeyError{Key: "hash.algorithm", Message: "hash.algorithm and replacement cannot both be set"}
	}
	if s := cfg.String("hash.salt"); s != "" {
		if t.hashNew == nil {
			return nil, connect.KeyError{Key: "hash.salt", Message: "hash.salt needs hash.algorithm"}
		}
		t.salt = []byte(s)
	}
	return t, nil
}

func (t *maskField) Apply(r *connect.Record) (*connect.Record, error) {
	d := operand(r, t.key)
	v, err := d.Value()
	if err != nil {
		return nil, err
	}
	if d.Schema == nil {
		m, err := requireMap(v, maskPurpose)
		if err != nil {
			return nil, err
		}
		for _, p := range t.paths {
			parent := p.parent(m)
			if parent == nil {
				continue
			}
			mv, err := t.mask(parent[p.last()], nil)
			if err != nil {
				return nil, err
			}
			parent[p.last()] = mv // a listed field that is absent becomes null, as in Kafka
		}
		d.Set(m)
		return r, nil
	}
	m, err := requireStruct(v, d.Schema, maskPurpose)
	if err != nil {
		return nil, err
	}
	schema := d.Schema
	if t.hashNew != nil {
		if schema, err = t.cache.get(d.Schema, t.updateSchema); err != nil {
			return nil, err
		}
	}
	for _, p := range t.paths {
		fs := schemaAt(d.Schema, p.steps)
		parent := p.parent(m)
		if fs == nil || parent == nil {
			continue
		}
		mv, err := t.mask(parent[p.last()], fs)
		if err != nil {
			return nil, err
		}
		parent[p.last()] = mv
	}
	d.Set(m)
	d.Schema = schema
	return r, nil
}

func (t *maskField) updateSchema(s *connect.Schema) (*connect.Schema, error) {
	for _, p := range t.paths {
		out, err := editStruct(s, p.parents(), func(st *connect.Schema) error {
			if i := fieldIndex(st, p.last()); i >= 0 {
				f := st.Fields[i]
				st.Fields[i] = &connect.Schema{Type: typeString, Optional: f.Optional, Doc: f.Doc, Field: f.Field}
			}
			return nil
		})
		if err == nil {
			s = out
		} else if !errors.Is(err, errNoField) {
			return nil, err
		}
	}
	return s, nil
}

// mask masks one value; fs is its field schema, nil when schemaless.
func (t *maskField) mask(v any, fs *connect.Schema) (any, error) {
	if v == nil {
		return nil, nil
	}
	v = normalizeNumber(v)
	if t.hashNew != nil {
		return t.hash(v)
	}
	kind := maskKind(v, fs)
	if t.replacement != nil {
		return replaceMasked(kind, v, *t.replacement)
	}
	switch kind {
	case typeBoolean:
		return false, nil
	case typeInt8, typeInt16, typeInt32, typeInt64, logicalDate, logicalTime, logicalTimestamp:
		return json.Number("0"), nil // for the logical types: the epoch, as Kafka's new Date(0)
	case typeFloat32, typeFloat64:
		return json.Number("0.0"), nil
	case typeString:
		return "", nil
	case typeBytes:
		if _, ok := v.([]byte); ok {
			return []byte{}, nil
		}
		return "", nil // base64 of no bytes
	case logicalDecimal:
		if _, ok := v.(json.Number); ok {
			return json.Number("0"), nil
		}
		return "AA==", nil // unscaled 0, base64
	case typeArray:
		return []any{}, nil
	case typeMap:
		return map[string]any{}, nil
	}
	return nil, fmt.Errorf("Cannot mask value of type: %s", kind)
}

// maskKind names the type a value is masked as: its schema type, or for a
// schemaless value the type Kafka's JsonConverter would have decoded
// (integral numbers int64, others double, objects map).
func maskKind(v any, fs *connect.Schema) string {
	if fs != nil {
		switch fs.Name {
		case logicalDecimal:
			return logicalDecimal
		case logicalDate, logicalTime, logicalTimestamp:
			return fs.Name
		}
		return fs.Type
	}
	switch x := v.(type) {
	case bool:
		return typeBoolean
	case json.Number:
		if isIntegral(x) {
			return typeInt64
		}
		return typeFloat64
	case string:
		return typeString
	case []byte:
		return typeBytes
	case []any:
		return typeArray
	case map[string]any:
		return typeMap
	}
	return typeName(v)
}

var intBits = map[string]int{typeInt8: 8, typeInt16: 16, typeInt32: 32, typeInt64: 64}

func replaceMasked(kind string, v any, repl string) (any, error) {
	switch kind {
	case typeString:
		return repl, nil
	case typeInt8, typeInt16, typeInt32, typeInt64:
		n, err := strconv.ParseInt(strings.TrimSpace(repl), 10, intBits[kind])
		if err != nil {
			f, ferr := strconv.ParseFloat(strings.TrimSpace(repl), 64)
			if ferr != nil || kind != typeInt64 {
				return nil, fmt.Errorf("Unable to convert %s (string) to number", repl)
			}
			n = int64(f)
		}
		return intNumber(n), nil
	case typeFloat32, typeFloat64:
		f, err := strconv.ParseFloat(strings.TrimSpace(repl), 64)
		if err != nil {
			return nil, fmt.Errorf("Unable to convert %s (string) to number", repl)
		}
		bits := 64
		if kind == typeFloat32 {
			bits = 32
		}
		return javaDouble(f, bits)
	case logicalDecimal:
		if _, ok := v.(json.Number); ok {
			n := json.Number(strings.TrimSpace(repl))
			if _, err := n.Float64(); err != nil || !json.Valid([]byte(n)) {
				return nil, fmt.Errorf("Unable to convert %s (string) to number", repl)
			}
			return n, nil
		}
	}
	return nil, fmt.Errorf("Cannot mask value of type %s with custom replacement.", kind)
}

func (t *maskField) hash(v any) (any, error) {
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	case json.Number:
		b = []byte(x)
	case []byte:
		b = x
	default:
		var err error
		if b, err = connect.EncodeJSON(v); err != nil {
			return nil, err
		}
	}
	var h hash.Hash
	if t.salt != nil {
		h = hmac.New(t.hashNew, t.salt)
	} else {
		h = t.hashNew()
	}
	h.Write(b)
	var sum [sha512.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])), nil
}
