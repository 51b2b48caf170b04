package httpsink

import (
	"context"
	"strings"
	"testing"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/connect/connecttest"
)

// validate runs what the runtime runs on a connector config: the spec's
// per-key validators, then validateSettings for the cross-key rules.
func validate(raw map[string]string) []connect.KeyError {
	c, errs := Spec().Parse(raw)
	if len(errs) > 0 {
		return errs
	}
	return validateSettings(c)
}

func TestBadConfigNamesTheKey(t *testing.T) {
	const u = "https://api.example.com/v1/batch"
	cases := []struct {
		name string
		raw  map[string]string
		key  string
		msg  string
	}{
		{"no URL", map[string]string{}, keyURL, "Missing required"},
		{"blank URL", map[string]string{keyURL: "  "}, keyURL, "empty"},
		{"not http", map[string]string{keyURL: "ftp://x/y"}, keyURL, "http"},
		{"unknown auth type", cfg(u, keyAuthType, "KERBEROS"), keyAuthType, "must be one of"},
		{"basic without user", cfg(u, keyAuthType, "BASIC"), keyUser, "BASIC"},
		{"bearer without token", cfg(u, keyAuthType, "BEARER"), keyBearer, "BEARER"},
		{"oauth2 without token url", cfg(u, keyAuthType, "OAUTH2", keyClientID, "id", keyClientSecret, "s"), keyTokenURL, "OAUTH2"},
		{"oauth2 without secret", cfg(u, keyAuthType, "OAUTH2", keyTokenURL, "https://idp/token", keyClientID, "id"), keyClientSecret, "OAUTH2"},
		{"template naming a field badly", cfg(u + "/${value}"), keyURL, "must name a field"},
		{"unknown reference", cfg(u + "/${valu.user}"), keyURL, "unknown reference ${valu.user}"},
		{"unterminated reference", cfg(u, keyBatchKey, "${value.user"), keyBatchKey, "unterminated"},
		{"empty path segment", cfg(u, keyHeaders, "X-User:${value.a..b}"), keyHeaders, "empty"},
		{"header without colon", cfg(u, keyHeaders, "Content-Type application/json"), keyHeaders, "Name:value"},
		{"envelope without records", cfg(u, keyBodyFormat, "json", keyEnvelope, `{"batch":[]}`), keyEnvelope, "${records}"},
		{"envelope twice records", cfg(u, keyBodyFormat, "json", keyEnvelope, `{"a":"${records}","b":"${records}"}`), keyEnvelope, "exactly once"},
		{"envelope not an object", cfg(u, keyBodyFormat, "json", keyEnvelope, `["${records}"]`), keyEnvelope, "JSON object"},
		{"envelope with string format", cfg(u, keyEnvelope, `{"batch":"${records}"}`), keyEnvelope, "request.body.format=json"},
		{"envelope with bad reference", cfg(u, keyBodyFormat, "json", keyEnvelope, `{"batch":"${records}","id":"${value}"}`), keyEnvelope, "must name a field"},
		{"single value with batches", cfg(u, keyBodyFormat, "json", keyAsArray, "false", keyMaxSize, "10"), keyAsArray, "batch.max.size=1"},
		{"prefix with json", cfg(u, keyBodyFormat, "json", keyPrefix, "{"), keyPrefix, "batch.envelope"},
		{"separator spellings disagree", cfg(u, keySeparator, ",", keySeperator, "\n"), keySeperator, "conflicts"},
		{"bad status list", cfg(u, keyRetryOn, "429,5xx"), keyRetryOn, "status code"},
		{"backwards range", cfg(u, keyDropOn, "500-400"), keyDropOn, "range"},
		{"unknown body format", cfg(u, keyBodyFormat, "xml"), keyBodyFormat, "must be one of"},
		{"unknown null behavior", cfg(u, keyOnNull, "skip"), keyOnNull, "must be one of"},
		{"unknown partial failure format", cfg(u, keyPartial, "segment"), keyPartial, "must be one of"},
		{"bad gzip level", cfg(u, keyLevel, "11"), keyLevel, "between"},
		{"zero batch size", cfg(u, keyMaxSize, "0"), keyMaxSize, "at least"},
		{"negative rate", cfg(u, keyRate, "-1"), keyRate, ">= 0"},
		{"regex count mismatch", cfg(u, keyRegexPatterns, "a~b", keyRegexReplaces, "x"), keyRegexReplaces, "entries"},
		{"bad regex", cfg(u, keyRegexPatterns, "(", keyRegexReplaces, "x"), keyRegexPatterns, "entry 1"},
		{"proxy without port", cfg(u, keyProxyHost, "proxy.local"), keyProxyPort, "port"},
		{"missing trust store", cfg(u, keyTrustLocation, "/nonexistent/ca.pem"), keyTrustLocation, "cannot read"},
		{"JKS trust store", cfg(u, keyTrustType, "JKS"), keyTrustType, "must be one of"},
		{"key without chain", cfg(u, keyKeyKey, "-----BEGIN PRIVATE KEY-----"), keyKeyChain, "must be set"},
		{"element path with string format", cfg(u, keyElementPath, "event"), keyElementPath, "json"},
		{"bad idempotency header", cfg(u, keyIdempotency, "Idempotency Key"), keyIdempotency, "header name"},
		{"bad protocol", cfg(u, keyProtocols, "SSLv3"), keyProtocols, "unknown protocol"},
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

func TestStartRejectsBadConfig(t *testing.T) {
	c, _ := Spec().Parse(cfg("https://x/y", keyAuthType, "BASIC"))
	err := NewTask().Start(context.Background(), c, &connecttest.SinkContext{})
	if err == nil || !strings.Contains(err.Error(), keyUser) {
		t.Fatalf("Start returned %v", err)
	}
}

func TestGoodConfigs(t *testing.T) {
	for _, raw := range []map[string]string{
		cfg("http://localhost:8080"),
		// the METRO demo config, unchanged
		{"name": "tracking-http-sink-meetup201909", "topics": "tracking", "tasks.max": "1",
			"connector.class": "io.confluent.connect.http.HttpSinkConnector", keyURL: "http://172.20.0.1:8080",
			keyAuthType: "BASIC", keyUser: "demo-key", keyMaxSize: "5", keyPrefix: `{"batches": [`, keySuffix: "]}",
			keySeperator: ",", keyHeaders: "Content-Type: application/json"},
		// config-provider references are resolved by the runtime later
		cfg("${env:TARGET_URL}", keyBodyFormat, "json", keyEnvelope, `{"batch":"${records}","writeKey":"${env:SEGMENT_WRITE_KEY}"}`,
			keySensitive, "X-Api-Key: ${file:/etc/secrets.properties:key}"),
		cfg("https://api.example.com/${topic}/${value.a.b}?k=${key}", keyAuthType, "OAUTH2", keyTokenURL, "https://idp/token",
			keyClientID, "id", keyClientSecret, "s", keyRetryOn, "400-", keyDropOn, "404,410-420"),
	} {
		if errs := validate(raw); len(errs) > 0 {
			t.Errorf("config %v: %v", raw, errs)
		}
	}
}

func TestSpecDeclaresSecretsAsPasswords(t *testing.T) {
	for _, k := range []string{keyPassword, keyBearer, keyClientSecret, keyProxyPassword, keySensitive, keyEnvelope, keyKeyKey, keyOAuthHeaders} {
		ck, ok := Spec().Lookup(k)
		if !ok || ck.Type != connect.TypePassword {
			t.Errorf("%s is not a PASSWORD key", k)
		}
	}
	for _, ck := range Spec().Keys() {
		if ck.Doc == "" || ck.Group == "" {
			t.Errorf("%s lacks doc or group", ck.Name)
		}
	}
}

func TestPlugin(t *testing.T) {
	r := connect.NewRegistry()
	r.MustRegister(Plugins()...)
	for _, n := range []string{"http-sink", "io.confluent.connect.http.HttpSinkConnector", "HttpSink"} {
		if _, err := r.LookupType(n, connect.PluginSink); err != nil {
			t.Error(err)
		}
	}
	c, _ := Spec().Parse(cfg("http://x"))
	tcs, err := connect.SharedConfigConnector{Check: validateSettings}.TaskConfigs(c, 3)
	if err != nil || len(tcs) != 3 || tcs[2][keyURL] != "http://x" {
		t.Fatalf("task configs %v %v", tcs, err)
	}
}

func TestStatusSet(t *testing.T) {
	s, err := parseStatusSet("404, 408,500-, 420-422")
	if err != nil {
		t.Fatal(err)
	}
	for code, want := range map[int]bool{404: true, 408: true, 500: true, 599: true, 421: true, 400: false, 423: false, 499: false} {
		if s.has(code) != want {
			t.Errorf("has(%d) = %v", code, !want)
		}
	}
}
