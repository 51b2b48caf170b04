package httpsink

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/internal/tlsconf"
)

// Config keys. Names follow Confluent's HTTP sink where it has the key;
// the others are Spur's additions (see docs/connectors/http-sink.md).
const (
	keyURL             = "http.api.url"
	keyMethod          = "request.method"
	keyHeaders         = "headers"
	keyHeaderSep       = "header.separator"
	keySensitive       = "sensitive.headers"
	keyConnectTimeout  = "http.connect.timeout.ms"
	keyRequestTimeout  = "http.request.timeout.ms"
	keyRate            = "http.max.requests.per.second"
	keyInFlight        = "max.in.flight.requests"
	keyIdempotency     = "request.idempotency.header"
	keyProxyHost       = "http.proxy.host"
	keyProxyPort       = "http.proxy.port"
	keyProxyUser       = "http.proxy.user"
	keyProxyPassword   = "http.proxy.password"
	keyAuthType        = "auth.type"
	keyUser            = "connection.user"
	keyPassword        = "connection.password"
	keyBearer          = "bearer.token"
	keyTokenURL        = "oauth2.token.url"
	keyClientID        = "oauth2.client.id"
	keyClientSecret    = "oauth2.client.secret"
	keyTokenProperty   = "oauth2.token.property"
	keyClientAuthMode  = "oauth2.client.auth.mode"
	keyScope           = "oauth2.client.scope"
	keyOAuthHeaders    = "oauth2.client.headers"
	keyOAuthHeaderSep  = "oauth2.client.header.separator"
	keyProtocols       = "https.ssl.enabled.protocols"
	keyProtocol        = "https.ssl.protocol"
	keyTrustType       = "https.ssl.truststore.type"
	keyTrustLocation   = "https.ssl.truststore.location"
	keyTrustCerts      = "https.ssl.truststore.certificates"
	keyKeyType         = "https.ssl.keystore.type"
	keyKeyLocation     = "https.ssl.keystore.location"
	keyKeyKey          = "https.ssl.keystore.key"
	keyKeyChain        = "https.ssl.keystore.certificate.chain"
	keyEndpointID      = "https.ssl.endpoint.identification.algorithm"
	keyBodyFormat      = "request.body.format"
	keyJSONStrings     = "request.body.json.strings"
	keyValidate        = "request.body.json.validate"
	keyAsArray         = "batch.json.as.array"
	keyEnvelope        = "batch.envelope"
	keyElementPath     = "batch.element.path"
	keyPrefix          = "batch.prefix"
	keySuffix          = "batch.suffix"
	keySeparator       = "batch.separator"
	keySeperator       = "batch.seperator"
	keyBatchKey        = "batch.key.pattern"
	keyMaxSize         = "batch.max.size"
	keyMaxBytes        = "batch.max.bytes"
	keyLinger          = "batch.linger.ms"
	keyCompression     = "request.compression"
	keyLevel           = "request.compression.level"
	keyRegexPatterns   = "regex.patterns"
	keyRegexReplaces   = "regex.replacements"
	keyRegexSep        = "regex.separator"
	keyMaxRetries      = "max.retries"
	keyBackoff         = "retry.backoff.ms"
	keyBackoffMax      = "retry.backoff.max.ms"
	keyBackoffPolicy   = "retry.backoff.policy"
	keyRetryOn         = "retry.on.status.codes"
	keyDropOn          = "drop.on.status.codes"
	keySuccessOn       = "success.on.status.codes"
	keyOnNull          = "behavior.on.null.values"
	keyOnError         = "behavior.on.error"
	keyPartial         = "partial.failure.format"
	defaultRetryStatus = "408,429,500-"
)

const (
	gConn  = "Connection"
	gAuth  = "Authentication"
	gTLS   = "TLS"
	gBody  = "Body"
	gBatch = "Batching"
	gRetry = "Retries"
	gErr   = "Errors"
)

// Spec declares every key of the HTTP sink, once.
func Spec() *connect.ConfigSpec { return spec }

var spec = connect.NewSpec(
	// Connection
	connect.ConfigKey{Name: keyURL, Required: true, Importance: connect.High, Group: gConn, Validate: validURLTemplate,
		Doc: "URL requests go to. May reference ${topic}, ${partition}, ${key} and ${value.<field>}; records whose URLs render differently go into different requests."},
	connect.ConfigKey{Name: keyMethod, Default: "POST", Importance: connect.High, Group: gConn, Validate: connect.OneOf("POST", "PUT", "PATCH"), Recommended: []string{"POST", "PUT", "PATCH"},
		Doc: "HTTP method of record requests (tombstones with behavior.on.null.values=delete use DELETE)."},
	connect.ConfigKey{Name: keyHeaders, Importance: connect.Medium, Group: gConn, Validate: validHeaderTemplates,
		Doc: "Request headers as Name:value entries joined by header.separator. Values may reference record fields like the URL."},
	connect.ConfigKey{Name: keyHeaderSep, Default: "|", Importance: connect.Low, Group: gConn, Validate: connect.NonEmpty,
		Doc: "Separator between the entries of headers and sensitive.headers."},
	connect.ConfigKey{Name: keySensitive, Type: connect.TypePassword, Importance: connect.Medium, Group: gConn,
		Doc: "Like headers, for headers holding secrets (Authorization: Bearer ..., X-Api-Key: ...); never logged."},
	connect.ConfigKey{Name: keyConnectTimeout, Type: connect.TypeInt, Default: "30000", Importance: connect.Low, Group: gConn, Validate: connect.AtLeast(1),
		Doc: "Timeout for establishing a connection, in ms."},
	connect.ConfigKey{Name: keyRequestTimeout, Type: connect.TypeInt, Default: "30000", Importance: connect.Low, Group: gConn, Validate: connect.AtLeast(1),
		Doc: "Timeout of one request attempt, from sending to reading the response, in ms."},
	connect.ConfigKey{Name: keyRate, Type: connect.TypeDouble, Default: "0", Importance: connect.Medium, Group: gConn, Validate: nonNegative,
		Doc: "Request attempts per second per task (token bucket, retries included); 0 means unlimited."},
	connect.ConfigKey{Name: keyInFlight, Type: connect.TypeInt, Default: "5", Importance: connect.Medium, Group: gConn, Validate: connect.AtLeast(1),
		Doc: "Requests a task may have in flight at once. Requests holding records of the same partition and batch group never overtake each other."},
	connect.ConfigKey{Name: keyIdempotency, Importance: connect.Low, Group: gConn, Validate: validHeaderName,
		Doc: "Name of a header (e.g. Idempotency-Key) set to <topic>-<partition>-<first offset>-<last offset> of the request's records (a SHA-256 of every record's coordinates when they span partitions or skip offsets), the same on every retry."},
	connect.ConfigKey{Name: keyProxyHost, Importance: connect.Low, Group: gConn, Doc: "HTTP proxy host; empty uses HTTP_PROXY/HTTPS_PROXY from the environment."},
	connect.ConfigKey{Name: keyProxyPort, Type: connect.TypeInt, Default: "0", Importance: connect.Low, Group: gConn, Validate: connect.AtLeast(0), Doc: "HTTP proxy port."},
	connect.ConfigKey{Name: keyProxyUser, Importance: connect.Low, Group: gConn, Doc: "HTTP proxy user."},
	connect.ConfigKey{Name: keyProxyPassword, Type: connect.TypePassword, Importance: connect.Low, Group: gConn, Doc: "HTTP proxy password."},

	// Authentication
	connect.ConfigKey{Name: keyAuthType, Default: "NONE", Importance: connect.High, Group: gAuth, Validate: connect.OneOf("NONE", "BASIC", "OAUTH2", "BEARER"), Recommended: []string{"NONE", "BASIC", "OAUTH2", "BEARER"},
		Doc: "NONE; BASIC (connection.user/password); OAUTH2 (client-credentials grant, oauth2.*); BEARER (static bearer.token)."},
	connect.ConfigKey{Name: keyUser, Importance: connect.High, Group: gAuth, Doc: "Basic auth user (Segment: the write key, with an empty password)."},
	connect.ConfigKey{Name: keyPassword, Type: connect.TypePassword, Importance: connect.High, Group: gAuth, Doc: "Basic auth password."},
	connect.ConfigKey{Name: keyBearer, Type: connect.TypePassword, Importance: connect.High, Group: gAuth, Doc: "Static token sent as Authorization: Bearer <token> with auth.type=BEARER."},
	connect.ConfigKey{Name: keyTokenURL, Importance: connect.High, Group: gAuth, Doc: "OAuth2 token endpoint."},
	connect.ConfigKey{Name: keyClientID, Importance: connect.High, Group: gAuth, Doc: "OAuth2 client id."},
	connect.ConfigKey{Name: keyClientSecret, Type: connect.TypePassword, Importance: connect.High, Group: gAuth, Doc: "OAuth2 client secret."},
	connect.ConfigKey{Name: keyTokenProperty, Default: "access_token", Importance: connect.Low, Group: gAuth, Validate: connect.NonEmpty, Doc: "Field of the token response holding the token."},
	connect.ConfigKey{Name: keyClientAuthMode, Default: "header", Importance: connect.Low, Group: gAuth, Validate: connect.OneOf("header", "url"), Recommended: []string{"header", "url"},
		Doc: "header: client id and secret as Basic auth on the token request; url: as form fields client_id and client_secret."},
	connect.ConfigKey{Name: keyScope, Importance: connect.Low, Group: gAuth, Doc: "Scope requested with the token; empty sends none (Confluent sends \"any\")."},
	connect.ConfigKey{Name: keyOAuthHeaders, Type: connect.TypePassword, Importance: connect.Low, Group: gAuth, Doc: "Extra headers on the token request, Name:value joined by oauth2.client.header.separator."},
	connect.ConfigKey{Name: keyOAuthHeaderSep, Default: "|", Importance: connect.Low, Group: gAuth, Validate: connect.NonEmpty, Doc: "Separator of oauth2.client.headers."},

	// TLS
	connect.ConfigKey{Name: keyProtocols, Type: connect.TypeList, Default: "TLSv1.2,TLSv1.3", Importance: connect.Low, Group: gTLS, Validate: tlsconf.ValidProtocols,
		Doc: "TLS versions allowed (TLSv1.2, TLSv1.3; TLSv1 and TLSv1.1 are accepted but discouraged)."},
	connect.ConfigKey{Name: keyProtocol, Default: "TLSv1.3", Importance: connect.Low, Group: gTLS,
		Doc: "Accepted for compatibility; Go negotiates the best version within https.ssl.enabled.protocols."},
	connect.ConfigKey{Name: keyTrustType, Default: "PEM", Importance: connect.Low, Group: gTLS, Validate: connect.OneOf("PEM"), Recommended: []string{"PEM"},
		Doc: "Trust store format; only PEM is supported (convert JKS/PKCS12 with keytool/openssl)."},
	connect.ConfigKey{Name: keyTrustLocation, Importance: connect.Medium, Group: gTLS, Doc: "PEM file of CA certificates to trust instead of the system pool."},
	connect.ConfigKey{Name: keyTrustCerts, Importance: connect.Medium, Group: gTLS, Doc: "PEM CA certificates inline, instead of a file."},
	connect.ConfigKey{Name: keyKeyType, Default: "PEM", Importance: connect.Low, Group: gTLS, Validate: connect.OneOf("PEM"), Recommended: []string{"PEM"},
		Doc: "Key store format; only PEM is supported."},
	connect.ConfigKey{Name: keyKeyLocation, Importance: connect.Medium, Group: gTLS, Doc: "PEM file holding the client certificate chain and its unencrypted private key (mutual TLS)."},
	connect.ConfigKey{Name: keyKeyKey, Type: connect.TypePassword, Importance: connect.Medium, Group: gTLS, Doc: "Client private key inline (unencrypted PEM)."},
	connect.ConfigKey{Name: keyKeyChain, Importance: connect.Medium, Group: gTLS, Doc: "Client certificate chain inline (PEM)."},
	connect.ConfigKey{Name: keyEndpointID, Default: "https", Importance: connect.Low, Group: gTLS, Validate: connect.OneOf("https", ""),
		Doc: "https checks that the server certificate names the host; empty checks only the chain."},

	// Body
	connect.ConfigKey{Name: keyBodyFormat, Default: "string", Importance: connect.High, Group: gBody, Validate: connect.OneOf("string", "json", "ndjson"), Recommended: []string{"string", "json", "ndjson"},
		Doc: "string: batch.prefix + values joined by batch.separator + batch.suffix (values as text; structured values as JSON). json: a JSON array of the values, one value (batch.json.as.array=false) or batch.envelope. ndjson: one JSON value per line."},
	connect.ConfigKey{Name: keyJSONStrings, Default: "splice", Importance: connect.Medium, Group: gBody, Validate: connect.OneOf("splice", "quote"), Recommended: []string{"splice", "quote"},
		Doc: "json/ndjson: a string value holding a JSON object or array is written as that JSON (splice) or as a JSON string (quote)."},
	connect.ConfigKey{Name: keyValidate, Type: connect.TypeBoolean, Default: "false", Importance: connect.Low, Group: gBody,
		Doc: "json/ndjson: validate raw JSON values again before sending; an invalid one goes to the error path instead of spoiling its batch. The JsonConverter already validates every value it reads, so this is for values from other converters."},
	connect.ConfigKey{Name: keyAsArray, Type: connect.TypeBoolean, Default: "true", Importance: connect.Medium, Group: gBody,
		Doc: "json: wrap the values of a request in a JSON array. false sends one bare value per request and needs batch.max.size=1."},
	connect.ConfigKey{Name: keyEnvelope, Type: connect.TypePassword, Importance: connect.High, Group: gBody, Validate: validEnvelope,
		Doc: "json: a JSON object the records array is put into, at the string value \"${records}\". Other values are fixed (they may hold secrets such as a write key) or reference the request's first record (${key}, ${value.<field>})."},
	connect.ConfigKey{Name: keyElementPath, Importance: connect.Low, Group: gBody, Validate: validPath,
		Doc: "json/ndjson: send only this field of each value (dotted path) as the array element."},
	connect.ConfigKey{Name: keyPrefix, Importance: connect.Medium, Group: gBody, Doc: "string: text before the records of a request."},
	connect.ConfigKey{Name: keySuffix, Importance: connect.Medium, Group: gBody, Doc: "string: text after the records of a request."},
	connect.ConfigKey{Name: keySeparator, Default: ",", Importance: connect.Medium, Group: gBody, Doc: "string: text between records."},
	connect.ConfigKey{Name: keySeperator, Importance: connect.Low, Group: gBody, Doc: "Misspelled alias of batch.separator (from the original connector); used when batch.separator is not set."},
	connect.ConfigKey{Name: keyCompression, Default: "none", Importance: connect.Medium, Group: gBody, Validate: connect.OneOf("none", "gzip"), Recommended: []string{"none", "gzip"},
		Doc: "gzip compresses request bodies and sets Content-Encoding: gzip."},
	connect.ConfigKey{Name: keyLevel, Type: connect.TypeInt, Default: "1", Importance: connect.Low, Group: gBody, Validate: connect.Between(1, 9),
		Doc: "gzip level, 1 (fastest) to 9 (smallest)."},
	connect.ConfigKey{Name: keyRegexPatterns, Importance: connect.Low, Group: gBody,
		Doc: "Regular expressions (Go syntax) applied to each record's encoded value, joined by regex.separator."},
	connect.ConfigKey{Name: keyRegexReplaces, Importance: connect.Low, Group: gBody,
		Doc: "Replacements for regex.patterns, in order, joined by regex.separator; may use $1 and ${key}, ${topic}."},
	connect.ConfigKey{Name: keyRegexSep, Default: "~", Importance: connect.Low, Group: gBody, Validate: connect.NonEmpty, Doc: "Separator of regex.patterns and regex.replacements."},

	// Batching
	connect.ConfigKey{Name: keyBatchKey, Default: "someKey", Importance: connect.Medium, Group: gBatch, Validate: validTemplate,
		Doc: "Records whose rendered pattern differs go into different requests (e.g. ${value.client_id} for one user per request)."},
	connect.ConfigKey{Name: keyMaxSize, Type: connect.TypeInt, Default: "1", Importance: connect.High, Group: gBatch, Validate: connect.AtLeast(1),
		Doc: "Most records per request."},
	connect.ConfigKey{Name: keyMaxBytes, Type: connect.TypeInt, Default: "5242880", Importance: connect.High, Group: gBatch, Validate: connect.AtLeast(16),
		Doc: "Most bytes per request body before compression, envelope included. A record that cannot fit alone goes to the error path."},
	connect.ConfigKey{Name: keyLinger, Type: connect.TypeInt, Default: "0", Importance: connect.Medium, Group: gBatch, Validate: connect.AtLeast(0),
		Doc: "How long a partly filled batch waits for more records, in ms. 0 sends what is left at the end of every Put."},

	// Retries
	connect.ConfigKey{Name: keyMaxRetries, Type: connect.TypeInt, Default: "5", Importance: connect.High, Group: gRetry, Validate: connect.AtLeast(-1),
		Doc: "Retries of a request after its first attempt; -1 retries until it succeeds or the task stops."},
	connect.ConfigKey{Name: keyBackoff, Type: connect.TypeInt, Default: "3000", Importance: connect.Medium, Group: gRetry, Validate: connect.AtLeast(0),
		Doc: "First retry delay in ms; doubles per retry up to retry.backoff.max.ms, with jitter. A Retry-After header overrides it."},
	connect.ConfigKey{Name: keyBackoffMax, Type: connect.TypeInt, Default: "60000", Importance: connect.Low, Group: gRetry, Validate: connect.AtLeast(0),
		Doc: "Longest computed retry delay in ms (Retry-After is honoured beyond it)."},
	connect.ConfigKey{Name: keyBackoffPolicy, Default: "EXPONENTIAL_WITH_JITTER", Importance: connect.Low, Group: gRetry,
		Validate: connect.OneOf("EXPONENTIAL_WITH_JITTER", "CONSTANT_VALUE"), Recommended: []string{"EXPONENTIAL_WITH_JITTER", "CONSTANT_VALUE"},
		Doc: "EXPONENTIAL_WITH_JITTER or CONSTANT_VALUE (always retry.backoff.ms)."},
	connect.ConfigKey{Name: keyRetryOn, Default: defaultRetryStatus, Importance: connect.Medium, Group: gRetry, Validate: validStatusSet,
		Doc: "Statuses that are retried: codes and ranges, e.g. 408,429,500- (Confluent's default is 400-). Connection errors are always retried."},
	connect.ConfigKey{Name: keyDropOn, Importance: connect.Low, Group: gRetry, Validate: validStatusSet,
		Doc: "Statuses after which the request's records are logged and dropped (acknowledged) without retry."},
	connect.ConfigKey{Name: keySuccessOn, Importance: connect.Low, Group: gRetry, Validate: validStatusSet,
		Doc: "Statuses besides 2xx that count as delivered."},

	// Errors
	connect.ConfigKey{Name: keyOnNull, Default: "ignore", Importance: connect.Medium, Group: gErr, Validate: connect.OneOf("ignore", "delete", "log", "fail"), Recommended: []string{"ignore", "delete", "log", "fail"},
		Doc: "Null values: ignore (acknowledge), delete (DELETE request to the rendered URL), log (log and acknowledge), fail (error path)."},
	connect.ConfigKey{Name: keyPartial, Default: "none", Importance: connect.Medium, Group: gErr, Validate: connect.OneOf("none", "amplitude", "mixpanel"), Recommended: []string{"none", "amplitude", "mixpanel"},
		Doc: "How to read a 400 that rejects only some of a request's records. none: the whole request failed. amplitude (HTTP V2 and Batch API): the events listed in events_with_invalid_fields, events_with_missing_fields and events_with_invalid_id_lengths take the error path, and the others are sent again at once in a new request. mixpanel (/import?strict=1): the records listed in failed_records take the error path; Mixpanel imported the others. A 400 without such a list fails the whole request."},
	connect.ConfigKey{Name: keyOnError, Default: "fail", Importance: connect.Medium, Group: gErr, Validate: connect.OneOf("fail", "log", "ignore"), Recommended: []string{"fail", "log", "ignore"},
		Doc: "Failed records (request failed after retries, oversized, invalid JSON, unrenderable template): fail hands them to errors.tolerance / the DLQ (with the default errors.tolerance=none the task fails), log logs and drops them, ignore drops them."},
)

// settings is a checked config in the form the task uses.
type settings struct {
	url          *template
	method       string
	headers      []header
	connTimeout  time.Duration
	reqTimeout   time.Duration
	rate         float64
	inFlight     int
	idempotency  string
	proxy        *url.URL
	auth         string
	user, pass   string
	bearer       string
	oauth        oauthConfig
	tls          tlsSettings
	format       string // string, json, ndjson
	enc          encoder
	asArray      bool
	envelope     *envelope
	prefix       string
	suffix       string
	separator    string
	batchKey     *template
	maxSize      int
	maxBytes     int
	linger       time.Duration
	gzip         bool
	level        int
	maxRetries   int
	backoff      time.Duration
	backoffMax   time.Duration
	constBackoff bool
	retryOn      statusSet
	dropOn       statusSet
	successOn    statusSet
	onNull       string
	onError      string
	partial      string // partial.failure.format; "" for none
	contentType  string
}

type header struct {
	name  string
	value *template
}

// newSettings checks the cross-key rules and builds the settings. Every
// problem is returned, each naming its key.
func newSettings(c connect.Config) (*settings, []connect.KeyError) {
	var errs []connect.KeyError
	bad := func(key, format string, args ...any) {
		errs = append(errs, connect.KeyError{Key: key, Message: fmt.Sprintf(format, args...)})
	}
	s := &settings{
		method:      strings.ToUpper(c.String(keyMethod)),
		connTimeout: c.Millis(keyConnectTimeout),
		reqTimeout:  c.Millis(keyRequestTimeout),
		rate:        c.Float(keyRate),
		inFlight:    int(c.Int(keyInFlight)),
		idempotency: strings.TrimSpace(c.String(keyIdempotency)),
		auth:        strings.ToUpper(c.String(keyAuthType)),
		format:      strings.ToLower(c.String(keyBodyFormat)),
		asArray:     c.Bool(keyAsArray),
		maxSize:     int(c.Int(keyMaxSize)),
		maxBytes:    int(min(c.Int(keyMaxBytes), math.MaxInt32)),
		linger:      c.Millis(keyLinger),
		gzip:        strings.EqualFold(c.String(keyCompression), "gzip"),
		level:       int(c.Int(keyLevel)),
		maxRetries:  int(c.Int(keyMaxRetries)),
		backoff:     c.Millis(keyBackoff),
		backoffMax:  c.Millis(keyBackoffMax),
		onNull:      strings.ToLower(c.String(keyOnNull)),
		onError:     strings.ToLower(c.String(keyOnError)),
		partial:     strings.TrimPrefix(strings.ToLower(c.String(keyPartial)), "none"),
	}
	s.constBackoff = strings.EqualFold(c.String(keyBackoffPolicy), "CONSTANT_VALUE")
	if s.inFlight < 1 {
		s.inFlight = 1
	}
	if s.maxSize < 1 {
		s.maxSize = 1
	}
	if s.level < 1 || s.level > 9 {
		s.level = 1
	}

	// URL and headers.
	if t, err := parseTemplate(strings.TrimSpace(c.String(keyURL))); err != nil {
		bad(keyURL, "%v", err)
	} else if err := checkURL(t); err != nil {
		bad(keyURL, "%v", err)
	} else {
		t.markURL()
		s.url = t
	}
	sep := c.String(keyHeaderSep)
	if sep == "" {
		sep = "|"
	}
	for _, k := range []string{keyHeaders, keySensitive} {
		hs, err := parseHeaders(c.String(k), sep)
		if err != nil {
			bad(k, "%v", err)
		}
		s.headers = append(s.headers, hs...)
	}

	// Proxy.
	if host := strings.TrimSpace(c.String(keyProxyHost)); host != "" {
		port := c.Int(keyProxyPort)
		if port <= 0 || port > 65535 {
			bad(keyProxyPort, "must be a port number (1-65535) when %s is set", keyProxyHost)
		}
		s.proxy = &url.URL{Scheme: "http", Host: fmt.Sprintf("%s:%d", host, port)}
		if u := c.String(keyProxyUser); u != "" {
			s.proxy.User = url.UserPassword(u, c.String(keyProxyPassword))
		}
	} else if c.IsSet(keyProxyPort) && c.Int(keyProxyPort) != 0 {
		bad(keyProxyHost, "must be set when %s is set", keyProxyPort)
	}

	// Authentication.
	s.user, s.pass, s.bearer = c.String(keyUser), c.String(keyPassword), c.String(keyBearer)
	switch s.auth {
	case "BASIC":
		if s.user == "" {
			bad(keyUser, "must be set with %s=BASIC", keyAuthType)
		}
	case "BEARER":
		if strings.TrimSpace(s.bearer) == "" {
			bad(keyBearer, "must be set with %s=BEARER", keyAuthType)
		}
	case "OAUTH2":
		s.oauth = oauthConfig{
			tokenURL: strings.TrimSpace(c.String(keyTokenURL)), clientID: c.String(keyClientID), secret: c.String(keyClientSecret),
			property: c.String(keyTokenProperty), inURL: strings.EqualFold(c.String(keyClientAuthMode), "url"), scope: c.String(keyScope),
		}
		if u, err := url.Parse(s.oauth.tokenURL); s.oauth.tokenURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			if !isProviderRef(s.oauth.tokenURL) || s.oauth.tokenURL == "" {
				bad(keyTokenURL, "must be an http(s) URL with %s=OAUTH2", keyAuthType)
			}
		}
		if s.oauth.clientID == "" {
			bad(keyClientID, "must be set with %s=OAUTH2", keyAuthType)
		}
		if s.oauth.secret == "" {
			bad(keyClientSecret, "must be set with %s=OAUTH2", keyAuthType)
		}
		osep := c.String(keyOAuthHeaderSep)
		if osep == "" {
			osep = "|"
		}
		hs, err := parseHeaders(c.String(keyOAuthHeaders), osep)
		if err != nil {
			bad(keyOAuthHeaders, "%v", err)
		}
		for _, h := range hs {
			if !h.value.static() {
				bad(keyOAuthHeaders, "header %s may not reference record fields", h.name)
			}
			s.oauth.headers = append(s.oauth.headers, [2]string{h.name, h.value.literal()})
		}
	}

	// TLS.
	var tlsErrs []connect.KeyError
	s.tls, tlsErrs = tlsSettingsFrom(c)
	errs = append(errs, tlsErrs...)

	// Body.
	s.enc.text = s.format == "string"
	s.enc.splice = !strings.EqualFold(c.String(keyJSONStrings), "quote")
	s.enc.validate = c.Bool(keyValidate)
	if p := strings.TrimSpace(c.String(keyElementPath)); p != "" {
		path, err := parsePath(strings.TrimPrefix(p, "value."))
		if err != nil {
			bad(keyElementPath, "%v", err)
		}
		if s.format == "string" {
			bad(keyElementPath, "needs %s=json or ndjson", keyBodyFormat)
		}
		s.enc.elementPath = path
	}
	s.prefix, s.suffix = c.String(keyPrefix), c.String(keySuffix)
	s.separator = c.String(keySeparator)
	if c.IsSet(keySeperator) {
		if !c.IsSet(keySeparator) {
			s.separator = c.String(keySeperator)
		} else if c.String(keySeperator) != c.String(keySeparator) {
			bad(keySeperator, "conflicts with %s (%q vs %q): set only one", keySeparator, c.String(keySeperator), c.String(keySeparator))
		}
	}
	if s.format != "string" {
		for _, k := range []string{keyPrefix, keySuffix, keySeparator, keySeperator} {
			if c.IsSet(k) {
				bad(k, "applies to %s=string only; with %s use %s for a wrapping object", keyBodyFormat, s.format, keyEnvelope)
			}
		}
	}
	if env := c.String(keyEnvelope); strings.TrimSpace(env) != "" {
		e, err := parseEnvelope(env)
		if err != nil {
			bad(keyEnvelope, "%v", err)
		}
		if s.format != "json" {
			bad(keyEnvelope, "needs %s=json", keyBodyFormat)
		}
		s.envelope = e
	}
	if s.format == "json" && !s.asArray && s.envelope == nil && s.maxSize != 1 {
		bad(keyAsArray, "false sends one bare value per request and needs %s=1 (it is %d)", keyMaxSize, s.maxSize)
	}
	switch s.format {
	case "ndjson":
		s.contentType = "application/x-ndjson"
	case "json":
		s.contentType = "application/json"
	default:
		s.contentType = "text/plain; charset=utf-8"
	}

	// Regex.
	rsep := c.String(keyRegexSep)
	if rsep == "" {
		rsep = "~"
	}
	pats, reps := splitNonEmpty(c.String(keyRegexPatterns), rsep), splitKeep(c.String(keyRegexReplaces), rsep)
	if len(pats) > 0 {
		if len(reps) != len(pats) {
			bad(keyRegexReplaces, "has %d entries but %s has %d", len(reps), keyRegexPatterns, len(pats))
		}
		for i, p := range pats {
			re, err := regexp.Compile(p)
			if err != nil {
				bad(keyRegexPatterns, "entry %d: %v", i+1, err)
				continue
			}
			s.enc.regexes = append(s.enc.regexes, re)
			rep := ""
			if i < len(reps) {
				rep = reps[i]
			}
			t, err := parseReplacement(rep)
			if err != nil {
				bad(keyRegexReplaces, "entry %d: %v", i+1, err)
				t = &template{}
			}
			s.enc.replaces = append(s.enc.replaces, t)
		}
	}

	// Batching.
	if t, err := parseTemplate(c.String(keyBatchKey)); err != nil {
		bad(keyBatchKey, "%v", err)
	} else {
		s.batchKey = t
	}

	// Retries.
	var err error
	if s.retryOn, err = parseStatusSet(c.String(keyRetryOn)); err != nil {
		bad(keyRetryOn, "%v", err)
	}
	if s.dropOn, err = parseStatusSet(c.String(keyDropOn)); err != nil {
		bad(keyDropOn, "%v", err)
	}
	if s.successOn, err = parseStatusSet(c.String(keySuccessOn)); err != nil {
		bad(keySuccessOn, "%v", err)
	}
	if s.backoffMax < s.backoff {
		s.backoffMax = s.backoff
	}
	return s, errs
}

// parseReplacement parses a regex replacement: ${key} and ${topic} are
// record references, any other ${name} is a regexp group and stays as it is.
func parseReplacement(s string) (*template, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "${") {
			if end := strings.IndexByte(s[i:], '}'); end > 0 {
				name := s[i+2 : i+end]
				if name != "key" && name != "topic" && name != "partition" {
					b.WriteString("$${" + name + "}") // a regexp group: literal for the template
					i += end + 1
					continue
				}
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return parseTemplate(b.String())
}

func splitNonEmpty(s, sep string) []string {
	var out []string
	for _, p := range strings.Split(s, sep) {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func splitKeep(s, sep string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, sep)
}

// parseHeaders parses Name:value entries joined by sep; the value is
// everything after the first colon, trimmed.
func parseHeaders(s, sep string) ([]header, error) {
	var out []header
	for _, entry := range strings.Split(s, sep) {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		name, value, ok := strings.Cut(entry, ":")
		name = strings.TrimSpace(name)
		if !ok || !validToken(name) {
			return nil, fmt.Errorf("entry %q must be Name:value with a valid header name", redactHeaderEntry(entry))
		}
		t, err := parseTemplate(strings.TrimSpace(value))
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", name, err)
		}
		out = append(out, header{name: http.CanonicalHeaderKey(name), value: t})
	}
	return out, nil
}

// redactHeaderEntry keeps a header's name for an error message, not its value.
func redactHeaderEntry(e string) string {
	if name, _, ok := strings.Cut(e, ":"); ok {
		return name + ":..."
	}
	if len(e) > 20 {
		return e[:20] + "..."
	}
	return e
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

func isProviderRef(s string) bool { return strings.Contains(s, "${") && strings.Contains(s, ":") }

// checkURL renders the template with sample values and checks the result is
// an absolute http(s) URL.
func checkURL(t *template) error {
	src := t.src
	if strings.TrimSpace(src) == "" {
		return fmt.Errorf("must not be empty")
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.kind == partLiteral {
			b.WriteString(p.lit)
		} else {
			b.WriteString("x")
		}
	}
	s := b.String()
	if isProviderRef(s) && !strings.Contains(s, "://") {
		return nil // the whole URL comes from a config provider
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("must be an http:// or https:// URL")
	}
	if u.Host == "" && !isProviderRef(s) {
		return fmt.Errorf("has no host")
	}
	return nil
}

func validURLTemplate(v any) error {
	s, _ := v.(string)
	t, err := parseTemplate(strings.TrimSpace(s))
	if err != nil {
		return err
	}
	return checkURL(t)
}

func validTemplate(v any) error {
	s, _ := v.(string)
	_, err := parseTemplate(s)
	return err
}

func validHeaderTemplates(v any) error {
	// The separator is another key; the full check is in newSettings. Here
	// only references are checked, which no separator choice can change.
	s, _ := v.(string)
	_, err := parseTemplate(s)
	return err
}

func validHeaderName(v any) error {
	s, _ := v.(string)
	if s = strings.TrimSpace(s); s != "" && !validToken(s) {
		return fmt.Errorf("not a valid header name")
	}
	return nil
}

func validEnvelope(v any) error {
	s, _ := v.(string)
	if strings.TrimSpace(s) == "" {
		return nil
	}
	_, err := parseEnvelope(s)
	return err
}

func validPath(v any) error {
	s, _ := v.(string)
	if s = strings.TrimSpace(s); s == "" {
		return nil
	}
	_, err := parsePath(strings.TrimPrefix(s, "value."))
	return err
}

func nonNegative(v any) error {
	if f, _ := v.(float64); f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("must be a finite number >= 0")
	}
	return nil
}
