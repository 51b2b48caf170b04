package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// REST bodies, as Kafka Connect defines them (only the fields shown).

type restTaskID struct {
	Connector string `json:"connector"`
	Task      int    `json:"task"`
}

type restInfo struct {
	Name   string            `json:"name"`
	Config map[string]string `json:"config"`
	Tasks  []restTaskID      `json:"tasks"`
	Type   string            `json:"type"`
}

type restState struct {
	State    string `json:"state"`
	WorkerID string `json:"worker_id"`
	Trace    string `json:"trace,omitempty"`
}

type restTaskState struct {
	ID       int    `json:"id"`
	State    string `json:"state"`
	WorkerID string `json:"worker_id"`
	Trace    string `json:"trace,omitempty"`
}

type restStatus struct {
	Name      string          `json:"name"`
	Connector restState       `json:"connector"`
	Tasks     []restTaskState `json:"tasks"`
	Type      string          `json:"type"`
}

// restExpanded is one entry of GET /connectors?expand=info&expand=status.
type restExpanded struct {
	Info   *restInfo   `json:"info,omitempty"`
	Status *restStatus `json:"status,omitempty"`
}

type restPlugin struct {
	Class   string `json:"class"`
	Type    string `json:"type"`
	Version string `json:"version,omitempty"`
}

type restOffsets struct {
	Offsets []struct {
		Partition json.RawMessage `json:"partition"`
		Offset    json.RawMessage `json:"offset"`
	} `json:"offsets"`
}

func notFoundError(name string) error {
	return &apiError{Method: http.MethodGet, Path: connectorPath(name, ""), Status: http.StatusNotFound, Message: "Connector " + name + " not found"}
}

// connectors returns every connector with its info and, when it has one
// yet, its status. Info and status are asked for separately because
// Kafka Connect leaves a connector without a status out of an
// expand=status listing altogether.
func (c *cli) connectors(ctx context.Context) (map[string]*restExpanded, error) {
	infos := map[string]*restExpanded{}
	if _, err := c.api.do(ctx, http.MethodGet, "/connectors", url.Values{"expand": {"info"}}, nil, &infos); err != nil {
		return nil, err
	}
	var statuses map[string]*restExpanded
	if _, err := c.api.do(ctx, http.MethodGet, "/connectors", url.Values{"expand": {"status"}}, nil, &statuses); err != nil {
		return nil, err
	}
	for name, e := range infos {
		if s, ok := statuses[name]; ok {
			e.Status = s.Status
		}
	}
	return infos, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (c *cli) cmdGet(ctx context.Context, args []string) error {
	pos, err := c.parse(c.flags("get"), args, 1, -1, "connectors [NAME...]")
	if err != nil {
		return err
	}
	switch strings.ToLower(pos[0]) {
	case "connectors", "connector", "conn", "connectors/":
	case "plugins", "plugin", "connector-plugins":
		return c.listPlugins(ctx, false)
	default:
		return usageErrorf("spur get %s: expected connectors (or plugins)", pos[0])
	}
	all, err := c.connectors(ctx)
	if err != nil {
		return err
	}
	if names := pos[1:]; len(names) > 0 {
		picked := map[string]*restExpanded{}
		for _, n := range names {
			e, ok := all[n]
			if !ok {
				return notFoundError(n)
			}
			picked[n] = e
		}
		all = picked
	}
	if c.structured() {
		return printStructured(c.stdout, c.g.output, all)
	}
	var rows [][]string
	for _, name := range sortedKeys(all) {
		e := all[name]
		typ, class, state, tasks := "", "", "", ""
		total := 0
		if e.Info != nil {
			typ, class, total = e.Info.Type, e.Info.Config["connector.class"], len(e.Info.Tasks)
		}
		if e.Status != nil {
			state = e.Status.Connector.State
			running := 0
			for _, t := range e.Status.Tasks {
				if t.State == "RUNNING" {
					running++
				}
			}
			total = max(total, len(e.Status.Tasks))
			tasks = fmt.Sprintf("%d/%d", running, total)
		} else {
			tasks = fmt.Sprintf("?/%d", total)
		}
		rows = append(rows, []string{name, typ, state, tasks, class})
	}
	return printTable(c.stdout, []string{"NAME", "TYPE", "STATE", "TASKS", "CLASS"}, rows)
}

// status returns a connector's status, or nil if it has none yet (404
// while it exists: Kafka Connect answers 404 until the first status).
func (c *cli) status(ctx context.Context, name string) (*restStatus, error) {
	var st restStatus
	if _, err := c.api.do(ctx, http.MethodGet, connectorPath(name, "/status"), nil, nil, &st); err != nil {
		if statusOf(err) == http.StatusNotFound {
			return nil, nil
		}
		return nil, err
	}
	return &st, nil
}

func (c *cli) cmdDescribe(ctx context.Context, args []string) error {
	pos, err := c.parse(c.flags("describe"), args, 1, 2, "[connector] NAME")
	if err != nil {
		return err
	}
	if len(pos) == 2 {
		if k := strings.ToLower(pos[0]); k != "connector" && k != "connectors" {
			return usageErrorf("usage: spur describe [connector] NAME")
		}
		pos = pos[1:]
	}
	name := pos[0]
	var info restInfo
	if _, err := c.api.do(ctx, http.MethodGet, connectorPath(name, ""), nil, nil, &info); err != nil {
		return err
	}
	st, err := c.status(ctx, name)
	if err != nil {
		return err
	}
	if c.structured() {
		return printStructured(c.stdout, c.g.output, restExpanded{Info: &info, Status: st})
	}
	w := c.stdout
	fmt.Fprintf(w, "Name:   %s\nType:   %s\nClass:  %s\n", info.Name, info.Type, info.Config["connector.class"])
	if st == nil {
		fmt.Fprintf(w, "State:  (no status yet)\n")
	} else {
		fmt.Fprintf(w, "State:  %s on %s\n", st.Connector.State, st.Connector.WorkerID)
		if st.Connector.Trace != "" {
			fmt.Fprintf(w, "Trace:\n%s\n", indent(st.Connector.Trace, "  "))
		}
	}
	fmt.Fprintf(w, "Tasks:  %d\n", len(info.Tasks))
	if st != nil && len(st.Tasks) > 0 {
		var rows [][]string
		for _, t := range st.Tasks {
			rows = append(rows, []string{"  " + strconv.Itoa(t.ID), t.State, t.WorkerID, firstLine(t.Trace)})
		}
		if err := printTable(w, []string{"  ID", "STATE", "WORKER", "TRACE"}, rows); err != nil {
			return err
		}
		for _, t := range st.Tasks {
			if t.Trace != "" {
				fmt.Fprintf(w, "Trace of task %d:\n%s\n", t.ID, indent(t.Trace, "  "))
			}
		}
	}
	fmt.Fprintln(w, "Config:")
	var rows [][]string
	for _, k := range sortedKeys(info.Config) {
		rows = append(rows, []string{"  " + k, shown(k, info.Config[k])})
	}
	return printTable(w, []string{"  KEY", "VALUE"}, rows)
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

func (c *cli) cmdStatus(ctx context.Context, args []string) error {
	pos, err := c.parse(c.flags("status"), args, 0, 1, "[NAME]")
	if err != nil {
		return err
	}
	var list []*restStatus
	if len(pos) == 1 {
		var st restStatus
		if _, err := c.api.do(ctx, http.MethodGet, connectorPath(pos[0], "/status"), nil, nil, &st); err != nil {
			return err
		}
		if c.structured() {
			return printStructured(c.stdout, c.g.output, st)
		}
		list = append(list, &st)
	} else {
		var all map[string]*restExpanded
		if _, err := c.api.do(ctx, http.MethodGet, "/connectors", url.Values{"expand": {"status"}}, nil, &all); err != nil {
			return err
		}
		list = []*restStatus{}
		for _, name := range sortedKeys(all) {
			if st := all[name].Status; st != nil {
				list = append(list, st)
			}
		}
		if c.structured() {
			return printStructured(c.stdout, c.g.output, list)
		}
	}
	return printTable(c.stdout, []string{"CONNECTOR", "TASK", "STATE", "WORKER", "TRACE"}, statusRows(list))
}

func statusRows(list []*restStatus) [][]string {
	var rows [][]string
	for _, st := range list {
		rows = append(rows, []string{st.Name, "", st.Connector.State, st.Connector.WorkerID, firstLine(st.Connector.Trace)})
		for _, t := range st.Tasks {
			rows = append(rows, []string{st.Name, strconv.Itoa(t.ID), t.State, t.WorkerID, firstLine(t.Trace)})
		}
	}
	return rows
}

func (c *cli) cmdDelete(ctx context.Context, args []string) error {
	names, err := c.parse(c.flags("delete"), args, 1, -1, "NAME...")
	if err != nil {
		return err
	}
	var first error
	for _, n := range names {
		if _, err := c.api.do(ctx, http.MethodDelete, connectorPath(n, ""), nil, nil, nil); err != nil {
			fmt.Fprintf(c.stderr, "spur delete: %s: %v\n", n, err)
			first = firstErr(first, err)
			continue
		}
		fmt.Fprintf(c.stdout, "connector %s deleted\n", n)
	}
	return silent(first)
}

// firstErr keeps the first error.
func firstErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// silentError carries an exit code for an error already reported.
type silentError struct{ err error }

func (e *silentError) Error() string { return "" }
func (e *silentError) Unwrap() error { return e.err }

// silent marks err as already printed: runClient prints nothing more but
// still exits with its code.
func silent(err error) error {
	if err == nil {
		return nil
	}
	return &silentError{err: err}
}

func (c *cli) cmdTarget(ctx context.Context, verb string, args []string) error {
	names, err := c.parse(c.flags(verb), args, 1, -1, "NAME...")
	if err != nil {
		return err
	}
	past := map[string]string{"pause": "paused", "resume": "resumed", "stop": "stopped"}[verb]
	var first error
	for _, n := range names {
		if _, err := c.api.do(ctx, http.MethodPut, connectorPath(n, "/"+verb), nil, nil, nil); err != nil {
			fmt.Fprintf(c.stderr, "spur %s: %s: %v\n", verb, n, err)
			first = firstErr(first, err)
			continue
		}
		fmt.Fprintf(c.stdout, "connector %s %s\n", n, past)
	}
	return silent(first)
}

func (c *cli) cmdRestart(ctx context.Context, args []string) error {
	fs := c.flags("restart")
	includeTasks := fs.Bool("include-tasks", false, "restart the connector's tasks too")
	onlyFailed := fs.Bool("only-failed", false, "restart only instances that FAILED")
	task := fs.Int("task", -1, "restart only this task")
	pos, err := c.parse(fs, args, 1, 1, "NAME [--include-tasks] [--only-failed] [--task N]")
	if err != nil {
		return err
	}
	name := pos[0]
	if *task >= 0 {
		if *includeTasks || *onlyFailed {
			return usageErrorf("--task restarts one task; it does not combine with --include-tasks or --only-failed")
		}
		if _, err := c.api.do(ctx, http.MethodPost, connectorPath(name, "/tasks/"+strconv.Itoa(*task)+"/restart"), nil, nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "task %d of connector %s restarted\n", *task, name)
		return nil
	}
	q := url.Values{}
	if *includeTasks {
		q.Set("includeTasks", "true")
	}
	if *onlyFailed {
		q.Set("onlyFailed", "true")
	}
	var plan restStatus
	code, err := c.api.do(ctx, http.MethodPost, connectorPath(name, "/restart"), q, nil, &plan)
	if err != nil {
		return err
	}
	if code != http.StatusAccepted || plan.Name == "" {
		fmt.Fprintf(c.stdout, "connector %s restarted\n", name)
		return nil
	}
	// 202: the restart was requested; the plan says what restarts.
	if c.structured() {
		return printStructured(c.stdout, c.g.output, plan)
	}
	fmt.Fprintf(c.stdout, "restart of connector %s requested:\n", name)
	return printTable(c.stdout, []string{"CONNECTOR", "TASK", "STATE", "WORKER", "TRACE"}, statusRows([]*restStatus{&plan}))
}

func (c *cli) cmdOffsets(ctx context.Context, args []string) error {
	pos, err := c.parse(c.flags("offsets"), args, 2, 2, "get|reset NAME")
	if err != nil {
		return err
	}
	name := pos[1]
	switch pos[0] {
	case "get", "show":
		var offs restOffsets
		if _, err := c.api.do(ctx, http.MethodGet, connectorPath(name, "/offsets"), nil, nil, &offs); err != nil {
			return err
		}
		if c.structured() {
			return printStructured(c.stdout, c.g.output, offs)
		}
		var rows [][]string
		for _, o := range offs.Offsets {
			rows = append(rows, []string{compactJSON(o.Partition), compactJSON(o.Offset)})
		}
		return printTable(c.stdout, []string{"PARTITION", "OFFSET"}, rows)
	case "reset", "delete":
		var msg struct {
			Message string `json:"message"`
		}
		if _, err := c.api.do(ctx, http.MethodDelete, connectorPath(name, "/offsets"), nil, nil, &msg); err != nil {
			return err
		}
		if c.structured() {
			return printStructured(c.stdout, c.g.output, msg)
		}
		fmt.Fprintln(c.stdout, msg.Message)
		return nil
	}
	return usageErrorf("usage: spur offsets get|reset NAME")
}

func compactJSON(b json.RawMessage) string {
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return string(b)
	}
	return out.String()
}

func (c *cli) cmdPlugins(ctx context.Context, args []string) error {
	fs := c.flags("plugins")
	all := fs.Bool("all", false, "also list transforms, predicates and converters")
	if _, err := c.parse(fs, args, 0, 0, "[--all]"); err != nil {
		return err
	}
	return c.listPlugins(ctx, *all)
}

func (c *cli) listPlugins(ctx context.Context, all bool) error {
	var q url.Values
	if all {
		q = url.Values{"connectorsOnly": {"false"}}
	}
	plugins := []restPlugin{}
	if _, err := c.api.do(ctx, http.MethodGet, "/connector-plugins", q, nil, &plugins); err != nil {
		return err
	}
	if c.structured() {
		return printStructured(c.stdout, c.g.output, plugins)
	}
	rows := make([][]string, len(plugins))
	for i, p := range plugins {
		rows[i] = []string{p.Class, p.Type, p.Version}
	}
	return printTable(c.stdout, []string{"CLASS", "TYPE", "VERSION"}, rows)
}

// keyError is one validation error of a definition.
type keyError struct {
	Key     string `json:"key"`
	Message string `json:"message"`
}

// validateRemote validates a definition with the server's plugins (PUT
// /connector-plugins/{class}/config/validate). Problems of the config are
// returned as key errors; err is for requests that failed otherwise.
func (c *cli) validateRemote(ctx context.Context, d definition) ([]keyError, error) {
	class := d.Config["connector.class"]
	if strings.TrimSpace(class) == "" {
		return []keyError{{Key: "connector.class", Message: "missing: every connector needs a connector.class"}}, nil
	}
	var infos struct {
		ErrorCount int `json:"error_count"`
		Configs    []struct {
			Value *struct {
				Name   string   `json:"name"`
				Errors []string `json:"errors"`
			} `json:"value"`
		} `json:"configs"`
	}
	_, err := c.api.do(ctx, http.MethodPut, "/connector-plugins/"+url.PathEscape(class)+"/config/validate", nil, d.Config, &infos)
	var ae *apiError
	switch {
	case err == nil:
	case errors.As(err, &ae) && (ae.Status == http.StatusBadRequest ||
		// Kafka Connect's answer for an unknown class (Spur keeps it).
		(ae.Status == http.StatusInternalServerError && strings.Contains(ae.Message, "Failed to find any class"))):
		return []keyError{{Key: "connector.class", Message: ae.Message}}, nil
	default:
		return nil, err
	}
	var out []keyError
	for _, ci := range infos.Configs {
		if ci.Value == nil {
			continue
		}
		for _, e := range ci.Value.Errors {
			out = append(out, keyError{Key: ci.Value.Name, Message: e})
		}
	}
	if len(out) == 0 && infos.ErrorCount > 0 {
		out = append(out, keyError{Key: "config", Message: fmt.Sprintf("%d error(s) reported without a key", infos.ErrorCount)})
	}
	return out, nil
}

func (c *cli) cmdValidate(ctx context.Context, args []string) error {
	fs := c.flags("validate")
	var files stringList
	fs.Var(&files, "f", "definition file or directory (repeatable)")
	fs.Var(&files, "filename", "definition file or directory (repeatable)")
	pos, err := c.parse(fs, args, 0, -1, "-f FILE|DIR")
	if err != nil {
		return err
	}
	files = append(files, pos...)
	if len(files) == 0 {
		return usageErrorf("usage: spur validate -f FILE|DIR")
	}
	defs, err := loadAll(files)
	if err != nil {
		return err
	}
	type result struct {
		Name   string     `json:"name"`
		Source string     `json:"source"`
		Valid  bool       `json:"valid"`
		Errors []keyError `json:"errors"`
	}
	results := []result{}
	invalid := 0
	for _, d := range defs {
		errs, err := c.validateRemote(ctx, d)
		if err != nil {
			return fmt.Errorf("validating connector %s (%s): %w", d.Name, d.Source, err)
		}
		if errs == nil {
			errs = []keyError{}
		}
		results = append(results, result{Name: d.Name, Source: d.Source, Valid: len(errs) == 0, Errors: errs})
		if len(errs) > 0 {
			invalid++
		}
	}
	if c.structured() {
		if err := printStructured(c.stdout, c.g.output, results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			if r.Valid {
				fmt.Fprintf(c.stdout, "connector %s (%s): valid\n", r.Name, r.Source)
				continue
			}
			fmt.Fprintf(c.stdout, "connector %s (%s): %s\n", r.Name, r.Source, plural(len(r.Errors), "error", "errors"))
			for _, e := range r.Errors {
				fmt.Fprintf(c.stdout, "  %s: %s\n", e.Key, e.Message)
			}
		}
	}
	if invalid > 0 {
		return silent(&configError{err: fmt.Errorf("%s invalid", plural(invalid, "definition is", "definitions are"))})
	}
	return nil
}

// loadAll reads the definitions of several files or directories; a name
// defined twice is an error, as within one directory.
func loadAll(paths []string) ([]definition, error) {
	var all []definition
	seen := map[string]string{}
	for _, p := range paths {
		defs, err := loadDefinitions(p)
		if err != nil {
			return nil, &configError{err: fmt.Errorf("connector definitions: %w", err)}
		}
		for _, d := range defs {
			if prev, dup := seen[d.Name]; dup {
				return nil, &configError{err: fmt.Errorf("%s: connector %q is already defined in %s", d.Source, d.Name, prev)}
			}
			seen[d.Name] = d.Source
			all = append(all, d)
		}
	}
	return all, nil
}
