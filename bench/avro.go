package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"net/http/httptest"

	"github.com/linkedin/goavro/v2"

	"github.com/spur-connect/spur/converters/avro/srtest"
)

// trackingSchema is the datagen tracking event as an Avro record: the
// per-type properties are optional fields ([null, T] unions).
const trackingSchema = `{"type":"record","name":"TrackingEvent","namespace":"bench","fields":[
 {"name":"event_id","type":"string"},{"name":"event_type","type":"string"},{"name":"user_id","type":"long"},
 {"name":"anonymous_id","type":"string"},{"name":"session_id","type":"string"},{"name":"url","type":"string"},
 {"name":"referrer","type":["null","string"],"default":null},{"name":"user_agent","type":"string"},{"name":"ip","type":"string"},
 {"name":"timestamp","type":"string"},{"name":"received_at","type":"string"},
 {"name":"properties","type":{"type":"record","name":"Properties","fields":[
  {"name":"product_id","type":["null","string"],"default":null},{"name":"name","type":["null","string"],"default":null},
  {"name":"category","type":["null","string"],"default":null},{"name":"price","type":["null","double"],"default":null},
  {"name":"currency","type":["null","string"],"default":null},{"name":"quantity","type":["null","int"],"default":null},
  {"name":"order_id","type":["null","string"],"default":null},{"name":"revenue","type":["null","double"],"default":null},
  {"name":"query","type":["null","string"],"default":null},{"name":"results","type":["null","int"],"default":null}]}},
 {"name":"context","type":{"type":"record","name":"Context","fields":[
  {"name":"locale","type":"string"},{"name":"timezone","type":"string"},{"name":"city","type":"string"},
  {"name":"screen","type":{"type":"record","name":"Screen","fields":[{"name":"width","type":"int"},{"name":"height","type":"int"}]}},
  {"name":"consent","type":"boolean"}]}}]}`

// startRegistry serves the stand-in Schema Registry in the harness, with
// the tracking schema registered; it returns the URL and the schema id.
func startRegistry() (*httptest.Server, int) {
	reg := srtest.New()
	id := reg.Register("tracking-avro-value", trackingSchema)
	return httptest.NewServer(reg), id
}

// avroEncoder turns a datagen JSON event into Schema Registry framed Avro
// with the tracking schema registered under id.
func avroEncoder(id int) (func(js []byte) ([]byte, error), error) {
	codec, err := goavro.NewCodec(trackingSchema)
	if err != nil {
		return nil, err
	}
	return func(js []byte) ([]byte, error) {
		native, err := trackingNative(js)
		if err != nil {
			return nil, err
		}
		return codec.BinaryFromNative(binary.BigEndian.AppendUint32([]byte{0}, uint32(id)), native)
	}, nil
}

// trackingNative turns a datagen JSON event into goavro's native form.
func trackingNative(js []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	uid, err := m["user_id"].(json.Number).Int64()
	if err != nil {
		return nil, err
	}
	m["user_id"] = uid
	if r, ok := m["referrer"].(string); ok {
		m["referrer"] = goavro.Union("string", r)
	}
	props := map[string]any{}
	for k, v := range m["properties"].(map[string]any) {
		switch k {
		case "price", "revenue":
			f, _ := v.(json.Number).Float64()
			props[k] = goavro.Union("double", f)
		case "quantity", "results":
			n, _ := v.(json.Number).Int64()
			props[k] = goavro.Union("int", int32(n))
		default:
			props[k] = goavro.Union("string", v)
		}
	}
	m["properties"] = props
	ctx := m["context"].(map[string]any)
	screen := ctx["screen"].(map[string]any)
	for _, k := range []string{"width", "height"} {
		n, _ := screen[k].(json.Number).Int64()
		screen[k] = int32(n)
	}
	return m, nil
}
