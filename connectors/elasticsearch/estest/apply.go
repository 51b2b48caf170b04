package estest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
)

type shards struct {
	Total      int `json:"total"`
	Successful int `json:"successful"`
	Failed     int `json:"failed"`
}

// On a single node the default replica is unassigned, so ES reports two
// copies of which one succeeded.
var writeShards = shards{Total: 2, Successful: 1}

// itemOK and itemFail are bulk item bodies, fields in ES's order.
type itemOK struct {
	Index         string `json:"_index"`
	ID            string `json:"_id"`
	Version       int64  `json:"_version"`
	Result        string `json:"result"`
	ForcedRefresh bool   `json:"forced_refresh,omitempty"`
	Shards        shards `json:"_shards"`
	SeqNo         int64  `json:"_seq_no"`
	PrimaryTerm   int64  `json:"_primary_term"`
	Status        int    `json:"status"`
}

type itemFail struct {
	Index  string   `json:"_index"`
	ID     *string  `json:"_id"` // null if ES failed the item before giving it an id
	Status int      `json:"status"`
	Error  *esError `json:"error"`
}

// execute applies one bulk item in ES's order of checks; reject is the
// RejectItems verdict for it. It returns the item body and whether it
// failed. s.mu must be held.
func (s *Server) execute(a *action, reject int, refresh bool) (any, bool) {
	fail := func(index string, id *string, status int, e *esError) (any, bool) {
		return itemFail{Index: index, ID: id, Status: status, Error: e}, true
	}
	if a.requireAlias { // there are no aliases here
		return fail(a.index, a.id, http.StatusNotFound, newErr("index_not_found_exception",
			"no such index [%[1]s] and [require_alias] request flag is [true] and [%[1]s] is not an alias", a.index).withIndex(a.index))
	}
	ix := s.indices[a.index]
	if ix == nil {
		// Every write but an internally versioned delete auto-creates its
		// index. The built-in data stream templates allow auto-creation
		// even when action.auto_create_index is false.
		if a.op == "delete" && a.versionType == "internal" {
			return fail(a.index, a.id, http.StatusNotFound, indexNotFound(a.index, "index_expression"))
		}
		if e := invalidIndexName(a.index); e != nil {
			return fail(a.index, a.id, http.StatusBadRequest, e)
		}
		if !s.autoCreate && !isDataStreamName(a.index) {
			return fail(a.index, a.id, http.StatusNotFound, newErr("index_not_found_exception",
				"no such index [%s] and [action.auto_create_index] is [false]", a.index).withIndex(a.index))
		}
		ix = newIndex(a.index)
		s.indices[a.index] = ix
	}
	if ix.dataStream && a.op != "create" {
		return fail(a.index, a.id, http.StatusBadRequest,
			newErr("illegal_argument_exception", "only write ops with an op_type of create are allowed in data streams"))
	}
	id := randomID(15) // 20 characters, like ES's generated ids
	if a.id != nil {
		id = *a.id
		if id == "" {
			return fail(ix.concrete(), a.id, http.StatusBadRequest, newErr("illegal_argument_exception", "if _id is specified it must not be empty"))
		}
	}
	if reject != 0 {
		return fail(ix.concrete(), &id, reject, injectedItemError(reject, ix, id))
	}

	cur := ix.docs[id]
	live := cur != nil && !cur.deleted
	conflict := func(format string, args ...any) (any, bool) {
		e := newErr("version_conflict_engine_exception", "[%s]: version conflict, "+format, append([]any{id}, args...)...)
		return fail(ix.concrete(), &id, http.StatusConflict, e.withShard(ix))
	}
	// The engine checks compare-and-set, then versions. Index requests are
	// parsed before that, updates read the document after it.
	versionConflict := func() (any, bool) {
		switch {
		case a.ifSeqNo != unassignedSeqNo && !live:
			return conflict("required seqNo [%d], primary term [%d]. but no document was found", a.ifSeqNo, a.ifPrimaryTerm)
		case a.ifSeqNo != unassignedSeqNo && (cur.seqNo != a.ifSeqNo || a.ifPrimaryTerm != primaryTerm):
			return conflict("required seqNo [%d], primary term [%d]. current document has seqNo [%d] and primary term [%d]",
				a.ifSeqNo, a.ifPrimaryTerm, cur.seqNo, primaryTerm)
		case a.op == "create" && live:
			return conflict("document already exists (current version [%d])", cur.version)
		case cur == nil || a.versionType == "internal":
		case a.versionType == "external" && cur.version >= a.version:
			return conflict("current version [%d] is higher or equal to the one provided [%d]", cur.version, a.version)
		case a.versionType == "external_gte" && cur.version > a.version:
			return conflict("current version [%d] is higher than the one provided [%d]", cur.version, a.version)
		}
		return nil, false
	}
	version := int64(1)
	if a.versionType != "internal" {
		version = a.version
	} else if cur != nil {
		version = cur.version + 1
	}
	write := func(src []byte, added map[string]string, result string, status int) (any, bool) {
		for f, t := range added {
			ix.fields[f] = t
		}
		d := &stored{version: version, seqNo: ix.nextSeqNo, deleted: src == nil}
		if src != nil {
			var b bytes.Buffer
			json.Compact(&b, src)
			d.source = b.Bytes()
		}
		ix.docs[id] = d
		ix.nextSeqNo++
		return itemOK{Index: ix.concrete(), ID: id, Version: version, Result: result, ForcedRefresh: refresh,
			Shards: writeShards, SeqNo: d.seqNo, PrimaryTerm: primaryTerm, Status: status}, false
	}
	// parse checks a document against the mapping, then the versions.
	parse := func(src []byte) (map[string]string, any, bool) {
		added, e := ix.checkSource(src, id)
		if e != nil {
			item, _ := fail(ix.concrete(), &id, http.StatusBadRequest, e)
			return nil, item, true
		}
		if a.op == "update" {
			return added, nil, false
		}
		item, failed := versionConflict()
		return added, item, failed
	}
	result, status := "created", http.StatusCreated
	if live {
		result, status = "updated", http.StatusOK
	}

	switch a.op {
	case "index", "create":
		added, item, failed := parse(a.source)
		if failed {
			return item, true
		}
		return write(a.source, added, result, status)

	case "delete":
		if item, failed := versionConflict(); failed {
			return item, true
		}
		if live {
			return write(nil, nil, "deleted", http.StatusOK)
		}
		return write(nil, nil, "not_found", http.StatusNotFound) // not an error in ES

	default: // update
		if item, failed := versionConflict(); failed {
			return item, true
		}
		src := a.upsert
		if live {
			var doc, changes map[string]any
			decode(cur.source, &doc)
			decode(a.doc, &changes)
			if !merge(doc, changes, a.detectNoop) {
				return itemOK{Index: ix.concrete(), ID: id, Version: cur.version, Result: "noop",
					SeqNo: cur.seqNo, PrimaryTerm: primaryTerm, Status: http.StatusOK}, false
			}
			src, _ = json.Marshal(doc)
		} else if src == nil && a.docAsUpsert {
			src = a.doc
		} else if src == nil {
			return fail(ix.concrete(), &id, http.StatusNotFound, newErr("document_missing_exception", "[%s]: document missing", id).withShard(ix))
		}
		added, item, failed := parse(src)
		if failed {
			return item, true
		}
		return write(src, added, result, status)
	}
}

func decode(b []byte, v any) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	dec.Decode(v)
}

// merge applies a partial document as ES's XContentHelper.update does:
// objects merge recursively, other values replace. It reports whether doc
// changed, or true if detectNoop is off.
func merge(doc, changes map[string]any, detectNoop bool) bool {
	modified := !detectNoop
	for k, v := range changes {
		old, exists := doc[k]
		om, ok1 := old.(map[string]any)
		vm, ok2 := v.(map[string]any)
		if exists && ok1 && ok2 {
			modified = merge(om, vm, detectNoop) || modified
			continue
		}
		doc[k] = v
		modified = modified || !exists || !reflect.DeepEqual(old, v)
	}
	return modified
}
