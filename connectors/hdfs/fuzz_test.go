package hdfs

import (
	"strconv"
	"testing"
	"time"
)

// FuzzParseName: committed names the sink writes parse back to their
// partition and last offset, and no input panics.
func FuzzParseName(f *testing.F) {
	f.Add("t", "t+3+0000000010+0000000019.json", int32(3), int64(10), int64(19))
	f.Add("a.b_c-d", "a.b_c-d+0+0+0.txt", int32(0), int64(0), int64(0))
	f.Add("t", "t+1+2.json", int32(1), int64(5), int64(4))
	f.Fuzz(func(t *testing.T, topic, name string, p int32, first, last int64) {
		parseName(name, topic) // must not panic
		if p < 0 || first < 0 || last < first {
			return
		}
		built := topic + "+" + strconv.Itoa(int(p)) + "+" + padded(first, 10) + "+" + padded(last, 10) + ".json"
		gp, gl, ok := parseName(built, topic)
		if ok && (gp != p || gl != last) {
			t.Fatalf("parseName(%q) = %d, %d", built, gp, gl)
		}
	})
}

// FuzzParseLayout: any path.format either is refused or formats a time.
func FuzzParseLayout(f *testing.F) {
	f.Add("'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH")
	f.Add("'dt'=yyyy-MM-dd''")
	f.Add("'unclosed")
	f.Fuzz(func(t *testing.T, layout string) {
		parts, err := parseLayout(layout)
		if err != nil {
			return
		}
		p := &partitioner{layout: parts, loc: time.UTC}
		p.format(time.Date(2024, 2, 29, 23, 59, 58, 0, time.UTC))
	})
}
