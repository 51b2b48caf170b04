package transforms

import (
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/spur-connect/spur/connect"
)

// Framework keys of a connector config.
const (
	TransformsKey = "transforms"
	PredicatesKey = "predicates"
)

// Chain is a connector's ordered list of configured transforms. It is safe
// for concurrent use by the connector's tasks. A nil *Chain applies nothing.
type Chain struct {
	stages []stage
}

type stage struct {
	alias  string
	class  string
	t      connect.Transformation
	pred   connect.Predicate // nil: always applies
	negate bool
}

// StageError is the failure of one transform of a chain. The runtime reports
// it as a TRANSFORMATION-stage error with Class as the failing class.
type StageError struct {
	Alias string // the alias in "transforms"
	Class string // the plugin's class name
	Err   error
}

func (e *StageError) Error() string {
	return fmt.Sprintf("transform %s (%s) failed: %v", e.Alias, e.Class, e.Err)
}

func (e *StageError) Unwrap() error { return e.Err }

// Len returns the number of transforms in the chain.
func (c *Chain) Len() int {
	if c == nil {
		return 0
	}
	return len(c.stages)
}

// Apply runs the transforms in order on r, each only when it has no
// predicate or when the predicate's result differs from its negate flag. It
// returns the transformed record (r changed in place, or another record), or
// nil if a transform dropped it. A failure is a *StageError; r may then be
// partly transformed, so the runtime must keep the record's original bytes
// for the dead letter queue.
func (c *Chain) Apply(r *connect.Record) (*connect.Record, error) {
	if c == nil {
		return r, nil
	}
	for i := range c.stages {
		s := &c.stages[i]
		if s.pred != nil && s.pred.Test(r) == s.negate {
			continue
		}
		out, err := s.apply(r)
		if err != nil {
			return nil, &StageError{Alias: s.alias, Class: s.class, Err: err}
		}
		if out == nil {
			return nil, nil
		}
		r = out
	}
	return r, nil
}

// apply runs one transform, turning a panic (a bug on some unexpected input)
// into an error so that errors.tolerance can handle the record.
func (s *stage) apply(r *connect.Record) (out *connect.Record, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return s.t.Apply(r)
}

// NewChain builds the transform chain a connector config describes with the
// keys transforms, transforms.<alias>.type, transforms.<alias>.<key>,
// transforms.<alias>.predicate, transforms.<alias>.negate, predicates,
// predicates.<alias>.type and predicates.<alias>.<key>. Every problem is
// reported, each naming its full key. A config without transforms gives a
// chain of length 0.
func NewChain(reg *connect.Registry, raw map[string]string) (*Chain, connect.ConfigErrors) {
	spec := Spec(reg, raw)
	_, errs := spec.Parse(raw)
	bad := map[string]bool{} // aliases with a key error
	for _, e := range errs {
		for _, kind := range []string{TransformsKey, PredicatesKey} {
			if rest, ok := strings.CutPrefix(e.Key, kind+"."); ok {
				for _, alias := range aliases(raw, kind) {
					if strings.HasPrefix(rest, alias+".") {
						bad[kind+"."+alias] = true
					}
				}
			}
		}
	}
	if hasKeyError(errs, TransformsKey) || hasKeyError(errs, PredicatesKey) {
		return nil, errs
	}

	preds := map[string]connect.Predicate{}
	for _, alias := range aliases(raw, PredicatesKey) {
		prefix := PredicatesKey + "." + alias + "."
		if bad[PredicatesKey+"."+alias] {
			continue
		}
		p, err := reg.LookupType(raw[prefix+"type"], connect.PluginPredicate)
		if err != nil { // unreachable: the spec validated the type
			errs = append(errs, connect.KeyError{Key: prefix + "type", Message: err.Error()})
			continue
		}
		cfg, perrs := p.Spec.Parse(connect.WithPrefix(raw, prefix))
		if len(perrs) > 0 {
			errs = append(errs, prefixErrors(prefix, perrs)...)
			continue
		}
		pred, err := p.NewPredicate(cfg)
		if err != nil {
			errs = append(errs, constructorErrors(prefix, err)...)
			continue
		}
		preds[alias] = pred
	}

	c := &Chain{}
	for _, alias := range aliases(raw, TransformsKey) {
		prefix := TransformsKey + "." + alias + "."
		if bad[TransformsKey+"."+alias] {
			continue
		}
		p, err := reg.LookupType(raw[prefix+"type"], connect.PluginTransformation)
		if err != nil {
			errs = append(errs, connect.KeyError{Key: prefix + "type", Message: err.Error()})
			continue
		}
		cfg, perrs := p.Spec.Parse(connect.WithPrefix(raw, prefix))
		if len(perrs) > 0 {
			errs = append(errs, prefixErrors(prefix, perrs)...)
			continue
		}
		t, err := p.NewTransformation(cfg)
		if err != nil {
			errs = append(errs, constructorErrors(prefix, err)...)
			continue
		}
		s := stage{alias: alias, class: p.Class, t: t}
		if pa := strings.TrimSpace(raw[prefix+"predicate"]); pa != "" {
			s.pred = preds[pa]
			if s.pred == nil { // the predicate itself failed to build; already reported
				continue
			}
			s.negate = strings.EqualFold(strings.TrimSpace(raw[prefix+"negate"]), "true")
		}
		c.stages = append(c.stages, s)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

func hasKeyError(errs connect.ConfigErrors, key string) bool {
	for _, e := range errs {
		if e.Key == key {
			return true
		}
	}
	return false
}

// aliases returns the distinct aliases listed under key, in order.
func aliases(raw map[string]string, key string) []string {
	var out []string
	for _, a := range connect.SplitList(raw[key]) {
		if !contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func prefixErrors(prefix string, errs connect.ConfigErrors) connect.ConfigErrors {
	out := make(connect.ConfigErrors, len(errs))
	for i, e := range errs {
		out[i] = connect.KeyError{Key: prefix + e.Key, Message: e.Message}
	}
	return out
}

// constructorErrors names the key of a plugin constructor's error: a
// connect.KeyError or ConfigErrors names its own (unprefixed) key; any
// other error is reported on the alias's type key.
func constructorErrors(prefix string, err error) connect.ConfigErrors {
	var errs connect.ConfigErrors
	var ke connect.KeyError
	var kp *connect.KeyError
	switch {
	case errors.As(err, &errs):
		return prefixErrors(prefix, errs)
	case errors.As(err, &ke):
		return connect.ConfigErrors{{Key: prefix + ke.Key, Message: ke.Message}}
	case errors.As(err, &kp):
		return connect.ConfigErrors{{Key: prefix + kp.Key, Message: kp.Message}}
	}
	return connect.ConfigErrors{{Key: prefix + "type", Message: err.Error()}}
}

// Spec returns the config keys of the transforms and predicates of a
// connector config: the framework keys transforms and predicates and, for
// each listed alias, its type/predicate/negate keys and its plugin's own keys
// prefixed with transforms.<alias>. (group "Transforms: <alias>") or
// predicates.<alias>. (group "Predicates: <alias>"). It drives NewChain and
// the REST validate endpoint alike.
func Spec(reg *connect.Registry, raw map[string]string) *connect.ConfigSpec {
	predAliases := aliases(raw, PredicatesKey)
	spec := connect.NewSpec(
		connect.ConfigKey{
			Name: TransformsKey, Type: connect.TypeList, Importance: connect.Low, Group: "Transforms",
			Doc:      "Aliases for the transformations to be applied to records, in order.",
			Validate: uniqueAliases,
		},
		connect.ConfigKey{
			Name: PredicatesKey, Type: connect.TypeList, Importance: connect.Low, Group: "Predicates",
			Doc:      "Aliases for the predicates used by transformations.",
			Validate: uniqueAliases,
		},
	)
	transformClasses := classNames(reg, connect.PluginTransformation)
	for _, alias := range aliases(raw, TransformsKey) {
		prefix := TransformsKey + "." + alias + "."
		group := "Transforms: " + alias
		predKey, negKey := prefix+"predicate", prefix+"negate"
		own := connect.NewSpec(
			connect.ConfigKey{
				Name: prefix + "type", Type: connect.TypeClass, Required: true, Importance: connect.High, Group: group,
				Doc:         "Class (or alias) for the transformation.",
				Validate:    pluginValidator(reg, connect.PluginTransformation),
				Recommended: transformClasses,
			},
			connect.ConfigKey{
				Name: predKey, Type: connect.TypeString, Importance: connect.Medium, Group: group,
				Doc: "The alias of a predicate used to determine whether to apply this transformation.",
				Validate: func(v any) error {
					a := strings.TrimSpace(v.(string))
					if a != "" && !contains(predAliases, a) {
						return fmt.Errorf("predicate alias %q is not listed in %s", a, PredicatesKey)
					}
					return nil
				},
				Recommended: predAliases,
			},
			connect.ConfigKey{
				Name: negKey, Type: connect.TypeBoolean, Default: "false", Importance: connect.Medium, Group: group,
				Doc: "Whether the configured predicate should be negated.",
				Validate: func(any) error {
					if _, set := raw[negKey]; set && strings.TrimSpace(raw[predKey]) == "" {
						return fmt.Errorf("Config '%s' was provided but there is no config '%s' defining a predicate to be negated.", negKey, predKey)
					}
					return nil
				},
			},
		)
		if p, err := reg.LookupType(raw[prefix+"type"], connect.PluginTransformation); err == nil && p.Spec != nil {
			own = own.With(maskImplicit(p.Spec, "type", "predicate", "negate").Prefixed(prefix, group))
		}
		spec = spec.With(own)
	}
	predClasses := classNames(reg, connect.PluginPredicate)
	for _, alias := range predAliases {
		prefix := PredicatesKey + "." + alias + "."
		group := "Predicates: " + alias
		own := connect.NewSpec(connect.ConfigKey{
			Name: prefix + "type", Type: connect.TypeClass, Required: true, Importance: connect.High, Group: group,
			Doc:         "Class (or alias) for the predicate.",
			Validate:    pluginValidator(reg, connect.PluginPredicate),
			Recommended: predClasses,
		})
		if p, err := reg.LookupType(raw[prefix+"type"], connect.PluginPredicate); err == nil && p.Spec != nil {
			own = own.With(maskImplicit(p.Spec, "type").Prefixed(prefix, group))
		}
		spec = spec.With(own)
	}
	return spec
}

// maskImplicit drops plugin keys that the framework declares for every alias.
func maskImplicit(s *connect.ConfigSpec, names ...string) *connect.ConfigSpec {
	var keys []connect.ConfigKey
	for _, k := range s.Keys() {
		if !contains(names, k.Name) {
			keys = append(keys, k)
		}
	}
	return connect.NewSpec(keys...)
}

func uniqueAliases(v any) error {
	list, _ := v.([]string)
	seen := map[string]bool{}
	for _, a := range list {
		if seen[a] {
			return errors.New("Duplicate alias provided.")
		}
		seen[a] = true
	}
	return nil
}

func pluginValidator(reg *connect.Registry, typ connect.PluginType) func(any) error {
	return func(v any) error {
		name := strings.TrimSpace(v.(string))
		p, ok := reg.Lookup(name)
		if !ok {
			return fmt.Errorf("Class %s could not be found.", name)
		}
		if p.Type != typ {
			return fmt.Errorf("Class %s is a %s, not a %s.", name, p.Type, typ)
		}
		return nil
	}
}

func classNames(reg *connect.Registry, typ connect.PluginType) []string {
	var out []string
	for _, p := range reg.Plugins(typ) {
		out = append(out, p.Class)
	}
	sort.Strings(out)
	return out
}
