// Package elasticsearch is Spur's Elasticsearch sink connector (alias
// elasticsearch-sink): it writes records to Elasticsearch with the bulk
// API, with idempotent document ids (<topic>+<partition>+<offset>, or the
// record key with the offset as external version), retries of overloaded
// items and requests, and refused documents handed to the error path with
// Elasticsearch's reason. Its keys are those of Confluent's
// kafka-connect-elasticsearch; see docs/connectors/elasticsearch-sink.md.
package elasticsearch

import (
	"github.com/spur-connect/spur/connect"
)

const (
	// Class is the Java class name the plugin answers to, so existing Kafka
	// Connect configs run unchanged.
	Class = "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector"
	// Alias is the plugin's short name.
	Alias = "elasticsearch-sink"
	// Version is the plugin version.
	Version = "0.1.0"
)

// Plugins returns the Elasticsearch sink plugin, for explicit registration.
func Plugins() []*connect.Plugin {
	return []*connect.Plugin{{
		Class:        Class,
		Aliases:      []string{Alias},
		Type:         connect.PluginSink,
		Version:      Version,
		Doc:          "Writes records to Elasticsearch indices, data streams or aliases with the bulk API: idempotent ids, external versioning, per-item retries, malformed documents to the error path.",
		Spec:         Spec(),
		NewConnector: func() connect.Connector { return connect.SharedConfigConnector{Check: validateSettings} },
		NewSinkTask:  func() connect.SinkTask { return NewTask() },
	}}
}

// validateSettings checks the rules that span several keys.
func validateSettings(cfg connect.Config) []connect.KeyError {
	_, errs := newSettings(cfg)
	return errs
}
