// Package datagen is a source connector that generates realistic
// web-tracking events (page views, clicks, carts, purchases) as JSON, for
// demos, tests and benchmarks. It answers to Confluent's datagen class name
// and reads its keys (kafka.topic, iterations, max.interval), but generates
// its own tracking events (full, ~700 B, or compact, ~350 B: event.shape)
// instead of Avro quickstart schemas.
//
// Every event is a pure function of (seed, task, sequence number), and the
// source offset is the next sequence number, so a restarted task continues
// exactly where the last acknowledged record left off and re-produces
// byte-identical records for anything it has to send again.
package datagen

import (
	"fmt"
	"math"
	"strconv"

	"github.com/spur-connect/spur/connect"
)

const version = "0.1.0"

// Config keys. Each exists only here and in spec.
const (
	keyTopic       = "kafka.topic"
	keyIterations  = "iterations"
	keyRate        = "rate"
	keyMaxInterval = "max.interval"
	keySeed        = "seed"
	keyBatchSize   = "batch.size"
	keyEventTime   = "event.time"
	keyEventShape  = "event.shape"

	// Task-only keys written by TaskConfigs. They are not declared in the
	// spec because users never set them: TaskConfigs overwrites them.
	keyTaskIndex = "datagen.task"
	keyTaskCount = "datagen.tasks"
)

const group = "Datagen"

var spec = connect.NewSpec(
	connect.ConfigKey{
		Name: keyTopic, Type: connect.TypeString, Required: true, Importance: connect.High, Group: group,
		Doc:      "Topic to write the generated events to.",
		Validate: connect.ValidTopic,
	},
	connect.ConfigKey{
		Name: keyIterations, Type: connect.TypeLong, Default: "-1", Importance: connect.High, Group: group,
		Doc: "Total number of events across all tasks, split evenly between them; -1 generates forever. " +
			"Confluent's datagen counts per task; this is the total, so the topic gets exactly this many events whatever tasks.max is.",
		Validate: func(v any) error {
			if n := v.(int64); n == 0 || n < -1 {
				return fmt.Errorf("must be -1 (unlimited) or at least 1")
			}
			return nil
		},
	},
	connect.ConfigKey{
		Name: keyRate, Type: connect.TypeDouble, Default: "0", Importance: connect.Medium, Group: group,
		Doc: "Events per second per task (fractions allowed, 0.5 is one event every 2 s); 0 generates as fast as Kafka accepts them. " +
			"Takes precedence over max.interval when both are set.",
		Validate: func(v any) error {
			if f := v.(float64); f < 0 || math.IsNaN(f) || f > 1e9 {
				return fmt.Errorf("must be between 0 and 1e9")
			}
			return nil
		},
	},
	connect.ConfigKey{
		Name: keyMaxInterval, Type: connect.TypeLong, Default: "0", Importance: connect.Medium, Group: group,
		Doc: "Confluent's pacing: a random pause of 0 up to this many milliseconds between events; 0 pauses not at all. " +
			"Ignored when rate is set.",
		Validate: connect.AtLeast(0),
	},
	connect.ConfigKey{
		Name: keySeed, Type: connect.TypeLong, Default: "0", Importance: connect.Low, Group: group,
		Doc: "Seed of the generator. The same seed, task and sequence number always give the same event, " +
			"so runs are reproducible and a restarted task re-sends identical records; use another seed for other data.",
	},
	connect.ConfigKey{
		Name: keyBatchSize, Type: connect.TypeInt, Default: "500", Importance: connect.Low, Group: group,
		Doc:      "Maximum number of events returned by one poll.",
		Validate: connect.Between(1, 1<<20),
	},
	connect.ConfigKey{
		Name: keyEventTime, Type: connect.TypeString, Default: eventTimeSeeded, Importance: connect.Low, Group: group,
		Doc: "Where the timestamp and received_at fields come from: seeded puts them on a fixed timeline from 2025-01-01T00:00:00Z, so events are reproducible; " +
			"now uses the wall clock, for targets that reject old events (GA4 accepts 72 hours), at the price of byte-identical replays.",
		Validate:    connect.OneOf(eventTimeSeeded, eventTimeNow),
		Recommended: []string{eventTimeSeeded, eventTimeNow},
	},
	connect.ConfigKey{
		Name: keyEventShape, Type: connect.TypeString, Default: eventShapeFull, Importance: connect.Low, Group: group,
		Doc: "Which fields an event carries: full (about 700 B) is a browser tracking event with its context (anonymous id, referrer, user agent, ip, received_at, timezone, city, screen, consent); " +
			"compact (about 350 B) is the same event without that context: ids, type, url, timestamp, properties and locale.",
		Validate:    connect.OneOf(eventShapeFull, eventShapeCompact),
		Recommended: []string{eventShapeFull, eventShapeCompact},
	},
)

const (
	eventTimeSeeded = "seeded"
	eventTimeNow    = "now"

	eventShapeFull    = "full"
	eventShapeCompact = "compact"
)

// Plugins returns the datagen source connector plugin.
func Plugins() []*connect.Plugin {
	return []*connect.Plugin{{
		Class:   "io.confluent.kafka.connect.datagen.DatagenConnector",
		Aliases: []string{"datagen", "datagen-source"},
		Type:    connect.PluginSource,
		Version: version,
		Doc:     "Generates realistic web-tracking events as JSON: deterministic per seed, exact counts, optional rate limit.",
		Spec:    spec,
		NewConnector: func() connect.Connector {
			return connector{}
		},
		NewSourceTask: func() connect.SourceTask { return newTask() },
	}}
}

type connector struct{}

// Validate has nothing to add: every key is checked by its declaration,
// and the one interaction (rate over max.interval) is a documented
// precedence, not an error.
func (connector) Validate(connect.Config) []connect.KeyError { return nil }

// TaskConfigs gives each task its index and the task count, because a
// task's share of iterations depends on both. With a limited number of
// iterations it never starts more tasks than there are events to generate.
func (connector) TaskConfigs(cfg connect.Config, maxTasks int) ([]map[string]string, error) {
	n := maxTasks
	if it := cfg.Int(keyIterations); it > 0 && it < int64(n) {
		n = int(it)
	}
	if n < 1 {
		n = 1
	}
	out := make([]map[string]string, n)
	for i := range out {
		m := make(map[string]string, len(cfg.Raw())+2)
		for k, v := range cfg.Raw() {
			m[k] = v
		}
		m[keyTaskIndex] = strconv.Itoa(i)
		m[keyTaskCount] = strconv.Itoa(n)
		out[i] = m
	}
	return out, nil
}

// share is how many of total events task i of n generates: total/n, plus
// one for the first total%n tasks, so the shares add up to total exactly.
func share(total int64, i, n int) int64 {
	s := total / int64(n)
	if int64(i) < total%int64(n) {
		s++
	}
	return s
}
