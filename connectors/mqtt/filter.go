package mqtt

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

const sharePrefix = "$share/"

// filter is one parsed MQTT topic filter from mqtt.topics.
type filter struct {
	raw   string // as configured
	group string // share name when configured as $share/<group>/<filter>
	topic string // the filter without the $share/<group>/ prefix
}

// parseFilter checks a topic filter against the MQTT 5 rules (section
// 4.7): 1 to 65535 bytes of UTF-8 without U+0000, '+' alone in its level,
// '#' alone in the last level. A shared subscription $share/<group>/<filter>
// needs a group without '/', '+' or '#' and a valid filter.
func parseFilter(s string) (filter, error) {
	f := filter{raw: s, topic: s}
	if rest, ok := strings.CutPrefix(s, sharePrefix); ok {
		group, sub, found := strings.Cut(rest, "/")
		if !found {
			return f, fmt.Errorf("shared subscription %q must look like $share/<group>/<filter>", s)
		}
		if err := checkShareGroup(group); err != nil {
			return f, fmt.Errorf("shared subscription %q: %w", s, err)
		}
		f.group, f.topic = group, sub
	} else if s == "$share" || strings.HasPrefix(s, "$share+") || strings.HasPrefix(s, "$share#") {
		return f, fmt.Errorf("topic filter %q: a shared subscription must look like $share/<group>/<filter>", s)
	}
	if err := checkFilter(f.topic); err != nil {
		return f, fmt.Errorf("topic filter %q: %w", s, err)
	}
	return f, nil
}

func checkFilter(s string) error {
	switch {
	case s == "":
		return errors.New("must not be empty")
	case len(s) > 65535:
		return errors.New("longer than 65535 bytes")
	case !utf8.ValidString(s):
		return errors.New("not valid UTF-8")
	case strings.ContainsRune(s, 0):
		return errors.New("contains the null character U+0000")
	}
	levels := strings.Split(s, "/")
	for i, l := range levels {
		if strings.Contains(l, "#") && (l != "#" || i != len(levels)-1) {
			return errors.New("the multi-level wildcard '#' must be the whole last level (\"a/#\" or \"#\")")
		}
		if strings.Contains(l, "+") && l != "+" {
			return errors.New("the single-level wildcard '+' must be a whole level (\"a/+/b\")")
		}
	}
	return nil
}

// checkShareGroup checks a shared subscription's share name.
func checkShareGroup(g string) error {
	switch {
	case g == "":
		return errors.New("the share group name must not be empty")
	case strings.ContainsAny(g, "/+#"):
		return fmt.Errorf("the share group name %q must not contain '/', '+' or '#'", g)
	case !utf8.ValidString(g) || strings.ContainsRune(g, 0):
		return fmt.Errorf("the share group name %q must be UTF-8 without U+0000", g)
	}
	return nil
}

// shareGroupFor makes a valid share group name from a connector name.
func shareGroupFor(name string) string {
	g := strings.Map(func(r rune) rune {
		if r == '/' || r == '+' || r == '#' || r == 0 {
			return '_'
		}
		return r
	}, name)
	if g == "" {
		return "spur"
	}
	return g
}

// subscription is what a task subscribes to for one configured filter,
// plus the other form (plain or shared) it unsubscribes, so that a session
// that switched between the two does not receive messages twice.
func (f filter) subscription(shared bool, group string) (sub, other string) {
	if f.group != "" {
		return f.raw, "" // configured explicitly: used as it is
	}
	if shared {
		return sharePrefix + group + "/" + f.topic, f.topic
	}
	return f.topic, sharePrefix + group + "/" + f.topic
}
