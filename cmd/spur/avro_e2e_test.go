package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/linkedin/goavro/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/spur-connect/spur/converters/avro/srtest"
)

// TestAvroTopicIntoAJSONSink runs what a Confluent shop has: a topic of
// Schema Registry framed Avro (written here by goavro, an independent
// implementation), with a schema that evolves, read by a sink with the
// AvroConverter and a schema-aware transform. Every record arrives as JSON
// with 64-bit ids intact; a record naming an unknown schema goes to the DLQ;
// during a registry outage the task fails instead of sending the topic to
// the DLQ, and after a restart it goes on where it stopped.
func TestAvroTopicIntoAJSONSink(t *testing.T) {
	reg := srtest.New()
	srv := httptest.NewServer(reg)
	defer srv.Close()
	dir := t.TempDir()
	out := filepath.Join(dir, "orders.jsonl")
	broker := "127.0.0.1:" + strconv.Itoa(freePort(t))
	w := startWorker(t, "spur", broker, "--data-dir", filepath.Join(dir, "data"), "--set", "bootstrap.servers=",
		"--set", "embedded.broker.address="+broker)
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.DefaultProduceTopic("orders"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(context.Background(), 1, 1, nil, "orders"); err != nil {
		t.Fatal(err)
	}

	v1 := `{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"long"},{"name":"email","type":"string"},
		{"name":"total","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}}]}`
	v2 := `{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"id","type":"long"},{"name":"email","type":"string"},
		{"name":"total","type":{"type":"bytes","logicalType":"decimal","precision":9,"scale":2}},
		{"name":"coupon","type":["null","string"],"default":null}]}`
	produce := func(schemaText string, from, to int, unknownAt int) {
		t.Helper()
		id := reg.Register("orders-value", schemaText)
		codec, err := goavro.NewCodec(schemaText)
		if err != nil {
			t.Fatal(err)
		}
		var rs []*kgo.Record
		for i := from; i < to; i++ {
			native := map[string]any{"id": int64(9007199254740000 + i), "email": fmt.Sprintf("u%d@example.com", i), "total": bigRat(int64(i)*101, 100)}
			if strings.Contains(schemaText, "coupon") {
				native["coupon"] = goavro.Union("string", "C"+strconv.Itoa(i))
			}
			v := binary.BigEndian.AppendUint32([]byte{0}, uint32(id))
			if i == unknownAt {
				v = binary.BigEndian.AppendUint32([]byte{0}, 999) // no such schema
			}
			if v, err = codec.BinaryFromNative(v, native); err != nil {
				t.Fatal(err)
			}
			rs = append(rs, &kgo.Record{Key: []byte(strconv.Itoa(i)), Value: v})
		}
		if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produce(v1, 0, 300, 150)
	produce(v2, 300, 600, -1)

	b, code, err := httpDo("POST", w.url+"/connectors", map[string]any{"name": "orders-archive", "config": map[string]string{
		"connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector", "topics": "orders", "file": out,
		"key.converter":                       "org.apache.kafka.connect.storage.StringConverter",
		"value.converter":                     "io.confluent.connect.avro.AvroConverter",
		"value.converter.schema.registry.url": srv.URL,
		"transforms":                          "dropPII", "transforms.dropPII.type": "org.apache.kafka.connect.transforms.ReplaceField$Value",
		"transforms.dropPII.exclude": "email",
		"errors.tolerance":           "all", "errors.deadletterqueue.topic.name": "orders-dlq",
		"errors.deadletterqueue.context.headers.enable": "true",
	}})
	if err != nil || code != 201 {
		t.Fatalf("create: %v %d %s", err, code, b)
	}
	lines := func() []map[string]any {
		data, _ := os.ReadFile(out)
		var got []map[string]any
		for _, l := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
			if len(l) == 0 {
				continue
			}
			dec := json.NewDecoder(bytes.NewReader(l))
			dec.UseNumber()
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("line %q is not JSON: %v", l, err)
			}
			got = append(got, m)
		}
		return got
	}
	checkFor(t, 60*time.Second, 100*time.Millisecond, func() error {
		if n := len(lines()); n != 599 {
			return fmt.Errorf("%d of 599 records in the file", n)
		}
		return nil
	})
	got := lines()
	// Field order is the schema's; the decimal keeps its scale.
	if data, _ := os.ReadFile(out); !bytes.HasPrefix(data, []byte(`{"id":9007199254740000,"total":0.00}`+"\n")) {
		t.Fatalf("first line of %.80q", data)
	}
	for _, m := range got {
		id, _ := m["id"].(json.Number).Int64()
		i := int(id - 9007199254740000)
		if _, has := m["email"]; has || m["total"] != json.Number(fmt.Sprintf("%d.%02d", i*101/100, i*101%100)) {
			t.Fatalf("record %d: %v", i, m)
		}
		if c := m["coupon"]; (i >= 300) != (c == "C"+strconv.Itoa(i)) {
			t.Fatalf("record %d coupon %v", i, c)
		}
	}
	dlqOffsets := func() []string {
		c, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.ConsumeTopics("orders-dlq"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var offs []string
		for ctx.Err() == nil {
			c.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
				for _, h := range r.Headers {
					if h.Key == "__connect.errors.offset" {
						offs = append(offs, string(h.Value))
					}
				}
			})
		}
		return offs
	}
	if offs := dlqOffsets(); fmt.Sprint(offs) != "[150]" {
		t.Fatalf("dead letter queue holds offsets %v, want [150]", offs)
	}

	// The registry goes down; records with a schema the task has not seen
	// fail the task rather than go to the DLQ.
	v3 := strings.Replace(v2, `"default":null}`, `"default":null},{"name":"note","type":"string","default":""}`, 1)
	produceDown := func() {
		id := reg.Register("orders-value", v3)
		reg.SetDown(true)
		codec, err := goavro.NewCodec(v3)
		if err != nil {
			t.Fatal(err)
		}
		var rs []*kgo.Record
		for i := 600; i < 700; i++ {
			v := binary.BigEndian.AppendUint32([]byte{0}, uint32(id))
			v, err = codec.BinaryFromNative(v, map[string]any{"id": int64(9007199254740000 + i), "email": "x", "total": bigRat(int64(i)*101, 100),
				"coupon": nil, "note": "n"})
			if err != nil {
				t.Fatal(err)
			}
			rs = append(rs, &kgo.Record{Key: []byte(strconv.Itoa(i)), Value: v})
		}
		if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produceDown()
	checkFor(t, 30*time.Second, 100*time.Millisecond, func() error {
		st, err := status(w.url, "orders-archive")
		if err != nil || len(st.Tasks) != 1 || st.Tasks[0].State != "FAILED" {
			return fmt.Errorf("status %+v %v", st, err)
		}
		if !strings.Contains(st.Tasks[0].Trace, "503") {
			return fmt.Errorf("trace %q", st.Tasks[0].Trace)
		}
		return nil
	})
	if offs := dlqOffsets(); fmt.Sprint(offs) != "[150]" {
		t.Fatalf("during the outage the dead letter queue got offsets %v", offs)
	}
	reg.SetDown(false)
	if b, code, err := httpDo("POST", w.url+"/connectors/orders-archive/restart?includeTasks=true&onlyFailed=true", nil); err != nil || code/100 != 2 {
		t.Fatalf("restart: %v %d %s", err, code, b)
	}
	checkFor(t, 60*time.Second, 100*time.Millisecond, func() error {
		if n := len(lines()); n != 699 {
			return fmt.Errorf("%d of 699 records in the file", n)
		}
		return nil
	})
	seen := map[int64]bool{}
	for _, m := range lines() {
		id, _ := m["id"].(json.Number).Int64()
		if seen[id] {
			t.Fatalf("record %d twice", id)
		}
		seen[id] = true
	}
}

func bigRat(a, b int64) *big.Rat { return big.NewRat(a, b) }

// TestMQTTJSONIntoAvro runs the IoT job with governed topics: JSON
// telemetry from MQTT (mosquitto), written to Kafka as Schema Registry
// framed Avro with the subject's registered schema, read back by goavro.
// A message that does not fit the schema is skipped with
// errors.tolerance=all, and the ones after it still arrive.
func TestMQTTJSONIntoAvro(t *testing.T) {
	mq := mqxStartMosquitto(t)
	kafka, _ := mqxKafka(t, "telemetry")
	reg := srtest.New()
	srv := httptest.NewServer(reg)
	defer srv.Close()
	schemaText := `{"type":"record","name":"Reading","namespace":"iot","fields":[{"name":"device","type":"string"},
		{"name":"seq","type":"long"},{"name":"temp","type":"double"},{"name":"battery","type":["null","int"],"default":null}]}`
	id := reg.Register("telemetry-value", schemaText)
	w := startWorker(t, "w", kafka)
	mqxCreate(t, w.url, "iot-avro", mqxConfig(mq.uri(), "telemetry",
		"record.value.format", "json",
		"value.converter", "io.confluent.connect.avro.AvroConverter",
		"value.converter.schema.registry.url", srv.URL,
		"value.converter.use.latest.version", "true",
		"errors.tolerance", "all"))
	mqxTasksIn(t, w.url, "iot-avro", 1, "RUNNING")

	pub := mqxNewPublisher(t, mq.addr(), "avro-pub")
	const total = 200
	for i := range total {
		payload := fmt.Sprintf(`{"device":"dev-%d","seq":%d,"temp":%d.5,"battery":%d}`, i%10, 9007199254740000+i, i, i%100)
		if i == 50 {
			payload = `{"device":"dev-0","seq":"not a number","temp":1}`
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := pub.c.Publish(ctx, &paho.Publish{Topic: fmt.Sprintf("e2e/dev-%d/telemetry", i%10), QoS: 1, Payload: []byte(payload)})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}

	codec, err := goavro.NewCodec(schemaText)
	if err != nil {
		t.Fatal(err)
	}
	c, err := kgo.NewClient(kgo.SeedBrokers(kafka), kgo.ConsumeTopics("telemetry"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seen := map[int64]bool{}
	deadline := time.Now().Add(60 * time.Second)
	for len(seen) < total-1 && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := c.PollFetches(ctx)
		cancel()
		var bad error
		fs.EachRecord(func(r *kgo.Record) {
			if len(r.Value) < 5 || r.Value[0] != 0 || binary.BigEndian.Uint32(r.Value[1:5]) != uint32(id) {
				bad = fmt.Errorf("record at offset %d is not framed with schema id %d: %x", r.Offset, id, r.Value[:min(8, len(r.Value))])
				return
			}
			native, _, err := codec.NativeFromBinary(r.Value[5:])
			if err != nil {
				bad = fmt.Errorf("goavro cannot read offset %d: %v", r.Offset, err)
				return
			}
			m := native.(map[string]any)
			seq := m["seq"].(int64)
			i := int(seq - 9007199254740000)
			if m["device"] != fmt.Sprintf("dev-%d", i%10) || m["temp"] != float64(i)+0.5 || !reflect.DeepEqual(m["battery"], map[string]any{"int": int32(i % 100)}) {
				bad = fmt.Errorf("record %d read as %v", i, m)
			}
			seen[seq] = true
		})
		if bad != nil {
			t.Fatal(bad)
		}
	}
	if len(seen) != total-1 || seen[9007199254740000+50] {
		t.Fatalf("%d distinct records in Kafka, want %d without the misfit (seq 50 present: %v)", len(seen), total-1, seen[9007199254740000+50])
	}
}
