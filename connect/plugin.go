package connect

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// PluginType is the kind of a plugin, named as Kafka Connect's REST API names it.
type PluginType string

const (
	PluginSink            PluginType = "sink"
	PluginSource          PluginType = "source"
	PluginTransformation  PluginType = "transformation"
	PluginPredicate       PluginType = "predicate"
	PluginConverter       PluginType = "converter"
	PluginHeaderConverter PluginType = "header_converter"
)

// Transformation is a single message transform. Apply returns the record to
// pass on (possibly r itself, changed), or nil to drop it.
type Transformation interface {
	Apply(r *Record) (*Record, error)
}

// Predicate decides whether a transform applies to a record.
type Predicate interface {
	Test(r *Record) bool
}

// Converter turns the bytes of a key or value into Data and back.
type Converter interface {
	// ToData reads bytes consumed from Kafka. nil bytes is a null value.
	ToData(topic string, b []byte) (Data, error)
	// FromData encodes data for Kafka. A null value encodes as nil.
	FromData(topic string, d *Data) ([]byte, error)
}

// Plugin describes one plugin. Exactly the constructor matching Type is set.
type Plugin struct {
	// Class is the canonical name: Kafka Connect's class name where the
	// plugin replaces a Java one, so GET /connector-plugins reads familiar.
	Class   string
	Aliases []string // short names, e.g. "file-sink"
	Type    PluginType
	Version string
	Doc     string
	Spec    *ConfigSpec // the plugin's own keys

	NewConnector  func() Connector
	NewSinkTask   func() SinkTask
	NewSourceTask func() SourceTask
	// NewTransformation, NewPredicate and NewConverter build a configured instance.
	NewTransformation func(cfg Config) (Transformation, error)
	NewPredicate      func(cfg Config) (Predicate, error)
	NewConverter      func(cfg Config, isKey bool) (Converter, error)
	// CheckWriting, when set, checks that a converter's config lets it
	// write records, for source connectors: their validation reports the
	// errors (keys relative to the converter's prefix).
	CheckWriting func(cfg Config) []KeyError
}

// Registry holds plugins by class name and alias. It is filled explicitly
// at program start (cmd/spur), never by init side effects.
type Registry struct {
	mu      sync.RWMutex
	plugins []*Plugin
	byName  map[string]*Plugin
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{byName: map[string]*Plugin{}} }

// Register adds plugins. A name already taken, or a plugin without the
// constructor its type needs, is an error.
func (r *Registry) Register(plugins ...*Plugin) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range plugins {
		if err := p.check(); err != nil {
			return err
		}
		names := p.names()
		for _, n := range names {
			if old, ok := r.byName[n]; ok && old != p {
				return fmt.Errorf("plugin name %q of %s is already taken by %s", n, p.Class, old.Class)
			}
		}
		for _, n := range names {
			r.byName[n] = p
		}
		r.plugins = append(r.plugins, p)
	}
	return nil
}

// MustRegister is Register for program start-up, where a clash is a bug.
func (r *Registry) MustRegister(plugins ...*Plugin) {
	if err := r.Register(plugins...); err != nil {
		panic(err)
	}
}

func (p *Plugin) check() error {
	if p.Class == "" {
		return fmt.Errorf("plugin without a class name")
	}
	ok := false
	switch p.Type {
	case PluginSink:
		ok = p.NewConnector != nil && p.NewSinkTask != nil
	case PluginSource:
		ok = p.NewConnector != nil && p.NewSourceTask != nil
	case PluginTransformation:
		ok = p.NewTransformation != nil
	case PluginPredicate:
		ok = p.NewPredicate != nil
	case PluginConverter, PluginHeaderConverter:
		ok = p.NewConverter != nil
	default:
		return fmt.Errorf("plugin %s: unknown type %q", p.Class, p.Type)
	}
	if !ok {
		return fmt.Errorf("plugin %s: missing constructor for type %s", p.Class, p.Type)
	}
	return nil
}

// names are the names the plugin answers to: its class, its simple class
// name (after the last dot), that name without a "Connector" suffix, and
// its aliases, as Kafka Connect resolves plugin names.
func (p *Plugin) names() []string {
	names := []string{p.Class}
	simple := p.Class[strings.LastIndex(p.Class, ".")+1:]
	if simple != p.Class {
		names = append(names, simple)
	}
	if s, ok := strings.CutSuffix(simple, "Connector"); ok && s != "" && (p.Type == PluginSink || p.Type == PluginSource) {
		names = append(names, s)
	}
	for _, a := range p.Aliases {
		if !contains(names, a) {
			names = append(names, a)
		}
	}
	return names
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// Lookup resolves a class name, simple class name or alias.
func (r *Registry) Lookup(name string) (*Plugin, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.byName[strings.TrimSpace(name)]
	return p, ok
}

// LookupType resolves name and checks the plugin's type.
func (r *Registry) LookupType(name string, types ...PluginType) (*Plugin, error) {
	p, ok := r.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("no plugin named %q (known %s: %s)", name, types[0], strings.Join(r.names(types...), ", "))
	}
	for _, t := range types {
		if p.Type == t {
			return p, nil
		}
	}
	return nil, fmt.Errorf("plugin %q is a %s, not a %s", name, p.Type, types[0])
}

func (r *Registry) names(types ...PluginType) []string {
	var out []string
	for _, p := range r.Plugins(types...) {
		if len(p.Aliases) > 0 {
			out = append(out, p.Aliases[0])
		} else {
			out = append(out, p.Class)
		}
	}
	return out
}

// Plugins lists plugins of the given types (all if none) sorted by class.
func (r *Registry) Plugins(types ...PluginType) []*Plugin {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []*Plugin
	for _, p := range r.plugins {
		if len(types) == 0 || contains(typesToStrings(types), string(p.Type)) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Class < out[j].Class })
	return out
}

func typesToStrings(ts []PluginType) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return out
}
