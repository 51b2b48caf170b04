package connect

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Type is a config key's type, named as in Kafka's ConfigDef.
type Type string

const (
	TypeBoolean  Type = "BOOLEAN"
	TypeString   Type = "STRING"
	TypeInt      Type = "INT"
	TypeShort    Type = "SHORT"
	TypeLong     Type = "LONG"
	TypeDouble   Type = "DOUBLE"
	TypeList     Type = "LIST"
	TypeClass    Type = "CLASS"
	TypePassword Type = "PASSWORD"
)

// Importance is a key's importance, as in Kafka's ConfigDef.
type Importance string

const (
	High   Importance = "HIGH"
	Medium Importance = "MEDIUM"
	Low    Importance = "LOW"
)

// Hidden is how PASSWORD values are rendered anywhere a human could read them.
const Hidden = "[hidden]"

// ConfigKey declares one config key. It is the only place a key exists: the
// same declaration drives parsing, defaults, validation, the REST plugin
// config endpoints and the generated docs.
type ConfigKey struct {
	Name       string
	Type       Type
	Default    string // string form; ignored when Required
	Required   bool   // no default: the key must be set
	Importance Importance
	Group      string
	Doc        string
	// Validate checks the parsed value (bool, string, int64, float64 or
	// []string according to Type). Nil accepts any well-typed value.
	Validate func(v any) error
	// Recommended lists the allowed values of an enumeration, for tools.
	Recommended []string
}

// ConfigSpec is an ordered set of key declarations.
type ConfigSpec struct {
	keys  []ConfigKey
	index map[string]int
}

// NewSpec builds a spec. A duplicate key is a programming error and panics,
// like regexp.MustCompile, so it shows at startup in every test.
func NewSpec(keys ...ConfigKey) *ConfigSpec {
	s := &ConfigSpec{index: make(map[string]int, len(keys))}
	for _, k := range keys {
		s.add(k)
	}
	return s
}

func (s *ConfigSpec) add(k ConfigKey) {
	if _, dup := s.index[k.Name]; dup {
		panic("connect: config key declared twice: " + k.Name)
	}
	if k.Type == "" {
		k.Type = TypeString
	}
	if k.Importance == "" {
		k.Importance = Medium
	}
	s.index[k.Name] = len(s.keys)
	s.keys = append(s.keys, k)
}

// Keys returns the declarations in order.
func (s *ConfigSpec) Keys() []ConfigKey {
	if s == nil {
		return nil
	}
	return s.keys
}

// Lookup returns the declaration of name.
func (s *ConfigSpec) Lookup(name string) (ConfigKey, bool) {
	if s == nil {
		return ConfigKey{}, false
	}
	i, ok := s.index[name]
	if !ok {
		return ConfigKey{}, false
	}
	return s.keys[i], true
}

// With returns a new spec holding s's keys followed by those of others
// that s does not declare (a plugin's own keys win over framework keys).
func (s *ConfigSpec) With(others ...*ConfigSpec) *ConfigSpec {
	out := NewSpec()
	for _, sp := range append([]*ConfigSpec{s}, others...) {
		for _, k := range sp.Keys() {
			if _, ok := out.index[k.Name]; !ok {
				out.add(k)
			}
		}
	}
	return out
}

// Prefixed returns a copy of s with every key name prefixed and put in group.
func (s *ConfigSpec) Prefixed(prefix, group string) *ConfigSpec {
	out := NewSpec()
	for _, k := range s.Keys() {
		k.Name = prefix + k.Name
		if group != "" {
			k.Group = group
		}
		out.add(k)
	}
	return out
}

// KeyError is a problem with one config key.
type KeyError struct {
	Key     string
	Message string
}

func (e KeyError) Error() string { return e.Key + ": " + e.Message }

// ConfigErrors is a list of key errors; it reads as every error on its own line.
type ConfigErrors []KeyError

func (e ConfigErrors) Error() string {
	msgs := make([]string, len(e))
	for i, ke := range e {
		msgs[i] = ke.Error()
	}
	return strings.Join(msgs, "\n")
}

// Config is a parsed, validated config: typed values by key name plus the
// raw map it came from (which keeps undeclared keys, such as converter and
// client settings under prefixes).
type Config struct {
	raw    map[string]string
	values map[string]any
	spec   *ConfigSpec
}

// Parse parses raw against the spec, applying defaults and validators. It
// returns every error found, each naming its key, never just the first.
func (s *ConfigSpec) Parse(raw map[string]string) (Config, ConfigErrors) {
	c := Config{raw: raw, values: make(map[string]any, len(s.Keys())), spec: s}
	var errs ConfigErrors
	for _, k := range s.Keys() {
		str, set := raw[k.Name]
		if !set {
			if k.Required {
				errs = append(errs, KeyError{k.Name, fmt.Sprintf("Missing required configuration %q which has no default value.", k.Name)})
				continue
			}
			str = k.Default
		}
		v, err := parseValue(k.Type, str)
		if err != nil {
			errs = append(errs, KeyError{k.Name, invalid(k, str, err)})
			continue
		}
		if k.Validate != nil && (set || k.Default != "") {
			if err := k.Validate(v); err != nil {
				errs = append(errs, KeyError{k.Name, invalid(k, str, err)})
				continue
			}
		}
		c.values[k.Name] = v
	}
	return c, errs
}

func invalid(k ConfigKey, str string, err error) string {
	if k.Type == TypePassword {
		str = Hidden
	}
	return fmt.Sprintf("Invalid value %s for configuration %s: %v", redactUserInfo(str), k.Name, err)
}

// userInfo matches the user info of URLs in a value: scheme://user:password@.
var userInfo = regexp.MustCompile(`(://)[^/@\s,]*:[^/@\s,]*@`)

// redactUserInfo hides the passwords of URLs in a value that is echoed in
// an error message (connection.url: https://user:secret@host).
func redactUserInfo(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return userInfo.ReplaceAllString(s, "${1}"+Hidden+"@")
}

func parseValue(t Type, s string) (any, error) {
	s = strings.TrimSpace(s)
	switch t {
	case TypeBoolean:
		switch strings.ToLower(s) {
		case "true":
			return true, nil
		case "false", "":
			return false, nil
		}
		return nil, fmt.Errorf("expected a boolean (true or false)")
	case TypeInt, TypeShort, TypeLong:
		if s == "" {
			return int64(0), nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("expected an integer")
		}
		return n, nil
	case TypeDouble:
		if s == "" {
			return float64(0), nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("expected a number")
		}
		return f, nil
	case TypeList:
		return SplitList(s), nil
	}
	return s, nil
}

// SplitList splits a comma-separated list, trimming blanks and dropping empties.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Raw returns the map the config was parsed from.
func (c Config) Raw() map[string]string { return c.raw }

// CopyPerTask returns the connector config once for each of n tasks (at
// least one), for connectors whose tasks all run the same config and
// share the work by Kafka partition assignment.
func CopyPerTask(c Config, n int) []map[string]string {
	out := make([]map[string]string, max(n, 1))
	for i := range out {
		out[i] = make(map[string]string, len(c.raw))
		for k, v := range c.raw {
			out[i][k] = v
		}
	}
	return out
}

// SharedConfigConnector is the Connector of a sink whose tasks all run the
// connector's config and share the work by Kafka partition assignment.
// Check validates the rules that span several keys (nil: none).
type SharedConfigConnector struct {
	Check func(Config) []KeyError
}

// Validate runs Check.
func (c SharedConfigConnector) Validate(cfg Config) []KeyError {
	if c.Check == nil {
		return nil
	}
	return c.Check(cfg)
}

// TaskConfigs gives each task a copy of the connector config.
func (SharedConfigConnector) TaskConfigs(cfg Config, maxTasks int) ([]map[string]string, error) {
	return CopyPerTask(cfg, maxTasks), nil
}

// Spec returns the spec the config was parsed with.
func (c Config) Spec() *ConfigSpec { return c.spec }

// IsSet reports whether the key was given explicitly.
func (c Config) IsSet(key string) bool { _, ok := c.raw[key]; return ok }

// String returns a STRING, CLASS or PASSWORD key (PASSWORD in clear: keep it out of logs).
func (c Config) String(key string) string {
	if v, ok := c.values[key].(string); ok {
		return v
	}
	return c.raw[key]
}

// Int returns an INT, SHORT or LONG key.
func (c Config) Int(key string) int64 {
	v, _ := c.values[key].(int64)
	return v
}

// Bool returns a BOOLEAN key.
func (c Config) Bool(key string) bool {
	v, _ := c.values[key].(bool)
	return v
}

// Float returns a DOUBLE key.
func (c Config) Float(key string) float64 {
	v, _ := c.values[key].(float64)
	return v
}

// List returns a LIST key.
func (c Config) List(key string) []string {
	v, _ := c.values[key].([]string)
	return v
}

// Millis returns an integer key that counts milliseconds as a duration.
// Values beyond what a Duration holds (Kafka configs often say
// Long.MAX_VALUE for "forever") saturate instead of overflowing.
func (c Config) Millis(key string) time.Duration {
	ms := c.Int(key)
	switch {
	case ms > math.MaxInt64/int64(time.Millisecond):
		return math.MaxInt64
	case ms < math.MinInt64/int64(time.Millisecond):
		return math.MinInt64
	}
	return time.Duration(ms) * time.Millisecond
}

// Prefixed returns the raw keys starting with prefix, with the prefix cut off.
func (c Config) Prefixed(prefix string) map[string]string {
	return WithPrefix(c.raw, prefix)
}

// WithPrefix returns the entries of m whose key starts with prefix, prefix removed.
func WithPrefix(m map[string]string, prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			out[rest] = v
		}
	}
	return out
}

// Redacted returns a copy of raw with every PASSWORD key of spec replaced by
// [hidden], for logs and error messages.
func (s *ConfigSpec) Redacted(raw map[string]string) map[string]string {
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		if key, ok := s.Lookup(k); ok && key.Type == TypePassword {
			v = Hidden
		}
		out[k] = v
	}
	return out
}

// Unknown returns the keys of raw that the spec does not declare and that do
// not start with one of the allowed prefixes, sorted.
func (s *ConfigSpec) Unknown(raw map[string]string, allowedPrefixes ...string) []string {
	var out []string
next:
	for k := range raw {
		if _, ok := s.Lookup(k); ok {
			continue
		}
		for _, p := range allowedPrefixes {
			if strings.HasPrefix(k, p) {
				continue next
			}
		}
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// OneOf accepts one of the given values, ignoring case.
func OneOf(values ...string) func(any) error {
	return func(v any) error {
		s, _ := v.(string)
		for _, ok := range values {
			if strings.EqualFold(s, ok) {
				return nil
			}
		}
		return fmt.Errorf("must be one of %s", strings.Join(values, ", "))
	}
}

// AtLeast accepts integers >= min.
func AtLeast(min int64) func(any) error {
	return func(v any) error {
		if n, _ := v.(int64); n < min {
			return fmt.Errorf("must be at least %d", min)
		}
		return nil
	}
}

// Between accepts integers from lo to hi, inclusive.
func Between(lo, hi int64) func(any) error {
	return func(v any) error {
		if n, _ := v.(int64); n < lo || n > hi {
			return fmt.Errorf("must be between %d and %d", lo, hi)
		}
		return nil
	}
}

// NonEmpty accepts a non-blank string.
func NonEmpty(v any) error {
	if s, _ := v.(string); strings.TrimSpace(s) == "" {
		return fmt.Errorf("String may not be empty")
	}
	return nil
}

// ValidRegex accepts a string that compiles as a Go regular expression.
func ValidRegex(v any) error {
	s, _ := v.(string)
	if _, err := regexp.Compile(s); err != nil {
		return fmt.Errorf("not a valid regular expression: %w", err)
	}
	return nil
}
