package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// definition is one connector as written in git: the same shape as Kafka
// Connect's create body (name, config, optional initial_state).
type definition struct {
	Name         string
	Config       map[string]string
	InitialState string
	Source       string // file:document for error messages
}

// loadDefinitions reads every *.yaml / *.yml file of a directory (or one
// file). Each file may hold several YAML documents. Any problem is an error
// naming the file and key; nothing is returned half-read.
func loadDefinitions(path string) ([]definition, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	files := []string{path}
	if st.IsDir() {
		files = nil
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
		sort.Strings(files)
	}
	var defs []definition
	seen := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		ds, err := parseDefinitions(f, b)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if prev, dup := seen[d.Name]; dup {
				return nil, fmt.Errorf("%s: connector %q is already defined in %s", d.Source, d.Name, prev)
			}
			seen[d.Name] = d.Source
			defs = append(defs, d)
		}
	}
	return defs, nil
}

func parseDefinitions(file string, b []byte) ([]definition, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out []definition
	for i := 1; ; i++ {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		src := fmt.Sprintf("%s (document %d)", file, i)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		if doc == nil {
			continue
		}
		d := definition{Source: src, Config: map[string]string{}}
		for k := range doc {
			switch k {
			case "name", "config", "initial_state":
			default:
				return nil, fmt.Errorf("%s: unknown field %q (expected name, config, initial_state)", src, k)
			}
		}
		name, ok := doc["name"].(string)
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("%s: name: a non-empty string is required", src)
		}
		d.Name = strings.TrimSpace(name)
		cfg, ok := doc["config"].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: config: a map of connector settings is required", src)
		}
		if err := flatten("", cfg, d.Config); err != nil {
			return nil, fmt.Errorf("%s: config: %w", src, err)
		}
		if n, ok := d.Config["name"]; ok && n != d.Name {
			return nil, fmt.Errorf("%s: config.name %q does not match name %q", src, n, d.Name)
		}
		d.Config["name"] = d.Name
		if s, ok := doc["initial_state"]; ok {
			state, _ := s.(string)
			switch strings.ToUpper(state) {
			case "RUNNING", "PAUSED", "STOPPED":
				d.InitialState = strings.ToUpper(state)
			default:
				return nil, fmt.Errorf("%s: initial_state: %v is not one of RUNNING, PAUSED, STOPPED", src, s)
			}
		}
		out = append(out, d)
	}
}
