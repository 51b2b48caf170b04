// Package tlsconf builds a client TLS config from a connector's PEM trust
// and key store keys, for the connectors that speak HTTPS.
package tlsconf

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

// Keys names the config keys a connector reads its TLS settings from. An
// empty name is a setting the connector does not offer.
type Keys struct {
	Protocols     string // list of TLSv1.2, TLSv1.3...
	TrustLocation string // PEM file of CA certificates
	TrustCerts    string // PEM CA certificates inline
	KeyLocation   string // PEM file with the client chain and key
	KeyChain      string // client chain inline
	KeyKey        string // client key inline
	EndpointID    string // "https" (check the host name) or "" (chain only)
}

// Build returns the client TLS config the keys describe: PEM trust and key
// stores, as files or inline. It returns nil (Go's defaults) when no key
// changes anything, and one error per bad key.
func Build(c connect.Config, k Keys) (*tls.Config, []connect.KeyError) {
	var errs []connect.KeyError
	bad := func(key, format string, args ...any) {
		errs = append(errs, connect.KeyError{Key: key, Message: fmt.Sprintf(format, args...)})
	}
	str := func(key string) string { // "" for a key the connector does not offer
		if key == "" {
			return ""
		}
		return c.String(key)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	custom := false

	if list := c.List(k.Protocols); k.Protocols != "" && len(list) > 0 {
		lo, hi := uint16(0xffff), uint16(0)
		for _, p := range list {
			v, ok := tlsVersions[p]
			if !ok {
				bad(k.Protocols, "unknown protocol %q", p)
				continue
			}
			lo, hi = min(lo, v), max(hi, v)
		}
		if hi != 0 {
			cfg.MinVersion, cfg.MaxVersion = lo, hi
			custom = true
		}
	}

	// trustKey names the key the trust store came from once it was read:
	// an empty file is then an error, not a silent fall back to the
	// system's CAs.
	var trustPEM []byte
	trustKey := ""
	trustFile := strings.TrimSpace(str(k.TrustLocation))
	if trustFile != "" {
		b, err := os.ReadFile(trustFile)
		if err != nil {
			bad(k.TrustLocation, "cannot read the trust store: %v", err)
		} else {
			trustPEM, trustKey = b, k.TrustLocation
		}
	}
	if inline := str(k.TrustCerts); strings.TrimSpace(inline) != "" {
		if trustFile != "" {
			bad(k.TrustCerts, "set either %s or %s, not both", k.TrustLocation, k.TrustCerts)
		}
		trustPEM, trustKey = []byte(inline), k.TrustCerts
	}
	if trustKey != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(trustPEM) {
			bad(trustKey, "holds no PEM certificate")
		}
		cfg.RootCAs = pool
		custom = true
	}

	// Likewise keyKey: set once a key store was read, or an inline pair is
	// complete.
	var certPEM, keyPEM []byte
	keyKey := ""
	keyFile := strings.TrimSpace(str(k.KeyLocation))
	if keyFile != "" {
		b, err := os.ReadFile(keyFile)
		if err != nil {
			bad(k.KeyLocation, "cannot read the key store: %v", err)
		} else {
			certPEM, keyPEM, keyKey = b, b, k.KeyLocation
		}
	}
	chain, key := str(k.KeyChain), str(k.KeyKey)
	if strings.TrimSpace(chain) != "" || strings.TrimSpace(key) != "" {
		if keyFile != "" {
			bad(k.KeyChain, "set either %s or %s with %s, not both", k.KeyLocation, k.KeyChain, k.KeyKey)
		}
		switch {
		case strings.TrimSpace(chain) == "":
			bad(k.KeyChain, "must be set with %s", k.KeyKey)
		case strings.TrimSpace(key) == "":
			bad(k.KeyKey, "must be set with %s", k.KeyChain)
		default:
			certPEM, keyPEM, keyKey = []byte(chain), []byte(key), k.KeyChain
		}
	}
	if keyKey != "" {
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			// the error names no key material
			bad(keyKey, "not a PEM certificate chain with an unencrypted private key: %v", err)
		} else {
			cfg.Certificates = []tls.Certificate{cert}
			custom = true
		}
	}

	if k.EndpointID != "" && c.IsSet(k.EndpointID) && strings.TrimSpace(str(k.EndpointID)) == "" {
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
		return nil, errs
	}
	return cfg, errs
}

// ValidProtocols accepts a non-empty list of TLS version names.
func ValidProtocols(v any) error {
	list, _ := v.([]string)
	for _, p := range list {
		if _, ok := tlsVersions[p]; !ok {
			return fmt.Errorf("unknown protocol %q: expected TLSv1.2 or TLSv1.3", p)
		}
	}
	if len(list) == 0 {
		return fmt.Errorf("must name at least one protocol")
	}
	return nil
}
