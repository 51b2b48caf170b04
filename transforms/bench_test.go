package transforms

import (
	"testing"

	"github.com/spur-connect/spur/connect"
)

// trackingEvent is a typical ~400-byte analytics event.
const trackingEvent = `{"type":"track","event":"Product Viewed","messageId":"a1b2c3d4-e5f6-7890-abcd-ef1234567890",` +
	`"anonymousId":"5f1e2d3c-4b5a-6978","userId":"1234567890123456789","timestamp":"2024-01-07T15:04:05.009Z",` +
	`"context":{"ip":"203.0.113.42","userAgent":"Mozilla/5.0 (X11; Linux x86_64)","locale":"de-DE"},` +
	`"properties":{"product_id":"P-123","price":19.90,"currency":"EUR","quantity":1}}`

func benchChain(b *testing.B, raw map[string]string) *Chain {
	b.Helper()
	c, errs := NewChain(newRegistry(b), raw)
	if errs != nil {
		b.Fatal(errs)
	}
	return c
}

// runBench applies the chain to a fresh record per iteration and encodes
// the result, as a sink does.
func runBench(b *testing.B, c *Chain) {
	b.Helper()
	raw := []byte(trackingEvent)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := &connect.Record{Topic: "events", Partition: 1, Offset: 99, Timestamp: testTime, Value: connect.RawData(connect.FormatJSON, raw)}
		out, err := c.Apply(r)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := out.Value.Raw(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChainNil(b *testing.B) {
	var c *Chain
	r := &connect.Record{Value: connect.RawData(connect.FormatJSON, []byte(trackingEvent))}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Apply(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChainEmpty(b *testing.B) {
	c := benchChain(b, map[string]string{"transforms": ""})
	r := &connect.Record{Value: connect.RawData(connect.FormatJSON, []byte(trackingEvent))}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Apply(r); err != nil {
			b.Fatal(err)
		}
	}
	if r.Value.Decoded() {
		b.Fatal("decoded")
	}
}

// BenchmarkDecodeEncode is the floor of any value-changing chain: decode
// the event, mark it changed, encode it.
func BenchmarkDecodeEncode(b *testing.B) {
	raw := []byte(trackingEvent)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		d := connect.RawData(connect.FormatJSON, raw)
		v, err := d.Value()
		if err != nil {
			b.Fatal(err)
		}
		d.Set(v)
		if _, err := d.Raw(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInsertReplaceMask(b *testing.B) {
	runBench(b, benchChain(b, map[string]string{
		"transforms":                     "insert,replace,mask",
		"transforms.insert.type":         "InsertField$Value",
		"transforms.insert.topic.field":  "kafka_topic",
		"transforms.insert.offset.field": "kafka_offset",
		"transforms.replace.type":        "ReplaceField$Value",
		"transforms.replace.exclude":     "anonymousId,messageId",
		"transforms.replace.renames":     "event:event_name",
		"transforms.mask.type":           "MaskField$Value",
		"transforms.mask.fields":         "userId",
	}))
}

// BenchmarkInsertReplaceMaskNested is the PII variant: nested paths and a salted hash.
func BenchmarkInsertReplaceMaskNested(b *testing.B) {
	runBench(b, benchChain(b, map[string]string{
		"transforms":                              "insert,replace,mask",
		"transforms.insert.type":                  "InsertField$Value",
		"transforms.insert.topic.field":           "meta.topic",
		"transforms.insert.offset.field":          "meta.offset",
		"transforms.insert.field.syntax.version":  "V2",
		"transforms.replace.type":                 "ReplaceField$Value",
		"transforms.replace.exclude":              "context.ip,anonymousId",
		"transforms.replace.renames":              "context.userAgent:ua",
		"transforms.replace.field.syntax.version": "V2",
		"transforms.mask.type":                    "MaskField$Value",
		"transforms.mask.fields":                  "userId,context.locale",
		"transforms.mask.hash.algorithm":          "sha256",
		"transforms.mask.hash.salt":               "pepper",
		"transforms.mask.field.syntax.version":    "V2",
	}))
}

// BenchmarkRouteAndHeader changes only topic and headers: nothing is decoded.
func BenchmarkRouteAndHeader(b *testing.B) {
	runBench(b, benchChain(b, map[string]string{
		"transforms":                   "route,hdr",
		"transforms.route.type":        "RegexRouter",
		"transforms.route.regex":       "(.*)",
		"transforms.route.replacement": "archive-$1",
		"transforms.hdr.type":          "InsertHeader",
		"transforms.hdr.header":        "source",
		"transforms.hdr.value.literal": "spur",
	}))
}

// BenchmarkTrackingChain is the typical 4-transform tracking chain: stamp
// the source, strip PII by name at any depth, pseudonymise the user id with
// a salted hash, and route by topic (the last one decodes nothing).
func BenchmarkTrackingChain(b *testing.B) {
	runBench(b, benchChain(b, map[string]string{
		"transforms":                       "source,pii,pseudo,route",
		"transforms.source.type":           "InsertField$Value",
		"transforms.source.static.field":   "source",
		"transforms.source.static.value":   "web",
		"transforms.pii.type":              "ReplaceField$Value",
		"transforms.pii.exclude.regex":     "(?i)(ip|email|phone)",
		"transforms.pseudo.type":           "MaskField$Value",
		"transforms.pseudo.fields":         "userId",
		"transforms.pseudo.hash.algorithm": "sha256",
		"transforms.pseudo.hash.salt":      "pepper",
		"transforms.route.type":            "RegexRouter",
		"transforms.route.regex":           "events",
		"transforms.route.replacement":     "events-clean",
	}))
}
