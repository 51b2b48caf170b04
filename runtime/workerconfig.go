package runtime

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/spur-connect/spur/connect"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Version is Spur's version, reported by GET / and the plugin list.
var Version = "0.1.0-dev"

// WorkerSpec declares every worker config key. Names follow Kafka Connect's
// worker config where one exists, so an existing connect-distributed
// properties file reads the same.
var WorkerSpec = connect.NewSpec(
	connect.ConfigKey{Name: "bootstrap.servers", Type: connect.TypeList, Importance: connect.High, Group: "Kafka",
		Doc: "Kafka brokers. Empty: start the embedded broker and join it as a cluster of one."},
	connect.ConfigKey{Name: "group.id", Default: "spur-cluster", Importance: connect.High, Group: "Cluster", Validate: connect.NonEmpty,
		Doc: "The worker group; workers with the same group.id form one cluster."},
	connect.ConfigKey{Name: "config.storage.topic", Default: "spur-configs", Importance: connect.High, Group: "Cluster", Validate: connect.NonEmpty,
		Doc: "Compacted topic (1 partition) holding connector and task configs."},
	connect.ConfigKey{Name: "offset.storage.topic", Default: "spur-offsets", Importance: connect.High, Group: "Cluster", Validate: connect.NonEmpty,
		Doc: "Compacted topic holding source connector offsets."},
	connect.ConfigKey{Name: "status.storage.topic", Default: "spur-status", Importance: connect.High, Group: "Cluster", Validate: connect.NonEmpty,
		Doc: "Compacted topic holding connector and task statuses."},
	connect.ConfigKey{Name: "config.storage.replication.factor", Type: connect.TypeShort, Default: "-1", Group: "Cluster",
		Doc: "Replication factor of the config topic when Spur creates it; -1 uses the broker default."},
	connect.ConfigKey{Name: "offset.storage.replication.factor", Type: connect.TypeShort, Default: "-1", Group: "Cluster",
		Doc: "Replication factor of the offsets topic when Spur creates it; -1 uses the broker default."},
	connect.ConfigKey{Name: "status.storage.replication.factor", Type: connect.TypeShort, Default: "-1", Group: "Cluster",
		Doc: "Replication factor of the status topic when Spur creates it; -1 uses the broker default."},
	connect.ConfigKey{Name: "offset.storage.partitions", Type: connect.TypeInt, Default: "25", Group: "Cluster", Validate: connect.AtLeast(1),
		Doc: "Partitions of the offsets topic when Spur creates it."},
	connect.ConfigKey{Name: "status.storage.partitions", Type: connect.TypeInt, Default: "5", Group: "Cluster", Validate: connect.AtLeast(1),
		Doc: "Partitions of the status topic when Spur creates it."},
	connect.ConfigKey{Name: "session.timeout.ms", Type: connect.TypeInt, Default: "10000", Group: "Cluster", Validate: connect.AtLeast(1000),
		Doc: "A worker that misses heartbeats this long leaves the group and its work moves."},
	connect.ConfigKey{Name: "heartbeat.interval.ms", Type: connect.TypeInt, Default: "3000", Group: "Cluster", Validate: connect.AtLeast(100),
		Doc: "Interval between group heartbeats."},
	connect.ConfigKey{Name: "rebalance.timeout.ms", Type: connect.TypeInt, Default: "60000", Group: "Cluster", Validate: connect.AtLeast(1000),
		Doc: "How long the group waits for members to rejoin during a rebalance. Sink tasks' consumers use it too: a sink task that holds a poll (a Put) longer than this during a rebalance loses its partitions, and a consumer that died mid-rebalance holds its group's rebalance at most this long."},
	connect.ConfigKey{Name: "scheduled.rebalance.max.delay.ms", Type: connect.TypeInt, Default: "5000", Group: "Cluster", Validate: connect.AtLeast(0),
		Doc: "How long the work of a worker that vanished stays unassigned, waiting for it to come back, before it moves. " +
			"Kafka Connect's default is 300000; Spur's is short. Work of a worker that stopped cleanly moves at once."},
	connect.ConfigKey{Name: "offset.flush.interval.ms", Type: connect.TypeInt, Default: "5000", Group: "Tasks", Validate: connect.AtLeast(1),
		Doc: "How often sink tasks flush and commit offsets and source tasks write their offsets. Bounds the duplicates after a crash."},
	connect.ConfigKey{Name: "offset.flush.timeout.ms", Type: connect.TypeInt, Default: "5000", Group: "Tasks", Validate: connect.AtLeast(1),
		Doc: "Upper bound of one offset commit."},
	connect.ConfigKey{Name: "task.shutdown.graceful.timeout.ms", Type: connect.TypeInt, Default: "10000", Group: "Tasks", Validate: connect.AtLeast(0),
		Doc: "How long stopping tasks may take (flush and commit) before the worker gives up on them."},
	connect.ConfigKey{Name: "topic.tracking.enable", Type: connect.TypeBoolean, Default: "true", Group: "Tasks",
		Doc: "Record the topics each connector's tasks use (KIP-558) in the status topic, listed by GET /connectors/{name}/topics. When false nothing is recorded and the topics endpoints answer 403."},
	connect.ConfigKey{Name: "topic.tracking.allow.reset", Type: connect.TypeBoolean, Default: "true", Group: "Tasks",
		Doc: "Allow PUT /connectors/{name}/topics/reset; when false it answers 403."},
	connect.ConfigKey{Name: "key.converter", Default: StringConverterClass, Importance: connect.High, Group: "Converters",
		Doc: "Default key converter for connectors that set none."},
	connect.ConfigKey{Name: "value.converter", Default: JSONConverterClass, Importance: connect.High, Group: "Converters",
		Doc: "Default value converter for connectors that set none. With the default, value.converter.schemas.enable defaults to false (plain JSON)."},
	connect.ConfigKey{Name: "header.converter", Default: SimpleHeaderConverterClass, Group: "Converters",
		Doc: "Default header converter."},
	connect.ConfigKey{Name: "listeners", Type: connect.TypeList, Default: "http://:8083", Importance: connect.High, Group: "REST",
		Doc: "REST listener URL (the first one is used)."},
	connect.ConfigKey{Name: "rest.advertised.host.name", Group: "REST",
		Doc: "Host name other workers use to reach this one; default: the listener host, or the machine's host name."},
	connect.ConfigKey{Name: "rest.advertised.port", Type: connect.TypeInt, Group: "REST",
		Doc: "Port other workers use to reach this one; default: the listener port."},
	connect.ConfigKey{Name: "rest.advertised.listener", Default: "http", Group: "REST", Validate: connect.OneOf("http", "https"),
		Doc: "Scheme of the advertised URL."},
	connect.ConfigKey{Name: "embedded.broker.address", Default: "127.0.0.1:9092", Group: "Embedded broker",
		Doc: "Where the embedded broker listens when bootstrap.servers is empty."},
	connect.ConfigKey{Name: "data.dir", Default: "./spur-data", Group: "Embedded broker",
		Doc: "Directory of the embedded broker's data (also set with --data-dir)."},
	connect.ConfigKey{Name: "security.protocol", Default: "PLAINTEXT", Group: "Kafka", Validate: connect.OneOf("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"),
		Doc: "How to talk to the brokers."},
	connect.ConfigKey{Name: "sasl.mechanism", Default: "PLAIN", Group: "Kafka", Validate: connect.OneOf("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"),
		Doc: "SASL mechanism."},
	connect.ConfigKey{Name: "sasl.jaas.config", Type: connect.TypePassword, Group: "Kafka",
		Doc: `Java-style JAAS line; Spur reads username="..." and password="..." from it.`},
	connect.ConfigKey{Name: "sasl.username", Group: "Kafka", Doc: "SASL user (alternative to sasl.jaas.config)."},
	connect.ConfigKey{Name: "sasl.password", Type: connect.TypePassword, Group: "Kafka", Doc: "SASL password (alternative to sasl.jaas.config)."},
	connect.ConfigKey{Name: "ssl.truststore.location", Group: "Kafka",
		Doc: "PEM file of CA certificates to trust (JKS and PKCS12 stores are not supported)."},
	connect.ConfigKey{Name: "ssl.keystore.location", Group: "Kafka",
		Doc: "PEM file holding the client certificate chain and its private key, for mutual TLS."},
	connect.ConfigKey{Name: "ssl.endpoint.identification.algorithm", Default: "https", Group: "Kafka",
		Doc: `"https" verifies the broker host name; empty disables the check.`},
	connect.ConfigKey{Name: "log.level", Default: "INFO", Group: "Logging", Validate: connect.OneOf("DEBUG", "INFO", "WARN", "ERROR"),
		Doc: "Minimum log level."},
	connect.ConfigKey{Name: "log.format", Default: "text", Group: "Logging", Validate: connect.OneOf("text", "json"),
		Doc: "Log format."},
	connect.ConfigKey{Name: "memory.limit.bytes", Type: connect.TypeLong, Default: "0", Group: "Process", Validate: validMemoryLimit,
		Doc: "Memory budget of the worker process, like a JVM's -Xmx: the Go runtime's soft memory limit (GOMEMLIMIT), and the garbage collector lets the heap grow towards it (GOGC=400 unless GOGC is set) instead of collecting whenever the heap doubles. 0: 90% of the memory limit of the container (cgroup) the worker runs in, if it has one, else Go's defaults. -1: Go's defaults (GOGC=100, GOMEMLIMIT if set)."},
).With(ConsumerSpec.Prefixed("consumer.", "Sink Consumers"))

// MinMemoryLimit is the smallest memory.limit.bytes: below it the garbage
// collector would run almost all the time.
const MinMemoryLimit = 32 << 20

func validMemoryLimit(v any) error {
	if n, _ := v.(int64); n != 0 && n != -1 && n < MinMemoryLimit {
		return fmt.Errorf("must be 0 (from the container's limit), -1 (no limit) or at least %d (32 MiB)", MinMemoryLimit)
	}
	return nil
}

// workerPrefixes are key prefixes a worker config may hold beyond the spec.
var workerPrefixes = []string{"key.converter.", "value.converter.", "header.converter.", "producer.", "consumer.", "admin.",
	"config.providers", "plugin.", "access.control.", "rest.", "listeners.https.", "connector.client.config.override.policy"}

// WorkerConfig is a parsed worker config.
type WorkerConfig struct {
	connect.Config
	Bootstrap                                                    []string
	AdvertisedURL                                                string
	ListenAddr                                                   string
	SessionTimeout, HeartbeatInterval, RebalanceTimeout          time.Duration
	RebalanceDelay, FlushInterval, FlushTimeout, ShutdownTimeout time.Duration
	// ClientOpts carries bootstrap, SASL and TLS settings to every Kafka client.
	ClientOpts []kgo.Opt
}

// ParseWorkerConfig validates a worker config map. Unknown keys are
// returned as warnings.
func ParseWorkerConfig(raw map[string]string) (*WorkerConfig, []string, error) {
	c, errs := WorkerSpec.Parse(raw)
	if len(errs) > 0 {
		return nil, nil, errs
	}
	w := &WorkerConfig{
		Config:            c,
		Bootstrap:         c.List("bootstrap.servers"),
		SessionTimeout:    c.Millis("session.timeout.ms"),
		HeartbeatInterval: c.Millis("heartbeat.interval.ms"),
		RebalanceTimeout:  c.Millis("rebalance.timeout.ms"),
		RebalanceDelay:    c.Millis("scheduled.rebalance.max.delay.ms"),
		FlushInterval:     c.Millis("offset.flush.interval.ms"),
		FlushTimeout:      c.Millis("offset.flush.timeout.ms"),
		ShutdownTimeout:   c.Millis("task.shutdown.graceful.timeout.ms"),
	}
	if w.HeartbeatInterval >= w.SessionTimeout {
		return nil, nil, connect.ConfigErrors{{Key: "heartbeat.interval.ms", Message: "must be lower than session.timeout.ms"}}
	}
	listeners := c.List("listeners")
	if len(listeners) == 0 {
		return nil, nil, connect.ConfigErrors{{Key: "listeners", Message: "at least one listener is required"}}
	}
	u, err := url.Parse(listeners[0])
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Port() == "" {
		return nil, nil, connect.ConfigErrors{{Key: "listeners", Message: fmt.Sprintf("Invalid value %s: expected http://host:port", listeners[0])}}
	}
	w.ListenAddr = u.Host
	host, port := u.Hostname(), u.Port()
	if h := c.String("rest.advertised.host.name"); h != "" {
		host = h
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		if hn, err := os.Hostname(); err == nil {
			host = hn
		} else {
			host = "127.0.0.1"
		}
	}
	if p := c.Int("rest.advertised.port"); p > 0 {
		port = itoa(int(p))
	}
	w.AdvertisedURL = c.String("rest.advertised.listener") + "://" + net.JoinHostPort(host, port)
	if err := w.buildClientOpts(); err != nil {
		return nil, nil, err
	}
	return w, WorkerSpec.Unknown(raw, workerPrefixes...), nil
}

// SetBootstrap points the worker at brokers (the embedded broker's address).
func (w *WorkerConfig) SetBootstrap(addrs []string) {
	w.Bootstrap = addrs
	w.ClientOpts = append(w.ClientOpts, kgo.SeedBrokers(addrs...))
}

var jaasField = regexp.MustCompile(`(username|password)\s*=\s*"([^"]*)"`)

func (w *WorkerConfig) buildClientOpts() error {
	c := w.Config
	if len(w.Bootstrap) > 0 {
		w.ClientOpts = append(w.ClientOpts, kgo.SeedBrokers(w.Bootstrap...))
	}
	proto := strings.ToUpper(c.String("security.protocol"))
	if proto == "SSL" || proto == "SASL_SSL" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if p := c.String("ssl.truststore.location"); p != "" {
			pem, err := os.ReadFile(p)
			if err != nil {
				return connect.ConfigErrors{{Key: "ssl.truststore.location", Message: err.Error()}}
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return connect.ConfigErrors{{Key: "ssl.truststore.location", Message: "no PEM certificates in " + p}}
			}
		}
		if p := c.String("ssl.keystore.location"); p != "" {
			cert, err := tls.LoadX509KeyPair(p, p)
			if err != nil {
				return connect.ConfigErrors{{Key: "ssl.keystore.location", Message: err.Error()}}
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		if c.String("ssl.endpoint.identification.algorithm") == "" {
			tc.InsecureSkipVerify = true // the user turned host name checks off, as in Kafka
		}
		w.ClientOpts = append(w.ClientOpts, kgo.DialTLSConfig(tc))
	}
	if strings.HasPrefix(proto, "SASL") {
		user, pass := c.String("sasl.username"), c.String("sasl.password")
		for _, m := range jaasField.FindAllStringSubmatch(c.String("sasl.jaas.config"), -1) {
			if m[1] == "username" {
				user = m[2]
			} else {
				pass = m[2]
			}
		}
		if user == "" {
			return connect.ConfigErrors{{Key: "sasl.jaas.config", Message: "SASL needs a username (sasl.jaas.config or sasl.username)"}}
		}
		switch strings.ToUpper(c.String("sasl.mechanism")) {
		case "PLAIN":
			w.ClientOpts = append(w.ClientOpts, kgo.SASL(plain.Auth{User: user, Pass: pass}.AsMechanism()))
		case "SCRAM-SHA-256":
			w.ClientOpts = append(w.ClientOpts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()))
		case "SCRAM-SHA-512":
			w.ClientOpts = append(w.ClientOpts, kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()))
		}
	}
	return nil
}
