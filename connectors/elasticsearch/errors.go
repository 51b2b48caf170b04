package elasticsearch

import (
	"fmt"
	"strconv"
)

// ItemError is the error a record is reported with when Elasticsearch
// refused its bulk item: it names the record, the action, the index and
// document id, and Elasticsearch's own error type and reason, so a dead
// letter queue entry says what to fix.
type ItemError struct {
	Record string // topic/partition@offset
	Action string // index, create, update, delete
	Index  string
	ID     string
	Status int
	Type   string // e.g. document_parsing_exception
	Reason string // with the caused_by chain
}

func (e *ItemError) Error() string {
	s := fmt.Sprintf("elasticsearch refused %s of %s (index %s", e.Action, e.Record, e.Index)
	if e.ID != "" {
		s += ", id " + strconv.Quote(e.ID)
	}
	s += "): " + strconv.Itoa(e.Status)
	if e.Reason != "" {
		s += " " + e.Reason
	}
	return s
}

// RequestError is a bulk request Elasticsearch (or a proxy before it)
// answered with an error status as a whole.
type RequestError struct {
	Status int
	Reason string
	Items  int
}

func (e *RequestError) Error() string {
	s := fmt.Sprintf("elasticsearch bulk request of %d items failed: %d", e.Items, e.Status)
	switch e.Status {
	case 401:
		s += " (check connection.username/password or connection.api.key)"
	case 403:
		s += " (the user lacks a privilege: the sink needs create_index (or the index to exist) and write or create_doc on it)"
	case 413:
		s += " (the request is larger than Elasticsearch's http.max_content_length: lower bulk.size.bytes)"
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}
