package mqtt

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pki is a CA with a server and a client certificate, as PEM files.
type pki struct {
	dir                        string
	ca, server, serverKey      string
	client, clientEnc, otherCA string
}

func newPKI(t *testing.T, dir string) *pki {
	t.Helper()
	p := &pki{dir: dir}
	caKey, caCert, caPEM := makeCert(t, "spur test CA", nil, nil, true, nil)
	p.ca = p.write(t, "ca.pem", caPEM)
	srvKey, _, srvPEM := makeCert(t, "127.0.0.1", caCert, caKey, false, []net.IP{net.ParseIP("127.0.0.1")})
	p.server = p.write(t, "server.pem", srvPEM)
	p.serverKey = p.write(t, "server.key", keyPEM(t, srvKey, ""))
	cliKey, _, cliPEM := makeCert(t, "spur client", caCert, caKey, false, nil)
	p.client = p.write(t, "client.pem", cliPEM+keyPEM(t, cliKey, ""))
	p.clientEnc = p.write(t, "client-enc.pem", cliPEM+keyPEM(t, cliKey, "key-pass"))
	_, _, otherPEM := makeCert(t, "some other CA", nil, nil, true, nil)
	p.otherCA = p.write(t, "other-ca.pem", otherPEM)
	return p
}

func (p *pki) write(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := writeFile(path, content); err != nil {
		t.Fatal(err)
	}
	return path
}

func makeCert(t *testing.T, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, isCA bool, ips []net.IP) (*ecdsa.PrivateKey, *x509.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: ips, BasicConstraintsValid: true, IsCA: isCA,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if parent == nil {
		parent, parentKey = tpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return key, cert, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func keyPEM(t *testing.T, key *ecdsa.PrivateKey, pass string) string {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	blk := &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	if pass != "" {
		//lint:ignore SA1019 the legacy encryption is what the connector accepts
		blk, err = x509.EncryptPEMBlock(rand.Reader, blk.Type, der, []byte(pass), x509.PEMCipherAES256) //nolint:staticcheck
		if err != nil {
			t.Fatal(err)
		}
	}
	return string(pem.EncodeToMemory(blk))
}

// TLS with client certificates (mutual TLS) against mosquitto's TLS
// listener: PEM trust store, PEM key store, encrypted key; an untrusted
// broker certificate or a missing client certificate fail the start.
func TestTLS(t *testing.T) {
	b := startBroker(t, brokerOptions{})
	p := newPKI(t, b.dir)
	tlsPort := freePort(t)
	b.stop()
	b.writeConf(append(b.baseConf(),
		fmt.Sprintf("listener %d 127.0.0.1", tlsPort),
		"cafile "+p.ca, "certfile "+p.server, "keyfile "+p.serverKey, "require_certificate true"))
	b.start()
	uri := fmt.Sprintf("ssl://127.0.0.1:%d", tlsPort)

	for _, c := range []struct {
		name string
		kv   []string
	}{
		{"plain key", []string{keyTrustStorePath, p.ca, keyKeyStorePath, p.client}},
		{"encrypted key", []string{keyTrustStorePath, p.ca, keyKeyStorePath, p.clientEnc, keyKeyPassword, "key-pass"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := startTask(t, taskConfig(b, append([]string{keyServerURI, uri}, c.kv...)...), "tls", 0, nil)
			pub := newPublisher(t, b) // on the plain listener
			pub.publish("sensors/secure", []byte("over tls"), 1)
			got := h.pollCommit(1, 5*time.Second)
			if len(got) != 1 || got[0].Value.String() != "over tls" {
				t.Fatalf("got %v", values(got))
			}
		})
	}

	for _, c := range []struct {
		name, want string
		kv         []string
	}{
		{"untrusted broker", "certificate", []string{keyTrustStorePath, p.otherCA, keyKeyStorePath, p.client}},
		{"wrong key password", keyKeyPassword, []string{keyTrustStorePath, p.ca, keyKeyStorePath, p.clientEnc, keyKeyPassword, "nope"}},
		{"missing key password", keyKeyPassword, []string{keyTrustStorePath, p.ca, keyKeyStorePath, p.clientEnc}},
		{"missing file", keyTrustStorePath, []string{keyTrustStorePath, p.dir + "/none.pem"}},
		{"not PEM", "no PEM certificate", []string{keyTrustStorePath, b.conf}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := tryStartTask(t, taskConfig(b, append([]string{keyServerURI, uri}, c.kv...)...), "tls", 0, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("start: %v, want an error about %s", err, c.want)
			}
			if strings.Contains(err.Error(), "key-pass") || strings.Contains(err.Error(), "nope") {
				t.Fatalf("password in error: %v", err)
			}
			t.Logf("%s: %v", c.name, err)
		})
	}

	// With TLS 1.3 the broker checks the client certificate after the
	// handshake: the task learns of the refusal from an alert when it
	// reads, or only from a reset when the write of CONNECT comes first.
	// It fails at start in the first case and retries in the second.
	t.Run("no client certificate", func(t *testing.T) {
		h, err := tryStartTask(t, taskConfig(b, keyServerURI, uri, keyTrustStorePath, p.ca), "tls", 0, nil)
		if err != nil {
			if !strings.Contains(err.Error(), "certificate required") {
				t.Fatalf("start: %v", err)
			}
			t.Logf("refused at start: %v", err)
			return
		}
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(h.logs.String(), "certificate required") && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(h.logs.String(), "certificate required") {
			t.Fatalf("the refusal is not logged:\n%s", h.logs.String())
		}
		t.Log("first attempt saw a reset; a retry logged the refusal")
	})
}
