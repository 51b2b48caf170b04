package mqtt

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A template computes a Kafka topic or a record key from an MQTT topic:
//
//	${mqtt.topic}            the MQTT topic
//	${mqtt.topic.level.N}    its level N, counted from 0; negative N counts from the end (-1 is the last level)
//	$N or ${N}               capture group N of a kafka.topic.mappings regex (0 is the whole topic)
//	${name}                  the named capture group (?P<name>...) of a kafka.topic.mappings regex
//	$$                       a literal '$'
//
// Everything else is copied as it is.
type template struct {
	src   string
	parts []tplPart
}

type tplKind uint8

const (
	tplLit tplKind = iota
	tplTopic
	tplLevel
	tplGroup
	tplNamed
)

type tplPart struct {
	kind tplKind
	lit  string
	n    int
	name string
}

const (
	varTopic      = "mqtt.topic"
	varLevel      = "mqtt.topic.level."
	templateHelp  = "use ${mqtt.topic}, ${mqtt.topic.level.N}, $N / ${N} / ${name} for mapping capture groups, or $$ for a literal '$'"
	maxTopicLen   = 249
	maxMappingLen = 1 << 16
)

// parseTemplate parses s. groups allows capture group references, which
// only kafka.topic.mappings templates have.
func parseTemplate(s string, groups bool) (*template, error) {
	t := &template{src: s}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			t.parts = append(t.parts, tplPart{kind: tplLit, lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' {
			lit.WriteByte(c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return nil, fmt.Errorf("template %q ends with a lone '$': %s", s, templateHelp)
		}
		switch n := s[i+1]; {
		case n == '$':
			lit.WriteByte('$')
			i += 2
		case n >= '0' && n <= '9':
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if !groups {
				return nil, fmt.Errorf("template %q: capture group %s only exists in kafka.topic.mappings", s, s[i:j])
			}
			g, err := strconv.Atoi(s[i+1 : j])
			if err != nil || g > 1000 {
				return nil, fmt.Errorf("template %q: bad capture group number %s", s, s[i:j])
			}
			flush()
			t.parts = append(t.parts, tplPart{kind: tplGroup, n: g})
			i = j
		case n == '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return nil, fmt.Errorf("template %q: unclosed '${'", s)
			}
			name := s[i+2 : i+2+end]
			p, err := parseVar(name, groups)
			if err != nil {
				return nil, fmt.Errorf("template %q: %w", s, err)
			}
			flush()
			t.parts = append(t.parts, p)
			i += 3 + end
		default:
			return nil, fmt.Errorf("template %q: a '$' must start a variable: %s", s, templateHelp)
		}
	}
	flush()
	return t, nil
}

func parseVar(name string, groups bool) (tplPart, error) {
	switch {
	case name == varTopic:
		return tplPart{kind: tplTopic}, nil
	case strings.HasPrefix(name, varLevel):
		n, err := strconv.Atoi(name[len(varLevel):])
		if err != nil || n > 65535 || n < -65535 {
			return tplPart{}, fmt.Errorf("${%s}: the level must be an integer (0 is the first level, -1 the last)", name)
		}
		return tplPart{kind: tplLevel, n: n}, nil
	case name != "" && name[0] >= '0' && name[0] <= '9':
		g, err := strconv.Atoi(name)
		if err != nil || g > 1000 {
			return tplPart{}, fmt.Errorf("${%s}: bad capture group number", name)
		}
		if !groups {
			return tplPart{}, fmt.Errorf("capture group ${%s} only exists in kafka.topic.mappings", name)
		}
		return tplPart{kind: tplGroup, n: g}, nil
	case groups && isGroupName(name):
		return tplPart{kind: tplNamed, name: name}, nil
	}
	return tplPart{}, fmt.Errorf("unknown variable ${%s}: %s", name, templateHelp)
}

func isGroupName(s string) bool {
	if s == "" || strings.HasPrefix(s, "mqtt.") {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// constant reports whether the template has no variables, and its text.
func (t *template) constant() (string, bool) {
	switch len(t.parts) {
	case 0:
		return "", true
	case 1:
		if t.parts[0].kind == tplLit {
			return t.parts[0].lit, true
		}
	}
	return "", false
}

// checkGroups verifies that every capture group the template names exists in re.
func (t *template) checkGroups(re *regexp.Regexp) error {
	for _, p := range t.parts {
		switch p.kind {
		case tplGroup:
			if p.n > re.NumSubexp() {
				return fmt.Errorf("the regex %q has %d capture groups, the template %q uses group %d", re.String(), re.NumSubexp(), t.src, p.n)
			}
		case tplNamed:
			if re.SubexpIndex(p.name) < 0 {
				return fmt.Errorf("the regex %q has no capture group named %q, used by the template %q", re.String(), p.name, t.src)
			}
		}
	}
	return nil
}

// expand appends the template's value for an MQTT topic. match holds the
// submatch indexes of re on topic when the template belongs to a mapping.
func (t *template) expand(dst []byte, topic string, re *regexp.Regexp, match []int) []byte {
	for _, p := range t.parts {
		switch p.kind {
		case tplLit:
			dst = append(dst, p.lit...)
		case tplTopic:
			dst = append(dst, topic...)
		case tplLevel:
			dst = append(dst, level(topic, p.n)...)
		case tplGroup:
			dst = appendGroup(dst, topic, match, p.n)
		case tplNamed:
			if re != nil {
				dst = appendGroup(dst, topic, match, re.SubexpIndex(p.name))
			}
		}
	}
	return dst
}

func appendGroup(dst []byte, topic string, match []int, g int) []byte {
	if g < 0 || 2*g+1 >= len(match) || match[2*g] < 0 {
		return dst
	}
	return append(dst, topic[match[2*g]:match[2*g+1]]...)
}

// level returns level n of topic (negative n counts from the end), or "".
func level(topic string, n int) string {
	if n < 0 {
		n += strings.Count(topic, "/") + 1
		if n < 0 {
			return ""
		}
	}
	for ; n > 0; n-- {
		i := strings.IndexByte(topic, '/')
		if i < 0 {
			return ""
		}
		topic = topic[i+1:]
	}
	if i := strings.IndexByte(topic, '/'); i >= 0 {
		return topic[:i]
	}
	return topic
}

// legalTopicByte reports whether Kafka allows c in a topic name.
func legalTopicByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// kafkaTopic turns an expanded template into a legal Kafka topic name:
// '/' becomes sep, any other character Kafka does not allow becomes '_', the
// name is cut at 249 bytes, and an empty name, "." or ".." become '_'s.
func kafkaTopic(b []byte, sep string) string {
	out := make([]byte, 0, len(b)+8)
	for i := 0; i < len(b); {
		switch c := b[i]; {
		case c == '/':
			out = append(out, sep...)
			i++
		case legalTopicByte(c):
			out = append(out, c)
			i++
		default:
			out = append(out, '_')
			_, n := utf8.DecodeRune(b[i:])
			i += n
		}
	}
	if len(out) > maxTopicLen {
		out = out[:maxTopicLen]
	}
	switch string(out) {
	case "", ".", "..":
		return strings.Repeat("_", max(len(out), 1))
	}
	return string(out)
}

// checkTopicTemplate checks a kafka.topic or mapping template: its literal
// text may only hold characters legal in a Kafka topic name, or '/', and a
// constant must be a legal topic name.
func checkTopicTemplate(t *template) error {
	for _, p := range t.parts {
		if p.kind != tplLit {
			continue
		}
		for i := 0; i < len(p.lit); i++ {
			if c := p.lit[i]; c != '/' && !legalTopicByte(c) {
				return fmt.Errorf("%q: a Kafka topic name may only contain ASCII letters, digits, '.', '_' and '-' (and '/' here, which becomes kafka.topic.level.separator), not %q", t.src, c)
			}
		}
	}
	if s, ok := t.constant(); ok {
		switch {
		case s == "":
			return errors.New("the Kafka topic must not be empty")
		case s == "." || s == "..":
			return fmt.Errorf("%q is not a legal Kafka topic name", s)
		case len(s) > maxTopicLen:
			return fmt.Errorf("a Kafka topic name has at most %d characters", maxTopicLen)
		}
	}
	return nil
}

// mapping routes MQTT topics that fully match re to the Kafka topic of tpl.
type mapping struct {
	re  *regexp.Regexp
	tpl *template
}

// parseMappings parses kafka.topic.mappings: entries "REGEX => TEMPLATE"
// separated by ';' or newlines. A ';' inside a regex is written "\;" (the
// regex reads that as a literal ';'). Each regex must match the whole MQTT
// topic; the first entry whose regex matches decides the Kafka topic.
func parseMappings(s string) ([]mapping, error) {
	if len(s) > maxMappingLen {
		return nil, fmt.Errorf("longer than %d bytes", maxMappingLen)
	}
	var out []mapping
	for i, entry := range splitEntries(s) {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		at := strings.LastIndex(entry, "=>")
		if at < 0 {
			return nil, fmt.Errorf("entry %d %q: expected REGEX => TEMPLATE", i+1, entry)
		}
		expr, tplSrc := strings.TrimSpace(entry[:at]), strings.TrimSpace(entry[at+2:])
		if expr == "" || tplSrc == "" {
			return nil, fmt.Errorf("entry %d %q: expected REGEX => TEMPLATE with both sides non-empty", i+1, entry)
		}
		re, err := regexp.Compile("^(?:" + expr + ")$")
		if err != nil {
			return nil, fmt.Errorf("entry %d: regex %q: %w", i+1, expr, err)
		}
		tpl, err := parseTemplate(tplSrc, true)
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i+1, err)
		}
		if err := checkTopicTemplate(tpl); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i+1, err)
		}
		if err := tpl.checkGroups(re); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i+1, err)
		}
		out = append(out, mapping{re, tpl})
	}
	return out, nil
}

// splitEntries splits at ';' and newlines, except "\;".
func splitEntries(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // skip the escaped byte
		case ';', '\n', '\r':
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// router computes the Kafka topic and key of MQTT topics. It caches the
// result per MQTT topic (bounded), since IoT topics repeat; it is used by
// one goroutine only.
type router struct {
	mappings []mapping
	topic    *template
	sep      string
	key      keyMode
	keyTpl   *template

	cache map[string]route
	buf   []byte
}

type keyMode uint8

const (
	keyTopic keyMode = iota
	keyNone
	keyTemplate
)

// route is the cached outcome for one MQTT topic.
type route struct {
	topic      string
	key        []byte // nil: null key
	topicBytes []byte // the MQTT topic, for the mqtt.topic header
}

const routeCacheSize = 4096

func (r *router) route(mqttTopic string) route {
	if rt, ok := r.cache[mqttTopic]; ok {
		return rt
	}
	rt := route{topic: r.kafkaTopic(mqttTopic), topicBytes: []byte(mqttTopic)}
	switch r.key {
	case keyTopic:
		rt.key = rt.topicBytes
	case keyTemplate:
		rt.key = r.keyTpl.expand(nil, mqttTopic, nil, nil)
		if rt.key == nil {
			rt.key = []byte{}
		}
	}
	if r.cache == nil || len(r.cache) >= routeCacheSize {
		r.cache = make(map[string]route, 64)
	}
	r.cache[mqttTopic] = rt
	return rt
}

func (r *router) kafkaTopic(mqttTopic string) string {
	for _, m := range r.mappings {
		if match := m.re.FindStringSubmatchIndex(mqttTopic); match != nil {
			r.buf = m.tpl.expand(r.buf[:0], mqttTopic, m.re, match)
			return kafkaTopic(r.buf, r.sep)
		}
	}
	r.buf = r.topic.expand(r.buf[:0], mqttTopic, nil, nil)
	return kafkaTopic(r.buf, r.sep)
}
