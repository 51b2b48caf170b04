package runtime

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/spur-connect/spur/connect"
)

// CommonSpec declares the framework keys every connector has (Kafka
// Connect's ConnectorConfig).
var CommonSpec = connect.NewSpec(
	connect.ConfigKey{Name: "name", Required: true, Importance: connect.High, Group: "Common", Validate: validName,
		Doc: "Globally unique name of the connector."},
	connect.ConfigKey{Name: "connector.class", Required: true, Importance: connect.High, Group: "Common",
		Doc: "Plugin: a Kafka Connect class name, its simple name, or a Spur alias (e.g. file-sink)."},
	connect.ConfigKey{Name: "tasks.max", Type: connect.TypeInt, Default: "1", Importance: connect.High, Group: "Common", Validate: connect.AtLeast(1),
		Doc: "Maximum number of tasks."},
	connect.ConfigKey{Name: "key.converter", Type: connect.TypeClass, Importance: connect.Low, Group: "Common",
		Doc: "Key converter; default: the worker's."},
	connect.ConfigKey{Name: "value.converter", Type: connect.TypeClass, Importance: connect.Low, Group: "Common",
		Doc: "Value converter; default: the worker's."},
	connect.ConfigKey{Name: "header.converter", Type: connect.TypeClass, Importance: connect.Low, Group: "Common",
		Doc: "Header converter; default: the worker's."},
	connect.ConfigKey{Name: "errors.retry.timeout", Type: connect.TypeLong, Default: "0", Group: "Error Handling",
		Doc: "Total time to retry a failed conversion or transform; 0 = no retry, -1 = forever."},
	connect.ConfigKey{Name: "errors.retry.delay.max.ms", Type: connect.TypeLong, Default: "60000", Group: "Error Handling",
		Doc: "Maximum delay between retries."},
	connect.ConfigKey{Name: "errors.tolerance", Default: "none", Group: "Error Handling", Validate: connect.OneOf("none", "all"), Recommended: []string{"none", "all"},
		Doc: "none: a bad record fails the task. all: bad records are skipped (and sent to the dead letter queue if one is set)."},
	connect.ConfigKey{Name: "errors.log.enable", Type: connect.TypeBoolean, Default: "false", Group: "Error Handling",
		Doc: "Log every error with the stage and the record's coordinates."},
	connect.ConfigKey{Name: "errors.log.include.messages", Type: connect.TypeBoolean, Default: "false", Group: "Error Handling",
		Doc: "Include record keys and values in error logs."},
)

// SinkSpec declares the framework keys of sink connectors.
var SinkSpec = connect.NewSpec(
	connect.ConfigKey{Name: "topics", Type: connect.TypeList, Importance: connect.High, Group: "Common",
		Doc: "Topics to consume. Exactly one of topics and topics.regex."},
	connect.ConfigKey{Name: "topics.regex", Importance: connect.High, Group: "Common", Validate: connect.ValidRegex,
		Doc: "Regular expression of topics to consume."},
	connect.ConfigKey{Name: "errors.deadletterqueue.topic.name", Group: "Error Handling",
		Doc: "Dead letter queue topic for records that fail conversion, transforms or delivery; empty = none."},
	connect.ConfigKey{Name: "errors.deadletterqueue.topic.replication.factor", Type: connect.TypeShort, Default: "-1", Group: "Error Handling",
		Doc: "Replication factor of the DLQ topic when Spur creates it (-1: broker default; Kafka Connect's default is 3)."},
	connect.ConfigKey{Name: "errors.deadletterqueue.context.headers.enable", Type: connect.TypeBoolean, Default: "false", Group: "Error Handling",
		Doc: "Add __connect.errors.* headers saying where and why a record failed."},
	connect.ConfigKey{Name: "consumer.max.outstanding.records", Type: connect.TypeInt, Default: "10000", Group: "Common", Validate: connect.AtLeast(1),
		Doc: "Records handed to the task but not yet acknowledged above which fetching pauses (bounded memory)."},
).With(CommonSpec, consumerOverrideSpec)

// SourceSpec declares the framework keys of source connectors.
var SourceSpec = connect.NewSpec(
	connect.ConfigKey{Name: "producer.max.outstanding.records", Type: connect.TypeInt, Default: "10000", Group: "Common", Validate: connect.AtLeast(1),
		Doc: "Records produced but not yet acknowledged by Kafka above which polling waits."},
	connect.ConfigKey{Name: "topic.creation.default.partitions", Type: connect.TypeInt, Default: "-1", Group: "Topic Creation",
		Doc: "Partitions of topics the source creates (-1: broker default). Topics are created before the first record is sent."},
	connect.ConfigKey{Name: "topic.creation.default.replication.factor", Type: connect.TypeShort, Default: "-1", Group: "Topic Creation",
		Doc: "Replication factor of topics the source creates (-1: broker default)."},
).With(CommonSpec)

// connectorPrefixes are key prefixes a connector config may hold beyond its specs.
var connectorPrefixes = []string{"key.converter.", "value.converter.", "header.converter.", "transforms.", "predicates.",
	"consumer.override.", "producer.override.", "admin.override.", "topic.creation."}

func validName(v any) error {
	s, _ := v.(string)
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("String may not be empty")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("String may not contain control characters")
		}
	}
	if strings.Contains(s, "/") {
		return fmt.Errorf("String may not contain '/': it could not be addressed in REST paths")
	}
	return nil
}

// Validation is the outcome of validating a connector config.
type Validation struct {
	Plugin   *connect.Plugin
	Spec     *connect.ConfigSpec // every key that applies (plugin, framework, transforms)
	Errors   connect.ConfigErrors
	Warnings []string // unknown keys, kept but reported
}

// TransformSpecFunc returns the spec of a connector's transform and predicate
// keys; the transforms package provides it (the runtime must not import
// concrete plugins, but transforms are framework).
type TransformSpecFunc func(reg *connect.Registry, raw map[string]string) *connect.ConfigSpec

// validateConnector checks a raw (placeholder-resolved) connector config.
func validateConnector(reg *connect.Registry, tspec TransformSpecFunc, raw map[string]string) Validation {
	var v Validation
	class := raw["connector.class"]
	var framework *connect.ConfigSpec = CommonSpec
	if class != "" {
		p, err := reg.LookupType(class, connect.PluginSink, connect.PluginSource)
		if err != nil {
			v.Errors = append(v.Errors, connect.KeyError{Key: "connector.class", Message: err.Error()})
		} else {
			v.Plugin = p
			framework = SourceSpec
			if p.Type == connect.PluginSink {
				framework = SinkSpec
			}
		}
	}
	spec := framework
	if v.Plugin != nil {
		spec = v.Plugin.Spec.With(framework)
	}
	if tspec != nil {
		spec = spec.With(tspec(reg, raw))
	}
	v.Spec = spec
	cfg, errs := spec.Parse(raw)
	v.Errors = append(v.Errors, errs...)
	for _, role := range []string{"key.converter", "value.converter", "header.converter"} {
		if c := raw[role]; c != "" {
			kind := connect.PluginConverter
			if role == "header.converter" {
				kind = connect.PluginHeaderConverter
			}
			p, err := reg.LookupType(c, kind)
			if err != nil {
				v.Errors = append(v.Errors, connect.KeyError{Key: role, Message: err.Error()})
				continue
			}
			ccfg, errs := p.Spec.Parse(connect.WithPrefix(raw, role+"."))
			if len(errs) == 0 && p.CheckWriting != nil && v.Plugin != nil && v.Plugin.Type == connect.PluginSource {
				errs = p.CheckWriting(ccfg)
			}
			for _, e := range errs {
				v.Errors = append(v.Errors, connect.KeyError{Key: role + "." + e.Key, Message: e.Message})
			}
		}
	}
	if v.Plugin != nil && v.Plugin.Type == connect.PluginSink {
		topics, regex := raw["topics"] != "", raw["topics.regex"] != ""
		switch {
		case topics && regex:
			v.Errors = append(v.Errors, connect.KeyError{Key: "topics", Message: "topics and topics.regex are mutually exclusive options, but both are set."})
		case !topics && !regex:
			v.Errors = append(v.Errors, connect.KeyError{Key: "topics", Message: "Must configure one of topics or topics.regex"})
		}
		if dlq := raw["errors.deadletterqueue.topic.name"]; dlq != "" {
			for _, t := range cfg.List("topics") {
				if t == dlq {
					v.Errors = append(v.Errors, connect.KeyError{Key: "errors.deadletterqueue.topic.name", Message: "The DLQ topic '" + dlq + "' may not be included in the list of topics ('topics=...') consumed by the connector"})
				}
			}
			if re := raw["topics.regex"]; re != "" {
				if m, err := regexp.MatchString(re, dlq); err == nil && m {
					v.Errors = append(v.Errors, connect.KeyError{Key: "errors.deadletterqueue.topic.name", Message: "The DLQ topic '" + dlq + "' may not be matched by topics.regex"})
				}
			}
		}
	}
	if v.Plugin != nil && len(errs) == 0 {
		v.Errors = append(v.Errors, v.Plugin.NewConnector().Validate(cfg)...)
	}
	v.Warnings = spec.Unknown(raw, connectorPrefixes...)
	return v
}
