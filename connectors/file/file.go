// Package file holds Kafka's FileStream connectors: a source that tails a
// text file and produces one record per line, and a sink that appends one
// line per record to a file. They answer to Kafka's class names and keys,
// so quickstart configs run unchanged, with three deliberate differences:
//
//   - file is required: reading stdin or writing stdout makes no sense for
//     a task that may run on any worker of a cluster.
//   - The source can read lines as JSON (file.format=json) so they reach
//     Kafka as JSON, not as JSON-in-a-string.
//   - The sink acknowledges a record only after its line is fsynced, so a
//     crash never commits an offset past data that is not on disk.
package file

import (
	"math"

	"github.com/spur-connect/spur/connect"
)

const version = "0.1.0"

// Config keys. Each exists only here and in the specs.
const (
	keyFile          = "file"
	keyTopic         = "topic"
	keyBatchSize     = "batch.size"
	keyFormat        = "file.format"
	keyOnInvalidJSON = "behavior.on.invalid.json"
)

const (
	formatString = "string"
	formatJSON   = "json"

	invalidFail   = "fail"
	invalidString = "string"
)

// HeaderInvalidJSON marks a line that file.format=json could not parse and
// behavior.on.invalid.json=string passed on as a string. Its value is the
// parse error. A HasHeaderKey predicate can route such records elsewhere.
const HeaderInvalidJSON = "spur.invalid.json"

const group = "File"

var sourceSpec = connect.NewSpec(
	connect.ConfigKey{
		Name: keyFile, Type: connect.TypeString, Required: true, Importance: connect.High, Group: group,
		Doc:      "Path of the file to read, on the worker that runs the task. The file may appear later; the task waits for it.",
		Validate: connect.NonEmpty,
	},
	connect.ConfigKey{
		Name: keyTopic, Type: connect.TypeString, Required: true, Importance: connect.High, Group: group,
		Doc:      "The topic to publish data to.",
		Validate: connect.ValidTopic,
	},
	connect.ConfigKey{
		Name: keyBatchSize, Type: connect.TypeInt, Default: "2000", Importance: connect.Low, Group: group,
		Doc:      "The maximum number of records the source task can read from the file each time it is polled.",
		Validate: connect.Between(1, math.MaxInt32),
	},
	connect.ConfigKey{
		Name: keyFormat, Type: connect.TypeString, Default: formatString, Importance: connect.Medium, Group: group,
		Doc: "How to read each line: string makes it a string value, as Kafka does; " +
			"json makes it a JSON value, copied byte for byte, so a JSON converter writes it as JSON rather than as a quoted string. Blank lines are skipped in json format.",
		Validate:    connect.OneOf(formatString, formatJSON),
		Recommended: []string{formatString, formatJSON},
	},
	connect.ConfigKey{
		Name: keyOnInvalidJSON, Type: connect.TypeString, Default: invalidFail, Importance: connect.Medium, Group: group,
		Doc: "With file.format=json, what a line that is not JSON does: fail stops the task with an error naming the file and line, after every line before it was produced; " +
			"string produces the line as a string value with a " + HeaderInvalidJSON + " header holding the parse error. Neither loses the line.",
		Validate:    connect.OneOf(invalidFail, invalidString),
		Recommended: []string{invalidFail, invalidString},
	},
)

var sinkSpec = connect.NewSpec(
	connect.ConfigKey{
		Name: keyFile, Type: connect.TypeString, Required: true, Importance: connect.High, Group: group,
		Doc: "Path of the file to append to, on the worker that runs the task. The file is created if missing; " +
			"its directory must exist.",
		Validate: connect.NonEmpty,
	},
)

// Plugins returns the file source and file sink plugins.
func Plugins() []*connect.Plugin {
	return []*connect.Plugin{
		{
			Class:         "org.apache.kafka.connect.file.FileStreamSourceConnector",
			Aliases:       []string{"file-source"},
			Type:          connect.PluginSource,
			Version:       version,
			Doc:           "Tails a text file and produces one record per line, resuming at the byte position after the last produced line.",
			Spec:          sourceSpec,
			NewConnector:  func() connect.Connector { return oneTask{} },
			NewSourceTask: func() connect.SourceTask { return newSourceTask() },
		},
		{
			Class:        "org.apache.kafka.connect.file.FileStreamSinkConnector",
			Aliases:      []string{"file-sink"},
			Type:         connect.PluginSink,
			Version:      version,
			Doc:          "Appends each record value to a file as one line; acknowledges records only once they are fsynced.",
			Spec:         sinkSpec,
			NewConnector: func() connect.Connector { return oneTask{} },
			NewSinkTask:  func() connect.SinkTask { return &sinkTask{} },
		},
	}
}

// oneTask is the connector of both plugins. A file is read by one reader
// (the position is per file) and appended to by one writer: two tasks
// appending to the same file could interleave the halves of their lines.
// Kafka's sink does start tasks.max tasks; this one starts one.
type oneTask struct{}

// Validate has nothing to add to the specs. It deliberately does not look
// at the file system: validation runs on whichever worker takes the REST
// call, not necessarily the one that will run the task.
func (oneTask) Validate(connect.Config) []connect.KeyError { return nil }

func (oneTask) TaskConfigs(cfg connect.Config, _ int) ([]map[string]string, error) {
	return connect.CopyPerTask(cfg, 1), nil
}
