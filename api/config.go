package api

import (
	"bufio"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/runtime"
	"golang.org/x/crypto/bcrypt"
)

// Spec declares the worker config keys of the REST server: authentication,
// TLS on the listener and CORS. Names follow Kafka Connect where it has one
// (listeners.https.*, access.control.*); the rest.auth.* keys are Spur's
// (Kafka Connect authenticates through JAAS REST extensions instead).
var Spec = connect.NewSpec(
	connect.ConfigKey{Name: "rest.auth.type", Default: "none", Group: "REST security", Importance: connect.High,
		Validate: connect.OneOf("none", "basic", "bearer"), Recommended: []string{"none", "basic", "bearer"},
		Doc: "Authentication of REST requests: none (Kafka Connect's default), basic (HTTP basic auth against rest.auth.users / rest.auth.users.file) " +
			"or bearer (Authorization: Bearer <token> against rest.auth.token / rest.auth.token.file). " +
			"Forwarded requests carry the client's Authorization header, so every worker of a cluster needs the same credentials."},
	connect.ConfigKey{Name: "rest.auth.users", Type: connect.TypePassword, Group: "REST security",
		Doc: "Basic auth users as comma-separated user:password pairs. A password starting with $2a$, $2b$ or $2y$ is a bcrypt hash."},
	connect.ConfigKey{Name: "rest.auth.users.file", Group: "REST security",
		Doc: "File of basic auth users, one 'user: password' or 'user:password' per line ('#' starts a comment), as Kafka's PropertyFileLoginModule reads; " +
			"bcrypt hashes accepted. Read at start."},
	connect.ConfigKey{Name: "rest.auth.token", Type: connect.TypePassword, Group: "REST security",
		Doc: "Accepted bearer tokens, comma-separated."},
	connect.ConfigKey{Name: "rest.auth.token.file", Group: "REST security",
		Doc: "File of accepted bearer tokens, one per line. Read at start."},
	connect.ConfigKey{Name: "rest.auth.exempt.paths", Type: connect.TypeList, Default: "/health", Group: "REST security",
		Doc: "Paths served without authentication (exact match), e.g. for load balancer probes. Add /metrics for an unauthenticated scrape."},
	connect.ConfigKey{Name: "listeners.https.ssl.keystore.location", Group: "REST security",
		Doc: "PEM file with the certificate chain of an https:// listener, followed by its private key unless listeners.https.ssl.key.location is set " +
			"(JKS and PKCS12 stores are not supported)."},
	connect.ConfigKey{Name: "listeners.https.ssl.key.location", Group: "REST security",
		Doc: "PEM file with the private key of the https:// listener, when it is not in listeners.https.ssl.keystore.location."},
	connect.ConfigKey{Name: "listeners.https.ssl.truststore.location", Group: "REST security",
		Doc: "PEM file of CA certificates: verifies client certificates (listeners.https.ssl.client.auth) and the other workers' certificates when forwarding requests. " +
			"Empty: the system roots."},
	connect.ConfigKey{Name: "listeners.https.ssl.client.auth", Default: "none", Group: "REST security",
		Validate: connect.OneOf("none", "requested", "required"), Recommended: []string{"none", "requested", "required"},
		Doc: "Whether the https:// listener asks clients for a certificate."},
	connect.ConfigKey{Name: "access.control.allow.origin", Group: "REST security",
		Doc: "CORS: origins allowed to call the API from a browser, comma-separated, or *. Empty (default) disables CORS, as in Kafka Connect."},
	connect.ConfigKey{Name: "access.control.allow.methods", Default: "GET,POST,HEAD", Group: "REST security",
		Doc: "CORS: methods allowed in cross-origin requests, comma-separated."},
)

// restConfig is the parsed Spec.
type restConfig struct {
	authType  string
	users     map[string]string // user -> password or bcrypt hash
	tokens    []string
	exempt    map[string]bool
	serverTLS *tls.Config
	clientTLS *tls.Config

	corsOrigins []string
	corsMethods []string
}

func parseRESTConfig(wc *runtime.WorkerConfig) (restConfig, error) {
	raw := map[string]string{}
	for k, v := range wc.Raw() {
		if _, ok := Spec.Lookup(k); ok {
			raw[k] = v
		}
	}
	c, errs := Spec.Parse(raw)
	if len(errs) > 0 {
		return restConfig{}, errs
	}
	rc := restConfig{authType: strings.ToLower(c.String("rest.auth.type")), exempt: map[string]bool{}}
	for _, p := range c.List("rest.auth.exempt.paths") {
		rc.exempt[strings.TrimRight(p, "/")] = true
	}
	switch rc.authType {
	case "basic":
		rc.users = map[string]string{}
		for _, pair := range connect.SplitList(c.String("rest.auth.users")) {
			u, p, ok := strings.Cut(pair, ":")
			if !ok || strings.TrimSpace(u) == "" {
				return restConfig{}, connect.ConfigErrors{{Key: "rest.auth.users", Message: "expected comma-separated user:password pairs"}}
			}
			rc.users[strings.TrimSpace(u)] = p
		}
		if f := c.String("rest.auth.users.file"); f != "" {
			if err := readLines(f, func(line string) error {
				u, p, ok := strings.Cut(line, ":")
				if !ok || strings.TrimSpace(u) == "" {
					return fmt.Errorf("expected 'user: password'")
				}
				p = strings.TrimSpace(p)
				if i := strings.IndexByte(p, ','); i >= 0 && !strings.HasPrefix(p, "$2") {
					p = strings.TrimSpace(p[:i]) // PropertyFileLoginModule: "password,role1,role2"
				}
				rc.users[strings.TrimSpace(u)] = p
				return nil
			}); err != nil {
				return restConfig{}, connect.ConfigErrors{{Key: "rest.auth.users.file", Message: err.Error()}}
			}
		}
		if len(rc.users) == 0 {
			return restConfig{}, connect.ConfigErrors{{Key: "rest.auth.users", Message: "rest.auth.type=basic needs at least one user in rest.auth.users or rest.auth.users.file"}}
		}
	case "bearer":
		rc.tokens = connect.SplitList(c.String("rest.auth.token"))
		if f := c.String("rest.auth.token.file"); f != "" {
			if err := readLines(f, func(line string) error { rc.tokens = append(rc.tokens, line); return nil }); err != nil {
				return restConfig{}, connect.ConfigErrors{{Key: "rest.auth.token.file", Message: err.Error()}}
			}
		}
		if len(rc.tokens) == 0 {
			return restConfig{}, connect.ConfigErrors{{Key: "rest.auth.token", Message: "rest.auth.type=bearer needs at least one token in rest.auth.token or rest.auth.token.file"}}
		}
	}

	var roots *x509.CertPool
	if p := c.String("listeners.https.ssl.truststore.location"); p != "" {
		pem, err := os.ReadFile(p)
		if err != nil {
			return restConfig{}, connect.ConfigErrors{{Key: "listeners.https.ssl.truststore.location", Message: err.Error()}}
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return restConfig{}, connect.ConfigErrors{{Key: "listeners.https.ssl.truststore.location", Message: "no PEM certificates in " + p}}
		}
	}
	var cert *tls.Certificate
	if p := c.String("listeners.https.ssl.keystore.location"); p != "" {
		kp := c.String("listeners.https.ssl.key.location")
		if kp == "" {
			kp = p
		}
		crt, err := tls.LoadX509KeyPair(p, kp)
		if err != nil {
			return restConfig{}, connect.ConfigErrors{{Key: "listeners.https.ssl.keystore.location", Message: err.Error()}}
		}
		cert = &crt
	}
	if listeners := wc.List("listeners"); len(listeners) > 0 && strings.HasPrefix(strings.ToLower(listeners[0]), "https://") {
		if cert == nil {
			return restConfig{}, connect.ConfigErrors{{Key: "listeners.https.ssl.keystore.location", Message: "an https:// listener needs a certificate and key (PEM)"}}
		}
		rc.serverTLS = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{*cert}, ClientCAs: roots}
		switch strings.ToLower(c.String("listeners.https.ssl.client.auth")) {
		case "requested":
			rc.serverTLS.ClientAuth = tls.VerifyClientCertIfGiven
		case "required":
			rc.serverTLS.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	if roots != nil || cert != nil {
		rc.clientTLS = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
		if cert != nil {
			rc.clientTLS.Certificates = []tls.Certificate{*cert}
		}
	}

	if o := c.String("access.control.allow.origin"); strings.TrimSpace(o) != "" {
		rc.corsOrigins = connect.SplitList(o)
		rc.corsMethods = connect.SplitList(c.String("access.control.allow.methods"))
		if len(rc.corsMethods) == 0 {
			rc.corsMethods = []string{"GET", "POST", "HEAD"}
		}
	}
	return rc, nil
}

func readLines(path string, fn func(string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := fn(line); err != nil {
			return fmt.Errorf("%s line %d: %w", path, n, err)
		}
	}
	return sc.Err()
}

func (rc *restConfig) challenge() string {
	if rc.authType == "bearer" {
		return `Bearer realm="spur"`
	}
	return `Basic realm="spur"`
}

// authenticate checks credentials before routing, so an unauthenticated
// client learns nothing about which paths exist. CORS preflights and
// exempt paths pass.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	if s.cfg.authType == "" || s.cfg.authType == "none" {
		return next
	}
	return func(c echo.Context) error {
		r := c.Request()
		if s.cfg.exempt[strings.TrimRight(r.URL.Path, "/")] || (r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "") {
			return next(c)
		}
		if !s.cfg.allowed(r.Header.Get(echo.HeaderAuthorization)) {
			return errorf(http.StatusUnauthorized, "User cannot access the resource.")
		}
		return next(c)
	}
}

func (rc *restConfig) allowed(header string) bool {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok {
		return false
	}
	cred = strings.TrimSpace(cred)
	switch rc.authType {
	case "basic":
		if !strings.EqualFold(scheme, "basic") {
			return false
		}
		b, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return false
		}
		u, p, ok := strings.Cut(string(b), ":")
		if !ok {
			return false
		}
		want, known := rc.users[u]
		if !known {
			// Spend comparable time for unknown users.
			subtle.ConstantTimeCompare([]byte(p), []byte(p))
			return false
		}
		if strings.HasPrefix(want, "$2a$") || strings.HasPrefix(want, "$2b$") || strings.HasPrefix(want, "$2y$") {
			return bcrypt.CompareHashAndPassword([]byte(want), []byte(p)) == nil
		}
		return subtle.ConstantTimeCompare([]byte(p), []byte(want)) == 1
	case "bearer":
		if !strings.EqualFold(scheme, "bearer") {
			return false
		}
		okAny := 0
		for _, t := range rc.tokens {
			okAny |= subtle.ConstantTimeCompare([]byte(cred), []byte(t))
		}
		return okAny == 1
	}
	return false
}
