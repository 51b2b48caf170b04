package connect

import (
	"encoding/json"
	"testing"
)

func TestOffsetInt(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want int64
		ok   bool
	}{
		{json.Number("42"), 42, true}, {json.Number("1e3"), 1000, true}, {float64(7), 7, true}, {int(3), 3, true},
		{int64(9007199254740993), 9007199254740993, true}, {uint64(1 << 63), 0, false}, {json.Number("1.5"), 0, false},
		{-1, 0, false}, {nil, 0, false}, {"12", 0, false},
	} {
		got, err := OffsetInt(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("OffsetInt(%#v) = %d, %v", tc.in, got, err)
		}
	}
}

func TestValidTopic(t *testing.T) {
	for _, ok := range []string{"events", "a.b_c-D9"} {
		if err := ValidTopic(ok); err != nil {
			t.Errorf("%q rejected: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".", "..", "a b", "a/b", string(make([]byte, 250))} {
		if ValidTopic(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
