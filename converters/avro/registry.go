package avro

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spur-connect/spur/connect"
)

// registry is a Confluent Schema Registry client: just the calls a
// converter makes, against the documented REST API.
type registry struct {
	urls    []string // base URLs, without a trailing slash
	next    atomic.Uint32
	client  *http.Client
	user    string // basic auth from basic.auth.user.info (USER_INFO)
	pass    string
	token   string // bearer.auth.token (STATIC_TOKEN)
	timeout time.Duration
}

// errNotFound is a registry's 404 for a schema id: the record names a
// schema that does not exist, which is the record's fault.
var errNotFound = errors.New("not found in the schema registry")

// registryError is a failure of the registry or of the way Spur reaches it
// (unreachable, 5xx, bad credentials), not of a record: it is marked so
// that errors.tolerance does not send records to the dead letter queue for
// it, and transient ones as retriable.
func registryError(err error, transient bool) error {
	err = connect.SystemError(err)
	if transient {
		err = connect.RetriableError(err)
	}
	return err
}

// errPermanent marks an answer that will not change for this id (a schema
// that is not Avro): it is cached like a parsed schema.
var errPermanent = errors.New("permanent")

// Bounds on a schema's references, against a registry that loops.
const (
	maxReferenceDepth = 16
	maxReferences     = 256
)

// schemaAnswer is the body of GET /schemas/ids/{id} and of GET
// /subjects/{subject}/versions/{version}.
type schemaAnswer struct {
	Schema     *string     `json:"schema"`
	SchemaType string      `json:"schemaType"`
	References []reference `json:"references"`
}

type reference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// schemaByID fetches the schema text registered under id, and the texts of
// the schemas it references (schema references: the named types it uses
// from other subjects), each after those it references in turn.
func (r *registry) schemaByID(ctx context.Context, id uint32) (text string, refs []string, err error) {
	var a schemaAnswer
	where := "schema id " + strconv.FormatUint(uint64(id), 10)
	if err := r.get(ctx, "/schemas/ids/"+strconv.FormatUint(uint64(id), 10), &a); err != nil {
		return "", nil, err
	}
	if err := a.check(where); err != nil {
		return "", nil, err
	}
	seen := map[reference]bool{}
	if err := r.references(ctx, a.References, seen, &refs, 0); err != nil {
		return "", nil, fmt.Errorf("%s: %w", where, err)
	}
	return *a.Schema, refs, nil
}

// latest fetches the latest schema registered under subject, its id and
// the texts of its references.
func (r *registry) latest(ctx context.Context, subject string) (id uint32, text string, refs []string, err error) {
	var a struct {
		schemaAnswer
		ID int64 `json:"id"`
	}
	where := "the latest schema of subject " + subject
	if err := r.get(ctx, "/subjects/"+url.PathEscape(subject)+"/versions/latest", &a); err != nil {
		return 0, "", nil, err
	}
	if err := a.check(where); err != nil {
		return 0, "", nil, err
	}
	if a.ID <= 0 || a.ID > math.MaxUint32 {
		return 0, "", nil, registryError(fmt.Errorf("the schema registry gave %s no valid id", where), false)
	}
	seen := map[reference]bool{}
	if err := r.references(ctx, a.References, seen, &refs, 0); err != nil {
		return 0, "", nil, fmt.Errorf("%s: %w", where, err)
	}
	return uint32(a.ID), *a.Schema, refs, nil
}

func (a *schemaAnswer) check(where string) error {
	if a.Schema == nil {
		// A 200 without a schema is not the registry's API: a wrong URL.
		return registryError(fmt.Errorf("the schema registry answered without a schema for %s: is schema.registry.url a Schema Registry?", where), false)
	}
	if a.SchemaType != "" && a.SchemaType != "AVRO" {
		return fmt.Errorf("%w: %s is a %s schema, not Avro", errPermanent, where, a.SchemaType)
	}
	return nil
}

// references appends the texts of refs (and theirs, first) to out.
func (r *registry) references(ctx context.Context, refs []reference, seen map[reference]bool, out *[]string, depth int) error {
	if depth > maxReferenceDepth {
		return fmt.Errorf("%w: schema references nested deeper than %d", errPermanent, maxReferenceDepth)
	}
	for _, ref := range refs {
		if seen[ref] {
			continue
		}
		if seen[ref] = true; len(seen) > maxReferences {
			return fmt.Errorf("%w: more than %d schema references", errPermanent, maxReferences)
		}
		var a schemaAnswer
		where := fmt.Sprintf("reference %s (subject %s, version %d)", ref.Name, ref.Subject, ref.Version)
		if err := r.get(ctx, "/subjects/"+url.PathEscape(ref.Subject)+"/versions/"+strconv.Itoa(ref.Version), &a); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if err := a.check(where); err != nil {
			return err
		}
		if err := r.references(ctx, a.References, seen, out, depth+1); err != nil {
			return err
		}
		*out = append(*out, *a.Schema)
	}
	return nil
}

// get sends GET path to the registry, trying the next URL when one cannot
// be reached, and decodes a 200 answer into out.
func (r *registry) get(ctx context.Context, path string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	var last error
	for range r.urls {
		base := r.urls[int(r.next.Load())%len(r.urls)]
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return registryError(fmt.Errorf("schema registry %s: %w", base, err), false)
		}
		req.Header.Set("Accept", "application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json, application/json")
		if r.token != "" {
			req.Header.Set("Authorization", "Bearer "+r.token)
		} else if r.user != "" || r.pass != "" {
			req.SetBasicAuth(r.user, r.pass)
		}
		resp, err := r.client.Do(req)
		if err != nil {
			last = fmt.Errorf("schema registry %s: %w", base, err)
			r.next.Add(1) // fail over, as Confluent's client does
			continue
		}
		return decodeAnswer(resp, base+path, out)
	}
	return registryError(last, true)
}

func decodeAnswer(resp *http.Response, where string, out any) error {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return registryError(fmt.Errorf("schema registry GET %s: reading the answer: %w", where, err), true)
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, out); err != nil {
			return registryError(fmt.Errorf("schema registry GET %s: the answer is not the documented JSON: %w", where, err), false)
		}
		return nil
	}
	// Error bodies are {"error_code": 40403, "message": "Schema 7 not found"}.
	var e struct {
		Code    int    `json:"error_code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &e)
	msg := e.Message
	if msg == "" {
		msg = strings.TrimSpace(string(body[:min(len(body), 200)]))
	}
	err = fmt.Errorf("schema registry GET %s: %s: %s", where, resp.Status, msg)
	switch {
	case resp.StatusCode == http.StatusNotFound && (e.Code == 40403 || e.Code == 40401 || e.Code == 40402):
		// The registry's own "schema (subject, version) not found", not a
		// 404 of a wrong URL (the configuration's fault, for every record).
		return fmt.Errorf("%w: %w", errNotFound, err)
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 || resp.StatusCode == http.StatusRequestTimeout:
		return registryError(err, true)
	}
	return registryError(err, false) // 401, 403, and other refusals of the client
}
