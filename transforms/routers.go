package transforms

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/spur-connect/spur/connect"
)

func regexRouterSpec() *connect.ConfigSpec {
	return connect.NewSpec(
		connect.ConfigKey{Name: "regex", Type: connect.TypeString, Required: true, Importance: connect.High, Validate: connect.ValidRegex,
			Doc: "Regular expression to use for matching (Go RE2 syntax: no look-around or back-references). It must match the whole topic name."},
		connect.ConfigKey{Name: "replacement", Type: connect.TypeString, Required: true, Importance: connect.High,
			Doc: "Replacement string, in Java's syntax: $1 or ${name} refer to groups, \\$ and \\\\ are literal."},
	)
}

type regexRouter struct {
	full  *regexp.Regexp // anchored: must match the whole topic
	first *regexp.Regexp // unanchored: what replaceFirst replaces
	repl  []replPart
}

func newRegexRouter(cfg connect.Config) (connect.Transformation, error) {
	pattern := cfg.String("regex")
	t := &regexRouter{}
	var err error
	if t.full, err = anchored(pattern); err != nil {
		return nil, connect.KeyError{Key: "regex", Message: err.Error()}
	}
	t.first = regexp.MustCompile(pattern) // compiles: anchored did
	if t.repl, err = compileJavaReplacement(cfg.String("replacement"), t.first); err != nil {
		return nil, connect.KeyError{Key: "replacement", Message: err.Error()}
	}
	return t, nil
}

// anchored compiles a regex that must match a whole string, like Java's Matcher.matches.
func anchored(pattern string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(pattern); err != nil {
		return nil, err
	}
	return regexp.Compile(`\A(?:` + pattern + `)\z`)
}

func (t *regexRouter) Apply(r *connect.Record) (*connect.Record, error) {
	if !t.full.MatchString(r.Topic) {
		return r, nil
	}
	// Kafka calls matcher.replaceFirst after matches(): the replaced text is
	// the first (leftmost-first) match, which is usually the whole topic.
	m := t.first.FindStringSubmatchIndex(r.Topic)
	if m == nil {
		return r, nil
	}
	var b strings.Builder
	b.WriteString(r.Topic[:m[0]])
	expandJava(&b, t.repl, r.Topic, m)
	b.WriteString(r.Topic[m[1]:])
	r.Topic = b.String()
	return r, nil
}

// replPart is a literal (group < 0) or a group reference of a replacement.
type replPart struct {
	lit   string
	group int
}

// compileJavaReplacement parses a replacement as Java's
// Matcher.appendReplacement does: \x is a literal x, $n refers to a group
// (more digits are taken while they still name an existing group), ${name}
// to a named group.
func compileJavaReplacement(repl string, re *regexp.Regexp) ([]replPart, error) {
	var parts []replPart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, replPart{lit: lit.String(), group: -1})
			lit.Reset()
		}
	}
	groups := re.NumSubexp()
	for i := 0; i < len(repl); {
		c := repl[i]
		switch c {
		case '\\':
			i++
			if i >= len(repl) {
				return nil, errors.New("character to be escaped is missing")
			}
			lit.WriteByte(repl[i])
			i++
		case '$':
			i++
			if i >= len(repl) {
				return nil, errors.New("Illegal group reference: group index is missing")
			}
			var group int
			if repl[i] == '{' {
				i++
				start := i
				for i < len(repl) && isAlnum(repl[i]) {
					i++
				}
				name := repl[start:i]
				if name == "" {
					return nil, errors.New("named capturing group has 0 length name")
				}
				if i >= len(repl) || repl[i] != '}' {
					return nil, errors.New("named capturing group is missing trailing '}'")
				}
				i++
				if group = re.SubexpIndex(name); group < 0 {
					return nil, fmt.Errorf("No group with name {%s}", name)
				}
			} else {
				if repl[i] < '0' || repl[i] > '9' {
					return nil, errors.New("Illegal group reference")
				}
				group = int(repl[i] - '0')
				i++
				for i < len(repl) && '0' <= repl[i] && repl[i] <= '9' {
					next := group*10 + int(repl[i]-'0')
					if next > groups {
						break
					}
					group = next
					i++
				}
				if group > groups {
					return nil, fmt.Errorf("No group %d", group)
				}
			}
			flush()
			parts = append(parts, replPart{group: group})
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	return parts, nil
}

func isAlnum(c byte) bool {
	return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

// expandJava writes the replacement for a match (submatch indexes m of s).
func expandJava(b *strings.Builder, parts []replPart, s string, m []int) {
	for _, p := range parts {
		if p.group < 0 {
			b.WriteString(p.lit)
			continue
		}
		if lo, hi := m[2*p.group], m[2*p.group+1]; lo >= 0 {
			b.WriteString(s[lo:hi])
		}
	}
}

func timestampRouterSpec() *connect.ConfigSpec {
	return connect.NewSpec(
		connect.ConfigKey{Name: "topic.format", Type: connect.TypeString, Default: "${topic}-${timestamp}", Importance: connect.High,
			Doc: "Format string which can contain ${topic} and ${timestamp} as placeholders for the topic and timestamp, respectively."},
		connect.ConfigKey{Name: "timestamp.format", Type: connect.TypeString, Default: "yyyyMMdd", Importance: connect.High,
			Doc: "Format string for the timestamp that is compatible with java.text.SimpleDateFormat (UTC).",
			Validate: func(v any) error {
				_, err := compileDateFormat(v.(string))
				return err
			}},
	)
}

type timestampRouter struct {
	topicFormat string
	format      *dateFormat
}

func newTimestampRouter(cfg connect.Config) (connect.Transformation, error) {
	f, err := compileDateFormat(cfg.String("timestamp.format"))
	if err != nil {
		return nil, connect.KeyError{Key: "timestamp.format", Message: err.Error()}
	}
	return &timestampRouter{topicFormat: cfg.String("topic.format"), format: f}, nil
}

func (t *timestampRouter) Apply(r *connect.Record) (*connect.Record, error) {
	if r.Timestamp.IsZero() {
		return nil, errors.New("Timestamp missing on record: " + r.Coordinates())
	}
	topic := strings.ReplaceAll(t.topicFormat, "${topic}", r.Topic)
	r.Topic = strings.ReplaceAll(topic, "${timestamp}", t.format.format(r.Timestamp))
	return r, nil
}
