package estest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Sentinels of ES's Versions and SequenceNumbers; they appear in messages
// such as "illegal version value [-3] for version type [EXTERNAL]".
const (
	matchAny        = -3
	matchDeleted    = -4
	unassignedSeqNo = -2
	unassignedTerm  = 0
	primaryTerm     = 1
)

// action is one parsed bulk operation.
type action struct {
	op            string // index, create, update or delete
	index         string
	id            *string
	version       int64
	versionType   string // internal, external or external_gte
	ifSeqNo       int64
	ifPrimaryTerm int64
	retries       int
	requireAlias  bool
	source        []byte          // index and create
	doc, upsert   json.RawMessage // update
	docAsUpsert   bool
	detectNoop    bool
}

// parseBulk splits an NDJSON body into actions as ES's BulkRequestParser
// does: blank lines are skipped, an action whose source line is missing at
// the very end is dropped, and unknown actions are skipped with a
// deprecation warning (ES 8; ES 9 rejects them). A malformed line fails the
// whole request.
func parseBulk(body []byte, defIndex string, requireAlias bool) (acts []*action, warnings []string, e *esError) {
	line, from := 0, 0
	next := func() ([]byte, bool, *esError) {
		i := bytes.IndexByte(body[from:], '\n')
		if i < 0 && from != len(body) {
			return nil, false, newErr("illegal_argument_exception", `The bulk request must be terminated by a newline [\n]`)
		} else if i < 0 {
			return nil, false, nil
		}
		b := bytes.TrimSuffix(body[from:from+i], []byte("\r"))
		from += i + 1
		line++
		return b, true, nil
	}
	for {
		b, ok, e := next()
		if !ok {
			return acts, warnings, e
		}
		a, e := parseActionLine(b, line, defIndex, requireAlias)
		if e != nil {
			return nil, nil, e
		}
		if a == nil {
			continue // blank line
		}
		if a.op != "delete" {
			if b, ok, e = next(); !ok {
				return acts, warnings, e
			}
			switch a.op {
			case "index", "create":
				a.source = b
			case "update":
				if a.version != matchAny || a.versionType != "internal" {
					return nil, nil, newErr("illegal_argument_exception",
						"Update requests do not support versioning. Please use `if_seq_no` and `if_primary_term` instead")
				}
				if e := parseUpdateBody(b, a); e != nil {
					return nil, nil, e
				}
			default:
				warnings = append(warnings, fmt.Sprintf(`299 Elasticsearch-8.15.0 "Unsupported action: [%s]. Supported values are `+
					`[create], [delete], [index], and [update]. Unsupported actions are currently accepted but will be rejected in a future version."`, a.op))
				continue
			}
		}
		acts = append(acts, a)
	}
}

// parseActionLine parses {"<op>":{metadata}}; it returns nil for a blank line.
func parseActionLine(b []byte, line int, defIndex string, requireAlias bool) (*action, *esError) {
	malformed := func(format string, args ...any) *esError {
		return newErr("illegal_argument_exception", "Malformed action/metadata line [%d], "+format, append([]any{line}, args...)...)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var toks [3]json.Token
	for i := range toks {
		tok, err := dec.Token()
		if i == 0 && err == io.EOF {
			return nil, nil
		} else if err != nil {
			return nil, parseError(b, err)
		}
		toks[i] = tok
		switch _, isName := tok.(string); {
		case i == 0 && tok != json.Delim('{'):
			return nil, malformed("expected START_OBJECT but found [%s]", tokenName(tok))
		case i == 1 && !isName:
			return nil, malformed("expected FIELD_NAME but found [%s]", tokenName(tok))
		case i == 2 && tok != json.Delim('{') && tok != json.Delim('}'):
			return nil, malformed("expected START_OBJECT or END_OBJECT but found [%s]", tokenName(tok))
		}
	}
	a := &action{op: toks[1].(string), index: defIndex, version: matchAny, versionType: "internal",
		ifSeqNo: unassignedSeqNo, ifPrimaryTerm: unassignedTerm, detectNoop: true, requireAlias: requireAlias}
	for toks[2] == json.Delim('{') && dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, parseError(b, err)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, parseError(b, err)
		}
		switch raw[0] {
		case 'n':
		case '{', '[':
			if raw[0] == '[' || (key != "dynamic_templates" && key != "_source") {
				return nil, malformed("expected a simple value for field [%s] but found [%s]", key, tokenName(json.Delim(raw[0])))
			}
		default:
			if e := a.set(key.(string), raw, line); e != nil {
				return nil, e
			}
		}
	}
	// ES 8 only logs a deprecation warning for a missing closing brace or
	// for data after the action object, so the rest is ignored.
	return a, nil
}

// set applies one metadata parameter of an action line.
func (a *action) set(key string, raw json.RawMessage, line int) *esError {
	text := strings.Trim(string(raw), `"`)
	json.Unmarshal(raw, &text)
	var err error
	switch key {
	case "_index":
		a.index = text
	case "_id":
		a.id = &text
	case "require_alias":
		a.requireAlias = text == "true"
	case "routing", "pipeline", "require_data_stream", "list_executed_pipelines", "_source":
		// Accepted and ignored: one shard, no ingest pipelines.
	case "op_type":
		if text != "create" && text != "index" {
			return newErr("illegal_argument_exception", "opType must be 'create' or 'index', found: [%s]", text)
		}
		if text == "create" && a.op == "index" {
			a.op = "create"
		}
	case "version_type":
		switch text {
		case "internal", "external", "external_gte":
			a.versionType = text
		case "external_gt":
			a.versionType = "external"
		default:
			return newErr("illegal_argument_exception", "No version type match [%s]", text)
		}
	case "version":
		a.version, err = toLong(text)
	case "if_seq_no":
		a.ifSeqNo, err = toLong(text)
	case "if_primary_term":
		a.ifPrimaryTerm, err = toLong(text)
	case "retry_on_conflict":
		var n int64
		n, err = toLong(text)
		a.retries = int(n)
	default: // including _type, which ES 8 rejects
		return newErr("illegal_argument_exception", "Action/metadata line [%d] contains an unknown parameter [%s]", line, key)
	}
	if err != nil {
		return newErr("number_format_exception", "For input string: %q", text)
	}
	return nil
}

// toLong reads a number or numeric string as XContent's longValue does,
// truncating fractions.
func toLong(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	return int64(f), err
}

// parseUpdateBody parses an update's source line. Like UpdateRequest's
// ObjectParser, it fails the whole bulk request on errors.
func parseUpdateBody(b []byte, a *action) *esError {
	var u struct {
		Doc           json.RawMessage `json:"doc"`
		Upsert        json.RawMessage `json:"upsert"`
		DocAsUpsert   *bool           `json:"doc_as_upsert"`
		DetectNoop    *bool           `json:"detect_noop"`
		IfSeqNo       *int64          `json:"if_seq_no"`
		IfPrimaryTerm *int64          `json:"if_primary_term"`
		Script        json.RawMessage `json:"script"`
		Scripted      bool            `json:"scripted_upsert"`
		Source        json.RawMessage `json:"_source"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err := dec.Decode(&u)
	var te *json.UnmarshalTypeError
	unknown, isUnknown := "", false
	if err != nil {
		unknown, isUnknown = strings.CutPrefix(err.Error(), "json: unknown field ")
	}
	switch {
	case len(bytes.TrimSpace(b)) > 0 && bytes.TrimSpace(b)[0] != '{':
		var v any
		json.Unmarshal(b, &v)
		return newErr("x_content_parse_exception", "[1:1] [UpdateRequest] Expected START_OBJECT but was: %s", tokenName(v))
	case errors.As(err, &te):
		return newErr("x_content_parse_exception", "[UpdateRequest] failed to parse field [%s]", te.Field)
	case isUnknown:
		return newErr("x_content_parse_exception", "[UpdateRequest] unknown field [%s]", strings.Trim(unknown, `"`))
	case err != nil:
		return parseError(b, err)
	case u.Script != nil:
		return newErr("illegal_argument_exception", "estest: update scripts are not supported")
	}
	for i, raw := range []json.RawMessage{u.Doc, u.Upsert} {
		if name := []string{"doc", "upsert"}[i]; raw != nil && raw[0] != '{' {
			var v any
			json.Unmarshal(raw, &v)
			return newErr("x_content_parse_exception", "[UpdateRequest] %s doesn't support values of type: %s", name, tokenName(v))
		}
	}
	a.doc, a.upsert = u.Doc, u.Upsert
	a.docAsUpsert = u.DocAsUpsert != nil && *u.DocAsUpsert
	a.detectNoop = u.DetectNoop == nil || *u.DetectNoop
	if u.IfSeqNo != nil {
		a.ifSeqNo = *u.IfSeqNo
	}
	if u.IfPrimaryTerm != nil {
		a.ifPrimaryTerm = *u.IfPrimaryTerm
	}
	return nil
}

// validate is BulkRequest.validate: it checks every item before anything
// runs and fails the whole request listing all problems.
func validate(acts []*action) *esError {
	var msgs []string
	add := func(format string, args ...any) { msgs = append(msgs, fmt.Sprintf(format, args...)) }
	if len(acts) == 0 {
		add("no requests added")
	}
	for _, a := range acts {
		if a.index == "" {
			add("index is missing")
		}
		switch {
		case a.op == "create" && a.versionType != "internal":
			add("create operations only support internal versioning. use index instead")
			continue
		case a.op == "create" && a.version != matchAny:
			add("create operations do not support explicit versions. use index instead")
			continue
		case a.op == "create" && (a.ifSeqNo != unassignedSeqNo || a.ifPrimaryTerm != unassignedTerm):
			add("create operations do not support compare and set. use index instead")
			continue
		case a.op == "index" && a.id == nil && (a.versionType != "internal" || a.version != matchAny):
			add("an id must be provided if version type or value are set")
		case a.op == "update" || a.op == "delete":
			if a.id == nil || *a.id == "" {
				add("id is missing")
			}
		}
		// DocWriteRequest.validateSeqNoBasedCASParams
		v := a.version
		if a.op == "create" {
			v = matchDeleted
		}
		if a.versionType == "internal" && v != matchAny && v != matchDeleted {
			if v <= 0 {
				add("illegal version value [%d] for version type [INTERNAL]", v)
			}
			add("internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead")
		} else if a.versionType != "internal" && v < 0 {
			add("illegal version value [%d] for version type [%s]", v, strings.ToUpper(a.versionType))
		}
		if a.ifSeqNo != unassignedSeqNo && (a.versionType != "internal" || v != matchAny) {
			add("compare and write operations can not use versioning")
		}
		if a.ifPrimaryTerm == unassignedTerm && a.ifSeqNo != unassignedSeqNo {
			add("ifSeqNo is set, but primary term is [0]")
		}
		if a.ifPrimaryTerm != unassignedTerm && a.ifSeqNo == unassignedSeqNo {
			add("ifSeqNo is unassigned, but primary term is [%d]", a.ifPrimaryTerm)
		}
		if a.id != nil && len(*a.id) > 512 {
			add("id [%s] is too long, must be no longer than 512 bytes but was: %d", *a.id, len(*a.id))
		}
		if a.op == "update" && a.doc == nil {
			add("script or doc is missing")
			if a.docAsUpsert {
				add("doc must be specified if doc_as_upsert is enabled")
			}
		}
	}
	if msgs == nil {
		return nil
	}
	var b strings.Builder
	for i, m := range msgs {
		fmt.Fprintf(&b, "%d: %s;", i+1, m)
	}
	return newErr("action_request_validation_exception", "Validation Failed: %s", b.String())
}
