package httpsink

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func TestBasicAuth(t *testing.T) {
	rec := newRecorder(t, nil)
	task, sc := startTask(t, cfg(rec.URL, keyAuthType, "BASIC", keyUser, "wk_123", keyPassword, ""))
	put(t, task, sc, events("t", 1, 1)...)
	flush(t, task)
	r := one(t, rec.requests())
	req := &http.Request{Header: r.Header}
	if u, p, ok := req.BasicAuth(); !ok || u != "wk_123" || p != "" {
		t.Fatalf("basic auth %q %q %v", u, p, ok)
	}
}

func TestBearerAndSensitiveHeaders(t *testing.T) {
	rec := newRecorder(t, nil)
	task, sc := startTask(t, cfg(rec.URL, keyAuthType, "BEARER", keyBearer, "tok", keySensitive, "X-Api-Key: k:with:colons",
		keyHeaders, "Content-Type: application/vnd.custom+json"))
	put(t, task, sc, events("t", 1, 1)...)
	flush(t, task)
	r := one(t, rec.requests())
	if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("X-Api-Key") != "k:with:colons" ||
		r.Header.Get("Content-Type") != "application/vnd.custom+json" || !strings.HasPrefix(r.Header.Get("User-Agent"), "spur-http-sink/") {
		t.Fatalf("headers %v", r.Header)
	}
}

func TestOAuth2ClientCredentials(t *testing.T) {
	var issued atomic.Int32
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		id, secret, _ := r.BasicAuth()
		if r.Form.Get("grant_type") != "client_credentials" || id != "cid" || secret != "csecret" || r.Header.Get("X-Tenant") != "t1" {
			http.Error(w, "bad client", 401)
			return
		}
		n := issued.Add(1)
		fmt.Fprintf(w, `{"token":"tok%d","expires_in":3600}`, n)
	}))
	defer idp.Close()
	rec := newRecorder(t, func(n int, r *received, w http.ResponseWriter) {
		if r.Header.Get("Authorization") != "Bearer tok2" {
			w.WriteHeader(http.StatusUnauthorized) // the first token is "revoked"
		}
	})
	task, sc := startTask(t, cfg(rec.URL, keyAuthType, "OAUTH2", keyTokenURL, idp.URL, keyClientID, "cid", keyClientSecret, "csecret",
		keyTokenProperty, "token", keyOAuthHeaders, "X-Tenant: t1", keyBodyFormat, "json"))
	put(t, task, sc, events("t", 1, 1)...)
	flush(t, task)
	put(t, task, sc, events("t", 1, 1)...)
	flush(t, task)
	reqs := rec.requests()
	if len(reqs) != 3 || issued.Load() != 2 || len(sc.Reports()) != 0 || sc.Unacked() != 0 {
		t.Fatalf("requests %d tokens %d reports %d unacked %d", len(reqs), issued.Load(), len(sc.Reports()), sc.Unacked())
	}
	if string(reqs[1].Body) != string(reqs[0].Body) {
		t.Fatal("the request resent after the token refresh has another body")
	}
}

func TestTLSWithPEMTrustStore(t *testing.T) {
	var got atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	// Without the trust store the certificate is unknown: not retried, reported.
	task, sc := startTask(t, cfg(srv.URL, keyBodyFormat, "json"))
	put(t, task, sc, events("t", 1, 1)...)
	flush(t, task)
	if len(sc.Reports()) != 1 || !strings.Contains(sc.Reports()[0].Err.Error(), "certificate") {
		t.Fatalf("reports %+v", sc.Reports())
	}
	// With it, delivered; inline certificates work the same.
	for _, kv := range [][]string{{keyTrustLocation, ca}, {keyTrustCerts, string(pemBytes)}} {
		task, sc := startTask(t, cfg(srv.URL, append([]string{keyBodyFormat, "json"}, kv...)...))
		put(t, task, sc, events("t", 1, 1)...)
		flush(t, task)
		if len(sc.Reports()) != 0 || sc.Unacked() != 0 {
			t.Fatalf("%s: reports %+v", kv[0], sc.Reports())
		}
	}
	if got.Load() != 2 {
		t.Fatalf("server got %d requests", got.Load())
	}
}

func TestMutualTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) == 0 {
			w.WriteHeader(403)
		}
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	srv.StartTLS()
	defer srv.Close()
	// The test server's own certificate and key serve as the client's.
	cert := srv.TLS.Certificates[0]
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	chain := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]})
	key := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	dir := t.TempDir()
	both := filepath.Join(dir, "client.pem")
	os.WriteFile(both, append(append([]byte{}, chain...), key...), 0o600)
	for _, kv := range [][]string{{keyKeyLocation, both}, {keyKeyChain, string(chain), keyKeyKey, string(key)}} {
		task, sc := startTask(t, cfg(srv.URL, append([]string{keyTrustCerts, string(chain), keyBodyFormat, "json"}, kv...)...))
		put(t, task, sc, events("t", 1, 1)...)
		flush(t, task)
		if len(sc.Reports()) != 0 || sc.Unacked() != 0 {
			t.Fatalf("%s: reports %+v", kv[0], sc.Reports())
		}
	}
}

func TestProxy(t *testing.T) {
	var via atomic.Int32
	var auth atomic.Value
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		via.Add(1)
		auth.Store(r.Header.Get("Proxy-Authorization"))
		if r.URL.Host != "target.invalid:9" {
			t.Errorf("proxied request for %s", r.URL)
		}
	}))
	defer proxy.Close()
	host, port, _ := strings.Cut(strings.TrimPrefix(proxy.URL, "http://"), ":")
	task, sc := startTask(t, cfg("http://target.invalid:9/x", keyProxyHost, host, keyProxyPort, port, keyProxyUser, "pu", keyProxyPassword, "pp"))
	put(t, task, sc, events("t", 1, 1)...)
	flush(t, task)
	if via.Load() != 1 || !strings.HasPrefix(auth.Load().(string), "Basic ") || sc.Unacked() != 0 {
		t.Fatalf("via proxy %d auth %v unacked %d", via.Load(), auth.Load(), sc.Unacked())
	}
}
