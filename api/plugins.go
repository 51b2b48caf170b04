package api

import (
	"net/http"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/runtime"
)

// PluginInfo is Kafka Connect's PluginInfo; version is omitted when unknown.
type PluginInfo struct {
	Class   string `json:"class"`
	Type    string `json:"type"`
	Version string `json:"version,omitempty"`
}

// ConfigKeyInfo is Kafka Connect's ConfigKeyInfo.
type ConfigKeyInfo struct {
	Name          string   `json:"name"`
	Type          string   `json:"type"`
	Required      bool     `json:"required"`
	DefaultValue  *string  `json:"default_value"`
	Importance    string   `json:"importance"`
	Documentation string   `json:"documentation"`
	Group         *string  `json:"group"`
	Order         int      `json:"order"`
	Width         string   `json:"width"`
	DisplayName   string   `json:"display_name"`
	Dependents    []string `json:"dependents"`
}

// ConfigValueInfo is Kafka Connect's ConfigValueInfo.
type ConfigValueInfo struct {
	Name              string   `json:"name"`
	Value             *string  `json:"value"`
	RecommendedValues []string `json:"recommended_values"`
	Errors            []string `json:"errors"`
	Visible           bool     `json:"visible"`
}

// ConfigInfo is one key of a validation: its definition (null for keys no
// spec declares) and its value.
type ConfigInfo struct {
	Definition *ConfigKeyInfo   `json:"definition"`
	Value      *ConfigValueInfo `json:"value"`
}

// ConfigInfos is Kafka Connect's validation result.
type ConfigInfos struct {
	Name       string       `json:"name"`
	ErrorCount int          `json:"error_count"`
	Groups     []string     `json:"groups"`
	Configs    []ConfigInfo `json:"configs"`
}

// pluginOrder is Kafka Connect's listing order of plugin kinds.
var pluginOrder = []connect.PluginType{connect.PluginSink, connect.PluginSource, connect.PluginTransformation,
	connect.PluginPredicate, connect.PluginConverter, connect.PluginHeaderConverter}

func (s *Server) listPlugins(c echo.Context) error {
	connectorsOnly := true
	if _, present := c.QueryParams()["connectorsOnly"]; present {
		connectorsOnly = boolParam(c, "connectorsOnly")
	}
	kinds := pluginOrder
	if connectorsOnly {
		kinds = pluginOrder[:2]
	}
	out := []PluginInfo{}
	for _, k := range kinds {
		for _, p := range s.w.Registry().Plugins(k) {
			v := p.Version
			if v == "undefined" {
				v = ""
			}
			out = append(out, PluginInfo{Class: p.Class, Type: string(p.Type), Version: v})
		}
	}
	return c.JSON(http.StatusOK, out)
}

// pluginSpec is what GET /connector-plugins/{p}/config lists: the plugin's
// own keys, then for connectors the framework keys it does not redefine.
func pluginSpec(p *connect.Plugin) *connect.ConfigSpec {
	switch p.Type {
	case connect.PluginSink:
		return p.Spec.With(runtime.SinkSpec)
	case connect.PluginSource:
		return p.Spec.With(runtime.SourceSpec)
	}
	return p.Spec.With()
}

func (s *Server) pluginConfig(c echo.Context) error {
	name := pathParam(c, "plugin")
	p, ok := s.w.Registry().Lookup(name)
	if !ok {
		return errorf(http.StatusNotFound, "Unknown plugin %s.", name)
	}
	keys := pluginSpec(p).Keys()
	orders := groupOrders(keys)
	out := make([]ConfigKeyInfo, len(keys))
	for i, k := range keys {
		out[i] = keyInfo(k, orders[i])
	}
	return c.JSON(http.StatusOK, out)
}

// groupOrders numbers each key within its group, from 1.
func groupOrders(keys []connect.ConfigKey) []int {
	n := map[string]int{}
	out := make([]int, len(keys))
	for i, k := range keys {
		n[k.Group]++
		out[i] = n[k.Group]
	}
	return out
}

func keyInfo(k connect.ConfigKey, order int) ConfigKeyInfo {
	ki := ConfigKeyInfo{
		Name: k.Name, Type: string(k.Type), Required: k.Required, DefaultValue: defaultValue(k),
		Importance: string(k.Importance), Documentation: k.Doc, Order: order, Width: "NONE",
		DisplayName: k.Name, Dependents: []string{},
	}
	if k.Group != "" {
		g := k.Group
		ki.Group = &g
	}
	return ki
}

// defaultValue renders a default as Kafka Connect does: null when there is
// none, [hidden] for passwords. An empty default is "none" except for strings
// and lists, where it is the empty value.
func defaultValue(k connect.ConfigKey) *string {
	if k.Required || (k.Default == "" && k.Type != connect.TypeString && k.Type != connect.TypeList && k.Type != "") {
		return nil
	}
	d := k.Default
	if k.Type == connect.TypePassword {
		d = connect.Hidden
	}
	return &d
}

// normalizedPluginName strips a Connector suffix, as Kafka Connect compares
// the body's connector.class with the path's plugin.
func normalizedPluginName(n string) string {
	return strings.TrimSuffix(n, "Connector")
}

func (s *Server) validate(c echo.Context) error {
	plugin := pathParam(c, "plugin")
	body, err := readBody(c)
	if err != nil {
		return err
	}
	cfg, nulls, err := decodeConfig(body)
	if err != nil {
		return err
	}
	class, ok := cfg["connector.class"]
	if !ok {
		keys := make([]string, 0, len(cfg))
		for k := range cfg {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return errorf(http.StatusBadRequest, "Connector config {%s} contains no connector type", strings.Join(keys, ", "))
	}
	reg := s.w.Registry()
	bodyPlugin, found := reg.Lookup(class)
	pathPlugin, _ := reg.Lookup(plugin)
	if !strings.HasSuffix(normalizedPluginName(class), normalizedPluginName(plugin)) && (!found || bodyPlugin != pathPlugin) {
		return errorf(http.StatusBadRequest, "Included connector type %s does not match request type %s", class, plugin)
	}
	if !found || (bodyPlugin.Type != connect.PluginSink && bodyPlugin.Type != connect.PluginSource) {
		var names []string
		for _, p := range reg.Plugins(connect.PluginSink, connect.PluginSource) {
			names = append(names, p.Class)
		}
		return errorf(http.StatusInternalServerError, "Failed to find any class that implements Connector and which name matches %s, available connectors are: %s",
			class, strings.Join(names, ", "))
	}
	v := s.w.Validate(cfg)
	return c.JSON(http.StatusOK, configInfos(class, v, cfg, nulls))
}

// configInfos renders a validation as Kafka Connect's ConfigInfos: every
// declared key with its definition and value (PASSWORD values [hidden]),
// errors on their keys; errors and unknown keys that no spec declares get
// entries with a null definition.
func configInfos(class string, v runtime.Validation, raw map[string]string, nulls []string) *ConfigInfos {
	errsByKey := map[string][]string{}
	count := 0
	add := func(k, msg string) {
		errsByKey[k] = append(errsByKey[k], msg)
		count++
	}
	for _, e := range v.Errors {
		add(e.Key, e.Message)
	}
	isNull := map[string]bool{}
	for _, k := range nulls {
		isNull[k] = true
		add(k, "Null value can not be supplied as the configuration value.")
	}
	out := &ConfigInfos{Name: class, Groups: []string{}, Configs: []ConfigInfo{}}
	seenGroup := map[string]bool{}
	keys := v.Spec.Keys()
	orders := groupOrders(keys)
	declared := map[string]bool{}
	for i, k := range keys {
		declared[k.Name] = true
		if k.Group != "" && !seenGroup[k.Group] {
			seenGroup[k.Group] = true
			out.Groups = append(out.Groups, k.Group)
		}
		ki := keyInfo(k, orders[i])
		val := ConfigValueInfo{Name: k.Name, RecommendedValues: nonNil(k.Recommended), Errors: nonNil(errsByKey[k.Name]), Visible: true}
		if s, ok := raw[k.Name]; ok {
			if k.Type == connect.TypePassword {
				s = connect.Hidden
			}
			val.Value = &s
		} else if !isNull[k.Name] {
			val.Value = defaultValue(k)
		}
		out.Configs = append(out.Configs, ConfigInfo{Definition: &ki, Value: &val})
	}
	var extra []string
	for k := range errsByKey {
		if !declared[k] {
			extra = append(extra, k)
		}
	}
	for _, k := range v.Warnings {
		if !declared[k] && errsByKey[k] == nil {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		val := ConfigValueInfo{Name: k, RecommendedValues: []string{}, Errors: nonNil(errsByKey[k]), Visible: true}
		if s, ok := raw[k]; ok && !looksSecret(k) {
			val.Value = &s
		} else if ok {
			h := connect.Hidden
			val.Value = &h
		}
		out.Configs = append(out.Configs, ConfigInfo{Value: &val})
	}
	out.ErrorCount = count
	return out
}

// looksSecret guards values of undeclared keys (no type to go by).
func looksSecret(k string) bool {
	k = strings.ToLower(k)
	for _, w := range []string{"password", "secret", "token", "credential", "jaas", "api.key", "apikey", "private"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}
