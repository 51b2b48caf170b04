package transforms

import (
	"encoding/json"
	"math/big"
	"testing"
)

func TestCast(t *testing.T) {
	in := `{"i":42,"f":3,"s":"123","b":true,"bi":300,"n":0.5,"str":"TRUE","fs":1.10,"big":12345678901234567890,"neg":-1.9,"keep":1.10}`
	dec := `{"type":"struct","optional":false,"fields":[{"type":"bytes","optional":false,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"field":"d"}]}`
	runCases(t, []tcase{
		{name: "schemaless fields", typ: "Cast$Value",
			cfg:   map[string]string{"spec": "i:int32,f:float64,s:int64,b:string,bi:int8,n:boolean,str:boolean,fs:string,big:string,neg:int16,absent:int32"},
			value: in,
			want:  `{"absent":null,"b":"true","bi":44,"big":"12345678901234567890","f":3.0,"fs":"1.10","i":42,"keep":1.10,"n":false,"neg":-1,"s":123,"str":true}`},
		{name: "float32 and big doubles", typ: "Cast$Value", cfg: map[string]string{"spec": "a:float32,b:float64,c:float64,d:float64"},
			value: `{"a":0.1,"b":12345678,"c":0.0001,"d":"1e300"}`, want: `{"a":0.1,"b":1.2345678E7,"c":1.0E-4,"d":1.0E300}`},
		{name: "bool to numbers", typ: "Cast$Value", cfg: map[string]string{"spec": "a:int64,b:float32"}, value: `{"a":true,"b":false}`, want: `{"a":1,"b":0.0}`},
		{name: "double to int saturates like Java", typ: "Cast$Value", cfg: map[string]string{"spec": "a:int32,b:int64,c:int8"},
			value: `{"a":1e20,"b":-1e30,"c":1e20}`, want: `{"a":2147483647,"b":-9223372036854775808,"c":-1}`},
		{name: "whole value", typ: "Cast$Value", cfg: map[string]string{"spec": "int32"}, value: `"77"`, want: `77`},
		{name: "whole value to string keeps the number text", typ: "Cast$Value", cfg: map[string]string{"spec": "string"}, value: `1.10`, want: `"1.10"`},
		{name: "null passes through", typ: "Cast$Value", cfg: map[string]string{"spec": "string"}, value: "", want: `null`, check: notDecoded(false)},
		{name: "key", typ: "Cast$Key", cfg: map[string]string{"spec": "int64"}, key: `"9223372036854775807"`, value: "x", wantKey: `9223372036854775807`, check: notDecoded(false)},
		{name: "unparsable string", typ: "Cast$Value", cfg: map[string]string{"spec": "s:int32"}, value: `{"s":"abc"}`,
			wantErr: "Value (abc) was out of range for requested data type"},
		{name: "int32 out of range string", typ: "Cast$Value", cfg: map[string]string{"spec": "s:int32"}, value: `{"s":"3000000000"}`,
			wantErr: "Value (3000000000) was out of range for requested data type"},
		{name: "NaN has no JSON form", typ: "Cast$Value", cfg: map[string]string{"spec": "s:float64"}, value: `{"s":"NaN"}`,
			wantErr: "was out of range"},
		{name: "object", typ: "Cast$Value", cfg: map[string]string{"spec": "o:string"}, value: `{"o":{}}`,
			wantErr: "Cast transformation does not support casting from MAP; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING, BYTES]"},
		{name: "not an object", typ: "Cast$Value", cfg: map[string]string{"spec": "a:int8"}, value: `[]`,
			wantErr: "Only Map objects supported in absence of schema for [cast types], found: array"},
		{name: "V2 nested", typ: "Cast$Value", cfg: map[string]string{"spec": "a.b:string,a.c:int32", "field.syntax.version": "V2"},
			value: `{"a":{"b":12345678901234567890,"c":"5"},"a.b":1}`, want: `{"a":{"b":"12345678901234567890","c":5},"a.b":1}`},
		{name: "with schema", typ: "Cast$Value", cfg: map[string]string{"spec": "a:int32,b:string,t:string,c:boolean"},
			value:    `{"a":7,"b":2.5,"t":1700000000123,"c":"x","u":1.10}`,
			valueSch: `{"type":"struct","optional":false,"name":"r","fields":[{"type":"int64","optional":true,"default":5,"field":"a"},{"type":"double","optional":false,"field":"b"},{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Timestamp","version":1,"field":"t"},{"type":"string","optional":false,"field":"c"},{"type":"double","optional":false,"field":"u"}]}`,
			want:     `{"a":7,"b":"2.5","c":false,"t":"2023-11-14T22:13:20.123Z","u":1.10}`,
			wantSch:  `{"type":"struct","optional":false,"name":"r","fields":[{"type":"int32","optional":true,"default":5,"field":"a"},{"type":"string","optional":false,"field":"b"},{"type":"string","optional":false,"field":"t"},{"type":"boolean","optional":false,"field":"c"},{"type":"double","optional":false,"field":"u"}]}`},
		{name: "with schema, Date and Time to string", typ: "Cast$Value", cfg: map[string]string{"spec": "d:string,t:string"},
			value:    `{"d":19675,"t":80000123}`,
			valueSch: `{"type":"struct","optional":false,"fields":[{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Date","version":1,"field":"d"},{"type":"int32","optional":false,"name":"org.apache.kafka.connect.data.Time","version":1,"field":"t"}]}`,
			want:     `{"d":"2023-11-14","t":"22:13:20.123Z"}`},
		{name: "with schema, Decimal to string", typ: "Cast$Value", cfg: map[string]string{"spec": "d:string"}, value: `{"d":"BNI="}`, valueSch: dec, want: `{"d":"12.34"}`},
		{name: "with schema, negative Decimal to int", typ: "Cast$Value", cfg: map[string]string{"spec": "d:int32"}, value: `{"d":"+y4="}`, valueSch: dec, want: `{"d":-12}`},
		{name: "with schema, Decimal to double", typ: "Cast$Value", cfg: map[string]string{"spec": "d:float64"}, value: `{"d":"BNI="}`, valueSch: dec, want: `{"d":12.34}`},
		{name: "with schema, whole value keeps name", typ: "Cast$Value", cfg: map[string]string{"spec": "string"}, value: `7`,
			valueSch: `{"type":"int64","optional":true,"name":"n","doc":"d","default":1}`,
			want:     `"7"`, wantSch: `{"type":"string","optional":true,"name":"n","doc":"d","default":"1"}`},
		{name: "with schema, bytes to string", typ: "Cast$Value", cfg: map[string]string{"spec": "b:string"}, value: `{"b":"AAEC"}`,
			valueSch: `{"type":"struct","optional":false,"fields":[{"type":"bytes","optional":false,"field":"b"}]}`, want: `{"b":"AAEC"}`},
		{name: "with schema, array", typ: "Cast$Value", cfg: map[string]string{"spec": "a:string"}, value: `{"a":[]}`,
			valueSch: `{"type":"struct","optional":false,"fields":[{"type":"array","optional":false,"items":{"type":"int32","optional":false},"field":"a"}]}`,
			wantErr:  "Cast transformation does not support casting from ARRAY"},
		{name: "config: bytes target", typ: "Cast$Value", cfg: map[string]string{"spec": "a:bytes"},
			cfgErr: "Cast transformation does not support casting to BYTES; supported types are [INT8, INT16, INT32, INT64, FLOAT32, FLOAT64, BOOLEAN, STRING]"},
		{name: "config: unknown type", typ: "Cast$Value", cfg: map[string]string{"spec": "a:foo"}, cfgErr: "Invalid type found in casting spec: foo"},
		{name: "config: whole value and fields", typ: "Cast$Value", cfg: map[string]string{"spec": "int32,a:int8"},
			cfgErr: "Cast transformations that specify a type to cast the entire value to may ony specify a single cast in their spec"},
		{name: "config: three parts", typ: "Cast$Value", cfg: map[string]string{"spec": "a:b:c"}, cfgErr: "Invalid rename mapping: a:b:c"},
		{name: "config: empty", typ: "Cast$Value", cfg: map[string]string{"spec": ""}, cfgErr: "transforms.x.spec: Invalid value  for configuration transforms.x.spec: Must specify at least one field to cast."},
	})
}

func TestJavaDouble(t *testing.T) {
	for _, tc := range []struct {
		f    float64
		bits int
		want string
	}{
		{0, 64, "0.0"}, {5, 64, "5.0"}, {1.1, 64, "1.1"}, {1e7, 64, "1.0E7"}, {1.0e-3, 64, "0.001"}, {1e-4, 64, "1.0E-4"},
		{123456789.125, 64, "1.23456789125E8"}, {-2.5, 64, "-2.5"}, {0.1, 32, "0.1"}, {3.4e38, 32, "3.4E38"},
	} {
		got, err := javaDouble(tc.f, tc.bits)
		if err != nil || string(got) != tc.want {
			t.Errorf("javaDouble(%v, %d) = %s, %v; want %s", tc.f, tc.bits, got, err, tc.want)
		}
	}
}

// Values built by a source task or schema defaults decoded without
// UseNumber hold Go numbers; they cast like the JSON numbers they encode.
func TestCastGoNumbers(t *testing.T) {
	for _, tc := range []struct {
		in     any
		target string
		want   any
	}{
		{int(7), kString, "7"}, {float64(2.5), kInt32, json.Number("2")}, {float64(5), kString, "5.0"},
		{uint64(1 << 63), kString, "9223372036854775808"}, {int64(-3), kBoolean, true}, {float32(0.1), kFloat64, json.Number("0.1")},
	} {
		got, err := castValue(tc.in, nil, tc.target)
		if err != nil || got != tc.want {
			t.Errorf("cast %T(%v) to %s = %#v, %v; want %#v", tc.in, tc.in, tc.target, got, err, tc.want)
		}
	}
}

func TestDecimalString(t *testing.T) {
	for _, tc := range []struct {
		unscaled int64
		scale    int
		want     string
	}{
		{1234, 2, "12.34"}, {5, 3, "0.005"}, {-5, 3, "-0.005"}, {1, 7, "1E-7"}, {123, -2, "1.23E+4"},
		{0, 2, "0.00"}, {12345, 0, "12345"}, {-120, 1, "-12.0"},
	} {
		r := new(big.Rat).SetFrac(big.NewInt(tc.unscaled), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(tc.scale))), nil))
		if tc.scale < 0 {
			r = new(big.Rat).SetInt(new(big.Int).Mul(big.NewInt(tc.unscaled), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-tc.scale)), nil)))
		}
		if got := decimalString(r, tc.scale); got != tc.want {
			t.Errorf("decimalString(%d, %d) = %s, want %s", tc.unscaled, tc.scale, got, tc.want)
		}
	}
}
