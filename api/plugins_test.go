package api

import (
	"strings"
	"testing"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/runtime"
)

func TestPlugins(t *testing.T) {
	c := shared(t)
	runCases(t, c, []tcase{
		{name: "connectors only", method: "GET", path: "/connector-plugins", code: 200,
			msg: `[{"class":"org.apache.kafka.connect.file.FileStreamSinkConnector","type":"sink","version":"0.1.0"},{"class":"io.confluent.kafka.connect.datagen.DatagenConnector","type":"source"`},
		{name: "all plugins", method: "GET", path: "/connector-plugins?connectorsOnly=false", code: 200, msg: `{"class":"org.apache.kafka.connect.transforms.Cast$Value","type":"transformation"`},
		{name: "trailing slash", method: "GET", path: "/connector-plugins/", code: 200},
		{name: "config by class", method: "GET", path: "/connector-plugins/org.apache.kafka.connect.file.FileStreamSinkConnector/config", code: 200,
			msg: `{"name":"file","type":"STRING","required":true,"default_value":null,"importance":"HIGH"`},
		{name: "config by simple name", method: "GET", path: "/connector-plugins/FileStreamSinkConnector/config", code: 200, msg: `"name":"topics"`},
		{name: "no default is null for numbers", method: "GET", path: "/connector-plugins/FileStreamSinkConnector/config", code: 200,
			msg: `{"name":"consumer.override.max.poll.records","type":"INT","required":false,"default_value":null`},
		{name: "config without Connector suffix", method: "GET", path: "/connector-plugins/FileStreamSink/config", code: 200, msg: `"name":"file"`},
		{name: "config by alias", method: "GET", path: "/connector-plugins/datagen/config", code: 200, msg: `"name":"kafka.topic"`},
		{name: "config of a transform", method: "GET", path: "/connector-plugins/org.apache.kafka.connect.transforms.InsertField$Value/config", code: 200},
		{name: "config of a converter", method: "GET", path: "/connector-plugins/JsonConverter/config", code: 200, msg: `"name":"schemas.enable"`},
		{name: "config unknown", method: "GET", path: "/connector-plugins/com.example.Nope/config", code: 404, msg: "Unknown plugin com.example.Nope."},
		{name: "validate ok", method: "PUT", path: "/connector-plugins/datagen/config/validate",
			body: `{"connector.class":"datagen","name":"v","kafka.topic":"t","tasks.max":2}`, code: 200, msg: `"error_count":0`},
		{name: "validate errors per key", method: "PUT", path: "/connector-plugins/FileStreamSinkConnector/config/validate",
			body: `{"connector.class":"org.apache.kafka.connect.file.FileStreamSinkConnector"}`, code: 200,
			msg: `"errors":["Missing required configuration \"name\" which has no default value."]`},
		{name: "validate class matches path by suffix", method: "PUT", path: "/connector-plugins/FileStreamSink/config/validate",
			body: `{"connector.class":"org.apache.kafka.connect.file.FileStreamSinkConnector","name":"x","topics":"t","file":"/tmp/x"}`, code: 200, msg: `"error_count":0`},
		{name: "validate alias path for class body", method: "PUT", path: "/connector-plugins/file-sink/config/validate",
			body: `{"connector.class":"FileStreamSinkConnector","name":"x","topics":"t","file":"/tmp/x"}`, code: 200, msg: `"error_count":0`},
		{name: "validate no class", method: "PUT", path: "/connector-plugins/datagen/config/validate", body: `{"name":"x"}`, code: 400,
			msg: "Connector config {name} contains no connector type"},
		{name: "validate type mismatch", method: "PUT", path: "/connector-plugins/FileStreamSink/config/validate",
			body: `{"connector.class":"datagen"}`, code: 400, msg: "Included connector type datagen does not match request type FileStreamSink"},
		{name: "validate unknown class", method: "PUT", path: "/connector-plugins/Nope/config/validate",
			body: `{"connector.class":"Nope"}`, code: 500, msg: "Failed to find any class that implements Connector and which name matches Nope"},
		{name: "validate malformed", method: "PUT", path: "/connector-plugins/datagen/config/validate", body: `{"a":`, code: 400, msg: "Malformed JSON"},
		{name: "validate wrong method", method: "POST", path: "/connector-plugins/datagen/config/validate", body: `{}`, code: 405},
	})

	// Full shape: groups, a transform's keys, null errors, hidden secrets.
	body := `{"connector.class":"FileStreamSink","name":"v","topics":"a","topics.regex":"b","file":"/tmp/x","tasks.max":"0",
		"transforms":"ins","transforms.ins.type":"org.apache.kafka.connect.transforms.InsertField$Value","transforms.ins.static.field":"f",
		"transforms.ins.static.value":"v","errors.tolerance":null,"some.unknown":"1"}`
	var ci ConfigInfos
	r := call(t, "PUT", c.follower().url+"/connector-plugins/FileStreamSinkConnector/config/validate", body)
	r.json(t, &ci)
	if ci.Name != "FileStreamSink" || ci.ErrorCount != 3 {
		t.Fatalf("validation %s", r)
	}
	if !contains(ci.Groups, "Common") || !contains(ci.Groups, "Transforms: ins") || !contains(ci.Groups, "Error Handling") {
		t.Fatalf("groups %v", ci.Groups)
	}
	byName := map[string]ConfigInfo{}
	for _, x := range ci.Configs {
		byName[x.Value.Name] = x
	}
	if e := byName["tasks.max"].Value.Errors; len(e) != 1 || !strings.Contains(e[0], "Invalid value 0 for configuration tasks.max") {
		t.Fatalf("tasks.max %+v", byName["tasks.max"].Value)
	}
	if e := byName["errors.tolerance"].Value; e.Value != nil || len(e.Errors) != 1 || !strings.Contains(e.Errors[0], "Null value") {
		t.Fatalf("errors.tolerance %+v", e)
	}
	if d := byName["transforms.ins.static.field"].Definition; d == nil || d.Group == nil || *d.Group != "Transforms: ins" {
		t.Fatalf("transform key %+v", byName["transforms.ins.static.field"])
	}
	if x := byName["some.unknown"]; x.Definition != nil || x.Value == nil || len(x.Value.Errors) != 0 {
		t.Fatalf("unknown key %+v", x)
	}
}

func TestValidatePasswordHidden(t *testing.T) {
	// A PASSWORD key's value and default never come back: use a converter
	// spec-less path with the worker's own plugins; the JSON converter has
	// no secrets, so check configInfos directly with a declared password.
	c := shared(t)
	r := call(t, "PUT", c.leader().url+"/connector-plugins/datagen/config/validate",
		`{"connector.class":"datagen","name":"v","kafka.topic":"t","sasl.password":"s3cret","my.api.key":"k3y"}`)
	if r.code != 200 || strings.Contains(string(r.body), "s3cret") || strings.Contains(string(r.body), "k3y") {
		t.Fatalf("validation leaks a secret: %s", r)
	}
}

func TestConfigInfosHidePasswords(t *testing.T) {
	spec := connect.NewSpec(
		connect.ConfigKey{Name: "pw", Type: connect.TypePassword, Default: "default-secret", Group: "Auth"},
		connect.ConfigKey{Name: "token", Type: connect.TypePassword, Group: "Auth"},
		connect.ConfigKey{Name: "user", Required: true, Group: "Auth"},
	)
	v := runtime.Validation{Spec: spec, Errors: connect.ConfigErrors{{Key: "pw", Message: "Invalid value [hidden] for configuration pw: too short"}}}
	ci := configInfos("x", v, map[string]string{"pw": "s3cret", "user": "u"}, nil)
	b := mustJSON(ci)
	if strings.Contains(b, "s3cret") || strings.Contains(b, "default-secret") {
		t.Fatalf("secret in %s", b)
	}
	pw := ci.Configs[0]
	if *pw.Value.Value != "[hidden]" || *pw.Definition.DefaultValue != "[hidden]" || pw.Definition.Order != 1 || ci.ErrorCount != 1 {
		t.Fatalf("pw %s", mustJSON(pw))
	}
	if tok := ci.Configs[1]; tok.Value.Value != nil || tok.Definition.DefaultValue != nil || tok.Definition.Order != 2 {
		t.Fatalf("unset password %s", mustJSON(tok))
	}
	if u := ci.Configs[2]; !u.Definition.Required || *u.Value.Value != "u" {
		t.Fatalf("user %s", mustJSON(u))
	}
	if len(ci.Groups) != 1 || ci.Groups[0] != "Auth" {
		t.Fatalf("groups %v", ci.Groups)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
