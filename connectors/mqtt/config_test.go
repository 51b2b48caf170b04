package mqtt

import (
	"maps"
	"strings"
	"testing"

	"github.com/spur-connect/spur/connect"
)

// validate runs what the runtime runs on a connector config: the spec's
// per-key validators, then Connector.Validate for the cross-key rules.
func validate(raw map[string]string) []connect.KeyError {
	c, errs := Spec().Parse(raw)
	if len(errs) > 0 {
		return errs
	}
	return connector{}.Validate(c)
}

// base is the smallest valid config plus the given key/value pairs.
func base(kv ...string) map[string]string {
	m := map[string]string{keyServerURI: "tcp://localhost:1883", keyTopics: "sensors/#"}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestBadConfigNamesTheKey(t *testing.T) {
	cases := []struct {
		name string
		raw  map[string]string
		key  string
		msg  string
	}{
		{"no server uri", map[string]string{keyTopics: "a"}, keyServerURI, "Missing required"},
		{"empty server uri", base(keyServerURI, " "), keyServerURI, "at least one broker"},
		{"no scheme", base(keyServerURI, "localhost:1883"), keyServerURI, "scheme"},
		{"websocket", base(keyServerURI, "ws://broker:8080"), keyServerURI, "WebSocket"},
		{"unknown scheme", base(keyServerURI, "http://broker"), keyServerURI, "unsupported scheme"},
		{"bad port", base(keyServerURI, "tcp://broker:99999"), keyServerURI, "port"},
		{"credentials in uri", base(keyServerURI, "tcp://u:p@broker:1883"), keyServerURI, "mqtt.username"},
		{"no topics", map[string]string{keyServerURI: "tcp://b:1883"}, keyTopics, "Missing required"},
		{"hash not last", base(keyTopics, "a/#/b"), keyTopics, "'#'"},
		{"hash inside level", base(keyTopics, "a/b#"), keyTopics, "'#'"},
		{"plus inside level", base(keyTopics, "a/b+/c"), keyTopics, "'+'"},
		{"share without filter", base(keyTopics, "$share/g"), keyTopics, "$share/<group>/<filter>"},
		{"share with empty group", base(keyTopics, "$share//a"), keyTopics, "group"},
		{"share with wildcard group", base(keyTopics, "$share/g+/a"), keyTopics, "group"},
		{"share with bad filter", base(keyTopics, "$share/g/a/#/b"), keyTopics, "'#'"},
		{"topic listed twice", base(keyTopics, "a,b,a"), keyTopics, "twice"},
		{"qos 3", base(keyQoS, "3"), keyQoS, "between 0 and 2"},
		{"qos -1", base(keyQoS, "-1"), keyQoS, "between 0 and 2"},
		{"qos not a number", base(keyQoS, "one"), keyQoS, "integer"},
		{"shared mode", base(keyShared, "maybe"), keyShared, "must be one of"},
		{"share group", base(keyShareGroup, "a/b"), keyShareGroup, "must not contain"},
		{"inflight 0", base(keyMaxInflight, "0"), keyMaxInflight, "between 1 and 65535"},
		{"inflight too big", base(keyMaxInflight, "70000"), keyMaxInflight, "between 1 and 65535"},
		{"keepalive 0", base(keyKeepAlive, "0"), keyKeepAlive, "between"},
		{"session expiry", base(keySessionExpiry, "-2"), keySessionExpiry, "between"},
		{"kafka topic illegal char", base(keyKafkaTopic, "my topic"), keyKafkaTopic, "may only contain"},
		{"kafka topic unknown var", base(keyKafkaTopic, "iot.${mqtt.topik}"), keyKafkaTopic, "unknown variable"},
		{"kafka topic group ref", base(keyKafkaTopic, "iot.$1"), keyKafkaTopic, "only exists in kafka.topic.mappings"},
		{"kafka topic lone dollar", base(keyKafkaTopic, "iot$"), keyKafkaTopic, "lone"},
		{"kafka topic unclosed", base(keyKafkaTopic, "iot.${mqtt.topic"), keyKafkaTopic, "unclosed"},
		{"kafka topic dot", base(keyKafkaTopic, ".."), keyKafkaTopic, "legal"},
		{"mapping without arrow", base(keyMappings, "a/b iot"), keyMappings, "REGEX => TEMPLATE"},
		{"mapping bad regex", base(keyMappings, "a/(b => iot"), keyMappings, "regex"},
		{"mapping missing group", base(keyMappings, "a/(b) => iot.$2"), keyMappings, "capture groups"},
		{"mapping missing named group", base(keyMappings, "a/(?P<dev>b) => iot.${device}"), keyMappings, "no capture group named"},
		{"mapping illegal topic", base(keyMappings, "a/b => iot topic"), keyMappings, "may only contain"},
		{"separator", base(keySeparator, "/"), keySeparator, "may only contain"},
		{"record key", base(keyRecordKey, "${nope}"), keyRecordKey, "unknown variable"},
		{"value format", base(keyValueFormat, "avro"), keyValueFormat, "must be one of"},
		{"jks trust store", base(keyServerURI, "ssl://b:8883", keyTrustStorePath, "/etc/kafka/truststore.jks"), keyTrustStorePath, "PEM"},
		{"tls files without tls", base(keyTrustStorePath, "/etc/ca.pem"), keyTrustStorePath, "no mqtt.server.uri entry uses TLS"},
		{"backoff max below backoff", base(keyBackoff, "5000", keyBackoffMax, "100"), keyBackoffMax, "must not be below"},
		{"queue size 0", base(keyQueueSize, "0"), keyQueueSize, "between"},
		{"batch size 0", base(keyMaxBatch, "0"), keyMaxBatch, "between"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			errs := validate(c.raw)
			for _, e := range errs {
				if e.Key == c.key && strings.Contains(e.Error(), c.msg) {
					return
				}
			}
			t.Fatalf("errors %v lack one for key %s containing %q", errs, c.key, c.msg)
		})
	}
}

func TestPasswordNotInErrors(t *testing.T) {
	_, errs := Spec().Parse(base(keyPassword, "s3cret", keyQoS, "9"))
	if len(errs) == 0 {
		t.Fatal("bad qos accepted")
	}
	if strings.Contains(errs.Error(), "s3cret") {
		t.Fatalf("password in errors: %v", errs)
	}
	if got := Spec().Redacted(base(keyPassword, "s3cret"))[keyPassword]; got != connect.Hidden {
		t.Fatalf("password not redacted: %q", got)
	}
}

func TestGoodConfigs(t *testing.T) {
	for _, raw := range []map[string]string{
		base(),
		base(keyServerURI, "tcp://a:1883, ssl://b, mqtts://[::1]:8883", keyTopics, "a/+/c,#,$share/g/x/#"),
		base(keyKafkaTopic, "iot.${mqtt.topic}", keyRecordKey, "${mqtt.topic.level.1}", keyValueFormat, "json"),
		base(keyMappings, "sensors/([^/]+)/temp => iot.temp.$1; sensors/(?P<dev>[^/]+)/.* => iot.${dev}\n a\\;b => x", keyRecordKey, "none"),
		base(keyQoS, "2", keyShared, "false", keyCleanSession, "true", keySessionExpiry, "3600"),
	} {
		if errs := validate(raw); len(errs) > 0 {
			t.Errorf("%v: %v", raw, errs)
		}
	}
}

func TestConfluentConfigRuns(t *testing.T) {
	// The example of Confluent's docs, with its keys.
	raw := map[string]string{
		"mqtt.server.uri": "tcp://mosquitto:1883", "mqtt.topics": "temperature,humidity", "kafka.topic": "mqtt.sensors",
		"mqtt.qos": "1", "mqtt.clean.session.enabled": "false", "mqtt.connect.timeout.seconds": "30",
		"mqtt.keepalive.interval.seconds": "60", "mqtt.username": "u", "mqtt.password": "p",
		"records.buffer.queue.size": "50000", "records.buffer.queue.max.batch.size": "4096",
		"records.buffer.queue.empty.timeout": "100", "records.buffer.queue.full.timeout": "60000", "max.retry.time.ms": "30000",
	}
	if errs := validate(raw); len(errs) > 0 {
		t.Fatal(errs)
	}
	if unknown := Spec().Unknown(raw); len(unknown) > 0 {
		t.Fatalf("Confluent keys not declared: %v", unknown)
	}
}

func settingsFor(t testing.TB, raw map[string]string, name string, task int) *settings {
	t.Helper()
	c, errs := Spec().Parse(raw)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	s, err := newSettings(c, name, task)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTaskConfigsAndSubscriptions(t *testing.T) {
	raw := base(keyTopics, "a/#,b/+,$share/mine/c", "name", "iot")
	layouts := func(maxTasks int, extra ...string) []*settings {
		r := maps.Clone(raw)
		for i := 0; i+1 < len(extra); i += 2 {
			r[extra[i]] = extra[i+1]
		}
		c, errs := Spec().Parse(r)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		tcs, err := connector{}.TaskConfigs(c, maxTasks)
		if err != nil {
			t.Fatal(err)
		}
		var out []*settings
		for i, tc := range tcs {
			out = append(out, settingsFor(t, tc, "iot/main", i))
		}
		return out
	}

	one := layouts(1)
	if len(one) != 1 || one[0].shared || strings.Join(one[0].subscribe, " ") != "a/# b/+ $share/mine/c" {
		t.Fatalf("one task: %+v", one[0])
	}
	if got := strings.Join(one[0].unsubscribe, " "); got != "$share/iot_main/a/# $share/iot_main/b/+" {
		t.Fatalf("one task unsubscribes %q", got)
	}
	if one[0].clientID != "spur-iot/main-0" {
		t.Fatalf("client id %q", one[0].clientID)
	}

	three := layouts(3)
	if len(three) != 3 {
		t.Fatalf("%d tasks", len(three))
	}
	for i, s := range three {
		if !s.shared || strings.Join(s.subscribe, " ") != "$share/iot_main/a/# $share/iot_main/b/+ $share/mine/c" {
			t.Fatalf("shared task %d subscribes %v", i, s.subscribe)
		}
		if strings.Join(s.unsubscribe, " ") != "a/# b/+" {
			t.Fatalf("shared task %d unsubscribes %v", i, s.unsubscribe)
		}
	}

	split := layouts(5, keyShared, "false", keyClientID, "plant7", keyShareGroup, "grp")
	if len(split) != 3 {
		t.Fatalf("split mode made %d tasks for 3 filters", len(split))
	}
	want := []string{"a/#", "b/+", "$share/mine/c"}
	for i, s := range split {
		if s.shared || len(s.subscribe) != 1 || s.subscribe[0] != want[i] {
			t.Fatalf("split task %d subscribes %v", i, s.subscribe)
		}
		if s.clientID != "plant7-"+string(rune('0'+i)) {
			t.Fatalf("split task %d client id %q", i, s.clientID)
		}
		for _, u := range s.unsubscribe {
			if u == want[i] {
				t.Fatalf("split task %d unsubscribes its own filter", i)
			}
		}
	}
	if !contains(split[0].unsubscribe, "b/+") || !contains(split[0].unsubscribe, "$share/grp/a/#") {
		t.Fatalf("split task 0 does not unsubscribe other tasks' filters and its shared form: %v", split[0].unsubscribe)
	}
}

func TestSessionSettings(t *testing.T) {
	s := settingsFor(t, base(), "c", 0)
	if s.clean || s.sessionExpiry != maxSessionExpiry || s.qos != 1 || s.maxInflight != 1000 {
		t.Fatalf("defaults: clean %v expiry %d qos %d inflight %d", s.clean, s.sessionExpiry, s.qos, s.maxInflight)
	}
	s = settingsFor(t, base(keyCleanSession, "true", keySessionExpiry, "3600"), "c", 0)
	if !s.clean || s.sessionExpiry != 0 {
		t.Fatalf("clean session keeps expiry %d", s.sessionExpiry)
	}
	s = settingsFor(t, base(keySessionExpiry, "3600"), "c", 0)
	if s.sessionExpiry != 3600 {
		t.Fatalf("expiry %d", s.sessionExpiry)
	}
}
