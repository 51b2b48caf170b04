package tlsconf_test

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/internal/tlsconf"
)

// The keys as the two callers name them: the HTTP sink offers every
// setting, Elasticsearch only the two files and the host name check.
const (
	httpProtocols     = "https.ssl.enabled.protocols"
	httpTrustLocation = "https.ssl.truststore.location"
	httpTrustCerts    = "https.ssl.truststore.certificates"
	httpKeyLocation   = "https.ssl.keystore.location"
	httpKeyChain      = "https.ssl.keystore.certificate.chain"
	httpKeyKey        = "https.ssl.keystore.key"
	httpEndpointID    = "https.ssl.endpoint.identification.algorithm"

	esTrustLocation = "elastic.https.ssl.truststore.location"
	esKeyLocation   = "elastic.https.ssl.keystore.location"
	esEndpointID    = "elastic.https.ssl.endpoint.identification.algorithm"
)

var (
	httpKeys = tlsconf.Keys{
		Protocols: httpProtocols, TrustLocation: httpTrustLocation, TrustCerts: httpTrustCerts,
		KeyLocation: httpKeyLocation, KeyChain: httpKeyChain, KeyKey: httpKeyKey, EndpointID: httpEndpointID,
	}
	esKeys = tlsconf.Keys{TrustLocation: esTrustLocation, KeyLocation: esKeyLocation, EndpointID: esEndpointID}
)

// spec declares the keys with the types, defaults and validators the
// connectors give them, so Build sees what it sees in production.
var spec = connect.NewSpec(
	connect.ConfigKey{Name: httpProtocols, Type: connect.TypeList, Default: "TLSv1.2,TLSv1.3", Validate: tlsconf.ValidProtocols},
	connect.ConfigKey{Name: httpTrustLocation},
	connect.ConfigKey{Name: httpTrustCerts},
	connect.ConfigKey{Name: httpKeyLocation},
	connect.ConfigKey{Name: httpKeyChain},
	connect.ConfigKey{Name: httpKeyKey, Type: connect.TypePassword},
	connect.ConfigKey{Name: httpEndpointID, Default: "https", Validate: connect.OneOf("https", "")},
	connect.ConfigKey{Name: esTrustLocation},
	connect.ConfigKey{Name: esKeyLocation},
	connect.ConfigKey{Name: esEndpointID, Default: "https", Validate: connect.OneOf("https", "")},
)

// build parses the key/value pairs kv with spec and hands them to Build.
func build(t *testing.T, keys tlsconf.Keys, kv ...string) (*tls.Config, []connect.KeyError) {
	t.Helper()
	raw := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		raw[kv[i]] = kv[i+1]
	}
	c, errs := spec.Parse(raw)
	if len(errs) > 0 {
		t.Fatalf("the test's own config does not parse: %v", errs)
	}
	return tlsconf.Build(c, keys)
}

// mustBuild is build for a config that must be good.
func mustBuild(t *testing.T, keys tlsconf.Keys, kv ...string) *tls.Config {
	t.Helper()
	cfg, errs := build(t, keys, kv...)
	if len(errs) > 0 {
		t.Fatalf("Build: want no errors, got %v", errs)
	}
	return cfg
}

// ---- certificates ----

// authority is a CA issuing the tests' certificates: a root, or an
// intermediate whose issued chains carry it.
type authority struct {
	cert  *x509.Certificate
	key   *ecdsa.PrivateKey
	chain [][]byte // DER of the intermediates a leaf it issues is sent with
}

func newRoot(t *testing.T, name string) *authority {
	t.Helper()
	key := newECKey(t)
	tmpl := caTemplate(name)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatalf("creating root %s: %v", name, err)
	}
	return &authority{cert: parse(t, der), key: key}
}

func (ca *authority) intermediate(t *testing.T, name string) *authority {
	t.Helper()
	key := newECKey(t)
	der, err := x509.CreateCertificate(rand.Reader, caTemplate(name), ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatalf("creating intermediate %s: %v", name, err)
	}
	return &authority{cert: parse(t, der), key: key, chain: append([][]byte{der}, ca.chain...)}
}

// pem is the CA's certificate as a trust store holds it.
func (ca *authority) pem() []byte { return certPEM(ca.cert.Raw) }

func (ca *authority) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

func caTemplate(name string) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
}

// leaf is an issued certificate with its key, in the forms the tests need.
type leaf struct {
	key      crypto.Signer
	chainPEM []byte // the certificate, then the intermediates
	keyPEM   []byte // PKCS#8, unencrypted
	tls      tls.Certificate
}

// issue signs a certificate for key (a new P-256 key when nil); opts edit
// the template, in order.
func (ca *authority) issue(t *testing.T, key crypto.Signer, cn string, opts ...func(*x509.Certificate)) leaf {
	t.Helper()
	if key == nil {
		key = newECKey(t)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	for _, o := range opts {
		o(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatalf("issuing %s: %v", cn, err)
	}
	chain := append([][]byte{der}, ca.chain...)
	var chainPEM []byte
	for _, c := range chain {
		chainPEM = append(chainPEM, certPEM(c)...)
	}
	return leaf{
		key:      key,
		chainPEM: chainPEM,
		keyPEM:   pkcs8PEM(t, key),
		tls:      tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: parse(t, der)},
	}
}

// serverCert is a server certificate for 127.0.0.1, unless opts say otherwise.
func (ca *authority) serverCert(t *testing.T, opts ...func(*x509.Certificate)) leaf {
	t.Helper()
	return ca.issue(t, nil, "spur-test-server", append([]func(*x509.Certificate){usage(x509.ExtKeyUsageServerAuth), forIP("127.0.0.1")}, opts...)...)
}

// clientCert is a client certificate named cn.
func (ca *authority) clientCert(t *testing.T, key crypto.Signer, cn string) leaf {
	t.Helper()
	return ca.issue(t, key, cn, usage(x509.ExtKeyUsageClientAuth))
}

func usage(u ...x509.ExtKeyUsage) func(*x509.Certificate) {
	return func(c *x509.Certificate) { c.ExtKeyUsage = u }
}

func forIP(ip string) func(*x509.Certificate) {
	return func(c *x509.Certificate) { c.IPAddresses, c.DNSNames = []net.IP{net.ParseIP(ip)}, nil }
}

func forDNS(names ...string) func(*x509.Certificate) {
	return func(c *x509.Certificate) { c.IPAddresses, c.DNSNames = nil, names }
}

func expired(c *x509.Certificate) {
	c.NotBefore, c.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
}

func newECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generating a P-256 key: %v", err)
	}
	return key
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}

func parse(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parsing a certificate just made: %v", err)
	}
	return c
}

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func pkcs8PEM(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("marshalling a PKCS#8 key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// sec1PEM is an EC key as "openssl ecparam -genkey" writes it.
func sec1PEM(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatalf("marshalling a SEC1 key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

// legacyEncryptedPEM is an EC key encrypted the old OpenSSL way
// (Proc-Type: 4,ENCRYPTED; "openssl ec -aes256").
func legacyEncryptedPEM(t *testing.T, key *ecdsa.PrivateKey, password string) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatalf("marshalling a SEC1 key: %v", err)
	}
	//lint:ignore SA1019 the tests need the legacy format users still have
	block, err := x509.EncryptPEMBlock(rand.Reader, "EC PRIVATE KEY", der, []byte(password), x509.PEMCipherAES256)
	if err != nil {
		t.Fatalf("encrypting a PEM block: %v", err)
	}
	return pem.EncodeToMemory(block)
}

// encryptedPKCS8PEM is a key as "openssl pkcs8 -topk8 -v2 aes-256-cbc"
// (and openssl genpkey -aes256) writes it: PKCS#8 encrypted with PBES2,
// PBKDF2-HMAC-SHA256 and AES-256-CBC.
func encryptedPKCS8PEM(t *testing.T, key crypto.Signer, password string) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("marshalling a PKCS#8 key: %v", err)
	}
	salt, iv := make([]byte, 16), make([]byte, aes.BlockSize)
	rand.Read(salt)
	rand.Read(iv)
	const iterations = 2048
	dk, err := pbkdf2.Key(sha256.New, password, salt, iterations, 32)
	if err != nil {
		t.Fatalf("deriving the key: %v", err)
	}
	block, err := aes.NewCipher(dk)
	if err != nil {
		t.Fatalf("AES: %v", err)
	}
	pad := aes.BlockSize - len(der)%aes.BlockSize
	data := append(der, bytes.Repeat([]byte{byte(pad)}, pad)...)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(data, data)

	type algorithm struct {
		OID    asn1.ObjectIdentifier
		Params asn1.RawValue
	}
	raw := func(v any) asn1.RawValue {
		b, err := asn1.Marshal(v)
		if err != nil {
			t.Fatalf("ASN.1: %v", err)
		}
		return asn1.RawValue{FullBytes: b}
	}
	var (
		oidPBES2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
		oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
		oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
		oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	)
	kdf := struct {
		Salt       []byte
		Iterations int
		KeyLength  int
		PRF        algorithm
	}{salt, iterations, 32, algorithm{oidHMACSHA256, asn1.NullRawValue}}
	pbes2 := struct{ KDF, Cipher algorithm }{algorithm{oidPBKDF2, raw(kdf)}, algorithm{oidAES256CBC, raw(iv)}}
	info := struct {
		Algorithm algorithm
		Data      []byte
	}{algorithm{oidPBES2, raw(pbes2)}, data}
	return pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: raw(info).FullBytes})
}

// writeFile writes the concatenated parts to a new file and returns its path.
func writeFile(t *testing.T, name string, parts ...[]byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, bytes.Join(parts, nil), 0o600); err != nil {
		t.Fatalf("writing %s: %v", path, err)
	}
	return path
}

// ---- servers and clients ----

// startServer starts an HTTPS server on 127.0.0.1 presenting cert; each
// configure edits its TLS config. It answers with what it saw of the
// connection: "<TLS version>, <client certificate CN or none>".
func startServer(t *testing.T, cert leaf, configure ...func(*tls.Config)) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := "no client certificate"
		if len(r.TLS.PeerCertificates) > 0 {
			client = "client " + r.TLS.PeerCertificates[0].Subject.CommonName
		}
		fmt.Fprintf(w, "%s, %s", tls.VersionName(r.TLS.Version), client)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are what some tests want
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert.tls}}
	for _, c := range configure {
		c(srv.TLS)
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	if host, _, _ := net.SplitHostPort(srv.Listener.Addr().String()); host != "127.0.0.1" {
		t.Fatalf("the test server listens on %s, want 127.0.0.1", srv.Listener.Addr())
	}
	return srv
}

// requireClientCertsFrom makes the server demand a client certificate
// issued by ca.
func requireClientCertsFrom(ca *authority) func(*tls.Config) {
	return func(c *tls.Config) { c.ClientAuth, c.ClientCAs = tls.RequireAndVerifyClientCert, ca.pool() }
}

func versions(lo, hi uint16) func(*tls.Config) {
	return func(c *tls.Config) { c.MinVersion, c.MaxVersion = lo, hi }
}

// get makes one request to srv the way the connectors do, through an
// http.Transport with cfg (nil: Go's defaults), and returns the server's
// answer or the client's error.
func get(t *testing.T, cfg *tls.Config, srv *httptest.Server) (string, error) {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true, TLSHandshakeTimeout: 10 * time.Second}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 20 * time.Second}).Get(srv.URL)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// expectAnswer checks a connection that must succeed with answer want, or
// fail with an error holding wantErr.
func expectAnswer(t *testing.T, got string, err error, want, wantErr string) {
	t.Helper()
	switch {
	case wantErr == "" && err != nil:
		t.Fatalf("want the connection accepted (%q), got %v", want, err)
	case wantErr == "" && got != want:
		t.Fatalf("want the server to see %q, it saw %q", want, got)
	case wantErr != "" && err == nil:
		t.Fatalf("want the connection refused with %q, it was accepted: %q", wantErr, got)
	case wantErr != "" && !strings.Contains(err.Error(), wantErr):
		t.Fatalf("want the connection refused with %q, got %v", wantErr, err)
	}
}

// ---- tests ----

func TestNothingSetKeepsGoDefaults(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys tlsconf.Keys
		kv   []string
	}{
		{"elasticsearch, no key set", esKeys, nil},
		{"elasticsearch, host name check set to its default", esKeys, []string{esEndpointID, "https"}},
		{"elasticsearch, blank locations", esKeys, []string{esTrustLocation, "  ", esKeyLocation, ""}},
		{"no key offered", tlsconf.Keys{}, []string{httpTrustLocation, "/not/offered.pem", httpEndpointID, ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if cfg := mustBuild(t, tc.keys, tc.kv...); cfg != nil {
				t.Fatalf("want nil (Go's defaults), got %+v", cfg)
			}
		})
	}

	t.Run("zero Config", func(t *testing.T) {
		cfg, errs := tlsconf.Build(connect.Config{}, httpKeys)
		if cfg != nil || len(errs) > 0 {
			t.Fatalf("want nil and no errors from an empty config, got %+v, %v", cfg, errs)
		}
	})
}

func TestDefaultProtocolListOnlyPinsGoDefaults(t *testing.T) {
	// The HTTP sink's protocol key defaults to TLSv1.2,TLSv1.3, so its
	// config is never nil, but nothing else differs from Go's defaults.
	cfg := mustBuild(t, httpKeys)
	if cfg == nil {
		t.Fatal("want a config holding the default protocol range, got nil")
	}
	if cfg.MinVersion != tls.VersionTLS12 || cfg.MaxVersion != tls.VersionTLS13 {
		t.Fatalf("want TLS 1.2 to 1.3, got %s to %s", tls.VersionName(cfg.MinVersion), tls.VersionName(cfg.MaxVersion))
	}
	if cfg.RootCAs != nil || len(cfg.Certificates) > 0 || cfg.InsecureSkipVerify || cfg.VerifyConnection != nil {
		t.Fatalf("want system roots, no client certificate and full verification, got %+v", cfg)
	}
}

func TestTrustStoreDecidesWhichServersAreTrusted(t *testing.T) {
	ca, other := newRoot(t, "spur test CA"), newRoot(t, "some other CA")
	inter := ca.intermediate(t, "spur test intermediate")
	direct := startServer(t, ca.serverCert(t))
	viaIntermediate := startServer(t, inter.serverCert(t))

	caFile := writeFile(t, "ca.pem", ca.pem())
	otherFile := writeFile(t, "other.pem", other.pem())
	bundleFile := writeFile(t, "bundle.pem", other.pem(), []byte("a comment between certificates\n"), ca.pem())

	for _, tc := range []struct {
		name    string
		keys    tlsconf.Keys
		kv      []string
		srv     *httptest.Server
		wantErr string
	}{
		{"trust store file", httpKeys, []string{httpTrustLocation, caFile}, direct, ""},
		{"trust store inline", httpKeys, []string{httpTrustCerts, string(ca.pem())}, direct, ""},
		{"bundle holding the CA after another one", httpKeys, []string{httpTrustLocation, bundleFile}, direct, ""},
		{"root of a server that sends its intermediate", httpKeys, []string{httpTrustLocation, caFile}, viaIntermediate, ""},
		{"elasticsearch trust store file", esKeys, []string{esTrustLocation, caFile}, direct, ""},
		{"another CA", httpKeys, []string{httpTrustLocation, otherFile}, direct, "certificate signed by unknown authority"},
		{"another CA inline", httpKeys, []string{httpTrustCerts, string(other.pem())}, direct, "certificate signed by unknown authority"},
		{"no trust store: the system pool", httpKeys, nil, direct, "x509:"},
		{"elasticsearch, no trust store: Go's defaults", esKeys, nil, direct, "x509:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := get(t, mustBuild(t, tc.keys, tc.kv...), tc.srv)
			expectAnswer(t, got, err, "TLS 1.3, no client certificate", tc.wantErr)
		})
	}
}

func TestKeyStoreGivesTheServerAClientCertificate(t *testing.T) {
	ca, other := newRoot(t, "spur test CA"), newRoot(t, "some other CA")
	inter := ca.intermediate(t, "spur client intermediate")
	srv := startServer(t, ca.serverCert(t), requireClientCertsFrom(ca))
	trust := writeFile(t, "ca.pem", ca.pem())

	client := ca.clientCert(t, nil, "spur-client")
	ecKey := newECKey(t)
	sec1 := ca.clientCert(t, ecKey, "spur-client-sec1")
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("generating an Ed25519 key: %v", err)
	}
	ed := ca.clientCert(t, edKey, "spur-client-ed25519")
	chained := inter.clientCert(t, nil, "spur-client-via-intermediate")
	stranger := other.clientCert(t, nil, "stranger")

	for _, tc := range []struct {
		name    string
		keys    tlsconf.Keys
		kv      []string
		want    string
		wantErr string
	}{
		{"key store file, chain then key", httpKeys,
			[]string{httpKeyLocation, writeFile(t, "client.pem", client.chainPEM, client.keyPEM)},
			"TLS 1.3, client spur-client", ""},
		{"key store file, key then chain", httpKeys,
			[]string{httpKeyLocation, writeFile(t, "client.pem", client.keyPEM, client.chainPEM)},
			"TLS 1.3, client spur-client", ""},
		{"SEC1 EC key", httpKeys,
			[]string{httpKeyLocation, writeFile(t, "client.pem", sec1.chainPEM, sec1PEM(t, ecKey))},
			"TLS 1.3, client spur-client-sec1", ""},
		{"Ed25519 key", httpKeys,
			[]string{httpKeyLocation, writeFile(t, "client.pem", ed.chainPEM, ed.keyPEM)},
			"TLS 1.3, client spur-client-ed25519", ""},
		{"chain through an intermediate the server does not know", httpKeys,
			[]string{httpKeyLocation, writeFile(t, "client.pem", chained.chainPEM, chained.keyPEM)},
			"TLS 1.3, client spur-client-via-intermediate", ""},
		{"chain and key inline", httpKeys,
			[]string{httpKeyChain, string(client.chainPEM), httpKeyKey, string(client.keyPEM)},
			"TLS 1.3, client spur-client", ""},
		{"over TLS 1.2", httpKeys,
			[]string{httpProtocols, "TLSv1.2", httpKeyLocation, writeFile(t, "client.pem", client.chainPEM, client.keyPEM)},
			"TLS 1.2, client spur-client", ""},
		{"with the chain-only server check", httpKeys,
			[]string{httpEndpointID, "", httpKeyLocation, writeFile(t, "client.pem", client.chainPEM, client.keyPEM)},
			"TLS 1.3, client spur-client", ""},
		{"elasticsearch key store file", esKeys,
			[]string{esKeyLocation, writeFile(t, "client.pem", client.chainPEM, client.keyPEM)},
			"TLS 1.3, client spur-client", ""},
		{"no key store", httpKeys, nil, "", "certificate required"},
		{"certificate from a CA the server does not trust", httpKeys,
			[]string{httpKeyLocation, writeFile(t, "stranger.pem", stranger.chainPEM, stranger.keyPEM)},
			"", "certificate required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kv := append([]string{httpTrustLocation, trust, esTrustLocation, trust}, tc.kv...)
			got, err := get(t, mustBuild(t, tc.keys, kv...), srv)
			expectAnswer(t, got, err, tc.want, tc.wantErr)
		})
	}
}

func TestEmptyEndpointIdentificationChecksTheChainNotTheHostName(t *testing.T) {
	// As in Kafka: ssl.endpoint.identification.algorithm=https (the
	// default) checks that the certificate names the host; empty checks
	// only the chain. These servers are named localhost and reached at
	// 127.0.0.1.
	ca, other := newRoot(t, "spur test CA"), newRoot(t, "some other CA")
	inter := ca.intermediate(t, "spur test intermediate")
	byIP := startServer(t, ca.serverCert(t))
	localhost := startServer(t, ca.serverCert(t, forDNS("localhost")))
	expiredCert := startServer(t, ca.serverCert(t, forDNS("localhost"), expired))
	clientOnly := startServer(t, ca.serverCert(t, forDNS("localhost"), usage(x509.ExtKeyUsageClientAuth)))
	viaIntermediate := startServer(t, inter.serverCert(t, forDNS("localhost")))
	caFile, otherFile := writeFile(t, "ca.pem", ca.pem()), writeFile(t, "other.pem", other.pem())

	noHostKey := httpKeys
	noHostKey.EndpointID = ""

	for _, tc := range []struct {
		name    string
		keys    tlsconf.Keys
		kv      []string
		srv     *httptest.Server
		wantErr string
	}{
		{"certificate naming the IP, default check", httpKeys, []string{httpTrustLocation, caFile}, byIP, ""},
		{"default checks the host name", httpKeys, []string{httpTrustLocation, caFile}, localhost, "127.0.0.1"},
		{"https checks the host name", httpKeys, []string{httpTrustLocation, caFile, httpEndpointID, "https"}, localhost, "127.0.0.1"},
		{"HTTPS in capitals checks the host name", httpKeys, []string{httpTrustLocation, caFile, httpEndpointID, "HTTPS"}, localhost, "127.0.0.1"},
		{"empty accepts a certificate for another name", httpKeys, []string{httpTrustLocation, caFile, httpEndpointID, ""}, localhost, ""},
		{"blank is empty", httpKeys, []string{httpTrustLocation, caFile, httpEndpointID, "  "}, localhost, ""},
		{"empty inline trust", httpKeys, []string{httpTrustCerts, string(ca.pem()), httpEndpointID, ""}, localhost, ""},
		{"empty, elasticsearch", esKeys, []string{esTrustLocation, caFile, esEndpointID, ""}, localhost, ""},
		{"elasticsearch default checks the host name", esKeys, []string{esTrustLocation, caFile}, localhost, "127.0.0.1"},
		{"empty follows the intermediate the server sends", httpKeys, []string{httpTrustLocation, caFile, httpEndpointID, ""}, viaIntermediate, ""},
		{"empty still refuses another CA", httpKeys, []string{httpTrustLocation, otherFile, httpEndpointID, ""}, localhost, "certificate signed by unknown authority"},
		{"empty still refuses an expired certificate", httpKeys, []string{httpTrustLocation, caFile, httpEndpointID, ""}, expiredCert, "expired"},
		{"empty still refuses a certificate not meant for servers", httpKeys, []string{httpTrustLocation, caFile, httpEndpointID, ""}, clientOnly, "incompatible key usage"},
		{"empty without a trust store checks against the system pool", httpKeys, []string{httpEndpointID, ""}, localhost, "x509:"},
		{"a connector not offering the key always checks", noHostKey, []string{httpTrustLocation, caFile, httpEndpointID, ""}, localhost, "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := get(t, mustBuild(t, tc.keys, tc.kv...), tc.srv)
			expectAnswer(t, got, err, "TLS 1.3, no client certificate", tc.wantErr)
		})
	}

	t.Run("a server sending no certificate is refused", func(t *testing.T) {
		cfg := mustBuild(t, httpKeys, httpTrustLocation, caFile, httpEndpointID, "")
		if err := cfg.VerifyConnection(tls.ConnectionState{}); err == nil || !strings.Contains(err.Error(), "no certificate") {
			t.Fatalf("want an error saying the server sent no certificate, got %v", err)
		}
	})
}

func TestEnabledProtocolsBoundTheVersion(t *testing.T) {
	for _, tc := range []struct {
		list   string
		lo, hi uint16
	}{
		{"TLSv1.2,TLSv1.3", tls.VersionTLS12, tls.VersionTLS13},
		{"TLSv1.3", tls.VersionTLS13, tls.VersionTLS13},
		{"TLSv1.2", tls.VersionTLS12, tls.VersionTLS12},
		{"TLSv1.3, TLSv1.2", tls.VersionTLS12, tls.VersionTLS13},
		{"TLSv1,TLSv1.1", tls.VersionTLS10, tls.VersionTLS11},
		// Go takes a range, so the versions between listed ones are
		// enabled too (Kafka would enable exactly the listed ones).
		{"TLSv1,TLSv1.3", tls.VersionTLS10, tls.VersionTLS13},
	} {
		t.Run(tc.list, func(t *testing.T) {
			cfg := mustBuild(t, httpKeys, httpProtocols, tc.list)
			if cfg == nil || cfg.MinVersion != tc.lo || cfg.MaxVersion != tc.hi {
				t.Fatalf("want %s to %s, got %+v", tls.VersionName(tc.lo), tls.VersionName(tc.hi), cfg)
			}
		})
	}

	ca := newRoot(t, "spur test CA")
	cert := ca.serverCert(t)
	trust := writeFile(t, "ca.pem", ca.pem())
	modern := startServer(t, cert, versions(tls.VersionTLS12, tls.VersionTLS13))
	only12 := startServer(t, cert, versions(tls.VersionTLS12, tls.VersionTLS12))
	only13 := startServer(t, cert, versions(tls.VersionTLS13, tls.VersionTLS13))
	for _, tc := range []struct {
		name    string
		list    string
		srv     *httptest.Server
		want    string
		wantErr string
	}{
		{"default list against a modern server", "TLSv1.2,TLSv1.3", modern, "TLS 1.3", ""},
		{"default list against a TLS 1.2 server", "TLSv1.2,TLSv1.3", only12, "TLS 1.2", ""},
		{"TLSv1.2 only against a modern server", "TLSv1.2", modern, "TLS 1.2", ""},
		{"TLSv1.3 only against a TLS 1.2 server", "TLSv1.3", only12, "", "protocol version"},
		{"TLSv1.2 only against a TLS 1.3 server", "TLSv1.2", only13, "", "protocol version"},
		{"old versions only against a modern server", "TLSv1,TLSv1.1", modern, "", "protocol version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := get(t, mustBuild(t, httpKeys, httpTrustLocation, trust, httpProtocols, tc.list), tc.srv)
			expectAnswer(t, got, err, tc.want+", no client certificate", tc.wantErr)
		})
	}
}

func TestValidProtocols(t *testing.T) {
	for _, tc := range []struct {
		list    []string
		wantErr string
	}{
		{[]string{"TLSv1.2", "TLSv1.3"}, ""},
		{[]string{"TLSv1.3"}, ""},
		{[]string{"TLSv1", "TLSv1.1"}, ""},
		{[]string{"TLSv1.2", "SSLv3"}, `unknown protocol "SSLv3"`},
		{[]string{"tlsv1.2"}, `unknown protocol "tlsv1.2"`},
		{[]string{"TLSv1.4"}, `unknown protocol "TLSv1.4"`},
		{[]string{}, "at least one protocol"},
		{nil, "at least one protocol"},
	} {
		t.Run(fmt.Sprint(tc.list), func(t *testing.T) {
			err := tlsconf.ValidProtocols(tc.list)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("want %v accepted, got %v", tc.list, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("want %v refused with %q, got %v", tc.list, tc.wantErr, err)
			}
		})
	}
}

func TestBuildChecksProtocolsItselfWithoutTheValidator(t *testing.T) {
	const key = "bare.protocols"
	bare := connect.NewSpec(connect.ConfigKey{Name: key, Type: connect.TypeList})
	for _, tc := range []struct {
		list    string
		bad     []string
		lo, hi  uint16
		wantNil bool
	}{
		{"TLSv1.2,SSLv3,TLSv1.4", []string{"SSLv3", "TLSv1.4"}, tls.VersionTLS12, tls.VersionTLS12, false},
		{"SSLv3", []string{"SSLv3"}, 0, 0, true},
	} {
		t.Run(tc.list, func(t *testing.T) {
			c, perrs := bare.Parse(map[string]string{key: tc.list})
			if len(perrs) > 0 {
				t.Fatalf("the test's own config does not parse: %v", perrs)
			}
			cfg, errs := tlsconf.Build(c, tlsconf.Keys{Protocols: key})
			all := fmt.Sprint(errs)
			for _, e := range errs {
				if e.Key != key {
					t.Fatalf("want every error on %s, got %v", key, errs)
				}
			}
			for _, p := range tc.bad {
				if !strings.Contains(all, fmt.Sprintf("unknown protocol %q", p)) {
					t.Fatalf("want an error naming %s, got %v", p, errs)
				}
			}
			switch {
			case tc.wantNil && cfg != nil:
				t.Fatalf("want Go's defaults (nil) when no listed protocol is known, got %+v", cfg)
			case !tc.wantNil && (cfg == nil || cfg.MinVersion != tc.lo || cfg.MaxVersion != tc.hi):
				t.Fatalf("want the known protocols kept (%s to %s), got %+v", tls.VersionName(tc.lo), tls.VersionName(tc.hi), cfg)
			}
		})
	}
}

func TestBadStoresAreErrorsNamingTheKey(t *testing.T) {
	ca := newRoot(t, "spur test CA")
	client := ca.clientCert(t, nil, "spur-client")
	otherClient := ca.clientCert(t, nil, "another client")
	ecKey := newECKey(t)
	ecClient := ca.clientCert(t, ecKey, "spur-client-ec")
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	garbage := []byte("this is not PEM\n")
	notPEMCert := []byte("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")

	type row struct {
		name string
		keys tlsconf.Keys
		kv   []string
		key  string   // the key the one error must be on
		want []string // what its message must say
	}
	rows := []row{
		{"missing trust store", httpKeys, []string{httpTrustLocation, missing},
			httpTrustLocation, []string{"cannot read the trust store", missing, "no such file"}},
		{"trust store is a directory", httpKeys, []string{httpTrustLocation, dir},
			httpTrustLocation, []string{"cannot read the trust store", dir}},
		{"trust store of garbage", httpKeys, []string{httpTrustLocation, writeFile(t, "ca.pem", garbage)},
			httpTrustLocation, []string{"holds no PEM certificate"}},
		{"trust store in DER", httpKeys, []string{httpTrustLocation, writeFile(t, "ca.der", ca.cert.Raw)},
			httpTrustLocation, []string{"holds no PEM certificate"}},
		{"trust store with a broken certificate", httpKeys, []string{httpTrustLocation, writeFile(t, "ca.pem", notPEMCert)},
			httpTrustLocation, []string{"holds no PEM certificate"}},
		{"trust store holding only a key", httpKeys, []string{httpTrustLocation, writeFile(t, "ca.pem", client.keyPEM)},
			httpTrustLocation, []string{"holds no PEM certificate"}},
		{"inline trust of garbage", httpKeys, []string{httpTrustCerts, string(garbage)},
			httpTrustCerts, []string{"holds no PEM certificate"}},
		{"trust store file and inline both", httpKeys, []string{httpTrustLocation, writeFile(t, "ca.pem", ca.pem()), httpTrustCerts, string(ca.pem())},
			httpTrustCerts, []string{"set either", httpTrustLocation, httpTrustCerts}},
		{"elasticsearch missing trust store", esKeys, []string{esTrustLocation, missing},
			esTrustLocation, []string{"cannot read the trust store", missing}},

		{"missing key store", httpKeys, []string{httpKeyLocation, missing},
			httpKeyLocation, []string{"cannot read the key store", missing, "no such file"}},
		{"key store is a directory", httpKeys, []string{httpKeyLocation, dir},
			httpKeyLocation, []string{"cannot read the key store", dir}},
		{"key store of garbage", httpKeys, []string{httpKeyLocation, writeFile(t, "client.pem", garbage)},
			httpKeyLocation, []string{"not a PEM certificate chain with an unencrypted private key"}},
		{"key store without a key", httpKeys, []string{httpKeyLocation, writeFile(t, "client.pem", client.chainPEM)},
			httpKeyLocation, []string{"unencrypted private key", "private key"}},
		{"key store without a certificate", httpKeys, []string{httpKeyLocation, writeFile(t, "client.pem", client.keyPEM)},
			httpKeyLocation, []string{"unencrypted private key", "certificate"}},
		{"key store with another certificate's key", httpKeys, []string{httpKeyLocation, writeFile(t, "client.pem", client.chainPEM, otherClient.keyPEM)},
			httpKeyLocation, []string{"unencrypted private key", "does not match"}},
		{"key store with a PKCS#8 encrypted key", httpKeys,
			[]string{httpKeyLocation, writeFile(t, "client.pem", client.chainPEM, encryptedPKCS8PEM(t, client.key, "secret"))},
			httpKeyLocation, []string{"unencrypted private key", "failed to parse private key"}},
		{"key store with an OpenSSL-encrypted EC key", httpKeys,
			[]string{httpKeyLocation, writeFile(t, "client.pem", ecClient.chainPEM, legacyEncryptedPEM(t, ecKey, "secret"))},
			httpKeyLocation, []string{"unencrypted private key", "failed to parse private key"}},
		{"elasticsearch key store with an encrypted key", esKeys,
			[]string{esKeyLocation, writeFile(t, "client.pem", client.chainPEM, encryptedPKCS8PEM(t, client.key, "secret"))},
			esKeyLocation, []string{"unencrypted private key"}},
		{"elasticsearch missing key store", esKeys, []string{esKeyLocation, missing},
			esKeyLocation, []string{"cannot read the key store", missing}},

		{"inline chain without a key", httpKeys, []string{httpKeyChain, string(client.chainPEM)},
			httpKeyKey, []string{"must be set with", httpKeyChain}},
		{"inline key without a chain", httpKeys, []string{httpKeyKey, string(client.keyPEM)},
			httpKeyChain, []string{"must be set with", httpKeyKey}},
		{"key store file and inline both", httpKeys,
			[]string{httpKeyLocation, writeFile(t, "client.pem", client.chainPEM, client.keyPEM), httpKeyChain, string(client.chainPEM), httpKeyKey, string(client.keyPEM)},
			httpKeyChain, []string{"set either", httpKeyLocation, httpKeyChain, httpKeyKey}},
		// A bad inline pair is reported on the chain key, whichever half is bad.
		{"inline encrypted key", httpKeys,
			[]string{httpKeyChain, string(client.chainPEM), httpKeyKey, string(encryptedPKCS8PEM(t, client.key, "secret"))},
			httpKeyChain, []string{"unencrypted private key", "failed to parse private key"}},
		{"inline chain and another certificate's key", httpKeys,
			[]string{httpKeyChain, string(client.chainPEM), httpKeyKey, string(otherClient.keyPEM)},
			httpKeyChain, []string{"does not match"}},
	}
	if os.Geteuid() != 0 { // file modes do not stop root
		unreadable := writeFile(t, "unreadable.pem", ca.pem())
		if err := os.Chmod(unreadable, 0); err != nil {
			t.Fatalf("chmod: %v", err)
		}
		rows = append(rows,
			row{"unreadable trust store", httpKeys, []string{httpTrustLocation, unreadable},
				httpTrustLocation, []string{"cannot read the trust store", unreadable, "permission denied"}},
			row{"unreadable key store", httpKeys, []string{httpKeyLocation, unreadable},
				httpKeyLocation, []string{"cannot read the key store", unreadable, "permission denied"}})
	}

	// No message may quote the private keys.
	var secrets []string
	for _, k := range [][]byte{client.keyPEM, otherClient.keyPEM} {
		block, _ := pem.Decode(k)
		secrets = append(secrets, strings.Split(string(k), "\n")[1], fmt.Sprintf("%x", block.Bytes[:16]))
	}

	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := build(t, tc.keys, tc.kv...)
			if len(errs) != 1 {
				t.Fatalf("want one error, on %s, got %d: %v", tc.key, len(errs), errs)
			}
			e := errs[0]
			if e.Key != tc.key {
				t.Fatalf("want the error on %s, got it on %s: %v", tc.key, e.Key, e)
			}
			for _, w := range tc.want {
				if !strings.Contains(e.Message, w) {
					t.Fatalf("want the error on %s to say %q, got %q", tc.key, w, e.Message)
				}
			}
			for _, s := range secrets {
				if strings.Contains(e.Error(), s) {
					t.Fatalf("the error quotes private key material: %q", e.Error())
				}
			}
		})
	}
}

func TestEmptyStoreFileIsAnError(t *testing.T) {
	// A zero-byte file (an unprovisioned secret mount, a truncated copy)
	// must not count as "no store set": an empty trust store would fall
	// back to the system's CAs, an empty key store would send no client
	// certificate, both without a word.
	empty := writeFile(t, "empty.pem")
	for _, tc := range []struct {
		name string
		keys tlsconf.Keys
		key  string
	}{
		{"empty trust store", httpKeys, httpTrustLocation},
		{"empty key store", httpKeys, httpKeyLocation},
		{"elasticsearch empty trust store", esKeys, esTrustLocation},
		{"elasticsearch empty key store", esKeys, esKeyLocation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, errs := build(t, tc.keys, tc.key, empty)
			if len(errs) != 1 || errs[0].Key != tc.key {
				var what string
				switch {
				case cfg == nil:
					what = "Go's defaults (nil config)"
				case cfg.RootCAs == nil && len(cfg.Certificates) == 0:
					what = "a config with the system roots and no client certificate"
				default:
					what = fmt.Sprintf("%+v", cfg)
				}
				t.Fatalf("want one error on %s for the empty file %s, got errors %v and %s", tc.key, empty, errs, what)
			}
		})
	}
}
