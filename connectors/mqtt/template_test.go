package mqtt

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func newTestRouter(t testing.TB, kv ...string) *router {
	t.Helper()
	c, errs := Spec().Parse(base(kv...))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	r, err := newRouter(c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRouting(t *testing.T) {
	cases := []struct {
		kv          []string
		mqtt        string
		topic, key  string
		nullKey     bool
		description string
	}{
		{nil, "sensors/a/temp", "mqtt", "sensors/a/temp", false, "defaults: topic mqtt, key = MQTT topic"},
		{[]string{keyKafkaTopic, "iot.${mqtt.topic}"}, "sensors/a/temp", "iot.sensors.a.temp", "sensors/a/temp", false, "slashes become dots"},
		{[]string{keyKafkaTopic, "${mqtt.topic}", keySeparator, "_"}, "a/b", "a_b", "a/b", false, "separator"},
		{[]string{keyKafkaTopic, "${mqtt.topic}"}, "$SYS/broker/load é", "_SYS.broker.load__", "$SYS/broker/load é", false, "illegal characters"},
		{[]string{keyKafkaTopic, "t.${mqtt.topic.level.1}", keyRecordKey, "${mqtt.topic.level.-1}"}, "devices/d42/telemetry", "t.d42", "telemetry", false, "levels"},
		{[]string{keyKafkaTopic, "t.${mqtt.topic.level.7}"}, "a/b", "t.", "a/b", false, "missing level is empty"},
		{[]string{keyKafkaTopic, "${mqtt.topic.level.9}"}, "a/b", "_", "a/b", false, "empty result"},
		{[]string{keyRecordKey, "none"}, "a/b", "mqtt", "", true, "null key"},
		{[]string{keyRecordKey, "dev-$$-${mqtt.topic.level.0}"}, "a/b", "mqtt", "dev-$-a", false, "literal dollar"},
		{[]string{keyMappings, "sensors/([^/]+)/temperature => iot.temperature.$1; sensors/(?P<dev>[^/]+)/.* => iot.other.${dev}", keyKafkaTopic, "iot.rest"},
			"sensors/d1/temperature", "iot.temperature.d1", "sensors/d1/temperature", false, "first mapping"},
		{[]string{keyMappings, "sensors/([^/]+)/temperature => iot.temperature.$1; sensors/(?P<dev>[^/]+)/.* => iot.other.${dev}", keyKafkaTopic, "iot.rest"},
			"sensors/d1/humidity", "iot.other.d1", "sensors/d1/humidity", false, "second mapping, named group"},
		{[]string{keyMappings, "sensors/([^/]+)/temperature => iot.temperature.$1", keyKafkaTopic, "iot.rest"},
			"other/d1/temperature", "iot.rest", "other/d1/temperature", false, "no mapping matches: kafka.topic"},
		{[]string{keyMappings, "sensors/temp => iot.t"}, "sensors/temperature", "mqtt", "sensors/temperature", false, "mappings match whole topics"},
		{[]string{keyMappings, `a\;b/(.*) => x.${1}.${mqtt.topic.level.0}`}, "a;b/c", "x.c.a_b", "a;b/c", false, "escaped semicolon"},
	}
	for _, c := range cases {
		t.Run(c.description, func(t *testing.T) {
			r := newTestRouter(t, c.kv...)
			for range 2 { // second time from the cache
				rt := r.route(c.mqtt)
				if rt.topic != c.topic || string(rt.key) != c.key || (rt.key == nil) != c.nullKey || string(rt.topicBytes) != c.mqtt {
					t.Fatalf("route(%q) = topic %q key %q (nil %v), want %q %q", c.mqtt, rt.topic, rt.key, rt.key == nil, c.topic, c.key)
				}
			}
		})
	}
}

func TestRouteCacheIsBounded(t *testing.T) {
	r := newTestRouter(t, keyKafkaTopic, "iot.${mqtt.topic}")
	for i := 0; i < 3*routeCacheSize; i++ {
		r.route("d/" + strconv.Itoa(i))
	}
	if len(r.cache) > routeCacheSize {
		t.Fatalf("cache holds %d entries", len(r.cache))
	}
}

func TestLevel(t *testing.T) {
	for _, c := range []struct {
		topic string
		n     int
		want  string
	}{
		{"a/b/c", 0, "a"}, {"a/b/c", 2, "c"}, {"a/b/c", 3, ""}, {"a/b/c", -1, "c"}, {"a/b/c", -3, "a"}, {"a/b/c", -4, ""},
		{"/a", 0, ""}, {"/a", 1, "a"}, {"a//", -1, ""}, {"", 0, ""},
	} {
		if got := level(c.topic, c.n); got != c.want {
			t.Errorf("level(%q, %d) = %q, want %q", c.topic, c.n, got, c.want)
		}
	}
}

func TestFilters(t *testing.T) {
	good := []string{"#", "+", "a", "a/b", "a/+/c", "a/#", "+/+/#", "/", "a//b", "$SYS/#", "$share/g/a/#", "$share/g/#", "sport/tennis player1/#", "é/ü"}
	bad := []string{"", "a#", "a/#/b", "#/a", "a/b+", "+a", "$share/g", "$share//a", "$share/g/", "$share/g#/a", "a\x00b", "\xff"}
	for _, f := range good {
		if _, err := parseFilter(f); err != nil {
			t.Errorf("%q rejected: %v", f, err)
		}
	}
	for _, f := range bad {
		if _, err := parseFilter(f); err == nil {
			t.Errorf("%q accepted", f)
		}
	}
}

// validKafkaTopic is what a Kafka broker accepts as a topic name.
func validKafkaTopic(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > maxTopicLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !legalTopicByte(s[i]) {
			return false
		}
	}
	return true
}

// FuzzTemplate: any template either fails to parse or yields a legal Kafka
// topic name for any MQTT topic, and never panics.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"mqtt", "iot.${mqtt.topic}", "${mqtt.topic.level.-1}", "$$x", "${", "$1", "${dev}", "a/${mqtt.topic.level.99999}", "${mqtt.topic.level.}"} {
		f.Add(s, "sensors/d1/temp", "_")
	}
	f.Fuzz(func(t *testing.T, tpl, topic, sep string) {
		for _, groups := range []bool{false, true} {
			p, err := parseTemplate(tpl, groups)
			if err != nil {
				continue
			}
			if err := validSeparator(sep); err != nil {
				sep = "."
			}
			out := p.expand(nil, topic, nil, nil)
			if !groups && checkTopicTemplate(p) == nil {
				if name := kafkaTopic(out, sep); !validKafkaTopic(name) {
					t.Fatalf("template %q on topic %q gave illegal Kafka topic %q", tpl, topic, name)
				}
			}
			if name := kafkaTopic(out, sep); !validKafkaTopic(name) {
				t.Fatalf("kafkaTopic(%q) = %q is not legal", out, name)
			}
		}
	})
}

// FuzzFilter: parseFilter never panics, and what it accepts follows the
// MQTT rules and can be subscribed in both forms.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{"a/+/c", "#", "$share/g/a/#", "a/#/b", "$share/g", "+a", "a//b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pf, err := parseFilter(s)
		if err != nil {
			return
		}
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) || pf.topic == "" {
			t.Fatalf("accepted %q", s)
		}
		levels := strings.Split(pf.topic, "/")
		for i, l := range levels {
			if (strings.Contains(l, "#") && (l != "#" || i != len(levels)-1)) || (strings.Contains(l, "+") && l != "+") {
				t.Fatalf("accepted %q with a misplaced wildcard", s)
			}
		}
		for _, shared := range []bool{false, true} {
			sub, other := pf.subscription(shared, "grp")
			for _, x := range []string{sub, other} {
				if x == "" {
					continue
				}
				if _, err := parseFilter(x); err != nil {
					t.Fatalf("subscription form %q of %q does not parse: %v", x, s, err)
				}
			}
		}
	})
}

// FuzzMappings: mapping lists either fail to parse or route any topic to a
// legal Kafka topic name.
func FuzzMappings(f *testing.F) {
	f.Add("sensors/([^/]+)/t => iot.$1; (?P<a>.*) => x.${a}", "sensors/d/t")
	f.Add(`a\;b => c`, "a;b")
	f.Add("=>", "x")
	f.Add("(.*)=>${mqtt.topic}.$1\n\n", "a/b")
	f.Fuzz(func(t *testing.T, s, topic string) {
		ms, err := parseMappings(s)
		if err != nil {
			return
		}
		r := &router{mappings: ms, sep: "."}
		r.topic, _ = parseTemplate("fallback", false)
		if name := r.kafkaTopic(topic); !validKafkaTopic(name) {
			t.Fatalf("mappings %q routed %q to illegal %q", s, topic, name)
		}
	})
}
