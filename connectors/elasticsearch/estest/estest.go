// Package estest is an in-memory stand-in for the part of Elasticsearch 8's
// REST API that a sink connector uses, served over real HTTP on 127.0.0.1.
//
// It follows ES's wire protocol for what it implements: request shapes,
// status codes, response bodies, and exception types and reasons as ES 8.15
// writes them, so a connector that handles it correctly should handle a
// real cluster too. It is not Elasticsearch. Implemented:
//
//   - GET and HEAD / (cluster info), with X-Elastic-Product on every response
//   - HEAD, GET, PUT and DELETE /{index}; PUT honours mappings.dynamic and
//     mappings.properties.<field>.type
//   - GET /{index}/_doc/{id}, GET|POST /{index}/_count, /_refresh (no-op)
//   - POST|PUT /_bulk and /{index}/_bulk with index, create, update (doc,
//     upsert, doc_as_upsert, detect_noop) and delete; internal, external and
//     external_gte versioning; if_seq_no/if_primary_term; auto-generated ids;
//     gzip bodies; ES's whole-request errors (parse and validation) and item
//     errors (version conflicts, missing documents, document parsing, strict
//     mappings, field type conflicts, invalid index names, data streams)
//   - dynamic mapping of top-level fields (long, float, boolean, date, text,
//     object), with numeric strings coerced as ES does
//   - data streams for names matching logs-*-*, metrics-*-* and
//     synthetics-*-* (ES's built-in templates): create only, @timestamp
//     required, _index reported as the .ds- backing index
//   - basic auth, disabled auto-creation, and fault injection
//
// Not implemented: search and every other API, the single-document write
// APIs, scripts, ingest pipelines (the parameter is ignored), routing (one
// shard), aliases (so require_alias fails every item), refresh semantics
// (writes are visible at once),
// filter_path (ignored; responses are always whole), mappings below the top
// level of a document, binary content types (SMILE, CBOR), and tombstone
// expiry (ES forgets deleted versions after index.gc_deletes; estest never
// does). Merged update documents are re-encoded with sorted keys. JSON
// syntax error messages are Go's, not Jackson's, though they keep ES's
// exception types and "[line:column]" prefixes.
package estest

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a running stand-in. Its methods are safe for concurrent use.
type Server struct {
	URL string // http://127.0.0.1:PORT

	t          testing.TB
	hs         *httptest.Server
	closeOnce  sync.Once
	user, pass string
	auth       bool
	autoCreate bool

	mu          sync.Mutex
	indices     map[string]*index
	failLeft    int
	failStatus  int
	reject      func(index, id string) int
	delay       time.Duration
	bulks       []BulkRequest
	inflight    int
	maxInflight int
}

// Option configures a Server.
type Option func(*Server)

// WithBasicAuth makes every request require these credentials, as a
// cluster with security enabled does.
func WithBasicAuth(user, pass string) Option {
	return func(s *Server) { s.user, s.pass, s.auth = user, pass, true }
}

// WithoutAutoCreate behaves like action.auto_create_index=false: writing to
// a missing index fails the item with index_not_found_exception. Data
// streams are still created, as their built-in templates allow it.
func WithoutAutoCreate() Option {
	return func(s *Server) { s.autoCreate = false }
}

// New starts a stand-in on 127.0.0.1 and closes it when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	s := &Server{t: t, autoCreate: true, indices: map[string]*index{}}
	for _, o := range opts {
		o(s)
	}
	s.hs = httptest.NewServer(s)
	s.URL = s.hs.URL
	t.Cleanup(s.Close)
	return s
}

// Close stops the server, waiting for requests in flight.
func (s *Server) Close() { s.closeOnce.Do(s.hs.Close) }

// Doc is a stored document.
type Doc struct {
	Source  json.RawMessage // as sent, compacted
	Version int64
	SeqNo   int64
}

// Docs returns the live documents of an index (or data stream) by id.
func (s *Server) Docs(index string) map[string]Doc {
	s.mu.Lock()
	defer s.mu.Unlock()
	docs := map[string]Doc{}
	if ix := s.indices[index]; ix != nil {
		for id, d := range ix.docs {
			if !d.deleted {
				docs[id] = Doc{Source: slices.Clone(d.source), Version: d.version, SeqNo: d.seqNo}
			}
		}
	}
	return docs
}

// Doc returns one live document.
func (s *Server) Doc(index, id string) (Doc, bool) {
	d, ok := s.Docs(index)[id]
	return d, ok
}

// Count returns the number of live documents in an index.
func (s *Server) Count(index string) int { return len(s.Docs(index)) }

// Indices returns the names of all indices and data streams, sorted.
func (s *Server) Indices() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.indices))
	for n := range s.indices {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// CreateIndex creates an index as PUT /{index} would, mapping each field
// to its type ("long", "double", "keyword", "text", "boolean", "date",
// "object", ...). With strict, the mapping is "dynamic":"strict" and a
// document with any other top-level field fails with
// strict_dynamic_mapping_exception.
func (s *Server) CreateIndex(index string, fields map[string]string, strict bool) {
	s.t.Helper()
	if e := invalidIndexName(index); e != nil {
		s.t.Fatalf("estest: CreateIndex: %s", e.Reason)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.indices[index] != nil {
		s.t.Fatalf("estest: CreateIndex: index [%s] already exists", index)
	}
	ix := newIndex(index)
	for f, t := range fields {
		ix.fields[f] = t
	}
	if strict {
		ix.dynamic = "strict"
	}
	s.indices[index] = ix
}

// FailRequests makes the next n _bulk requests fail as a whole with status,
// applying nothing: 429 answers es_rejected_execution_exception (indexing
// pressure), 503 cluster_block_exception (no master), 500
// illegal_state_exception. Requests rejected earlier (bad Content-Type,
// malformed body) do not use up a failure.
func (s *Server) FailRequests(n int, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failLeft, s.failStatus = n, status
}

// RejectItems installs fn, called for every bulk item with its index and
// id ("" when the id is to be generated). A non-zero result fails that item
// with that status and nothing is written for it: 429 gives
// es_rejected_execution_exception, 503 unavailable_shards_exception, 409
// version_conflict_engine_exception, 400 document_parsing_exception, 404
// index_not_found_exception. fn runs without the server's lock held. nil
// removes the hook.
func (s *Server) RejectItems(fn func(index, id string) int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = fn
}

// SetDelay makes every _bulk request wait d before it is processed, which
// lets tests observe how many requests a client keeps in flight.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// BulkRequest describes a _bulk request the server received.
type BulkRequest struct {
	Items       int        // actions parsed; 0 if the body was rejected
	Gzip        bool       // Content-Encoding: gzip
	ContentType string     // as sent
	Bytes       int        // body size as received (compressed if gzip)
	Query       url.Values // query parameters
	Path        string
}

// BulkRequests returns the _bulk requests received so far, in arrival order.
func (s *Server) BulkRequests() []BulkRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.bulks)
}

// MaxConcurrentBulk returns the highest number of _bulk requests that were
// being served at the same time.
func (s *Server) MaxConcurrentBulk() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxInflight
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The official clients refuse to talk to a server without this header.
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	if !s.authenticate(w, r) {
		return
	}
	var segs []string
	for _, p := range strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/") {
		if p, err := url.PathUnescape(p); err == nil && p != "" {
			segs = append(segs, p)
		}
	}
	api := func(i int, name string) bool { return len(segs) > i && segs[i] == name }
	switch {
	case len(segs) == 0:
		if allow(w, r, "GET", "HEAD") {
			s.handleRoot(w, r)
		}
	case len(segs) == 1 && api(0, "_bulk"):
		if allow(w, r, "POST", "PUT") {
			s.handleBulk(w, r, "")
		}
	case len(segs) == 1 && api(0, "_refresh"), len(segs) == 2 && api(1, "_refresh"):
		if allow(w, r, "GET", "POST") {
			writeJSON(w, r, http.StatusOK, map[string]any{"_shards": writeShards})
		}
	case strings.HasPrefix(segs[0], "_"):
		s.noHandler(w, r)
	case len(segs) == 1:
		if allow(w, r, "GET", "HEAD", "PUT", "DELETE") {
			s.handleIndex(w, r, segs[0])
		}
	case len(segs) == 2 && api(1, "_bulk"):
		if allow(w, r, "POST", "PUT") {
			s.handleBulk(w, r, segs[0])
		}
	case len(segs) == 2 && api(1, "_count"):
		if allow(w, r, "GET", "POST") {
			s.handleCount(w, r, segs[0])
		}
	case len(segs) == 3 && api(1, "_doc"):
		if allow(w, r, "GET", "HEAD") {
			s.handleGetDoc(w, r, segs[0], segs[2])
		}
	default:
		s.noHandler(w, r)
	}
}

func (s *Server) noHandler(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, r, http.StatusBadRequest, map[string]string{
		"error": "no handler found for uri [" + r.URL.RequestURI() + "] and method [" + r.Method + "]",
	})
}

// allow answers 405 the way ES does unless r uses one of methods.
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	if slices.Contains(methods, r.Method) {
		return true
	}
	w.Header().Set("Allow", strings.Join(methods, ","))
	writeSimpleError(w, r, http.StatusMethodNotAllowed, "Incorrect HTTP method for uri ["+r.URL.RequestURI()+
		"] and method ["+r.Method+"], allowed: ["+strings.Join(methods, ", ")+"]")
	return false
}

// authenticate checks basic auth like ES's security layer, answering 401
// with ES's body and challenges when it fails.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) bool {
	if !s.auth {
		return true
	}
	var reason string
	user, pass, isBasic := r.BasicAuth()
	switch {
	case isBasic && user == s.user && pass == s.pass:
		return true
	case isBasic:
		reason = "unable to authenticate user [" + user + "] for REST request [" + r.URL.RequestURI() + "]"
	case r.Header.Get("Authorization") == "":
		reason = "missing authentication credentials for REST request [" + r.URL.RequestURI() + "]"
	default:
		reason = "unable to authenticate with provided credentials and anonymous access is not allowed for this request"
	}
	challenges := []string{`Basic realm="security" charset="UTF-8"`, `Bearer realm="security"`, "ApiKey"}
	for _, c := range challenges {
		w.Header().Add("WWW-Authenticate", c)
	}
	e := newErr("security_exception", "%s", reason)
	e.Header = map[string][]string{"WWW-Authenticate": challenges}
	writeError(w, r, http.StatusUnauthorized, e)
	return false
}

// contentTypeOK reports whether ES's REST layer accepts the request's
// Content-Type, answering 406 if not. x-ndjson is for bulk endpoints only.
func contentTypeOK(w http.ResponseWriter, r *http.Request, ndjson bool) bool {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if v := params["compatible-with"]; v == "7" || v == "8" {
		mt = strings.Replace(mt, "vnd.elasticsearch+", "", 1)
	}
	if err == nil && (mt == "application/json" || ndjson && mt == "application/x-ndjson") {
		return true
	}
	msg := "Content-Type header [" + ct + "] is not supported"
	if ct == "" {
		msg = "Content-Type header is missing"
	}
	writeSimpleError(w, r, http.StatusNotAcceptable, msg)
	return false
}

func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, r, http.StatusOK, map[string]any{
		"name": "estest", "cluster_name": "estest", "cluster_uuid": "ZXN0ZXN0LWNsdXN0ZXIK0a",
		"version": map[string]any{"number": "8.15.0", "build_flavor": "default", "build_type": "docker",
			"build_hash": "1a77947f34deddb41af25e6f0ddb8e830159c179", "build_date": "2024-08-05T10:05:34.233336849Z",
			"build_snapshot": false, "lucene_version": "9.11.1",
			"minimum_wire_compatibility_version": "7.17.0", "minimum_index_compatibility_version": "7.0.0"},
		"tagline": "You Know, for Search",
	})
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix := s.indices[name]
	switch {
	case r.Method == "PUT":
		s.createIndex(w, r, name)
	case r.Method == "HEAD" && ix == nil:
		w.WriteHeader(http.StatusNotFound)
	case r.Method == "HEAD":
	case ix == nil:
		writeError(w, r, http.StatusNotFound, indexNotFound(name, "index_or_alias"))
	case r.Method == "DELETE":
		delete(s.indices, name)
		writeJSON(w, r, http.StatusOK, map[string]bool{"acknowledged": true})
	default:
		props := map[string]any{}
		for f, t := range ix.fields {
			props[f] = map[string]string{"type": t}
		}
		mappings := map[string]any{"properties": props}
		if ix.dynamic != "true" {
			mappings["dynamic"] = ix.dynamic
		}
		writeJSON(w, r, http.StatusOK, map[string]any{ix.concrete(): map[string]any{
			"aliases": map[string]any{}, "mappings": mappings,
			"settings": map[string]any{"index": map[string]any{"number_of_shards": "1", "number_of_replicas": "1",
				"uuid": ix.uuid, "provided_name": ix.concrete(), "creation_date": strconv.FormatInt(ix.created.UnixMilli(), 10),
				"version": map[string]string{"created": "8512000"}}},
		}})
	}
}

// createIndex serves PUT /{index}; s.mu is held.
func (s *Server) createIndex(w http.ResponseWriter, r *http.Request, name string) {
	body, _ := io.ReadAll(r.Body)
	if len(body) > 0 && !contentTypeOK(w, r, false) {
		return
	}
	var req struct {
		Mappings struct {
			Dynamic    any `json:"dynamic"`
			Properties map[string]struct {
				Type string `json:"type"`
			} `json:"properties"`
		} `json:"mappings"`
	}
	var e *esError
	err := json.Unmarshal(body, &req)
	switch {
	case len(body) > 0 && err != nil:
		e = parseError(body, err)
	case invalidIndexName(name) != nil:
		e = invalidIndexName(name)
	case s.indices[name] != nil:
		e = newErr("resource_already_exists_exception", "index [%s/%s] already exists", name, s.indices[name].uuid).withIndex(name)
	case isDataStreamName(name):
		e = newErr("illegal_argument_exception", "cannot create index with name [%s], because it matches with template [%s] "+
			"that creates data streams only, use create data stream api instead", name, name[:strings.IndexByte(name, '-')])
	}
	ix := newIndex(name)
	switch d := fmt.Sprint(req.Mappings.Dynamic); d {
	case "<nil>", "true", "runtime":
	case "false", "strict":
		ix.dynamic = d
	default:
		e = cmp.Or(e, newErr("mapper_parsing_exception", "Failed to parse mapping: Could not convert [dynamic] to boolean"))
	}
	if e != nil {
		writeError(w, r, http.StatusBadRequest, e)
		return
	}
	for f, p := range req.Mappings.Properties {
		ix.fields[f] = cmp.Or(p.Type, "object")
	}
	s.indices[name] = ix
	writeJSON(w, r, http.StatusOK, map[string]any{"acknowledged": true, "shards_acknowledged": true, "index": name})
}

func (s *Server) handleCount(w http.ResponseWriter, r *http.Request, name string) {
	if !slices.Contains(s.Indices(), name) {
		writeError(w, r, http.StatusNotFound, indexNotFound(name, "index_or_alias"))
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]any{"count": s.Count(name),
		"_shards": map[string]int{"total": 1, "successful": 1, "skipped": 0, "failed": 0}})
}

func (s *Server) handleGetDoc(w http.ResponseWriter, r *http.Request, name, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix := s.indices[name]
	if ix == nil {
		writeError(w, r, http.StatusNotFound, indexNotFound(name, "index_expression"))
		return
	}
	d := ix.docs[id]
	if d == nil || d.deleted {
		writeJSON(w, r, http.StatusNotFound, map[string]any{"_index": ix.concrete(), "_id": id, "found": false})
		return
	}
	writeJSON(w, r, http.StatusOK, map[string]any{
		"_index": ix.concrete(), "_id": id, "_version": d.version, "_seq_no": d.seqNo,
		"_primary_term": primaryTerm, "found": true, "_source": d.source,
	})
}

// handleBulk serves _bulk. Checks run in ES's order: Content-Type, body,
// parse, validation; then each item is applied in request order.
func (s *Server) handleBulk(w http.ResponseWriter, r *http.Request, defIndex string) {
	start := time.Now()
	raw, _ := io.ReadAll(r.Body)
	gz := strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip")

	s.mu.Lock()
	s.inflight++
	s.maxInflight = max(s.maxInflight, s.inflight)
	slot := len(s.bulks)
	s.bulks = append(s.bulks, BulkRequest{Gzip: gz, ContentType: r.Header.Get("Content-Type"),
		Bytes: len(raw), Query: r.URL.Query(), Path: r.URL.Path})
	delay := s.delay
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inflight--
		s.mu.Unlock()
	}()

	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if len(raw) > 0 && !contentTypeOK(w, r, true) {
		return
	}
	body := raw
	if gz {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err == nil {
			body, err = io.ReadAll(zr)
		}
		if err != nil {
			writeError(w, r, http.StatusBadRequest, newErr("parse_exception", "estest: cannot decompress gzip body: %v", err))
			return
		}
	}
	if len(body) == 0 {
		writeError(w, r, http.StatusBadRequest, newErr("parse_exception", "request body is required"))
		return
	}
	q := r.URL.Query()
	acts, warnings, e := parseBulk(body, defIndex, q.Get("require_alias") == "true")
	if e == nil {
		e = validate(acts)
	}
	if e != nil {
		writeError(w, r, http.StatusBadRequest, e)
		return
	}
	for _, wn := range warnings {
		w.Header().Add("Warning", wn)
	}

	s.mu.Lock()
	s.bulks[slot].Items = len(acts)
	failStatus := 0
	if s.failLeft > 0 {
		s.failLeft--
		failStatus = s.failStatus
	}
	reject := s.reject
	s.mu.Unlock()
	if failStatus != 0 {
		writeError(w, r, failStatus, injectedBulkError(failStatus, len(raw)))
		return
	}
	verdicts := make([]int, len(acts))
	if reject != nil {
		for i, a := range acts {
			id := ""
			if a.id != nil {
				id = *a.id
			}
			verdicts[i] = reject(a.index, id)
		}
	}

	refresh := q.Has("refresh") && (q.Get("refresh") == "" || q.Get("refresh") == "true")
	items := make([]map[string]any, len(acts))
	errors := false
	s.mu.Lock()
	for i, a := range acts {
		item, failed := s.execute(a, verdicts[i], refresh)
		items[i] = map[string]any{a.op: item}
		errors = errors || failed
	}
	s.mu.Unlock()
	writeJSON(w, r, http.StatusOK, struct {
		Errors bool             `json:"errors"`
		Took   int64            `json:"took"`
		Items  []map[string]any `json:"items"`
	}{errors, time.Since(start).Milliseconds(), items})
}

// randomID returns n random bytes in URL-safe base64 without padding.
func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
