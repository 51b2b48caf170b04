package estest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

type esErr struct {
	Type     string `json:"type"`
	Reason   string `json:"reason"`
	Index    string `json:"index"`
	CausedBy *esErr `json:"caused_by"`
}

type item struct {
	Index   string  `json:"_index"`
	ID      *string `json:"_id"`
	Version int64   `json:"_version"`
	Result  string  `json:"result"`
	SeqNo   *int64  `json:"_seq_no"`
	Status  int     `json:"status"`
	Error   *esErr  `json:"error"`
	Shards  *struct {
		Total, Successful, Failed int
	} `json:"_shards"`
}

type bulkResponse struct {
	Errors *bool             `json:"errors"`
	Took   *int64            `json:"took"`
	Items  []map[string]item `json:"items"`
	Error  *struct {
		RootCause []esErr `json:"root_cause"`
		esErr
	} `json:"error"`
	Status int `json:"status"`
}

func do(t *testing.T, method, url, contentType string, body []byte, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func bulk(t *testing.T, s *Server, body string) (int, bulkResponse) {
	t.Helper()
	resp, b := do(t, "POST", s.URL+"/_bulk", "application/x-ndjson", []byte(body))
	var br bulkResponse
	if err := json.Unmarshal(b, &br); err != nil {
		t.Fatalf("response %s: %v", b, err)
	}
	return resp.StatusCode, br
}

// want describes one expected bulk item.
type want struct {
	op, result string
	status     int
	errType    string
	reason     string // substring of error.reason
}

func TestBulkItems(t *testing.T) {
	tests := []struct {
		name  string
		opts  []Option
		setup func(*Server)
		body  string
		want  []want
		check func(*testing.T, *Server)
	}{{
		name: "index creates then replaces",
		body: `{"index":{"_index":"a","_id":"1"}}
{"n":1}
{"index":{"_index":"a","_id":"1"}}
{"n":2}
`,
		want: []want{{op: "index", result: "created", status: 201}, {op: "index", result: "updated", status: 200}},
		check: func(t *testing.T, s *Server) {
			d, ok := s.Doc("a", "1")
			if !ok || string(d.Source) != `{"n":2}` || d.Version != 2 || d.SeqNo != 1 {
				t.Errorf("doc = %+v %s", d, d.Source)
			}
		},
	}, {
		name: "create conflicts with an existing document",
		body: `{"create":{"_index":"a","_id":"1"}}
{"n":1}
{"create":{"_index":"a","_id":"1"}}
{"n":2}
`,
		want: []want{{op: "create", result: "created", status: 201},
			{op: "create", status: 409, errType: "version_conflict_engine_exception", reason: "[1]: version conflict, document already exists (current version [1])"}},
	}, {
		name: "index with op_type create answers as create",
		body: `{"index":{"_index":"a","_id":"1","op_type":"create"}}
{"n":1}
`,
		want: []want{{op: "create", result: "created", status: 201}},
	}, {
		name: "auto-generated ids",
		body: `{"index":{"_index":"a"}}
{"n":1}
{"create":{"_index":"a"}}
{"n":2}
`,
		want: []want{{op: "index", result: "created", status: 201}, {op: "create", result: "created", status: 201}},
		check: func(t *testing.T, s *Server) {
			for id := range s.Docs("a") {
				if len(id) != 20 {
					t.Errorf("id %q: want 20 characters", id)
				}
			}
			if s.Count("a") != 2 {
				t.Errorf("count = %d", s.Count("a"))
			}
		},
	}, {
		name: "empty id",
		body: `{"index":{"_index":"a","_id":""}}
{"n":1}
`,
		want: []want{{op: "index", status: 400, errType: "illegal_argument_exception", reason: "if _id is specified it must not be empty"}},
	}, {
		name: "external versioning",
		body: `{"index":{"_index":"a","_id":"1","version":5,"version_type":"external"}}
{"n":5}
{"index":{"_index":"a","_id":"1","version":3,"version_type":"external"}}
{"n":3}
{"index":{"_index":"a","_id":"1","version":5,"version_type":"external"}}
{"n":5}
{"index":{"_index":"a","_id":"1","version":5,"version_type":"external_gte"}}
{"n":55}
{"index":{"_index":"a","_id":"1","version":4,"version_type":"external_gte"}}
{"n":4}
{"index":{"_index":"a","_id":"1","version":9,"version_type":"external"}}
{"n":9}
`,
		want: []want{
			{op: "index", result: "created", status: 201},
			{op: "index", status: 409, errType: "version_conflict_engine_exception", reason: "[1]: version conflict, current version [5] is higher or equal to the one provided [3]"},
			{op: "index", status: 409, errType: "version_conflict_engine_exception", reason: "current version [5] is higher or equal to the one provided [5]"},
			{op: "index", result: "updated", status: 200},
			{op: "index", status: 409, errType: "version_conflict_engine_exception", reason: "current version [5] is higher than the one provided [4]"},
			{op: "index", result: "updated", status: 200},
		},
		check: func(t *testing.T, s *Server) {
			if d, _ := s.Doc("a", "1"); d.Version != 9 || string(d.Source) != `{"n":9}` {
				t.Errorf("doc = %+v %s", d, d.Source)
			}
		},
	}, {
		name: "external delete leaves a tombstone",
		body: `{"index":{"_index":"a","_id":"1","version":5,"version_type":"external"}}
{"n":5}
{"delete":{"_index":"a","_id":"1","version":7,"version_type":"external"}}
{"index":{"_index":"a","_id":"1","version":6,"version_type":"external"}}
{"n":6}
{"delete":{"_index":"a","_id":"2","version":3,"version_type":"external"}}
{"index":{"_index":"a","_id":"2","version":2,"version_type":"external"}}
{"n":2}
`,
		want: []want{
			{op: "index", result: "created", status: 201},
			{op: "delete", result: "deleted", status: 200},
			{op: "index", status: 409, errType: "version_conflict_engine_exception", reason: "current version [7] is higher or equal to the one provided [6]"},
			{op: "delete", result: "not_found", status: 404},
			{op: "index", status: 409, errType: "version_conflict_engine_exception", reason: "current version [3]"},
		},
	}, {
		name: "delete",
		body: `{"index":{"_index":"a","_id":"1"}}
{"n":1}
{"delete":{"_index":"a","_id":"1"}}
{"delete":{"_index":"a","_id":"1"}}
{"index":{"_index":"a","_id":"1"}}
{"n":1}
`,
		want: []want{
			{op: "index", result: "created", status: 201},
			{op: "delete", result: "deleted", status: 200},
			{op: "delete", result: "not_found", status: 404}, // no error object
			{op: "index", result: "created", status: 201},
		},
		check: func(t *testing.T, s *Server) {
			if d, _ := s.Doc("a", "1"); d.Version != 4 {
				t.Errorf("version = %d, want 4 (versions survive deletes)", d.Version)
			}
		},
	}, {
		name: "delete in a missing index",
		body: `{"delete":{"_index":"nope","_id":"1"}}
`,
		want: []want{{op: "delete", status: 404, errType: "index_not_found_exception", reason: "no such index [nope]"}},
		check: func(t *testing.T, s *Server) {
			if len(s.Indices()) != 0 {
				t.Errorf("indices = %v; a delete must not create an index", s.Indices())
			}
		},
	}, {
		name: "if_seq_no",
		body: `{"index":{"_index":"a","_id":"1"}}
{"n":1}
{"index":{"_index":"a","_id":"1","if_seq_no":0,"if_primary_term":1}}
{"n":2}
{"index":{"_index":"a","_id":"1","if_seq_no":0,"if_primary_term":1}}
{"n":3}
{"index":{"_index":"a","_id":"2","if_seq_no":0,"if_primary_term":1}}
{"n":3}
`,
		want: []want{
			{op: "index", result: "created", status: 201},
			{op: "index", result: "updated", status: 200},
			{op: "index", status: 409, errType: "version_conflict_engine_exception", reason: "required seqNo [0], primary term [1]. current document has seqNo [1] and primary term [1]"},
			{op: "index", status: 409, errType: "version_conflict_engine_exception", reason: "[2]: version conflict, required seqNo [0], primary term [1]. but no document was found"},
		},
	}, {
		name: "update",
		body: `{"update":{"_index":"a","_id":"1"}}
{"doc":{"a":1},"doc_as_upsert":true}
{"update":{"_index":"a","_id":"1"}}
{"doc":{"b":{"c":2}}}
{"update":{"_index":"a","_id":"1"}}
{"doc":{"b":{"d":3}}}
{"update":{"_index":"a","_id":"1"}}
{"doc":{"a":1}}
{"update":{"_index":"a","_id":"2"}}
{"doc":{"a":1},"upsert":{"a":0}}
{"update":{"_index":"a","_id":"3"}}
{"doc":{"a":1}}
`,
		want: []want{
			{op: "update", result: "created", status: 201},
			{op: "update", result: "updated", status: 200},
			{op: "update", result: "updated", status: 200},
			{op: "update", result: "noop", status: 200},
			{op: "update", result: "created", status: 201},
			{op: "update", status: 404, errType: "document_missing_exception", reason: "[3]: document missing"},
		},
		check: func(t *testing.T, s *Server) {
			if d, _ := s.Doc("a", "1"); string(d.Source) != `{"a":1,"b":{"c":2,"d":3}}` || d.Version != 3 {
				t.Errorf("doc 1 = %+v %s", d, d.Source)
			}
			if d, _ := s.Doc("a", "2"); string(d.Source) != `{"a":0}` {
				t.Errorf("doc 2 = %s", d.Source)
			}
		},
	}, {
		name: "document parsing",
		body: `{"index":{"_index":"a","_id":"1"}}
"text"
{"index":{"_index":"a","_id":"2"}}
{"n":
{"index":{"_index":"a","_id":"3"}}
{"n":1}
{"index":{"_index":"a","_id":"4"}}
{"n":"abc"}
{"index":{"_index":"a","_id":"5"}}
{"n":"42"}
{"index":{"_index":"a","_id":"6"}}
{"n":{"x":1}}
{"index":{"_index":"a","_id":"7"}}
{"n":[1,"x"]}
{"index":{"_index":"a","_id":"8"}}
{"t":"2024-01-02T03:04:05Z","b":true,"f":1.5}
{"index":{"_index":"a","_id":"9"}}
{"t":"soon"}
{"index":{"_index":"a","_id":"10"}}
{"b":"maybe"}
{"index":{"_index":"a","_id":"11"}}
{"o":{"x":1}}
{"index":{"_index":"a","_id":"12"}}
{"o":"flat"}
`,
		want: []want{
			{op: "index", status: 400, errType: "document_parsing_exception", reason: "Malformed content, must start with an object"},
			{op: "index", status: 400, errType: "document_parsing_exception", reason: "failed to parse"},
			{op: "index", result: "created", status: 201},
			{op: "index", status: 400, errType: "document_parsing_exception", reason: "[1:6] failed to parse field [n] of type [long] in document with id '4'. Preview of field's value: 'abc'"},
			{op: "index", result: "created", status: 201}, // coerced
			{op: "index", status: 400, errType: "document_parsing_exception", reason: "failed to parse field [n] of type [long]"},
			{op: "index", status: 400, errType: "document_parsing_exception", reason: "[1:9] failed to parse field [n] of type [long] in document with id '7'. Preview of field's value: 'x'"},
			{op: "index", result: "created", status: 201},
			{op: "index", status: 400, errType: "document_parsing_exception", reason: "failed to parse field [t] of type [date]"},
			{op: "index", status: 400, errType: "document_parsing_exception", reason: "failed to parse field [b] of type [boolean]"},
			{op: "index", result: "created", status: 201},
			{op: "index", status: 400, errType: "document_parsing_exception", reason: "object mapping for [o] tried to parse field [o] as object, but found a concrete value"},
		},
		check: func(t *testing.T, s *Server) {
			if s.Count("a") != 4 {
				t.Errorf("count = %d, want 4", s.Count("a"))
			}
		},
	}, {
		name:  "strict mapping",
		setup: func(s *Server) { s.CreateIndex("a", map[string]string{"n": "long", "s": "keyword"}, true) },
		body: `{"index":{"_index":"a","_id":"1"}}
{"n":1,"s":"x"}
{"index":{"_index":"a","_id":"2"}}
{"n":1,"x":2}
{"index":{"_index":"a","_id":"3"}}
{"s":{"k":1}}
`,
		want: []want{
			{op: "index", result: "created", status: 201},
			{op: "index", status: 400, errType: "strict_dynamic_mapping_exception", reason: "[1:12] mapping set to strict, dynamic introduction of [x] within [_doc] is not allowed"},
			{op: "index", status: 400, errType: "document_parsing_exception", reason: "failed to parse field [s] of type [keyword]"},
		},
	}, {
		name: "invalid index names",
		body: `{"index":{"_index":"Upper","_id":"1"}}
{}
{"index":{"_index":"_under","_id":"1"}}
{}
{"index":{"_index":"a*b","_id":"1"}}
{}
`,
		want: []want{
			{op: "index", status: 400, errType: "invalid_index_name_exception", reason: "Invalid index name [Upper], must be lowercase"},
			{op: "index", status: 400, errType: "invalid_index_name_exception", reason: "must not start with '_', '-', or '+'"},
			{op: "index", status: 400, errType: "invalid_index_name_exception", reason: "must not contain the following characters"},
		},
	}, {
		name: "auto create off",
		opts: []Option{WithoutAutoCreate()},
		body: `{"index":{"_index":"a","_id":"1"}}
{}
{"create":{"_index":"logs-app-default","_id":"1"}}
{"@timestamp":"2024-01-01T00:00:00Z"}
`,
		want: []want{
			{op: "index", status: 404, errType: "index_not_found_exception", reason: "no such index [a] and [action.auto_create_index] is [false]"},
			{op: "create", result: "created", status: 201},
		},
	}, {
		name: "data streams",
		body: `{"index":{"_index":"logs-app-default","_id":"1"}}
{"@timestamp":"2024-01-01T00:00:00Z"}
{"create":{"_index":"logs-app-default"}}
{"msg":"no time"}
{"create":{"_index":"logs-app-default"}}
{"@timestamp":"2024-01-01T00:00:00Z","msg":"ok"}
`,
		want: []want{
			{op: "index", status: 400, errType: "illegal_argument_exception", reason: "only write ops with an op_type of create are allowed in data streams"},
			{op: "create", status: 400, errType: "document_parsing_exception", reason: "failed to parse: data stream timestamp field [@timestamp] is missing"},
			{op: "create", result: "created", status: 201},
		},
		check: func(t *testing.T, s *Server) {
			if s.Count("logs-app-default") != 1 {
				t.Errorf("count = %d", s.Count("logs-app-default"))
			}
		},
	}, {
		name: "default index and blank lines",
		body: "\n" + `{"index":{"_index":"b","_id":"1"}}` + "\r\n" + `{"n":1}` + "\r\n\n",
		want: []want{{op: "index", result: "created", status: 201}},
	}, {
		name: "rejected items",
		setup: func(s *Server) {
			s.RejectItems(func(index, id string) int { return map[string]int{"2": 429, "3": 503}[id] })
		},
		body: `{"index":{"_index":"a","_id":"1"}}
{}
{"index":{"_index":"a","_id":"2"}}
{}
{"index":{"_index":"a","_id":"3"}}
{}
`,
		want: []want{
			{op: "index", result: "created", status: 201},
			{op: "index", status: 429, errType: "es_rejected_execution_exception", reason: "rejected execution of primary operation"},
			{op: "index", status: 503, errType: "unavailable_shards_exception", reason: "[a][0] primary shard is not active"},
		},
		check: func(t *testing.T, s *Server) {
			if s.Count("a") != 1 {
				t.Errorf("count = %d, want 1", s.Count("a"))
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t, tt.opts...)
			if tt.setup != nil {
				tt.setup(s)
			}
			status, resp := bulk(t, s, tt.body)
			if status != 200 || resp.Errors == nil || resp.Took == nil {
				t.Fatalf("status %d, response %+v", status, resp)
			}
			if len(resp.Items) != len(tt.want) {
				t.Fatalf("got %d items, want %d: %+v", len(resp.Items), len(tt.want), resp.Items)
			}
			anyErr := false
			for i, w := range tt.want {
				it, ok := resp.Items[i][w.op]
				if !ok || len(resp.Items[i]) != 1 {
					t.Errorf("item %d: %v, want key %q", i, resp.Items[i], w.op)
					continue
				}
				if it.Status != w.status || it.Result != w.result {
					t.Errorf("item %d: status %d result %q, want %d %q (%+v)", i, it.Status, it.Result, w.status, w.result, it.Error)
				}
				if w.errType == "" {
					if it.Error != nil || it.Shards == nil || it.SeqNo == nil || it.ID == nil {
						t.Errorf("item %d: want a success body, got %+v", i, it)
					}
					continue
				}
				anyErr = true
				if it.Error == nil || it.Error.Type != w.errType || !strings.Contains(it.Error.Reason, w.reason) {
					t.Errorf("item %d: error %+v, want %s containing %q", i, it.Error, w.errType, w.reason)
				}
			}
			if *resp.Errors != anyErr {
				t.Errorf("errors = %v, want %v", *resp.Errors, anyErr)
			}
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}

func TestBulkRequestErrors(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		status                  int
		errType, reason         string // reason is a substring
	}{
		{"no trailing newline", "application/json", "{\"index\":{\"_index\":\"a\"}}\n{}", 400, "illegal_argument_exception", `The bulk request must be terminated by a newline [\n]`},
		{"empty body", "application/json", "", 400, "parse_exception", "request body is required"},
		{"no requests", "application/json", "\n\n", 400, "action_request_validation_exception", "Validation Failed: 1: no requests added;"},
		{"action not an object", "application/json", "\"index\"\n{}\n", 400, "illegal_argument_exception", "Malformed action/metadata line [1], expected START_OBJECT but found [VALUE_STRING]"},
		{"metadata not an object", "application/json", "{\"index\":\"a\"}\n{}\n", 400, "illegal_argument_exception", "Malformed action/metadata line [1], expected START_OBJECT or END_OBJECT but found [VALUE_STRING]"},
		{"unknown parameter", "application/json", "{\"index\":{\"_index\":\"a\",\"foo\":1}}\n{}\n", 400, "illegal_argument_exception", "Action/metadata line [1] contains an unknown parameter [foo]"},
		{"_type", "application/json", "{\"delete\":{\"_index\":\"a\",\"_id\":\"1\"}}\n{\"index\":{\"_index\":\"a\",\"_type\":\"_doc\"}}\n{}\n", 400, "illegal_argument_exception", "Action/metadata line [2] contains an unknown parameter [_type]"},
		{"invalid JSON", "application/json", "{\"index\":{\"_index\":\"a\",}}\n{}\n", 400, "x_content_parse_exception", "[1:"},
		{"delete without id", "application/json", "{\"delete\":{\"_index\":\"a\"}}\n", 400, "action_request_validation_exception", "Validation Failed: 1: id is missing;"},
		{"no index", "application/json", "{\"index\":{}}\n{}\n", 400, "action_request_validation_exception", "index is missing"},
		{"update without id", "application/json", "{\"update\":{\"_index\":\"a\"}}\n{\"doc\":{}}\n", 400, "action_request_validation_exception", "id is missing"},
		{"update without doc", "application/json", "{\"update\":{\"_index\":\"a\",\"_id\":\"1\"}}\n{}\n", 400, "action_request_validation_exception", "script or doc is missing"},
		{"update with version", "application/json", "{\"update\":{\"_index\":\"a\",\"_id\":\"1\",\"version\":2,\"version_type\":\"external\"}}\n{\"doc\":{}}\n", 400, "illegal_argument_exception", "Update requests do not support versioning"},
		{"update unknown field", "application/json", "{\"update\":{\"_index\":\"a\",\"_id\":\"1\"}}\n{\"dok\":{}}\n", 400, "x_content_parse_exception", "[UpdateRequest] unknown field [dok]"},
		{"external without version", "application/json", "{\"index\":{\"_index\":\"a\",\"_id\":\"1\",\"version_type\":\"external\"}}\n{}\n", 400, "action_request_validation_exception", "illegal version value [-3] for version type [EXTERNAL]"},
		{"create with external", "application/json", "{\"create\":{\"_index\":\"a\",\"_id\":\"1\",\"version\":1,\"version_type\":\"external\"}}\n{}\n", 400, "action_request_validation_exception", "create operations only support internal versioning. use index instead"},
		{"text/plain", "text/plain", "{\"index\":{\"_index\":\"a\"}}\n{}\n", 406, "", "Content-Type header [text/plain] is not supported"},
		{"no content type", "", "{\"index\":{\"_index\":\"a\"}}\n{}\n", 406, "", "Content-Type header is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t)
			resp, b := do(t, "POST", s.URL+"/_bulk", tt.contentType, []byte(tt.body))
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if tt.errType == "" { // ES's short form: {"error":"...","status":406}
				var e struct {
					Error  string
					Status int
				}
				if json.Unmarshal(b, &e) != nil || e.Error != tt.reason || e.Status != tt.status {
					t.Errorf("body %s", b)
				}
				return
			}
			var br bulkResponse
			json.Unmarshal(b, &br)
			if br.Error == nil || br.Error.Type != tt.errType || !strings.Contains(br.Error.Reason, tt.reason) ||
				br.Status != tt.status || len(br.Error.RootCause) != 1 || br.Error.RootCause[0].Type != tt.errType {
				t.Errorf("body %s, want %s containing %q", b, tt.errType, tt.reason)
			}
			if len(s.Indices()) != 0 {
				t.Errorf("indices %v: a failed request must apply nothing", s.Indices())
			}
		})
	}
}

func TestContentTypes(t *testing.T) {
	for _, ct := range []string{"application/json", "application/x-ndjson", "application/json; charset=UTF-8",
		"application/vnd.elasticsearch+x-ndjson;compatible-with=8", "application/vnd.elasticsearch+json; compatible-with=8"} {
		s := New(t)
		resp, b := do(t, "PUT", s.URL+"/a/_bulk", ct, []byte("{\"index\":{\"_id\":\"1\"}}\n{}\n"))
		if resp.StatusCode != 200 || s.Count("a") != 1 {
			t.Errorf("%s: %d %s", ct, resp.StatusCode, b)
		}
	}
}

func TestGzip(t *testing.T) {
	s := New(t)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("{\"index\":{\"_index\":\"a\",\"_id\":\"1\"}}\n{\"n\":1}\n"))
	zw.Close()
	resp, b := do(t, "POST", s.URL+"/_bulk?refresh=true&filter_path=items.*.error", "application/x-ndjson", buf.Bytes(), "Content-Encoding", "gzip")
	if resp.StatusCode != 200 || s.Count("a") != 1 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	reqs := s.BulkRequests()
	if len(reqs) != 1 || !reqs[0].Gzip || reqs[0].Items != 1 || reqs[0].Bytes != buf.Len() ||
		reqs[0].Path != "/_bulk" || reqs[0].Query.Get("refresh") != "true" || reqs[0].ContentType != "application/x-ndjson" {
		t.Errorf("recorded %+v", reqs)
	}
}

func TestBasicAuth(t *testing.T) {
	s := New(t, WithBasicAuth("elastic", "secret"))
	for _, tt := range []struct {
		name, user, pass string
		status           int
		reason           string
	}{
		{"none", "", "", 401, "missing authentication credentials for REST request [/]"},
		{"wrong", "elastic", "nope", 401, "unable to authenticate user [elastic] for REST request [/]"},
		{"right", "elastic", "secret", 200, ""},
	} {
		req, _ := http.NewRequest("GET", s.URL+"/", nil)
		if tt.user != "" {
			req.SetBasicAuth(tt.user, tt.pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error struct{ Type, Reason string }
		}
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || body.Error.Reason != tt.reason ||
			resp.Header.Get("X-Elastic-Product") != "Elasticsearch" {
			t.Errorf("%s: %d %+v", tt.name, resp.StatusCode, body)
		}
		if tt.status == 401 && (body.Error.Type != "security_exception" ||
			resp.Header.Values("WWW-Authenticate")[0] != `Basic realm="security" charset="UTF-8"`) {
			t.Errorf("%s: %+v %v", tt.name, body, resp.Header)
		}
	}
}

func TestFailRequests(t *testing.T) {
	s := New(t)
	body := "{\"index\":{\"_index\":\"a\",\"_id\":\"1\"}}\n{}\n"
	for _, tt := range []struct {
		status  int
		errType string
	}{{429, "es_rejected_execution_exception"}, {503, "cluster_block_exception"}, {500, "illegal_state_exception"}} {
		s.FailRequests(1, tt.status)
		status, resp := bulk(t, s, body)
		if status != tt.status || resp.Error == nil || resp.Error.Type != tt.errType || resp.Status != tt.status {
			t.Errorf("%d: got %d %+v", tt.status, status, resp)
		}
		if len(s.Indices()) != 0 {
			t.Fatalf("failed request applied: %v", s.Indices())
		}
	}
	if status, _ := bulk(t, s, body); status != 200 || s.Count("a") != 1 {
		t.Errorf("after failures: %d, count %d", status, s.Count("a"))
	}
	if n := len(s.BulkRequests()); n != 4 {
		t.Errorf("recorded %d requests, want 4", n)
	}
}

func TestDelayAndConcurrency(t *testing.T) {
	s := New(t)
	s.SetDelay(300 * time.Millisecond)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := []byte("{\"index\":{\"_index\":\"a\"}}\n{\"i\":" + string(rune('0'+i)) + "}\n")
			req, _ := http.NewRequest("POST", s.URL+"/_bulk", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if got := s.MaxConcurrentBulk(); got != 3 {
		t.Errorf("MaxConcurrentBulk = %d, want 3", got)
	}
	if s.Count("a") != 3 {
		t.Errorf("count = %d", s.Count("a"))
	}
}

func TestIndexAPIs(t *testing.T) {
	s := New(t)
	check := func(method, path, body string, status int, want string) {
		t.Helper()
		resp, b := do(t, method, s.URL+path, "application/json", []byte(body))
		if resp.StatusCode != status || !strings.Contains(string(b), want) {
			t.Errorf("%s %s: %d %s, want %d containing %s", method, path, resp.StatusCode, b, status, want)
		}
	}
	check("GET", "/", "", 200, `"number":"8.15.0"`)
	check("HEAD", "/a", "", 404, "")
	check("GET", "/a", "", 404, `"type":"index_not_found_exception","reason":"no such index [a]","resource.type":"index_or_alias","resource.id":"a","index_uuid":"_na_","index":"a"},"status":404`)
	check("PUT", "/a", `{"mappings":{"dynamic":"strict","properties":{"n":{"type":"long"}}}}`, 200, `{"acknowledged":true,"index":"a","shards_acknowledged":true}`)
	check("PUT", "/a", "", 400, "resource_already_exists_exception")
	check("PUT", "/A", "", 400, "invalid_index_name_exception")
	check("HEAD", "/a", "", 200, "")
	check("GET", "/a", "", 200, `"dynamic":"strict"`)
	check("POST", "/a/_bulk", "{\"index\":{\"_id\":\"1\"}}\n{\"n\":1}\n{\"index\":{\"_id\":\"2\"}}\n{\"m\":1}\n", 200, "strict_dynamic_mapping_exception")
	check("GET", "/a/_doc/1", "", 200, `"_source":{"n":1}`)
	check("GET", "/a/_doc/2", "", 404, `"found":false`)
	check("GET", "/a/_count", "", 200, `"count":1`)
	check("POST", "/a/_refresh", "", 200, `"_shards"`)
	check("DELETE", "/a", "", 200, `"acknowledged":true`)
	check("GET", "/a/_count", "", 404, "index_not_found_exception")
	check("GET", "/_bulk", "", 405, "Incorrect HTTP method")
}
