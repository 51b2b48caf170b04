package main

import (
	"testing"

	"github.com/spur-connect/spur/connectors/datagen"
)

func TestCountEventsAgreesWithTheScan(t *testing.T) {
	for _, compact := range []bool{false, true} {
		body := []byte{'['}
		for i := 0; i < 500; i++ {
			if i > 0 {
				body = append(body, ',')
			}
			if compact {
				body, _ = datagen.AppendCompactEvent(body, 1, 0, int64(i))
			} else {
				body, _ = datagen.AppendEvent(body, 1, 0, int64(i))
			}
		}
		body = append(body, ']')
		n, ok := countEvents(body)
		m, arr := countArray(body)
		if !ok || !arr || n != 500 || m != 500 {
			t.Fatalf("compact=%v: countEvents %d %v, countArray %d %v; want 500", compact, n, ok, m, arr)
		}
	}
	for _, bad := range []string{"", "{}", `{"event_id":"x"}`, "[", "]"} {
		if _, ok := countEvents([]byte(bad)); ok {
			t.Errorf("countEvents(%q) accepted a body that is not an array", bad)
		}
	}
}

func BenchmarkCount(b *testing.B) {
	body := []byte{'['}
	for i := 0; i < 500; i++ {
		if i > 0 {
			body = append(body, ',')
		}
		body, _ = datagen.AppendCompactEvent(body, 1, 0, int64(i))
	}
	body = append(body, ']')
	for _, c := range []struct {
		name string
		f    func([]byte) (int, bool)
	}{{"events", countEvents}, {"scan", countArray}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				c.f(body)
			}
		})
	}
}
