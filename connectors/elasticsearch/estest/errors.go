package estest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// esError is an Elasticsearch exception, rendered with "type" and "reason"
// first, then metadata ("index_uuid", "shard", "index", ...) in ES's order,
// then "caused_by" and "header".
type esError struct {
	Type, Reason string
	Meta         [][2]string
	CausedBy     *esError
	Header       map[string][]string
}

func (e *esError) MarshalJSON() ([]byte, error) {
	b := fmt.Appendf(nil, `{"type":%s,"reason":%s`, quote(e.Type), quote(e.Reason))
	for _, m := range e.Meta {
		b = fmt.Appendf(b, `,%s:%s`, quote(m[0]), quote(m[1]))
	}
	if e.CausedBy != nil {
		c, _ := e.CausedBy.MarshalJSON()
		b = fmt.Appendf(b, `,"caused_by":%s`, c)
	}
	if e.Header != nil {
		h, _ := json.Marshal(e.Header)
		b = fmt.Appendf(b, `,"header":%s`, h)
	}
	return append(b, '}'), nil
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func newErr(typ, format string, args ...any) *esError {
	return &esError{Type: typ, Reason: fmt.Sprintf(format, args...)}
}

// withIndex adds the metadata of an exception raised before a shard was
// chosen.
func (e *esError) withIndex(name string) *esError {
	e.Meta = append(e.Meta, [2]string{"index_uuid", "_na_"}, [2]string{"index", name})
	return e
}

// withShard adds the metadata of a shard-level exception such as a version
// conflict.
func (e *esError) withShard(ix *index) *esError {
	e.Meta = append(e.Meta, [2]string{"index_uuid", ix.uuid}, [2]string{"shard", "0"}, [2]string{"index", ix.concrete()})
	return e
}

func (e *esError) causedBy(c *esError) *esError {
	e.CausedBy = c
	return e
}

// jsonError turns a Go JSON decoding error into XContent's form: a
// "[line:column]" location and a message (Go's wording, not Jackson's).
func jsonError(b []byte, err error) (col int, msg string) {
	col, msg = len(b)+1, strings.TrimPrefix(err.Error(), "json: ")
	var se *json.SyntaxError
	if errors.As(err, &se) {
		col = int(se.Offset)
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		msg = "Unexpected end-of-input"
	}
	return col, msg
}

func parseError(b []byte, err error) *esError {
	col, msg := jsonError(b, err)
	return newErr("x_content_parse_exception", "[1:%d] %s", col, msg)
}

func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		panic(err) // our own values always marshal
	}
	ct := "application/json"
	if strings.Contains(r.Header.Get("Accept"), "compatible-with=") {
		ct = "application/vnd.elasticsearch+json;compatible-with=8"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	w.Write(body)
}

// writeError writes the envelope of every failed ES REST call. root_cause
// repeats the exception without its cause, as ES does for exceptions that
// do not wrap others.
func writeError(w http.ResponseWriter, r *http.Request, status int, e *esError) {
	root := *e
	root.CausedBy = nil
	rc, _ := root.MarshalJSON()
	inner, _ := e.MarshalJSON()
	full := fmt.Sprintf(`{"root_cause":[%s],%s`, rc, inner[1:])
	writeJSON(w, r, status, map[string]any{"error": json.RawMessage(full), "status": status})
}

// writeSimpleError writes the short form ES's REST layer uses for requests
// it rejects before any handler runs (bad Content-Type, wrong method).
func writeSimpleError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	writeJSON(w, r, status, map[string]any{"error": msg, "status": status})
}

func indexNotFound(name, resourceType string) *esError {
	e := newErr("index_not_found_exception", "no such index [%s]", name)
	e.Meta = [][2]string{{"resource.type", resourceType}, {"resource.id", name}}
	return e.withIndex(name)
}

// injectedBulkError is the body of a whole-request failure set up with
// FailRequests: the exception ES answers with in that situation.
func injectedBulkError(status, size int) *esError {
	switch status {
	case http.StatusTooManyRequests:
		return newErr("es_rejected_execution_exception", "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, "+
			"replica_bytes=0, all_bytes=0, coordinating_operation_bytes=%d, max_coordinating_and_primary_bytes=%d]", size, size/2)
	case http.StatusServiceUnavailable:
		return newErr("cluster_block_exception", "blocked by: [SERVICE_UNAVAILABLE/2/no master];")
	case http.StatusInternalServerError:
		return newErr("illegal_state_exception", "estest: injected failure")
	}
	return newErr("status_exception", "estest: injected %d %s", status, http.StatusText(status))
}

// injectedItemError is the error of a bulk item rejected with RejectItems.
func injectedItemError(status int, ix *index, id string) *esError {
	switch name := ix.concrete(); status {
	case http.StatusTooManyRequests:
		return newErr("es_rejected_execution_exception", "rejected execution of primary operation [coordinating_and_primary_bytes=0, "+
			"replica_bytes=0, all_bytes=0, primary_operation_bytes=1024, max_coordinating_and_primary_bytes=512]")
	case http.StatusServiceUnavailable:
		return newErr("unavailable_shards_exception", "[%s][0] primary shard is not active Timeout: [1m], "+
			"request: [BulkShardRequest [[%s][0]] containing [1] requests]", name, name).withShard(ix)
	case http.StatusConflict:
		return newErr("version_conflict_engine_exception", "[%s]: version conflict, required seqNo [0], primary term [1]. "+
			"current document has seqNo [1] and primary term [1]", id).withShard(ix)
	case http.StatusBadRequest:
		return newErr("document_parsing_exception", "[1:1] failed to parse: estest: injected failure")
	case http.StatusNotFound:
		return indexNotFound(ix.name, "index_expression")
	}
	return injectedBulkError(status, 0)
}
