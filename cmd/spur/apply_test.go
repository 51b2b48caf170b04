package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// apMetric reads one task's spur_task_records_in_total. The counter lives
// with the task instance, so it starts again from 0 when the task restarts.
func apMetric(t *testing.T, url, connector string) float64 {
	t.Helper()
	b, code, err := httpDo(http.MethodGet, url+"/metrics", nil)
	if err != nil || code != 200 {
		t.Fatalf("metrics: %v %d", err, code)
	}
	prefix := `spur_task_records_in_total{connector="` + connector + `",task="0"} `
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %q: %v", sc.Text(), err)
			}
			return f
		}
	}
	return -1
}

// apStarts counts how often the worker started a connector's datagen task.
func apStarts(t *testing.T, p *proc, connector string) int {
	t.Helper()
	b, err := os.ReadFile(p.log)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, `msg="datagen task started"`) && strings.Contains(l, "connector="+connector+" ") {
			n++
		}
	}
	return n
}

func apConfig(t *testing.T, url, name string) map[string]string {
	t.Helper()
	b, code, err := httpDo(http.MethodGet, url+"/connectors/"+name+"/config", nil)
	if err != nil || code != 200 {
		t.Fatalf("config of %s: %v %d %s", name, err, code, b)
	}
	var cfg map[string]string
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func apNames(t *testing.T, url string) []string {
	t.Helper()
	b, code, err := httpDo(http.MethodGet, url+"/connectors", nil)
	if err != nil || code != 200 {
		t.Fatalf("connectors: %v %d", err, code)
	}
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		t.Fatal(err)
	}
	return names
}

func TestApplyRoundTripUpdatesOnlyTheChangedConnectorAndPrunes(t *testing.T) {
	url, p := clStartSpur(t, "spur")
	dir := t.TempDir()
	gen := func(name, topic string, extra string) string {
		return "name: " + name + "\nconfig:\n  connector.class: datagen\n  kafka.topic: " + topic + "\n  rate: 50\n" + extra
	}
	clWrite(t, filepath.Join(dir, "a.yaml"), gen("gen-a", "a", ""))
	// A placeholder is stored as written, never resolved into the config.
	clWrite(t, filepath.Join(dir, "b.yml"), gen("gen-b", "b", "  x.origin: ${env:HOME}\n"))
	clWrite(t, filepath.Join(dir, "c.yaml"), gen("gen-c", "c", "initial_state: paused\n"))
	clWrite(t, filepath.Join(dir, "README.md"), "not a definition")

	// --dry-run prints the diff and creates nothing.
	r := clMust(t, url, "apply", "-f", dir, "--dry-run")
	for _, want := range []string{"+ connector gen-a (create, from ", "+ connector gen-c (create as PAUSED", `+ x.origin: "${env:HOME}"`,
		`+ rate: "50"`, "dry run: 3 to create, 0 to update, 0 to delete, 0 unchanged; nothing changed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, r.stdout)
		}
	}
	if names := apNames(t, url); len(names) != 0 {
		t.Fatalf("--dry-run created %v", names)
	}

	r = clMust(t, url, "apply", "-f", dir)
	if !strings.Contains(r.stdout, "applied: 3 created, 0 updated, 0 deleted, 0 unchanged") {
		t.Fatalf("first apply:\n%s", r.stdout)
	}
	clWaitRunning(t, url, "gen-a", "gen-b")
	checkFor(t, 30*time.Second, 100*time.Millisecond, func() error {
		if s := clConnectorState(t, url, "gen-c"); s != "PAUSED" {
			return fmt.Errorf("gen-c (initial_state paused) is %s", s)
		}
		return nil
	})
	if v := apConfig(t, url, "gen-b")["x.origin"]; v != "${env:HOME}" {
		t.Errorf("stored x.origin = %q, want the placeholder unresolved", v)
	}

	// Applying the same files again changes nothing.
	r = clMust(t, url, "apply", "-f", dir)
	if !strings.Contains(r.stdout, "applied: 0 created, 0 updated, 0 deleted, 3 unchanged") || strings.Contains(r.stdout, "connector gen-") {
		t.Fatalf("second apply of the same files:\n%s", r.stdout)
	}

	// Let the counters grow so that a restart (counter back to 0) shows.
	checkFor(t, 30*time.Second, 100*time.Millisecond, func() error {
		if a, b := apMetric(t, url, "gen-a"), apMetric(t, url, "gen-b"); a < 150 || b < 150 {
			return fmt.Errorf("records so far: gen-a %v, gen-b %v", a, b)
		}
		return nil
	})
	cfgB, startsB := apConfig(t, url, "gen-b"), apStarts(t, p, "gen-b")
	startsA := apStarts(t, p, "gen-a")

	// Change one file.
	clWrite(t, filepath.Join(dir, "a.yaml"), strings.Replace(gen("gen-a", "a", ""), "rate: 50", "rate: 40\n  seed: 7", 1))
	r = clMust(t, url, "apply", "-f", dir, "--dry-run")
	if !strings.Contains(r.stdout, "~ connector gen-a (update, from "+filepath.Join(dir, "a.yaml")) ||
		!strings.Contains(r.stdout, `~ rate: "50" -> "40"`) || !strings.Contains(r.stdout, `+ seed: "7"`) ||
		strings.Contains(r.stdout, "gen-b") || !strings.Contains(r.stdout, "0 to create, 1 to update, 0 to delete, 2 unchanged") {
		t.Fatalf("dry run after one change:\n%s", r.stdout)
	}
	if cfg := apConfig(t, url, "gen-a"); cfg["rate"] != "50" || cfg["seed"] != "" {
		t.Fatalf("--dry-run changed gen-a: %v", cfg)
	}
	beforeA, beforeB := apMetric(t, url, "gen-a"), apMetric(t, url, "gen-b")
	r = clMust(t, url, "apply", "-f", dir)
	if !strings.Contains(r.stdout, "connector gen-a updated") || !strings.Contains(r.stdout, "applied: 0 created, 1 updated, 0 deleted, 2 unchanged") {
		t.Fatalf("apply after one change:\n%s", r.stdout)
	}
	if cfg := apConfig(t, url, "gen-a"); cfg["rate"] != "40" || cfg["seed"] != "7" {
		t.Fatalf("gen-a config after apply: %v", cfg)
	}
	// gen-a's task restarts with the new config: its counter starts over...
	checkFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		if a := apMetric(t, url, "gen-a"); a < 0 || a >= beforeA || apStarts(t, p, "gen-a") <= startsA {
			return fmt.Errorf("gen-a counter %v (was %v), %d task starts (were %d)", a, beforeA, apStarts(t, p, "gen-a"), startsA)
		}
		return nil
	})
	clWaitRunning(t, url, "gen-a", "gen-b")
	// ... while gen-b's kept counting: its task was not restarted.
	if b := apMetric(t, url, "gen-b"); b < beforeB {
		t.Errorf("gen-b's records counter went from %v to %v: its task restarted", beforeB, b)
	}
	if n := apStarts(t, p, "gen-b"); n != startsB {
		t.Errorf("gen-b's task started %d times, %d before the apply", n, startsB)
	}
	if cfg := apConfig(t, url, "gen-b"); !reflect.DeepEqual(cfg, cfgB) {
		t.Errorf("gen-b's config changed: %v, was %v", cfg, cfgB)
	}
	if s := clConnectorState(t, url, "gen-c"); s != "PAUSED" {
		t.Errorf("gen-c is %s after an apply that did not change it, want PAUSED", s)
	}

	// Remove a file: without --prune the connector stays.
	if err := os.Remove(filepath.Join(dir, "c.yaml")); err != nil {
		t.Fatal(err)
	}
	r = clMust(t, url, "apply", "-f", dir)
	if !strings.Contains(r.stdout, "1 connector is in no file and kept (--prune deletes them): gen-c") {
		t.Errorf("apply without --prune:\n%s", r.stdout)
	}
	r = clMust(t, url, "apply", "-f", dir, "--prune", "--dry-run")
	if !strings.Contains(r.stdout, "- connector gen-c (delete: in no file)") || !strings.Contains(r.stdout, "1 to delete, 2 unchanged") {
		t.Errorf("prune dry run:\n%s", r.stdout)
	}
	if names := apNames(t, url); len(names) != 3 {
		t.Fatalf("prune --dry-run deleted: %v", names)
	}
	var res applyResult
	r = clMust(t, url, "apply", "-f", dir, "--prune", "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	got := map[string]string{}
	for _, ch := range res.Connectors {
		got[ch.Name] = fmt.Sprintf("%s done=%v", ch.Action, ch.Done)
	}
	if want := map[string]string{"gen-a": "unchanged done=false", "gen-b": "unchanged done=false", "gen-c": "delete done=true"}; !reflect.DeepEqual(got, want) || res.DryRun {
		t.Errorf("apply --prune -o json: %v, want %v", got, want)
	}
	if names := apNames(t, url); !reflect.DeepEqual(names, []string{"gen-a", "gen-b"}) {
		t.Errorf("connectors after --prune: %v", names)
	}
	if n := apStarts(t, p, "gen-b"); n != startsB {
		t.Errorf("gen-b's task restarted by the prune (%d starts, %d before)", n, startsB)
	}

	// An empty directory never prunes the whole cluster.
	r = clRun(t, []string{"SPUR_URL=" + url}, "apply", "-f", t.TempDir(), "--prune")
	if r.code != exitConfig || len(apNames(t, url)) != 2 {
		t.Errorf("apply --prune of an empty directory: %v", r)
	}
}

func TestApplyPlanDiffHidesSecretsAndOnlyPrunesOnRequest(t *testing.T) {
	defs := []definition{
		{Name: "new", Source: "n.yaml", InitialState: "STOPPED", Config: map[string]string{"name": "new", "connector.class": "datagen"}},
		{Name: "same", Config: map[string]string{"name": "same", "a": "1"}},
		{Name: "changed", Config: map[string]string{"name": "changed", "a": "2", "b": "x", "sasl.password": "new-pw", "api.token": "${env:TOKEN}"}},
	}
	current := map[string]map[string]string{
		"same":    {"name": "same", "a": "1"},
		"changed": {"name": "changed", "a": "1", "gone": "y", "sasl.password": "old-pw", "api.token": "raw"},
		"extra":   {"name": "extra"},
	}
	str := func(p *string) string {
		if p == nil {
			return "<none>"
		}
		return *p
	}
	render := func(plan []*applyChange) string {
		var b strings.Builder
		for _, ch := range plan {
			fmt.Fprintf(&b, "%s %s %s;", ch.Name, ch.Action, ch.InitialState)
			for _, kc := range ch.Changes {
				fmt.Fprintf(&b, " %s:%s>%s", kc.Key, str(kc.Old), str(kc.New))
			}
			b.WriteString("\n")
		}
		return b.String()
	}
	want := "new create STOPPED; connector.class:<none>>datagen name:<none>>new\n" +
		"same unchanged ;\n" +
		"changed update ; a:1>2 api.token:[hidden]>${env:TOKEN} b:<none>>x gone:y><none> sasl.password:[hidden]>[hidden, changed]\n"
	if got := render(planApply(defs, current, false)); got != want+"extra unmanaged ;\n" {
		t.Errorf("plan without prune:\n%s\nwant:\n%s", got, want+"extra unmanaged ;\n")
	}
	if got := render(planApply(defs, current, true)); got != want+"extra delete ;\n" {
		t.Errorf("plan with prune:\n%s", got)
	}
}
