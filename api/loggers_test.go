package api

import (
	"bytes"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestLoggers(t *testing.T) {
	c := shared(t)
	runCases(t, c, []tcase{
		{name: "list has root", method: "GET", path: "/admin/loggers", code: 200, msg: `"root":{"level":"`},
		{name: "list trailing slash", method: "GET", path: "/admin/loggers/", code: 200, msg: `"root"`},
		{name: "get root", method: "GET", path: "/admin/loggers/root", code: 200, msg: `"level":`},
		{name: "set", method: "PUT", path: "/admin/loggers/spur.{role}", body: `{"level":"debug"}`, code: 200, msg: `["spur.{role}"]`},
		{name: "set child", method: "PUT", path: "/admin/loggers/spur.{role}.sink", body: `{"level":"TRACE"}`, code: 200, msg: `["spur.{role}.sink"]`},
		{name: "set parent changes descendants", method: "PUT", path: "/admin/loggers/spur.{role}", body: `{"level":"WARN"}`, code: 200,
			msg: `["spur.{role}","spur.{role}.sink"]`},
		{name: "get set logger", method: "GET", path: "/admin/loggers/spur.{role}.sink", code: 200, msg: `{"level":"WARN","last_modified":1`},
		{name: "get unknown", method: "GET", path: "/admin/loggers/org.nope", code: 404, msg: "Logger org.nope not found."},
		{name: "invalid level", method: "PUT", path: "/admin/loggers/spur.{role}", body: `{"level":"LOUD"}`, code: 404, msg: "invalid log level 'LOUD'."},
		{name: "no level", method: "PUT", path: "/admin/loggers/spur.{role}", body: `{}`, code: 400, msg: "Desired 'level' parameter was not specified in the request."},
		{name: "cluster scope", method: "PUT", path: "/admin/loggers/spur.cluster.{role}?scope=cluster", body: `{"level":"ERROR"}`, code: 204},
		{name: "unknown scope is worker", method: "PUT", path: "/admin/loggers/spur.scope.{role}?scope=galaxy", body: `{"level":"INFO"}`, code: 200},
		{name: "get cluster-set", method: "GET", path: "/admin/loggers/spur.cluster.{role}", code: 200, msg: `"level":"ERROR"`},
	})
}

func TestLogLevelsFilterRecords(t *testing.T) {
	lv := NewLogLevels()
	var buf bytes.Buffer
	log := slog.New(lv.Handler(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.Level(-8)})))
	sinkLog := log.With("connector", "orders")
	named := log.With("logger", "spur.runtime.sink")
	log.Debug("root-debug")
	sinkLog.Debug("conn-debug-1")
	if _, err := lv.Set("connector.orders", "DEBUG"); err != nil {
		t.Fatal(err)
	}
	sinkLog.Debug("conn-debug-2")
	log.Debug("root-debug-2")
	named.Info("named-info-1")
	if _, err := lv.Set("spur.runtime", "ERROR"); err != nil {
		t.Fatal(err)
	}
	named.Warn("named-warn") // inherits spur.runtime's ERROR
	named.Error("named-error")
	if _, err := lv.Set("root", "OFF"); err != nil {
		t.Fatal(err)
	}
	sinkLog.Error("after-off") // root sets every logger, as Kafka Connect does
	got := regexp.MustCompile(`msg=(\S+)`).FindAllStringSubmatch(buf.String(), -1)
	var msgs []string
	for _, m := range got {
		msgs = append(msgs, m[1])
	}
	want := "conn-debug-2,named-info-1,named-error"
	if strings.Join(msgs, ",") != want {
		t.Fatalf("logged %v, want %s", msgs, want)
	}
	if _, err := lv.Set("x", "LOUD"); err == nil {
		t.Fatal("invalid level accepted")
	}
	ll, ok := lv.Get("spur.runtime")
	if !ok || ll.Level != "OFF" || ll.LastModified == nil || time.Since(time.UnixMilli(*ll.LastModified)) > time.Minute {
		t.Fatalf("get %+v %v", ll, ok)
	}
}
