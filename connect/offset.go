package connect

import (
	"encoding/json"
	"fmt"
	"math"
)

// OffsetInt reads a non-negative integer from a source offset map value.
// Offsets come back as json.Number after the JSON round trip through the
// offsets topic, and as Go integers or float64 from other stores; all are
// accepted if integral and not negative.
func OffsetInt(v any) (int64, error) {
	var n int64
	switch x := v.(type) {
	case nil:
		return 0, fmt.Errorf("missing")
	case int:
		n = int64(x)
	case int32:
		n = int64(x)
	case int64:
		n = x
	case uint32:
		n = int64(x)
	case uint64:
		if x > math.MaxInt64 {
			return 0, fmt.Errorf("%d is out of range", x)
		}
		n = int64(x)
	case float64:
		if x != math.Trunc(x) || x < 0 || x >= 1<<63 {
			return 0, fmt.Errorf("%v is not a whole number", x)
		}
		n = int64(x)
	case json.Number:
		i, err := x.Int64()
		if err != nil {
			f, ferr := x.Float64()
			if ferr != nil || f != math.Trunc(f) || f < 0 || f >= 1<<63 {
				return 0, fmt.Errorf("%s is not a whole number", x)
			}
			i = int64(f)
		}
		n = i
	default:
		return 0, fmt.Errorf("%v is a %T, not a number", v, v)
	}
	if n < 0 {
		return 0, fmt.Errorf("%d is negative", n)
	}
	return n, nil
}

// ValidTopic accepts the topic names Kafka accepts, so a typo fails at
// validation rather than as a produce error once a task runs.
func ValidTopic(v any) error {
	s, _ := v.(string)
	if s == "" || s == "." || s == ".." || len(s) > 249 {
		return fmt.Errorf("not a valid Kafka topic name")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("not a valid Kafka topic name: only letters, digits, '.', '_' and '-' are allowed")
		}
	}
	return nil
}
