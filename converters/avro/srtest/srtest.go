// Package srtest is a stand-in Confluent Schema Registry for tests: the
// calls converters make, with the documented paths, bodies, status codes
// and error codes, plus fault injection.
package srtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Registry is an in-memory Schema Registry. It implements http.Handler:
// serve it with httptest.NewServer.
type Registry struct {
	mu       sync.Mutex
	schemas  map[int]stored   // by id
	subjects map[string][]int // subject -> ids, by version
	failNext []int            // statuses to answer the next requests with
	down     bool             // answer 503 to everything
	user     string           // basic auth required when set
	pass     string           //
	token    string           // bearer token required when set
	gets     map[int]int      // GET /schemas/ids/{id} calls, by id
	texts    map[string]int   // schema text -> id
}

type stored struct {
	text, typ string
	refs      []Reference
}

// Reference is a schema reference: a named type defined by the schema
// registered under another subject and version.
type Reference struct {
	Name    string `json:"name"`
	Subject string `json:"subject"`
	Version int    `json:"version"`
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{schemas: map[int]stored{}, subjects: map[string][]int{}, gets: map[int]int{}, texts: map[string]int{}}
}

// Register stores an Avro schema under subject and returns its id; the
// same text gets the same id, as in the registry.
func (r *Registry) Register(subject, text string) int {
	return r.RegisterType(subject, text, "AVRO")
}

// RegisterType stores a schema of a type (AVRO, PROTOBUF, JSON).
func (r *Registry) RegisterType(subject, text, typ string) int {
	return r.RegisterWithReferences(subject, text, typ, nil)
}

// RegisterWithReferences stores a schema that uses the named types of
// other registered schemas; its versions under subject count from 1.
func (r *Registry) RegisterWithReferences(subject, text, typ string, refs []Reference) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	id, ok := r.texts[typ+"\x00"+text]
	if !ok {
		id = len(r.schemas) + 1
		r.schemas[id] = stored{text: text, typ: typ, refs: refs}
		r.texts[typ+"\x00"+text] = id
	}
	for _, have := range r.subjects[subject] {
		if have == id {
			return id
		}
	}
	r.subjects[subject] = append(r.subjects[subject], id)
	return id
}

// FailNext makes the next requests answer with these statuses, in order.
func (r *Registry) FailNext(statuses ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failNext = append(r.failNext, statuses...)
}

// SetDown makes the registry answer every request with 503 until it is
// set up again.
func (r *Registry) SetDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
}

// RequireBasicAuth makes every request need these credentials.
func (r *Registry) RequireBasicAuth(user, pass string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.user, r.pass = user, pass
}

// RequireToken makes every request need this bearer token.
func (r *Registry) RequireToken(token string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.token = token
}

// Gets returns how many times the schema of id was fetched.
func (r *Registry) Gets(id int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gets[id]
}

// ServeHTTP answers the registry's REST API.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	if r.down {
		writeError(w, http.StatusServiceUnavailable, 50003, "Service Unavailable")
		return
	}
	if len(r.failNext) > 0 {
		st := r.failNext[0]
		r.failNext = r.failNext[1:]
		writeError(w, st, st*100, "injected failure")
		return
	}
	if !r.authorized(req) {
		writeError(w, http.StatusUnauthorized, 401, "Unauthorized")
		return
	}
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	switch {
	case req.Method == http.MethodGet && len(parts) == 3 && parts[0] == "schemas" && parts[1] == "ids":
		id, err := strconv.Atoi(parts[2])
		if err != nil {
			writeError(w, http.StatusNotFound, 404, "HTTP 404 Not Found")
			return
		}
		r.gets[id]++
		s, ok := r.schemas[id]
		if !ok {
			writeError(w, http.StatusNotFound, 40403, fmt.Sprintf("Schema %d not found", id))
			return
		}
		_ = json.NewEncoder(w).Encode(s.answer(nil))
	case req.Method == http.MethodGet && len(parts) == 4 && parts[0] == "subjects" && parts[2] == "versions":
		ids := r.subjects[parts[1]]
		if len(ids) == 0 {
			writeError(w, http.StatusNotFound, 40401, fmt.Sprintf("Subject '%s' not found.", parts[1]))
			return
		}
		v, err := strconv.Atoi(parts[3])
		if parts[3] == "latest" {
			v, err = len(ids), nil
		}
		if err != nil || v < 1 || v > len(ids) {
			writeError(w, http.StatusNotFound, 40402, "Version "+parts[3]+" not found.")
			return
		}
		_ = json.NewEncoder(w).Encode(r.schemas[ids[v-1]].answer(map[string]any{"subject": parts[1], "version": v, "id": ids[v-1]}))
	case req.Method == http.MethodPost && len(parts) == 3 && parts[0] == "subjects" && parts[2] == "versions":
		var body struct {
			Schema     string `json:"schema"`
			SchemaType string `json:"schemaType"`
		}
		if err := json.NewDecoder(req.Body).Decode(&body); err != nil || body.Schema == "" {
			writeError(w, http.StatusUnprocessableEntity, 42201, "Invalid schema")
			return
		}
		if body.SchemaType == "" {
			body.SchemaType = "AVRO"
		}
		r.mu.Unlock()
		id := r.RegisterType(parts[1], body.Schema, body.SchemaType)
		r.mu.Lock()
		_ = json.NewEncoder(w).Encode(map[string]int{"id": id})
	case req.Method == http.MethodGet && len(parts) == 1 && parts[0] == "subjects":
		names := []string{}
		for s := range r.subjects {
			names = append(names, s)
		}
		_ = json.NewEncoder(w).Encode(names)
	default:
		writeError(w, http.StatusNotFound, 404, "HTTP 404 Not Found")
	}
}

// answer is the JSON the registry gives for a schema, with extra fields.
func (s stored) answer(extra map[string]any) map[string]any {
	body := map[string]any{"schema": s.text}
	if s.typ != "AVRO" { // the registry omits the type of Avro schemas
		body["schemaType"] = s.typ
	}
	if len(s.refs) > 0 {
		body["references"] = s.refs
	}
	for k, v := range extra {
		body[k] = v
	}
	return body
}

func (r *Registry) authorized(req *http.Request) bool {
	if r.token != "" {
		return req.Header.Get("Authorization") == "Bearer "+r.token
	}
	if r.user != "" {
		u, p, ok := req.BasicAuth()
		return ok && u == r.user && p == r.pass
	}
	return true
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error_code": code, "message": msg})
}
