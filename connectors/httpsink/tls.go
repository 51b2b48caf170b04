package httpsink

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/spur-connect/spur/connect"
)

var tlsVersions = map[string]uint16{
	"TLSv1":   tls.VersionTLS10,
	"TLSv1.1": tls.VersionTLS11,
	"TLSv1.2": tls.VersionTLS12,
	"TLSv1.3": tls.VersionTLS13,
}

type tlsSettings struct {
	config *tls.Config // nil: Go's defaults
}

// tlsSettingsFrom builds the client TLS config from the https.ssl.* keys
// (PEM trust and key stores, as files or inline).
func tlsSettingsFrom(c connect.Config) (tlsSettings, []connect.KeyError) {
	var errs []connect.KeyError
	bad := func(key, format string, args ...any) {
		errs = append(errs, connect.KeyError{Key: key, Message: fmt.Sprintf(format, args...)})
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	custom := false

	if list := c.List(keyProtocols); len(list) > 0 {
		lo, hi := uint16(0xffff), uint16(0)
		for _, p := range list {
			v, ok := tlsVersions[p]
			if !ok {
				bad(keyProtocols, "unknown protocol %q", p)
				continue
			}
			lo, hi = min(lo, v), max(hi, v)
		}
		if hi != 0 {
			cfg.MinVersion, cfg.MaxVersion = lo, hi
			custom = true
		}
	}

	var trustPEM []byte
	trustKey := ""
	if loc := strings.TrimSpace(c.String(keyTrustLocation)); loc != "" {
		b, err := os.ReadFile(loc)
		if err != nil {
			bad(keyTrustLocation, "cannot read the trust store: %v", err)
		}
		trustPEM, trustKey = b, keyTrustLocation
	}
	if inline := c.String(keyTrustCerts); strings.TrimSpace(inline) != "" {
		if trustKey != "" {
			bad(keyTrustCerts, "set either %s or %s, not both", keyTrustLocation, keyTrustCerts)
		}
		trustPEM, trustKey = []byte(inline), keyTrustCerts
	}
	if trustKey != "" && len(trustPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(trustPEM) {
			bad(trustKey, "holds no PEM certificate")
		}
		cfg.RootCAs = pool
		custom = true
	}

	var certPEM, keyPEM []byte
	keyKey := ""
	if loc := strings.TrimSpace(c.String(keyKeyLocation)); loc != "" {
		b, err := os.ReadFile(loc)
		if err != nil {
			bad(keyKeyLocation, "cannot read the key store: %v", err)
		}
		certPEM, keyPEM, keyKey = b, b, keyKeyLocation
	}
	chain, key := c.String(keyKeyChain), c.String(keyKeyKey)
	if strings.TrimSpace(chain) != "" || strings.TrimSpace(key) != "" {
		if keyKey != "" {
			bad(keyKeyChain, "set either %s or %s with %s, not both", keyKeyLocation, keyKeyChain, keyKeyKey)
		}
		if strings.TrimSpace(chain) == "" {
			bad(keyKeyChain, "must be set with %s", keyKeyKey)
		}
		if strings.TrimSpace(key) == "" {
			bad(keyKeyKey, "must be set with %s", keyKeyChain)
		}
		certPEM, keyPEM, keyKey = []byte(chain), []byte(key), keyKeyChain
	}
	if keyKey != "" && len(certPEM) > 0 && len(keyPEM) > 0 {
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			// the error names no key material
			bad(keyKey, "not a PEM certificate chain with an unencrypted private key: %v", err)
		} else {
			cfg.Certificates = []tls.Certificate{cert}
			custom = true
		}
	}

	if c.IsSet(keyEndpointID) && strings.TrimSpace(c.String(keyEndpointID)) == "" {
		// Verify the chain, not the host name.
		cfg.InsecureSkipVerify = true
		roots := cfg.RootCAs
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("server sent no certificate")
			}
			opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
			for _, ic := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(ic)
			}
			_, err := cs.PeerCertificates[0].Verify(opts)
			return err
		}
		custom = true
	}
	if !custom {
		return tlsSettings{}, errs
	}
	return tlsSettings{config: cfg}, errs
}
