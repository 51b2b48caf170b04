package api

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spur-connect/spur/runtime"
	"golang.org/x/crypto/bcrypt"
)

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestBasicAuthCluster(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("hashed-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(t.TempDir(), "users")
	if err := os.WriteFile(users, []byte("# Kafka's PropertyFileLoginModule format\nfile-user: file-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := startCluster(2, map[string]string{
		"rest.auth.type":       "basic",
		"rest.auth.users":      "admin:s3cret,ops:" + string(hash),
		"rest.auth.users.file": users,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	admin := []string{"Authorization", basic("admin", "s3cret")}
	runCases(t, c, []tcase{
		{name: "no credentials", method: "GET", path: "/connectors", code: 401, msg: "User cannot access the resource."},
		{name: "no credentials unknown path", method: "GET", path: "/nope", code: 401},
		{name: "wrong password", method: "GET", path: "/connectors", headers: []string{"Authorization", basic("admin", "nope")}, code: 401},
		{name: "unknown user", method: "GET", path: "/connectors", headers: []string{"Authorization", basic("eve", "s3cret")}, code: 401},
		{name: "bearer instead of basic", method: "GET", path: "/connectors", headers: []string{"Authorization", "Bearer s3cret"}, code: 401},
		{name: "metrics need credentials", method: "GET", path: "/metrics", code: 401},
		{name: "health is exempt", method: "GET", path: "/health", code: 200},
		{name: "admin", method: "GET", path: "/connectors", headers: admin, code: 200},
		{name: "bcrypt user", method: "GET", path: "/", headers: []string{"Authorization", basic("ops", "hashed-pw")}, code: 200},
		{name: "file user", method: "GET", path: "/", headers: []string{"Authorization", basic("file-user", "file-pw")}, code: 200},
		// Writes through the follower are forwarded with the client's Authorization header.
		{name: "create", method: "POST", path: "/connectors", headers: admin,
			body: `{"name":"auth-{role}","config":{"connector.class":"datagen","kafka.topic":"a","iterations":"1"}}`, code: 201},
		{name: "update", method: "PUT", path: "/connectors/auth-{role}/config", headers: admin,
			body: `{"connector.class":"datagen","kafka.topic":"a","iterations":"2"}`, code: 200},
		{name: "delete", method: "DELETE", path: "/connectors/auth-{role}", headers: admin, code: 204},
	})
	r := call(t, "GET", c.follower().url+"/connectors", "")
	if r.header.Get("WWW-Authenticate") != `Basic realm="spur"` {
		t.Fatalf("challenge %q", r.header.Get("WWW-Authenticate"))
	}
}

// unstarted is a server on a worker that never runs: enough for the
// request pipeline (auth, CORS, content negotiation).
func unstarted(t *testing.T, overrides map[string]string) *Server {
	t.Helper()
	cfg, err := workerConfig("127.0.0.1:1", overrides)
	if err != nil {
		t.Fatal(err)
	}
	w, err := runtime.NewWorker(cfg, runtimeOptions(testRegistry(), testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Options{Worker: w, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func TestBearerAuth(t *testing.T) {
	tokens := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(tokens, []byte("tok-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := unstarted(t, map[string]string{"rest.auth.type": "bearer", "rest.auth.token": "tok-1, tok-2", "rest.auth.token.file": tokens,
		"rest.auth.exempt.paths": "/health,/metrics"}).Handler()
	for _, tc := range []struct {
		path, auth string
		code       int
	}{
		{"/connectors", "", 401},
		{"/connectors", "Bearer nope", 401},
		{"/connectors", "Basic " + base64.StdEncoding.EncodeToString([]byte("tok-1:")), 401},
		{"/connectors", "Bearer tok-1", 200},
		{"/connectors", "bearer tok-2", 200},
		{"/connectors", "Bearer tok-from-file", 200},
		{"/metrics", "", 200},
		{"/health", "", 503},
	} {
		r := serve(h, "GET", tc.path, "", "Authorization", tc.auth)
		if r.code != tc.code {
			t.Errorf("GET %s with %q: %s, want %d", tc.path, tc.auth, r, tc.code)
		}
		if r.code == 401 && r.header.Get("WWW-Authenticate") != `Bearer realm="spur"` {
			t.Errorf("challenge %q", r.header.Get("WWW-Authenticate"))
		}
	}
}

func TestRESTConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg map[string]string
		msg string
	}{
		{map[string]string{"rest.auth.type": "basic"}, "needs at least one user"},
		{map[string]string{"rest.auth.type": "bearer"}, "needs at least one token"},
		{map[string]string{"rest.auth.type": "kerberos"}, "must be one of none, basic, bearer"},
		{map[string]string{"rest.auth.type": "basic", "rest.auth.users": "nocolon"}, "user:password"},
		{map[string]string{"rest.auth.type": "basic", "rest.auth.users.file": "/nonexistent/users"}, "no such file"},
		{map[string]string{"rest.advertised.listener": "https"}, "an https:// listener needs a certificate"},
		{map[string]string{"listeners.https.ssl.truststore.location": "/nonexistent/ca.pem"}, "no such file"},
	} {
		cfg, err := workerConfig("127.0.0.1:1", tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		w, err := runtime.NewWorker(cfg, runtimeOptions(testRegistry(), testLogger()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := New(Options{Worker: w}); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%v: error %v, want %q", tc.cfg, err, tc.msg)
		}
	}
}

func TestCORS(t *testing.T) {
	h := unstarted(t, map[string]string{"access.control.allow.origin": "https://ui.example", "access.control.allow.methods": "GET,PUT,POST,DELETE",
		"rest.auth.type": "basic", "rest.auth.users": "a:b"}).Handler()
	// The preflight carries no credentials and must pass.
	r := serve(h, "OPTIONS", "/connectors", "", "Origin", "https://ui.example", "Access-Control-Request-Method", "PUT")
	if r.code != 204 || r.header.Get("Access-Control-Allow-Origin") != "https://ui.example" || !strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "PUT") {
		t.Fatalf("preflight: %s %v", r, r.header)
	}
	r = serve(h, "GET", "/connectors", "", "Origin", "https://ui.example", "Authorization", basic("a", "b"))
	if r.code != 200 || r.header.Get("Access-Control-Allow-Origin") != "https://ui.example" {
		t.Fatalf("GET with origin: %s %v", r, r.header)
	}
	r = serve(h, "GET", "/connectors", "", "Origin", "https://evil.example", "Authorization", basic("a", "b"))
	if r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("other origin allowed: %v", r.header)
	}
	// Without access.control.allow.origin, no CORS headers (Kafka Connect's default).
	h = unstarted(t, nil).Handler()
	if r := serve(h, "GET", "/connectors", "", "Origin", "https://ui.example"); r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("CORS on by default: %v", r.header)
	}
}

// writeCerts writes a CA and a server certificate for 127.0.0.1 (chain
// and key in one PEM file, as listeners.https.ssl.keystore.location takes).
func writeCerts(t *testing.T) (keystore, truststore string) {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "spur test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	keystore, truststore = filepath.Join(dir, "server.pem"), filepath.Join(dir, "ca.pem")
	ks := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})...)
	if err := os.WriteFile(keystore, ks, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truststore, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return keystore, truststore
}

// TestTLSCluster runs two workers with https:// listeners: clients reach
// them over TLS, and a write sent to the follower is forwarded to the
// leader over TLS, trusting the configured CA.
func TestTLSCluster(t *testing.T) {
	ks, ts := writeCerts(t)
	c, err := startCluster(2, map[string]string{
		"rest.advertised.listener":                "https",
		"listeners.https.ssl.keystore.location":   ks,
		"listeners.https.ssl.truststore.location": ts,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(ts)
	pool.AppendCertsFromPEM(caPEM)
	cl := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	f := c.follower()
	if !strings.HasPrefix(f.url, "https://") || !strings.HasPrefix(f.w.Config().AdvertisedURL, "https://") {
		t.Fatalf("not https: %s %s", f.url, f.w.Config().AdvertisedURL)
	}
	r, err := callErr(cl, "POST", f.url+"/connectors", `{"name":"tls","config":{"connector.class":"datagen","kafka.topic":"tls","iterations":"1"}}`)
	if err != nil || r.code != 201 || !strings.HasPrefix(r.header.Get("Location"), "https://") {
		t.Fatalf("create over TLS via follower: %v %s %v", err, r, r.header)
	}
	// Plain HTTP and untrusted clients are refused.
	if _, err := callErr(http.DefaultClient, "GET", strings.Replace(f.url, "https://", "http://", 1)+"/", ""); err == nil {
		r, _ := callErr(http.DefaultClient, "GET", strings.Replace(f.url, "https://", "http://", 1)+"/", "")
		if r.code == 200 {
			t.Fatal("plain HTTP served on an https listener")
		}
	}
	if _, err := callErr(&http.Client{Timeout: 5 * time.Second}, "GET", f.url+"/", ""); err == nil {
		t.Fatal("a client that does not trust the CA connected")
	}
}
