package httpsink

import (
	"fmt"
	"strconv"
	"strings"
)

// statusSet is a set of HTTP status codes written as Confluent's
// retry.on.status.codes: a comma-separated list of codes and inclusive
// ranges, "400-500", and open ranges, "500-" (500 and above).
type statusSet struct {
	ranges [][2]int
}

func parseStatusSet(s string) (statusSet, error) {
	var set statusSet
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(item, "-")
		a, err := parseStatus(lo)
		if err != nil {
			return set, fmt.Errorf("%q: %w", item, err)
		}
		b := a
		if isRange {
			if strings.TrimSpace(hi) == "" {
				b = 999
			} else if b, err = parseStatus(hi); err != nil {
				return set, fmt.Errorf("%q: %w", item, err)
			}
			if b < a {
				return set, fmt.Errorf("%q: range ends before it starts", item)
			}
		}
		set.ranges = append(set.ranges, [2]int{a, b})
	}
	return set, nil
}

func parseStatus(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 100 || n > 999 {
		return 0, fmt.Errorf("expected an HTTP status code between 100 and 999")
	}
	return n, nil
}

func (s statusSet) has(code int) bool {
	for _, r := range s.ranges {
		if code >= r[0] && code <= r[1] {
			return true
		}
	}
	return false
}

func validStatusSet(v any) error {
	s, _ := v.(string)
	_, err := parseStatusSet(s)
	return err
}
