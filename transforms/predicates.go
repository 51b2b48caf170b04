package transforms

import (
	"regexp"

	"github.com/spur-connect/spur/connect"
)

func topicNameMatchesSpec() *connect.ConfigSpec {
	return connect.NewSpec(connect.ConfigKey{
		Name: "pattern", Type: connect.TypeString, Required: true, Importance: connect.Medium,
		Doc: "A regular expression (Go RE2 syntax) for matching against the name of a record's topic; it must match the whole name.",
		Validate: func(v any) error {
			if err := connect.NonEmpty(v); err != nil {
				return err
			}
			return connect.ValidRegex(v)
		},
	})
}

type topicNameMatches struct{ re *regexp.Regexp }

func newTopicNameMatches(cfg connect.Config) (connect.Predicate, error) {
	re, err := anchored(cfg.String("pattern"))
	if err != nil {
		return nil, connect.KeyError{Key: "pattern", Message: err.Error()}
	}
	return &topicNameMatches{re: re}, nil
}

func (p *topicNameMatches) Test(r *connect.Record) bool { return p.re.MatchString(r.Topic) }

func hasHeaderKeySpec() *connect.ConfigSpec {
	return connect.NewSpec(connect.ConfigKey{
		Name: "name", Type: connect.TypeString, Required: true, Importance: connect.Medium, Validate: connect.NonEmpty,
		Doc: "The header name.",
	})
}

type hasHeaderKey struct{ name string }

func newHasHeaderKey(cfg connect.Config) (connect.Predicate, error) {
	return &hasHeaderKey{name: cfg.String("name")}, nil
}

func (p *hasHeaderKey) Test(r *connect.Record) bool {
	for _, h := range r.Headers {
		if h.Key == p.name {
			return true
		}
	}
	return false
}

type recordIsTombstone struct{}

func newRecordIsTombstone(connect.Config) (connect.Predicate, error) { return recordIsTombstone{}, nil }

// Test reports a null value without decoding it.
func (recordIsTombstone) Test(r *connect.Record) bool { return r.Value.IsNull() }
