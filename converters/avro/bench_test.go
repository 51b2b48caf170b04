package avro

import (
	"testing"
)

// BenchmarkToData reads a 19-field tracking event (every Avro type) from
// the wire format into JSON, with its schema cached, as a sink task does
// for every record.
func BenchmarkToData(b *testing.B) {
	reg, srv := startRegistry(b)
	c := newConverter(b, map[string]string{"schema.registry.url": srv.URL})
	rec := frame(b, reg.Register("events-value", eventSchema), eventSchema, eventNative())
	d, err := c.ToData("events", rec)
	if err != nil {
		b.Fatal(err)
	}
	raw, _ := d.Raw()
	b.SetBytes(int64(len(rec)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.ToData("events", rec); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(rec)), "avro-B/rec")
	b.ReportMetric(float64(len(raw)), "json-B/rec")
}
