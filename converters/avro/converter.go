// Package avro is Confluent's AvroConverter: it reads records written in
// the Schema Registry wire format (a zero byte, a 4-byte schema id, Avro's
// binary encoding) and hands them on as JSON, with the Kafka Connect
// schema the Avro schema maps to.
//
// It writes (for source connectors) with the latest schema registered under
// the record's subject (use.latest.version=true), encoding the value's JSON
// by that schema: Spur's sources produce schemaless JSON, from which no
// schema could be derived, and a registered schema is what a governed topic
// wants anyway.
package avro

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/internal/tlsconf"
)

// The registry's TLS keys, as Confluent names them.
const (
	keyTrustLocation = "schema.registry.ssl.truststore.location"
	keyKeyLocation   = "schema.registry.ssl.keystore.location"
	keyKeyPassword   = "schema.registry.ssl.key.password"
	keyEndpointID    = "schema.registry.ssl.endpoint.identification.algorithm"
)

const topicNameStrategy = "io.confluent.kafka.serializers.subject.TopicNameStrategy"

// Class is Confluent's class name, by which existing configs name it.
const Class = "io.confluent.connect.avro.AvroConverter"

// Spec declares the converter's keys: Confluent's names, so
// value.converter.schema.registry.url and friends work as they are.
var Spec = connect.NewSpec(
	connect.ConfigKey{Name: "schema.registry.url", Type: connect.TypeList, Required: true, Importance: connect.High,
		Doc:      "Schema Registry URLs, comma-separated; the next one is tried when one cannot be reached. User info in the URL is used for basic auth with basic.auth.credentials.source=URL.",
		Validate: validURLs},
	connect.ConfigKey{Name: "basic.auth.credentials.source", Default: "URL", Importance: connect.Medium,
		Validate: connect.OneOf("URL", "USER_INFO"),
		Doc:      "Where basic auth credentials come from: URL (the user info of schema.registry.url, if any) or USER_INFO (basic.auth.user.info). SASL_INHERIT is not supported."},
	connect.ConfigKey{Name: "basic.auth.user.info", Type: connect.TypePassword, Importance: connect.Medium,
		Doc: "user:password for basic auth, with basic.auth.credentials.source=USER_INFO."},
	connect.ConfigKey{Name: "schema.registry.basic.auth.user.info", Type: connect.TypePassword, Importance: connect.Low,
		Doc: "Same as basic.auth.user.info (Confluent accepts both)."},
	connect.ConfigKey{Name: "bearer.auth.credentials.source", Default: "", Importance: connect.Medium,
		Validate: connect.OneOf("", "STATIC_TOKEN"),
		Doc:      "STATIC_TOKEN sends bearer.auth.token as a bearer token. OAuth token endpoints are not supported."},
	connect.ConfigKey{Name: "bearer.auth.token", Type: connect.TypePassword, Importance: connect.Medium,
		Doc: "The bearer token, with bearer.auth.credentials.source=STATIC_TOKEN."},
	connect.ConfigKey{Name: "schemas.cache.config", Type: connect.TypeInt, Default: "1000", Importance: connect.Low,
		Validate: connect.AtLeast(1),
		Doc:      "How many schemas (by id) to keep parsed. A schema id never changes its schema, so a cached one is not fetched again."},
	connect.ConfigKey{Name: keyTrustLocation, Importance: connect.Medium,
		Doc: "PEM file of the CA certificates that sign the registry's certificate, for https URLs; empty uses the system's."},
	connect.ConfigKey{Name: "schema.registry.ssl.truststore.type", Default: "PEM", Importance: connect.Low, Validate: connect.OneOf("PEM"),
		Doc: "Only PEM is supported (convert a JKS or PKCS12 store with keytool and openssl)."},
	connect.ConfigKey{Name: keyKeyLocation, Importance: connect.Medium,
		Doc: "PEM file with the client certificate chain and its unencrypted private key, for registries that require client certificates."},
	connect.ConfigKey{Name: "schema.registry.ssl.keystore.type", Default: "PEM", Importance: connect.Low, Validate: connect.OneOf("PEM"),
		Doc: "Only PEM is supported."},
	connect.ConfigKey{Name: keyKeyPassword, Type: connect.TypePassword, Importance: connect.Low,
		Doc: "Not supported: the private key must be unencrypted. Setting it is an error, so an encrypted key is not silently misread."},
	connect.ConfigKey{Name: keyEndpointID, Default: "https", Importance: connect.Low, Validate: connect.OneOf("https", ""),
		Doc: "https checks that the registry's certificate names its host; empty checks the certificate chain only."},
	connect.ConfigKey{Name: "use.latest.version", Type: connect.TypeBoolean, Default: "false", Importance: connect.Medium,
		Doc: "Writing (source connectors): encode each value with the latest schema registered under the record's subject. Spur writes only this way, so writing needs it set to true; the subject's schema is registered beforehand (auto.register.schemas has no effect)."},
	connect.ConfigKey{Name: "auto.register.schemas", Type: connect.TypeBoolean, Default: "true", Importance: connect.Low,
		Doc: "Accepted for compatibility; Spur never registers schemas (see use.latest.version)."},
	connect.ConfigKey{Name: "latest.cache.ttl.sec", Type: connect.TypeLong, Default: "-1", Importance: connect.Low,
		Validate: connect.AtLeast(-1),
		Doc:      "How long the latest schema of a subject is used before it is asked for again; -1 keeps it until the task restarts (Confluent's default)."},
	connect.ConfigKey{Name: "key.subject.name.strategy", Default: topicNameStrategy, Importance: connect.Low, Validate: connect.OneOf(topicNameStrategy, "TopicNameStrategy"),
		Doc: "Only TopicNameStrategy (the subject is <topic>-key) is supported."},
	connect.ConfigKey{Name: "value.subject.name.strategy", Default: topicNameStrategy, Importance: connect.Low, Validate: connect.OneOf(topicNameStrategy, "TopicNameStrategy"),
		Doc: "Only TopicNameStrategy (the subject is <topic>-value) is supported."},
	connect.ConfigKey{Name: "schema.registry.request.timeout.ms", Type: connect.TypeInt, Default: "30000", Importance: connect.Low,
		Validate: connect.AtLeast(1),
		Doc:      "Spur addition: how long one schema lookup may take, over all URLs."},
)

func validURLs(v any) error {
	for i, u := range v.([]string) {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			// Named by position: the URL may hold a password.
			return fmt.Errorf("URL %d of the list is not an http:// or https:// URL", i+1)
		}
	}
	return nil
}

// Plugins returns the converter plugin.
func Plugins() []*connect.Plugin {
	return []*connect.Plugin{{
		Class: Class, Aliases: []string{"avro"}, Type: connect.PluginConverter, Spec: Spec,
		Doc: "Avro in the Schema Registry wire format: read as JSON with its Kafka Connect schema; written with the subject's latest registered schema (use.latest.version=true).",
		NewConverter: func(cfg connect.Config, isKey bool) (connect.Converter, error) {
			return New(cfg, isKey)
		},
		CheckWriting: func(cfg connect.Config) []connect.KeyError {
			if !cfg.Bool("use.latest.version") {
				return []connect.KeyError{{Key: "use.latest.version", Message: "must be true for a source connector: Spur writes Avro with the latest schema registered for the subject (<topic>-value), and does not derive schemas from records"}}
			}
			return nil
		},
	}}
}

// Converter reads Confluent-framed Avro.
type Converter struct {
	reg       *registry
	isKey     bool
	cacheSize int

	mu    sync.Mutex
	cache map[uint32]*entry

	// Writing: the latest schema per subject.
	useLatest bool
	latestTTL time.Duration // <0: until the task restarts
	latestMu  sync.Mutex
	latest    map[string]*latestEntry

	// expand is the largest JSON-to-Avro size ratio seen, in eighths: the
	// output buffer is sized from it, so a record takes one allocation
	// without clearing four times the memory it needs.
	expand atomic.Int64
}

// entry is what a schema id resolved to.
type entry struct {
	schema  *schema
	connect *connect.Schema
	err     error     // a permanent failure: not Avro, unparsable
	expires time.Time // for a not-found id: ask again after this
}

// latestEntry is a subject's latest schema, for writing.
type latestEntry struct {
	id      uint32
	schema  *schema
	fetched time.Time
}

// notFoundTTL is how long a schema id the registry did not know is
// remembered, so a topic of records with a bad id does not send one
// request per record.
const notFoundTTL = 30 * time.Second

// New builds a converter from its parsed config.
func New(cfg connect.Config, isKey bool) (*Converter, error) {
	if cfg.String(keyKeyPassword) != "" {
		return nil, fmt.Errorf("%s: encrypted private keys are not supported: decrypt it (openssl pkey) and keep the file private", keyKeyPassword)
	}
	tlsCfg, errs := tlsconf.Build(cfg, tlsconf.Keys{TrustLocation: keyTrustLocation, KeyLocation: keyKeyLocation, EndpointID: keyEndpointID})
	if len(errs) > 0 {
		return nil, connect.ConfigErrors(errs)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsCfg
	timeout := time.Duration(cfg.Int("schema.registry.request.timeout.ms")) * time.Millisecond
	transport.TLSHandshakeTimeout = timeout // the lookup's own timeout bounds it
	reg := &registry{client: &http.Client{Transport: transport}, timeout: timeout}
	// User info in a URL is sent as basic auth (basic.auth.credentials.source
	// =URL) and kept out of the URL, which error messages show.
	for _, raw := range cfg.List("schema.registry.url") {
		u, err := url.Parse(strings.TrimRight(raw, "/"))
		if err != nil {
			return nil, errors.New("schema.registry.url: not a URL") // the error would show a password
		}
		if u.User != nil {
			reg.user = u.User.Username()
			reg.pass, _ = u.User.Password()
			u.User = nil
		}
		reg.urls = append(reg.urls, u.String())
	}
	if len(reg.urls) == 0 {
		return nil, errors.New("schema.registry.url: at least one URL is required")
	}
	if cfg.String("basic.auth.credentials.source") == "USER_INFO" {
		info := cfg.String("basic.auth.user.info")
		if info == "" {
			info = cfg.String("schema.registry.basic.auth.user.info")
		}
		user, pass, ok := strings.Cut(info, ":")
		if !ok {
			return nil, errors.New("basic.auth.user.info: USER_INFO needs user:password")
		}
		reg.user, reg.pass = user, pass
	}
	if cfg.String("bearer.auth.credentials.source") == "STATIC_TOKEN" {
		if reg.token = cfg.String("bearer.auth.token"); reg.token == "" {
			return nil, errors.New("bearer.auth.token: STATIC_TOKEN needs a token")
		}
	}
	c := &Converter{reg: reg, isKey: isKey, cacheSize: int(cfg.Int("schemas.cache.config")), cache: map[uint32]*entry{},
		useLatest: cfg.Bool("use.latest.version"), latestTTL: time.Duration(cfg.Int("latest.cache.ttl.sec")) * time.Second, latest: map[string]*latestEntry{}}
	c.expand.Store(16) // twice the Avro size, to start with
	return c, nil
}

// ToData reads one framed Avro value into JSON Data carrying its Kafka
// Connect schema. nil bytes are null (a tombstone).
func (c *Converter) ToData(topic string, b []byte) (connect.Data, error) {
	if b == nil {
		return connect.RawData(connect.FormatJSON, nil), nil
	}
	if len(b) < 5 || b[0] != 0 {
		return connect.Data{}, errors.New("Unknown magic byte!: not Schema Registry framed Avro (a zero byte, then a 4-byte schema id)") //nolint:staticcheck // Confluent's message first
	}
	id := binary.BigEndian.Uint32(b[1:5])
	e, err := c.lookup(id)
	if err != nil {
		return connect.Data{}, fmt.Errorf("avro schema id %d: %w", id, err)
	}
	d := decoder{buf: b[5:]}
	ratio := c.expand.Load()
	out, err := d.appendJSON(make([]byte, 0, int64(len(b))*ratio/8+64), e.schema)
	if err != nil {
		return connect.Data{}, fmt.Errorf("avro data with schema id %d, at byte %d: %w", id, 5+d.pos, err)
	}
	if r := int64(len(out))*8/int64(len(b)) + 1; r > ratio {
		c.expand.CompareAndSwap(ratio, r)
	}
	data := connect.RawData(connect.FormatJSON, out)
	data.Schema = e.connect
	return data, nil
}

// FromData writes a value in the Schema Registry wire format with the
// latest schema of the record's subject (<topic>-value or <topic>-key),
// which it must fit: a field the schema lacks, a missing field without a
// default, a wrong type are errors naming the field. A null value is a
// tombstone.
func (c *Converter) FromData(topic string, d *connect.Data) ([]byte, error) {
	if d.IsNull() {
		return nil, nil
	}
	if !c.useLatest {
		return nil, errors.New("the AvroConverter writes values with the latest schema registered for their subject: set use.latest.version=true (and register the schema); deriving and registering a schema from the record is not supported")
	}
	subject := topic + "-value"
	if c.isKey {
		subject = topic + "-key"
	}
	l, err := c.latestOf(subject)
	if err != nil {
		return nil, err
	}
	v, err := d.Value()
	if err != nil {
		return nil, err
	}
	if str, ok := v.(string); ok && d.Format() == connect.FormatString && (l.schema.kind == kindBytes || l.schema.kind == kindFixed) {
		v = []byte(str) // text (a StringConverter-shaped value) into bytes, as it is, not as base64
	}
	out := binary.BigEndian.AppendUint32([]byte{0}, l.id)
	var e encoder
	if out, err = e.appendValue(out, l.schema, v, false); err != nil {
		return nil, fmt.Errorf("the value does not fit the latest schema of subject %s (id %d): %w", subject, l.id, err)
	}
	return out, nil
}

// latestOf returns the latest schema of subject, asking the registry when
// it has none or its copy is older than latest.cache.ttl.sec.
func (c *Converter) latestOf(subject string) (*latestEntry, error) {
	c.latestMu.Lock()
	l := c.latest[subject]
	c.latestMu.Unlock()
	if l != nil && (c.latestTTL < 0 || time.Since(l.fetched) < c.latestTTL) {
		return l, nil
	}
	id, text, refs, err := c.reg.latest(context.Background(), subject)
	if err != nil {
		// No schema to write with is the configuration's problem, not the
		// record's: every record of the topic would fail.
		switch {
		case errors.Is(err, errNotFound):
			err = registryError(fmt.Errorf("subject %s has no schema to write with: register one: %w", subject, err), false)
		case errors.Is(err, errPermanent):
			err = registryError(fmt.Errorf("subject %s: %w", subject, err), false)
		}
		return nil, fmt.Errorf("avro: %w", err)
	}
	s, err := parseSchema(text, refs...)
	if err != nil {
		return nil, registryError(fmt.Errorf("avro: the latest schema of subject %s (id %d): %w", subject, id, err), false)
	}
	l = &latestEntry{id: id, schema: s, fetched: time.Now()}
	c.latestMu.Lock()
	c.latest[subject] = l
	c.latestMu.Unlock()
	return l, nil
}

// lookup returns the parsed schema for id, asking the registry once.
func (c *Converter) lookup(id uint32) (*entry, error) {
	c.mu.Lock()
	e := c.cache[id]
	c.mu.Unlock()
	if e != nil && (e.expires.IsZero() || time.Now().Before(e.expires)) {
		return e, e.err
	}
	text, refs, err := c.reg.schemaByID(context.Background(), id)
	switch {
	case errors.Is(err, errNotFound):
		e = &entry{err: err, expires: time.Now().Add(notFoundTTL)}
	case errors.Is(err, errPermanent):
		e = &entry{err: err}
	case err != nil:
		return nil, err // not cached: the registry may answer next time
	default:
		e = &entry{}
		if e.schema, e.err = parseSchema(text, refs...); e.err == nil {
			e.connect = connectSchema(e.schema)
		}
	}
	c.mu.Lock()
	if len(c.cache) >= c.cacheSize {
		for k := range c.cache { // evict one, any: ids are cheap to fetch again
			delete(c.cache, k)
			break
		}
	}
	c.cache[id] = e
	c.mu.Unlock()
	return e, e.err
}
