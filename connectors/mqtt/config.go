package mqtt

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spur-connect/spur/connect"
)

// Config keys. Each exists only here and in spec. Where Confluent's MQTT
// source has a key for the same thing, it has Confluent's name.
const (
	keyServerURI        = "mqtt.server.uri"
	keyUsername         = "mqtt.username"
	keyPassword         = "mqtt.password"
	keyClientID         = "mqtt.client.id"
	keyCleanSession     = "mqtt.clean.session.enabled"
	keySessionExpiry    = "mqtt.session.expiry.interval.seconds"
	keyConnectTimeout   = "mqtt.connect.timeout.seconds"
	keyKeepAlive        = "mqtt.keepalive.interval.seconds"
	keyMaxRetryTime     = "max.retry.time.ms"
	keyBackoff          = "mqtt.reconnect.backoff.ms"
	keyBackoffMax       = "mqtt.reconnect.backoff.max.ms"
	keyTrustStorePath   = "mqtt.ssl.trust.store.path"
	keyTrustStorePass   = "mqtt.ssl.trust.store.password"
	keyKeyStorePath     = "mqtt.ssl.key.store.path"
	keyKeyStorePass     = "mqtt.ssl.key.store.password"
	keyKeyPassword      = "mqtt.ssl.key.password"
	keyTopics           = "mqtt.topics"
	keyQoS              = "mqtt.qos"
	keyShared           = "mqtt.shared.subscription"
	keyShareGroup       = "mqtt.shared.subscription.group"
	keyMaxInflight      = "mqtt.max.inflight.messages"
	keyKafkaTopic       = "kafka.topic"
	keyMappings         = "kafka.topic.mappings"
	keySeparator        = "kafka.topic.level.separator"
	keyRecordKey        = "record.key"
	keyValueFormat      = "record.value.format"
	keyHeaders          = "record.headers.enabled"
	keyQueueSize        = "records.buffer.queue.size"
	keyMaxBatch         = "records.buffer.queue.max.batch.size"
	keyEmptyTimeout     = "records.buffer.queue.empty.timeout"
	keyFullTimeout      = "records.buffer.queue.full.timeout"
	groupConnection     = "Connection"
	groupSecurity       = "Security"
	groupSubscription   = "Subscription"
	groupRecords        = "Records"
	groupBuffer         = "Buffer"
	sharedAuto          = "auto"
	formatBytes         = "bytes"
	formatString        = "string"
	formatJSON          = "json"
	recordKeyTopic      = "topic"
	recordKeyNone       = "none"
	defaultKafkaTopic   = "mqtt"
	neverExpire         = -1
	maxSessionExpiry    = math.MaxUint32
	maxReceiveMaximum   = 65535
	maxKeepAliveSeconds = 65535
)

// Task-only keys written by TaskConfigs. They are not declared in the spec
// because users never set them: TaskConfigs overwrites them.
const (
	keyTaskCount  = "mqtt.task.count"
	keyTaskShared = "mqtt.task.shared"
)

var spec = connect.NewSpec(
	// Connection
	connect.ConfigKey{
		Name: keyServerURI, Type: connect.TypeList, Required: true, Importance: connect.High, Group: groupConnection,
		Doc: "MQTT brokers to connect to, e.g. tcp://broker:1883 or ssl://broker:8883 (also mqtt://, tls://, mqtts://). " +
			"With several, a task connects to the first that answers and moves on to the next one when a connection fails. " +
			"The connector speaks MQTT 5.",
		Validate: validServerURIs,
	},
	connect.ConfigKey{
		Name: keyUsername, Type: connect.TypeString, Importance: connect.High, Group: groupConnection,
		Doc: "User name to connect with; empty connects without one.",
	},
	connect.ConfigKey{
		Name: keyPassword, Type: connect.TypePassword, Importance: connect.High, Group: groupConnection,
		Doc: "Password to connect with; empty connects without one. Never logged.",
	},
	connect.ConfigKey{
		Name: keyClientID, Type: connect.TypeString, Importance: connect.Medium, Group: groupConnection,
		Doc: "Base of the MQTT client ids: task N connects as <base>-N. Empty uses spur-<connector name>, so task 0 of connector iot is spur-iot-0. " +
			"The id names the broker-side session: keep it stable, or messages queued for the old id are stranded.",
		Validate: validClientID,
	},
	connect.ConfigKey{
		Name: keyCleanSession, Type: connect.TypeBoolean, Default: "false", Importance: connect.High, Group: groupConnection,
		Doc: "true starts every connection with a new session that ends when the connection does (MQTT 5 clean start with session expiry 0): " +
			"messages published while a task is disconnected or restarting are lost. " +
			"The default false resumes the task's session, so the broker keeps its subscriptions and queues messages while it is away, and redelivers what was not acknowledged. " +
			"Confluent's connector defaults to true.",
	},
	connect.ConfigKey{
		Name: keySessionExpiry, Type: connect.TypeLong, Default: strconv.Itoa(neverExpire), Importance: connect.Medium, Group: groupConnection,
		Doc: "How long the broker keeps a task's session (and queues its messages) after the connection ends, in seconds; -1 keeps it forever (MQTT 5 session expiry interval 4294967295), as MQTT 3.1.1 persistent sessions do. " +
			"Ignored when mqtt.clean.session.enabled is true. Brokers may cap it.",
		Validate: connect.Between(-1, maxSessionExpiry),
	},
	connect.ConfigKey{
		Name: keyConnectTimeout, Type: connect.TypeInt, Default: "30", Importance: connect.Low, Group: groupConnection,
		Doc:      "Seconds to wait for the TCP and TLS connection, the CONNACK and each SUBACK.",
		Validate: connect.Between(1, 3600),
	},
	connect.ConfigKey{
		Name: keyKeepAlive, Type: connect.TypeInt, Default: "60", Importance: connect.Low, Group: groupConnection,
		Doc:      "MQTT keep alive in seconds: the task pings the broker after this long without traffic and drops the connection when no answer comes within another interval; the broker drops a client silent for 1.5 times this. The broker may override it.",
		Validate: connect.Between(1, maxKeepAliveSeconds),
	},
	connect.ConfigKey{
		Name: keyMaxRetryTime, Type: connect.TypeLong, Default: "-1", Importance: connect.Low, Group: groupConnection,
		Doc: "How long a task may stay disconnected, reconnecting with backoff, before it fails, in milliseconds; -1 never fails and reconnects forever. " +
			"Confluent's connector defaults to 30000. A task whose first connection is refused for good (bad credentials, not authorized, unsupported protocol, untrusted certificate, subscription refused) fails at start whatever this says.",
		Validate: connect.AtLeast(-1),
	},
	connect.ConfigKey{
		Name: keyBackoff, Type: connect.TypeLong, Default: "100", Importance: connect.Low, Group: groupConnection,
		Doc:      "First pause before reconnecting, in milliseconds; it doubles after every failed attempt (with 20% jitter) up to mqtt.reconnect.backoff.max.ms.",
		Validate: connect.Between(1, 3_600_000),
	},
	connect.ConfigKey{
		Name: keyBackoffMax, Type: connect.TypeLong, Default: "10000", Importance: connect.Low, Group: groupConnection,
		Doc:      "Longest pause between reconnection attempts, in milliseconds.",
		Validate: connect.Between(1, 3_600_000),
	},

	// Security
	connect.ConfigKey{
		Name: keyTrustStorePath, Type: connect.TypeString, Importance: connect.High, Group: groupSecurity,
		Doc: "PEM file of the CA certificates that sign the broker's certificate, for ssl:// URIs; empty trusts the system's CAs. " +
			"Confluent's connector takes a Java TrustStore here: convert it to PEM (keytool -exportcert -rfc).",
		Validate: notJavaStore,
	},
	connect.ConfigKey{
		Name: keyTrustStorePass, Type: connect.TypePassword, Importance: connect.Low, Group: groupSecurity,
		Doc: "Accepted for compatibility with Confluent's connector and ignored: a PEM trust store has no password.",
	},
	connect.ConfigKey{
		Name: keyKeyStorePath, Type: connect.TypeString, Importance: connect.High, Group: groupSecurity,
		Doc: "PEM file holding the client certificate (chain) and its private key, for brokers that authenticate clients by certificate; empty sends no certificate. " +
			"Confluent's connector takes a Java KeyStore here: convert it to PEM (openssl pkcs12 -nodes).",
		Validate: notJavaStore,
	},
	connect.ConfigKey{
		Name: keyKeyStorePass, Type: connect.TypePassword, Importance: connect.Low, Group: groupSecurity,
		Doc: "Accepted for compatibility with Confluent's connector and ignored: use mqtt.ssl.key.password for an encrypted PEM key.",
	},
	connect.ConfigKey{
		Name: keyKeyPassword, Type: connect.TypePassword, Importance: connect.Medium, Group: groupSecurity,
		Doc: "Passphrase of the private key in mqtt.ssl.key.store.path, if it is encrypted (legacy PEM encryption, \"Proc-Type: 4,ENCRYPTED\").",
	},

	// Subscription
	connect.ConfigKey{
		Name: keyTopics, Type: connect.TypeList, Required: true, Importance: connect.High, Group: groupSubscription,
		Doc: "MQTT topic filters to subscribe to; wildcards + and # are allowed (sensors/+/temperature, devices/#). " +
			"A filter written as $share/<group>/<filter> is subscribed as it is.",
		Validate: validFilters,
	},
	connect.ConfigKey{
		Name: keyQoS, Type: connect.TypeInt, Default: "1", Importance: connect.High, Group: groupSubscription,
		Doc: "Maximum QoS of the subscriptions. With 1 or 2, a message is acknowledged to the broker (PUBACK, PUBREC) only after Kafka acknowledged its record: at-least-once. " +
			"0 is at-most-once: what a task holds when it dies is lost. Confluent's connector defaults to 0.",
		Validate:    connect.Between(0, 2),
		Recommended: []string{"0", "1", "2"},
	},
	connect.ConfigKey{
		Name: keyShared, Type: connect.TypeString, Default: sharedAuto, Importance: connect.Medium, Group: groupSubscription,
		Doc: "How tasks share the filters. true: every task subscribes to every filter as the shared subscription $share/<group>/<filter>, and the broker gives each message to one task. " +
			"false: the filters are dealt out to the tasks (at most one task per filter), as Confluent's connector does. " +
			"auto: shared subscriptions when tasks.max is above 1, plain ones otherwise.",
		Validate:    connect.OneOf(sharedAuto, "true", "false"),
		Recommended: []string{sharedAuto, "true", "false"},
	},
	connect.ConfigKey{
		Name: keyShareGroup, Type: connect.TypeString, Importance: connect.Low, Group: groupSubscription,
		Doc: "Share group of the shared subscriptions; empty uses the connector name ('/', '+' and '#' replaced by '_').",
		Validate: func(v any) error {
			if s := v.(string); s != "" {
				return checkShareGroup(s)
			}
			return nil
		},
	},
	connect.ConfigKey{
		Name: keyMaxInflight, Type: connect.TypeInt, Default: "1000", Importance: connect.Medium, Group: groupSubscription,
		Doc: "Most QoS 1 and 2 messages a task holds without having acknowledged them (received, in Kafka's hands, not yet acknowledged by Kafka), sent to the broker as the MQTT 5 Receive Maximum: " +
			"the broker sends no more until acknowledgements come back, which is the connector's backpressure. Brokers may impose a lower limit of their own.",
		Validate: connect.Between(1, maxReceiveMaximum),
	},

	// Records
	connect.ConfigKey{
		Name: keyKafkaTopic, Type: connect.TypeString, Default: defaultKafkaTopic, Importance: connect.High, Group: groupRecords,
		Doc: "Kafka topic of the records: a name, or a template such as iot.${mqtt.topic} or telemetry.${mqtt.topic.level.1}. " +
			"In the result '/' becomes kafka.topic.level.separator and characters Kafka does not allow become '_'. Used for MQTT topics no kafka.topic.mappings entry matches.",
		Validate: validTopicTemplate,
	},
	connect.ConfigKey{
		Name: keyMappings, Type: connect.TypeString, Importance: connect.Medium, Group: groupRecords,
		Doc: "Regex routes, tried in order before kafka.topic: entries REGEX => TEMPLATE separated by ';' or newlines, e.g. " +
			"sensors/([^/]+)/temperature => iot.temperature; sensors/(?P<dev>[^/]+)/.* => iot.other.${dev}. " +
			"A regex must match the whole MQTT topic; the template may use $1, ${1}, ${name} besides kafka.topic's variables. Write a ';' inside a regex as \\;.",
		Validate: func(v any) error { _, err := parseMappings(v.(string)); return err },
	},
	connect.ConfigKey{
		Name: keySeparator, Type: connect.TypeString, Default: ".", Importance: connect.Low, Group: groupRecords,
		Doc:      "What a '/' of an MQTT topic becomes in a Kafka topic name made by a template.",
		Validate: validSeparator,
	},
	connect.ConfigKey{
		Name: keyRecordKey, Type: connect.TypeString, Default: recordKeyTopic, Importance: connect.Medium, Group: groupRecords,
		Doc: "Record key, a string: topic (the MQTT topic, as Confluent's connector), none (null key: records are spread over partitions), " +
			"or a template such as ${mqtt.topic.level.1} (e.g. the device id, so one device's messages stay in order in one partition).",
		Validate: validRecordKey,
	},
	connect.ConfigKey{
		Name: keyValueFormat, Type: connect.TypeString, Default: formatBytes, Importance: connect.Medium, Group: groupRecords,
		Doc: "How the payload is handed to the value converter: bytes (as Confluent's connector: use the ByteArrayConverter), string (UTF-8 text), " +
			"or json (a payload that is valid JSON is JSON, so the JsonConverter writes it as it is and transforms can read its fields; any other payload falls back to string if it is UTF-8, else bytes).",
		Validate:    connect.OneOf(formatBytes, formatString, formatJSON),
		Recommended: []string{formatBytes, formatString, formatJSON},
	},
	connect.ConfigKey{
		Name: keyHeaders, Type: connect.TypeBoolean, Default: "true", Importance: connect.Low, Group: groupRecords,
		Doc: "Add the headers mqtt.topic, mqtt.qos, mqtt.retained, mqtt.message.id and mqtt.duplicate to every record, " +
			"plus mqtt.content.type and mqtt.user.<name> for the MQTT 5 content type and user properties of messages that have them.",
	},

	// Buffer
	connect.ConfigKey{
		Name: keyQueueSize, Type: connect.TypeInt, Default: "10000", Importance: connect.Low, Group: groupBuffer,
		Doc: "Most messages a task buffers between receiving and polling. QoS 1 and 2 messages never exceed mqtt.max.inflight.messages anyway; " +
			"the bound matters for QoS 0 messages, which wait up to records.buffer.queue.full.timeout for room and are then dropped. Confluent's default is 50000.",
		Validate: connect.Between(1, 10_000_000),
	},
	connect.ConfigKey{
		Name: keyMaxBatch, Type: connect.TypeInt, Default: "4096", Importance: connect.Low, Group: groupBuffer,
		Doc:      "Most records one poll returns.",
		Validate: connect.Between(1, 1_000_000),
	},
	connect.ConfigKey{
		Name: keyEmptyTimeout, Type: connect.TypeLong, Default: "100", Importance: connect.Low, Group: groupBuffer,
		Doc:      "How long a poll waits for a message when the buffer is empty, in milliseconds, before it returns nothing.",
		Validate: connect.Between(0, 3_600_000),
	},
	connect.ConfigKey{
		Name: keyFullTimeout, Type: connect.TypeLong, Default: "60000", Importance: connect.Low, Group: groupBuffer,
		Doc: "How long a QoS 0 message waits for room in a full buffer before it is dropped (and counted in a warning), in milliseconds. " +
			"QoS 1 and 2 messages are never dropped: the broker holds them back instead.",
		Validate: connect.Between(0, 3_600_000),
	},
)

// Spec returns the connector's config keys.
func Spec() *connect.ConfigSpec { return spec }

// server is one parsed entry of mqtt.server.uri.
type server struct {
	uri  string
	addr string // host:port
	host string
	tls  bool
}

func parseServerURI(s string) (server, error) {
	u, err := url.Parse(s)
	if err != nil {
		return server{}, fmt.Errorf("%q is not a URI: %w", s, err)
	}
	sv := server{uri: s, host: u.Hostname()}
	port := "1883"
	switch strings.ToLower(u.Scheme) {
	case "tcp", "mqtt":
	case "ssl", "tls", "mqtts":
		sv.tls, port = true, "8883"
	case "ws", "wss":
		return sv, fmt.Errorf("%q: MQTT over WebSocket is not supported; use the broker's tcp:// or ssl:// listener", s)
	case "":
		return sv, fmt.Errorf("%q has no scheme: write tcp://host:1883 or ssl://host:8883", s)
	default:
		return sv, fmt.Errorf("%q: unsupported scheme %q (use tcp, mqtt, ssl, tls or mqtts)", s, u.Scheme)
	}
	if sv.host == "" {
		return sv, fmt.Errorf("%q has no host", s)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return sv, fmt.Errorf("%q: only scheme://host:port is allowed (credentials go in mqtt.username and mqtt.password)", s)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return sv, fmt.Errorf("%q: bad port %q", s, p)
		}
		port = p
	}
	sv.addr = net.JoinHostPort(sv.host, port)
	return sv, nil
}

func validServerURIs(v any) error {
	uris := v.([]string)
	if len(uris) == 0 {
		return errors.New("at least one broker URI is needed, e.g. tcp://broker:1883")
	}
	for _, s := range uris {
		if _, err := parseServerURI(s); err != nil {
			return err
		}
	}
	return nil
}

func validFilters(v any) error {
	fs := v.([]string)
	if len(fs) == 0 {
		return errors.New("at least one topic filter is needed")
	}
	seen := map[string]bool{}
	for _, s := range fs {
		if _, err := parseFilter(s); err != nil {
			return err
		}
		if seen[s] {
			return fmt.Errorf("topic filter %q is listed twice", s)
		}
		seen[s] = true
	}
	return nil
}

func validClientID(v any) error {
	s := v.(string)
	if strings.ContainsRune(s, 0) || len(s) > 1000 {
		return errors.New("must be at most 1000 bytes without U+0000")
	}
	return nil
}

func validTopicTemplate(v any) error {
	t, err := parseTemplate(v.(string), false)
	if err != nil {
		return err
	}
	return checkTopicTemplate(t)
}

func validSeparator(v any) error {
	s := v.(string)
	for i := 0; i < len(s); i++ {
		if !legalTopicByte(s[i]) {
			return errors.New("may only contain ASCII letters, digits, '.', '_' and '-'")
		}
	}
	if len(s) > 8 {
		return errors.New("at most 8 characters")
	}
	return nil
}

func validRecordKey(v any) error {
	switch s := v.(string); s {
	case recordKeyTopic, recordKeyNone:
		return nil
	default:
		_, err := parseTemplate(s, false)
		return err
	}
}

// notJavaStore rejects Java key stores, by name, with advice; the file
// itself is only read when a task starts (it lives on the workers).
func notJavaStore(v any) error {
	s := strings.ToLower(v.(string))
	if strings.HasSuffix(s, ".jks") || strings.HasSuffix(s, ".p12") || strings.HasSuffix(s, ".pfx") || strings.HasSuffix(s, ".keystore") || strings.HasSuffix(s, ".truststore") {
		return errors.New("Java KeyStore and PKCS#12 files are not supported: give a PEM file (keytool -exportcert -rfc, or openssl pkcs12 -nodes)")
	}
	return nil
}

// settings is a task's parsed configuration.
type settings struct {
	servers        []server
	username       string
	password       string
	clientID       string
	clean          bool
	sessionExpiry  uint32
	connectTimeout time.Duration
	keepAlive      uint16
	maxRetry       time.Duration // < 0: forever
	backoff        time.Duration
	backoffMax     time.Duration

	trustStore string
	keyStore   string
	keyPass    string

	filters     []filter // all configured filters
	qos         byte
	shared      bool
	shareGroup  string
	maxInflight uint16
	subscribe   []string // what this task subscribes to
	unsubscribe []string // the other forms, and filters of other tasks

	router      *router
	valueFormat string
	headers     bool

	queueSize    int
	maxBatch     int
	emptyTimeout time.Duration
	fullTimeout  time.Duration
}

// newSettings reads a validated config for task `task` of connector `name`.
func newSettings(cfg connect.Config, name string, task int) (*settings, error) {
	s := &settings{
		username:       cfg.String(keyUsername),
		password:       cfg.String(keyPassword),
		clean:          cfg.Bool(keyCleanSession),
		connectTimeout: time.Duration(cfg.Int(keyConnectTimeout)) * time.Second,
		keepAlive:      uint16(cfg.Int(keyKeepAlive)),
		maxRetry:       cfg.Millis(keyMaxRetryTime),
		backoff:        cfg.Millis(keyBackoff),
		backoffMax:     cfg.Millis(keyBackoffMax),
		trustStore:     cfg.String(keyTrustStorePath),
		keyStore:       cfg.String(keyKeyStorePath),
		keyPass:        cfg.String(keyKeyPassword),
		qos:            byte(cfg.Int(keyQoS)),
		maxInflight:    uint16(cfg.Int(keyMaxInflight)),
		valueFormat:    strings.ToLower(cfg.String(keyValueFormat)),
		headers:        cfg.Bool(keyHeaders),
		queueSize:      int(cfg.Int(keyQueueSize)),
		maxBatch:       int(cfg.Int(keyMaxBatch)),
		emptyTimeout:   cfg.Millis(keyEmptyTimeout),
		fullTimeout:    cfg.Millis(keyFullTimeout),
	}
	if s.backoffMax < s.backoff {
		s.backoffMax = s.backoff
	}
	switch e := cfg.Int(keySessionExpiry); {
	case s.clean:
		s.sessionExpiry = 0
	case e < 0:
		s.sessionExpiry = maxSessionExpiry
	default:
		s.sessionExpiry = uint32(e)
	}
	for _, u := range cfg.List(keyServerURI) {
		sv, err := parseServerURI(u)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", keyServerURI, err)
		}
		s.servers = append(s.servers, sv)
	}
	if len(s.servers) == 0 {
		return nil, fmt.Errorf("%s: no broker URI", keyServerURI)
	}
	base := cfg.String(keyClientID)
	if base == "" {
		base = "spur-" + name
	}
	s.clientID = base + "-" + strconv.Itoa(task)

	for _, f := range cfg.List(keyTopics) {
		pf, err := parseFilter(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", keyTopics, err)
		}
		s.filters = append(s.filters, pf)
	}
	if len(s.filters) == 0 {
		return nil, fmt.Errorf("%s: no topic filter", keyTopics)
	}
	s.shareGroup = cfg.String(keyShareGroup)
	if s.shareGroup == "" {
		s.shareGroup = shareGroupFor(name)
	}
	count, shared, err := taskLayout(cfg)
	if err != nil {
		return nil, err
	}
	if task < 0 || task >= count {
		return nil, fmt.Errorf("task %d of %d: the task config was not made by this connector", task, count)
	}
	s.shared = shared
	for i, f := range s.filters {
		sub, other := f.subscription(shared, s.shareGroup)
		mine := shared || i%count == task
		if mine {
			s.subscribe = append(s.subscribe, sub)
		} else {
			s.unsubscribe = append(s.unsubscribe, sub)
		}
		if other != "" {
			s.unsubscribe = append(s.unsubscribe, other)
		}
	}

	r, err := newRouter(cfg)
	if err != nil {
		return nil, err
	}
	s.router = r
	return s, nil
}

// taskLayout reads what TaskConfigs decided: the number of tasks and whether
// they share subscriptions. A config that did not go through TaskConfigs
// (a single task started directly) is one task.
func taskLayout(cfg connect.Config) (count int, shared bool, err error) {
	raw := cfg.Raw()
	count = 1
	if s, ok := raw[keyTaskCount]; ok {
		if count, err = strconv.Atoi(s); err != nil || count < 1 {
			return 0, false, fmt.Errorf("%s: %q is not a positive integer", keyTaskCount, s)
		}
	}
	mode := strings.ToLower(cfg.String(keyShared))
	shared = mode == "true" || (mode == sharedAuto && count > 1)
	if s, ok := raw[keyTaskShared]; ok {
		if shared, err = strconv.ParseBool(s); err != nil {
			return 0, false, fmt.Errorf("%s: %q is not a boolean", keyTaskShared, s)
		}
	}
	return count, shared, nil
}

func newRouter(cfg connect.Config) (*router, error) {
	r := &router{sep: cfg.String(keySeparator)}
	var err error
	if r.topic, err = parseTemplate(cfg.String(keyKafkaTopic), false); err != nil {
		return nil, fmt.Errorf("%s: %w", keyKafkaTopic, err)
	}
	if r.mappings, err = parseMappings(cfg.String(keyMappings)); err != nil {
		return nil, fmt.Errorf("%s: %w", keyMappings, err)
	}
	switch k := cfg.String(keyRecordKey); k {
	case recordKeyTopic:
		r.key = keyTopic
	case recordKeyNone:
		r.key = keyNone
	default:
		r.key = keyTemplate
		if r.keyTpl, err = parseTemplate(k, false); err != nil {
			return nil, fmt.Errorf("%s: %w", keyRecordKey, err)
		}
	}
	return r, nil
}
