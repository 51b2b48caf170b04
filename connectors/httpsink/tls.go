package httpsink

import (
	"crypto/tls"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/internal/tlsconf"
)

type tlsSettings struct {
	config *tls.Config // nil: Go's defaults
}

// tlsSettingsFrom builds the client TLS config from the https.ssl.* keys
// (PEM trust and key stores, as files or inline).
func tlsSettingsFrom(c connect.Config) (tlsSettings, []connect.KeyError) {
	cfg, errs := tlsconf.Build(c, tlsconf.Keys{
		Protocols: keyProtocols, TrustLocation: keyTrustLocation, TrustCerts: keyTrustCerts,
		KeyLocation: keyKeyLocation, KeyChain: keyKeyChain, KeyKey: keyKeyKey, EndpointID: keyEndpointID,
	})
	return tlsSettings{config: cfg}, errs
}
