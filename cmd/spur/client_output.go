package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"gopkg.in/yaml.v3"
)

// printTable writes aligned columns; empty cells show as "-".
func printTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			if c == "" {
				c = "-"
			}
			cells[i] = c
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// printStructured writes v as indented JSON or as YAML. YAML is produced
// from the JSON encoding, so field names and order are the REST API's
// (json tags), not Go's.
func printStructured(w io.Writer, format string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the output: %w", err)
	}
	if format == "json" {
		_, err := fmt.Fprintf(w, "%s\n", b)
		return err
	}
	// JSON is YAML: decoding it into a node keeps the key order, and
	// clearing the flow and quoting styles makes it block-style YAML (the
	// encoder still quotes strings that would read as another type).
	var n yaml.Node
	if err := yaml.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("converting the output to YAML: %w", err)
	}
	clearStyle(&n)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return fmt.Errorf("encoding the output as YAML: %w", err)
	}
	return enc.Close()
}

func clearStyle(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		clearStyle(c)
	}
}

// looksSecret says whether a config key probably holds a secret, so the
// human output and the apply diff do not print its value.
func looksSecret(key string) bool {
	k := strings.ToLower(key)
	for _, w := range []string{"password", "secret", "token", "credential", "jaas", "api.key", "apikey", "private"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// shown is a config value as printed for humans: secrets are hidden unless
// the value is only a placeholder (${env:...}), which is safe and useful.
func shown(key, value string) string {
	if looksSecret(key) && value != "" && !isPlaceholder(value) {
		return "[hidden]"
	}
	return value
}

func isPlaceholder(v string) bool {
	v = strings.TrimSpace(v)
	return strings.HasPrefix(v, "${") && strings.HasSuffix(v, "}") && strings.Count(v, "${") == 1
}
