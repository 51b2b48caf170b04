package elasticsearch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// bulkItem is the part of one bulk response item the sink reads.
type bulkItem struct {
	Index  string     `json:"_index"`
	ID     string     `json:"_id"`
	Status int        `json:"status"`
	Result string     `json:"result"`
	Error  *itemError `json:"error"`
}

// itemError is Elasticsearch's error object.
type itemError struct {
	Type     string     `json:"type"`
	Reason   string     `json:"reason"`
	CausedBy *itemError `json:"caused_by"`
}

func (e *itemError) String() string {
	if e == nil {
		return ""
	}
	s := e.Type + ": " + e.Reason
	if e.CausedBy != nil {
		s += " (caused by " + e.CausedBy.String() + ")"
	}
	return s
}

// parseBulk reads a 200 response to a bulk request of n items. When
// Elasticsearch says "errors":false before the items, which it always
// does, the items are not decoded: every one succeeded.
func parseBulk(body []byte, n int) (items []bulkItem, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("bulk response is not a JSON object: %s", excerpt(body))
	}
	errorsSeen, anyErrors := false, false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("bulk response: %w", err)
		}
		switch tok {
		case "errors":
			if err := dec.Decode(&anyErrors); err != nil {
				return nil, fmt.Errorf("bulk response: errors: %w", err)
			}
			errorsSeen = true
		case "items":
			if errorsSeen && !anyErrors {
				return nil, nil
			}
			var raw []map[string]bulkItem
			if err := dec.Decode(&raw); err != nil {
				return nil, fmt.Errorf("bulk response: items: %w", err)
			}
			if len(raw) != n {
				return nil, fmt.Errorf("bulk response has %d items for %d actions", len(raw), n)
			}
			items = make([]bulkItem, n)
			for i, m := range raw {
				if len(m) != 1 {
					return nil, fmt.Errorf("bulk response item %d has %d actions", i, len(m))
				}
				for _, it := range m {
					items[i] = it
				}
			}
			return items, nil
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, fmt.Errorf("bulk response: %w", err)
			}
		}
	}
	return nil, fmt.Errorf("bulk response has no items: %s", excerpt(body))
}

// responseError extracts the reason from an Elasticsearch error response
// ({"error":{"type":..,"reason":..},"status":N}, or plain text from a proxy).
func responseError(body []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && len(e.Error) > 0 {
		var ie itemError
		if json.Unmarshal(e.Error, &ie) == nil && ie.Type != "" {
			return ie.String()
		}
		var s string
		if json.Unmarshal(e.Error, &s) == nil {
			return s
		}
	}
	return strings.TrimSpace(excerpt(body))
}

// readBody reads at most limit bytes of a response body.
func readBody(r io.Reader, limit int64) ([]byte, error) {
	return io.ReadAll(io.LimitReader(r, limit))
}

// malformed are the error types Confluent's connector treats as a bad
// document (behavior.on.malformed.documents) rather than a failed write.
var malformed = []string{
	"strict_dynamic_mapping_exception",
	"mapper_parsing_exception",
	"illegal_argument_exception",
	"action_request_validation_exception",
	"document_parsing_exception",
}

func isMalformed(e *itemError) bool {
	for ; e != nil; e = e.CausedBy {
		for _, m := range malformed {
			if e.Type == m {
				return true
			}
		}
	}
	return false
}
