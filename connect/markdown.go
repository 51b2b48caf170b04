package connect

import (
	"fmt"
	"strings"
)

// Markdown renders the spec as the reference tables of the docs, one table
// per group, so the docs are generated from the same declaration that
// validates configs.
func (s *ConfigSpec) Markdown() string {
	var b strings.Builder
	group := "\x00"
	for _, k := range s.Keys() {
		if k.Group != group {
			group = k.Group
			if group != "" {
				fmt.Fprintf(&b, "\n**%s**\n", group)
			}
			b.WriteString("\n| Key | Type | Default | Importance | Description |\n|---|---|---|---|---|\n")
		}
		def := "`" + k.Default + "`"
		switch {
		case k.Required:
			def = "(required)"
		case k.Default == "":
			def = "empty"
		}
		doc := k.Doc
		if len(k.Recommended) > 0 {
			doc += " One of: " + strings.Join(k.Recommended, ", ") + "."
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", k.Name, k.Type, escapeCell(def), k.Importance, escapeCell(doc))
	}
	return b.String()
}

func escapeCell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", "\\|"), "\n", " ")
}
