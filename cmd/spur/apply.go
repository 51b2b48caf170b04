package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// Actions of an apply plan.
const (
	actCreate    = "create"
	actUpdate    = "update"
	actDelete    = "delete"
	actUnchanged = "unchanged"
	// actUnmanaged is a connector on the server that no file defines,
	// left alone because --prune was not given.
	actUnmanaged = "unmanaged"
)

// applyChange is what apply does (or, with --dry-run, would do) to one
// connector. It is also the -o json|yaml output.
type applyChange struct {
	Name         string      `json:"name"`
	Action       string      `json:"action"`
	Source       string      `json:"source,omitempty"`
	InitialState string      `json:"initial_state,omitempty"`
	Changes      []keyChange `json:"changes,omitempty"`
	Errors       []string    `json:"errors,omitempty"`
	Done         bool        `json:"done"`
	def          *definition
}

// keyChange is one config key that differs. Old is absent for an added
// key, New for a removed one. Values of secret-looking keys are hidden.
type keyChange struct {
	Key string  `json:"key"`
	Old *string `json:"old,omitempty"`
	New *string `json:"new,omitempty"`
}

type applyResult struct {
	DryRun     bool           `json:"dry_run"`
	Connectors []*applyChange `json:"connectors"`
}

// planApply compares the definitions with the connectors on the server.
// Only the config is compared: initial_state applies when a connector is
// created, as in Kafka Connect, and the target state of an existing
// connector (paused, stopped) belongs to whoever operates it.
func planApply(defs []definition, current map[string]map[string]string, prune bool) []*applyChange {
	var out []*applyChange
	defined := map[string]bool{}
	for i := range defs {
		d := &defs[i]
		defined[d.Name] = true
		ch := &applyChange{Name: d.Name, Source: d.Source, def: d}
		old, exists := current[d.Name]
		switch {
		case !exists:
			ch.Action, ch.InitialState = actCreate, d.InitialState
			ch.Changes = diffConfig(nil, d.Config)
		default:
			ch.Changes = diffConfig(old, d.Config)
			ch.Action = actUpdate
			if len(ch.Changes) == 0 {
				ch.Action = actUnchanged
			}
		}
		out = append(out, ch)
	}
	for _, name := range sortedKeys(current) {
		if defined[name] {
			continue
		}
		ch := &applyChange{Name: name, Action: actUnmanaged}
		if prune {
			ch.Action = actDelete
		}
		out = append(out, ch)
	}
	return out
}

func diffConfig(old, new map[string]string) []keyChange {
	keys := map[string]bool{}
	for k := range old {
		keys[k] = true
	}
	for k := range new {
		keys[k] = true
	}
	var out []keyChange
	for _, k := range sortedKeys(keys) {
		o, inOld := old[k]
		n, inNew := new[k]
		if inOld && inNew && o == n {
			continue
		}
		kc := keyChange{Key: k}
		if inOld {
			v := shown(k, o)
			kc.Old = &v
		}
		if inNew {
			v := shown(k, n)
			kc.New = &v
		}
		if inOld && inNew && *kc.Old == *kc.New {
			// Both hidden: say that it changed without showing either.
			o, n := "[hidden]", "[hidden, changed]"
			kc.Old, kc.New = &o, &n
		}
		out = append(out, kc)
	}
	return out
}

// printPlan writes the diff for humans.
func printPlan(w io.Writer, plan []*applyChange) {
	for _, ch := range plan {
		switch ch.Action {
		case actCreate:
			how := "create"
			if ch.InitialState != "" {
				how = "create as " + ch.InitialState
			}
			fmt.Fprintf(w, "+ connector %s (%s, from %s)\n", ch.Name, how, ch.Source)
		case actUpdate:
			fmt.Fprintf(w, "~ connector %s (update, from %s)\n", ch.Name, ch.Source)
		case actDelete:
			fmt.Fprintf(w, "- connector %s (delete: in no file)\n", ch.Name)
			continue
		default:
			continue
		}
		for _, kc := range ch.Changes {
			switch {
			case kc.Old == nil:
				fmt.Fprintf(w, "    + %s: %q\n", kc.Key, *kc.New)
			case kc.New == nil:
				fmt.Fprintf(w, "    - %s: %q\n", kc.Key, *kc.Old)
			default:
				fmt.Fprintf(w, "    ~ %s: %q -> %q\n", kc.Key, *kc.Old, *kc.New)
			}
		}
	}
}

// counts summarizes a plan: "1 to create, 2 unchanged".
func counts(plan []*applyChange, dry bool) string {
	n := map[string]int{}
	for _, ch := range plan {
		if dry || ch.Done || ch.Action == actUnchanged || ch.Action == actUnmanaged {
			n[ch.Action]++
		}
	}
	var parts []string
	for _, a := range []struct{ act, dry, done string }{
		{actCreate, "to create", "created"},
		{actUpdate, "to update", "updated"},
		{actDelete, "to delete", "deleted"},
		{actUnchanged, "unchanged", "unchanged"},
	} {
		label := a.done
		if dry {
			label = a.dry
		}
		parts = append(parts, fmt.Sprintf("%d %s", n[a.act], label))
	}
	return strings.Join(parts, ", ")
}

func (c *cli) cmdApply(ctx context.Context, args []string) error {
	fs := c.flags("apply")
	var files stringList
	fs.Var(&files, "f", "definition file or directory (repeatable)")
	fs.Var(&files, "filename", "definition file or directory (repeatable)")
	prune := fs.Bool("prune", false, "delete connectors that no file defines")
	dry := fs.Bool("dry-run", false, "print the diff and change nothing")
	if _, err := c.parse(fs, args, 0, 0, "-f FILE|DIR [--prune] [--dry-run]"); err != nil {
		return err
	}
	if len(files) == 0 {
		return usageErrorf("usage: spur apply -f FILE|DIR [--prune] [--dry-run]")
	}
	defs, err := loadAll(files)
	if err != nil {
		return err
	}
	if *prune && len(defs) == 0 {
		// An empty directory (a wrong path, a checkout gone wrong) would
		// delete every connector of the cluster.
		return &configError{err: fmt.Errorf("no connector definitions in %s: refusing to prune every connector", strings.Join(files, ", "))}
	}
	current := map[string]*restExpanded{}
	if _, err := c.api.do(ctx, http.MethodGet, "/connectors", url.Values{"expand": {"info"}}, nil, &current); err != nil {
		return fmt.Errorf("reading the connectors: %w", err)
	}
	configs := make(map[string]map[string]string, len(current))
	for name, e := range current {
		if e.Info != nil {
			configs[name] = e.Info.Config
		}
	}
	plan := planApply(defs, configs, *prune)
	human := !c.structured()
	if human {
		printPlan(c.stdout, plan)
	}

	// Validate everything first, so a bad definition applies nothing.
	invalid := 0
	for _, ch := range plan {
		if ch.Action != actCreate && ch.Action != actUpdate {
			continue
		}
		errs, err := c.validateRemote(ctx, *ch.def)
		if err != nil {
			return fmt.Errorf("validating connector %s (%s): %w", ch.Name, ch.Source, err)
		}
		for _, e := range errs {
			ch.Errors = append(ch.Errors, e.Key+": "+e.Message)
		}
		if len(errs) > 0 {
			invalid++
			if human {
				fmt.Fprintf(c.stderr, "connector %s (%s) is invalid:\n", ch.Name, ch.Source)
				for _, e := range ch.Errors {
					fmt.Fprintf(c.stderr, "  %s\n", e)
				}
			}
		}
	}
	if invalid > 0 {
		if !human {
			_ = printStructured(c.stdout, c.g.output, applyResult{DryRun: *dry, Connectors: plan})
		}
		return &configError{err: fmt.Errorf("%s invalid: nothing applied", plural(invalid, "definition is", "definitions are"))}
	}

	if *dry {
		if !human {
			return printStructured(c.stdout, c.g.output, applyResult{DryRun: true, Connectors: plan})
		}
		fmt.Fprintf(c.stdout, "dry run: %s; nothing changed\n", counts(plan, true))
		c.noteUnmanaged(plan)
		return nil
	}

	var failed error
	for _, ch := range plan {
		if ch.Action != actCreate && ch.Action != actUpdate {
			continue
		}
		err := c.applyDefinition(ctx, ch)
		if err == nil {
			ch.Done = true
			if human {
				fmt.Fprintf(c.stdout, "connector %s %sd\n", ch.Name, ch.Action)
			}
			continue
		}
		ch.Errors = append(ch.Errors, err.Error())
		if human {
			fmt.Fprintf(c.stderr, "spur apply: connector %s: %v\n", ch.Name, err)
		}
		if statusOf(err) == http.StatusBadRequest {
			err = &configError{err: err}
		}
		failed = firstErr(failed, err)
	}
	// Deletes come last and only when everything else went through: a
	// renamed connector whose new definition failed keeps its old self.
	for _, ch := range plan {
		if ch.Action != actDelete {
			continue
		}
		if failed != nil {
			ch.Errors = append(ch.Errors, "not deleted: an earlier create or update failed")
			continue
		}
		_, err := c.api.do(ctx, http.MethodDelete, connectorPath(ch.Name, ""), nil, nil, nil)
		if err != nil && statusOf(err) != http.StatusNotFound {
			ch.Errors = append(ch.Errors, err.Error())
			if human {
				fmt.Fprintf(c.stderr, "spur apply: deleting connector %s: %v\n", ch.Name, err)
			}
			failed = firstErr(failed, err)
			continue
		}
		ch.Done = true
		if human {
			fmt.Fprintf(c.stdout, "connector %s deleted\n", ch.Name)
		}
	}
	if !human {
		if err := printStructured(c.stdout, c.g.output, applyResult{Connectors: plan}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(c.stdout, "applied: %s\n", counts(plan, false))
		c.noteUnmanaged(plan)
	}
	if failed != nil {
		return silent(failed)
	}
	return nil
}

// noteUnmanaged tells about connectors no file defines, kept without --prune.
func (c *cli) noteUnmanaged(plan []*applyChange) {
	var names []string
	for _, ch := range plan {
		if ch.Action == actUnmanaged {
			names = append(names, ch.Name)
		}
	}
	if len(names) > 0 {
		sort.Strings(names)
		fmt.Fprintf(c.stdout, "%s in no file and kept (--prune deletes them): %s\n",
			plural(len(names), "connector is", "connectors are"), strings.Join(names, ", "))
	}
}

// applyDefinition creates or updates one connector. A connector created
// with an initial state goes through POST /connectors (the only request
// that carries initial_state); everything else through PUT
// /connectors/{name}/config, which creates or updates.
func (c *cli) applyDefinition(ctx context.Context, ch *applyChange) error {
	d := ch.def
	if ch.Action == actCreate && d.InitialState != "" {
		body := map[string]any{"name": d.Name, "config": d.Config, "initial_state": d.InitialState}
		_, err := c.api.do(ctx, http.MethodPost, "/connectors", nil, body, nil)
		var ae *apiError
		if err == nil || !errors.As(err, &ae) || !alreadyExists(ae.Method, ae.Path, ae.Message) {
			return err
		}
		// Created by someone else since the plan was made: update it.
		ch.Action = actUpdate
	}
	_, err := c.api.do(ctx, http.MethodPut, connectorPath(d.Name, "/config"), nil, d.Config, nil)
	return err
}
