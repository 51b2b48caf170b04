// Package httpsink is Spur's HTTP sink connector (alias http-sink): it
// batches Kafka records into HTTP requests, keeps JSON as JSON, wraps
// batches in the envelope an analytics provider expects, compresses them,
// respects rate limits and Retry-After, and acknowledges a record only once
// the target accepted it. Its keys are those of Confluent's HTTP sink plus
// Spur's additions; see docs/connectors/http-sink.md.
package httpsink

import (
	"github.com/spur-connect/spur/connect"
)

const (
	// Class is the Java class name the plugin answers to, so existing Kafka
	// Connect configs run unchanged.
	Class = "io.confluent.connect.http.HttpSinkConnector"
	// Alias is the plugin's short name.
	Alias = "http-sink"
	// Version is the plugin version.
	Version = "0.1.0"
)

// Plugins returns the HTTP sink plugin, for explicit registration.
func Plugins() []*connect.Plugin {
	return []*connect.Plugin{{
		Class:        Class,
		Aliases:      []string{Alias},
		Type:         connect.PluginSink,
		Version:      Version,
		Doc:          "Delivers records to an HTTP endpoint in batches (JSON array, NDJSON, envelope object or joined text), with gzip, rate limiting and retries.",
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
