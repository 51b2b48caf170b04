package mqtt

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// javaKeyStoreMagic starts every JKS file.
var javaKeyStoreMagic = []byte{0xFE, 0xED, 0xFE, 0xED}

// loadTLS builds the TLS settings shared by a task's connections from the
// PEM files of mqtt.ssl.trust.store.path and mqtt.ssl.key.store.path. The
// server name is set per connection.
func loadTLS(s *settings) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.trustStore != "" {
		b, err := readPEMFile(s.trustStore)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", keyTrustStorePath, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("%s: %s holds no PEM certificate", keyTrustStorePath, s.trustStore)
		}
		cfg.RootCAs = pool
	}
	if s.keyStore != "" {
		b, err := readPEMFile(s.keyStore)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", keyKeyStorePath, err)
		}
		cert, err := keyPair(b, s.keyPass)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", keyKeyStorePath, s.keyStore, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func readPEMFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(b, javaKeyStoreMagic) {
		return nil, fmt.Errorf("%s is a Java KeyStore: give a PEM file (keytool -exportcert -rfc, or openssl pkcs12 -nodes)", path)
	}
	return b, nil
}

// keyPair reads the certificate chain and the private key from one PEM
// file, decrypting a legacy-encrypted key with pass.
func keyPair(b []byte, pass string) (tls.Certificate, error) {
	var certs, key []byte
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		switch {
		case blk.Type == "CERTIFICATE":
			certs = append(certs, pem.EncodeToMemory(blk)...)
		case blk.Type == "PRIVATE KEY" || blk.Type == "RSA PRIVATE KEY" || blk.Type == "EC PRIVATE KEY":
			if key != nil {
				return tls.Certificate{}, errors.New("more than one private key")
			}
			//lint:ignore SA1019 legacy PEM encryption is what Java and openssl tools write with -des3/-aes256
			if x509.IsEncryptedPEMBlock(blk) { //nolint:staticcheck
				if pass == "" {
					return tls.Certificate{}, fmt.Errorf("the private key is encrypted: set %s", keyKeyPassword)
				}
				der, err := x509.DecryptPEMBlock(blk, []byte(pass)) //nolint:staticcheck
				if err != nil {
					return tls.Certificate{}, fmt.Errorf("decrypting the private key with %s: %w", keyKeyPassword, err)
				}
				blk = &pem.Block{Type: blk.Type, Bytes: der}
			}
			key = pem.EncodeToMemory(blk)
		case blk.Type == "ENCRYPTED PRIVATE KEY":
			return tls.Certificate{}, errors.New("PKCS#8-encrypted keys are not supported: decrypt it (openssl pkcs8 -topk8 -nocrypt) or use legacy PEM encryption")
		}
	}
	if certs == nil {
		return tls.Certificate{}, errors.New("no CERTIFICATE block")
	}
	if key == nil {
		return tls.Certificate{}, errors.New("no PRIVATE KEY block")
	}
	return tls.X509KeyPair(certs, key)
}
