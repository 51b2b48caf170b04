package mqtt

import (
	"maps"
	"strconv"
	"strings"

	"github.com/spur-connect/spur/connect"
)

const version = "0.1.0"

// ConfluentClass is the class name of Confluent's MQTT source connector,
// which this connector answers to (with its config keys).
const ConfluentClass = "io.confluent.connect.mqtt.MqttSourceConnector"

// Plugins returns the MQTT source connector plugin.
func Plugins() []*connect.Plugin {
	return []*connect.Plugin{{
		Class:   ConfluentClass,
		Aliases: []string{"mqtt-source"},
		Type:    connect.PluginSource,
		Version: version,
		Doc: "Subscribes to MQTT topics (MQTT 5) and writes the messages to Kafka at least once: QoS 1/2 messages are acknowledged to the broker only after Kafka acknowledged them, " +
			"with persistent sessions per task and shared subscriptions across tasks.",
		Spec:          spec,
		NewConnector:  func() connect.Connector { return connector{} },
		NewSourceTask: func() connect.SourceTask { return newTask() },
	}}
}

type connector struct{}

// Validate checks what single keys cannot; the declarations check every
// key on its own (URIs, filters, QoS, templates, mappings).
func (connector) Validate(cfg connect.Config) []connect.KeyError {
	var errs []connect.KeyError
	if cfg.Millis(keyBackoffMax) < cfg.Millis(keyBackoff) {
		errs = append(errs, connect.KeyError{Key: keyBackoffMax, Message: "must not be below " + keyBackoff})
	}
	anyTLS := false
	for _, u := range cfg.List(keyServerURI) {
		if sv, err := parseServerURI(u); err == nil && sv.tls {
			anyTLS = true
		}
	}
	if !anyTLS {
		for _, k := range []string{keyTrustStorePath, keyKeyStorePath} {
			if cfg.String(k) != "" {
				errs = append(errs, connect.KeyError{Key: k, Message: "is set, but no " + keyServerURI + " entry uses TLS (ssl://, tls:// or mqtts://): the connection would not be encrypted"})
			}
		}
	}
	return errs
}

// TaskConfigs decides how many tasks run and whether they share
// subscriptions; each task derives its filters, client id and
// subscriptions from that, its number and the connector config.
//
// Shared subscriptions (mqtt.shared.subscription true, or auto with
// tasks.max > 1): tasks.max tasks, each subscribed to every filter as
// $share/<group>/<filter>. Otherwise the filters are dealt out round robin
// to min(tasks.max, filters) tasks, as Confluent's connector does.
func (connector) TaskConfigs(cfg connect.Config, maxTasks int) ([]map[string]string, error) {
	if maxTasks < 1 {
		maxTasks = 1
	}
	mode := strings.ToLower(cfg.String(keyShared))
	shared := mode == "true" || (mode == sharedAuto && maxTasks > 1)
	n := maxTasks
	if !shared {
		n = min(maxTasks, max(len(cfg.List(keyTopics)), 1))
	}
	out := make([]map[string]string, n)
	for i := range out {
		m := maps.Clone(cfg.Raw())
		if m == nil {
			m = map[string]string{}
		}
		m[keyTaskCount] = strconv.Itoa(n)
		m[keyTaskShared] = strconv.FormatBool(shared)
		out[i] = m
	}
	return out, nil
}
