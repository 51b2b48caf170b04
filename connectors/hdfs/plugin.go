// Package hdfs is Spur's HDFS sink connector (alias hdfs-sink): it writes
// each Kafka partition's records into files on HDFS through WebHDFS,
// committed by renaming a temp file to a name that holds the file's
// offsets, <topic>+<partition>+<first>+<last>.<ext>, so that a task taking
// over a partition writes every record exactly once. Its keys are those of
// Confluent's kafka-connect-hdfs; see docs/connectors/hdfs-sink.md.
package hdfs

import "github.com/spur-connect/spur/connect"

const (
	// Class is the Java class name the plugin answers to.
	Class = "io.confluent.connect.hdfs.HdfsSinkConnector"
	// Alias is the plugin's short name.
	Alias = "hdfs-sink"
	// Version is the plugin version.
	Version = "0.1.0"
)

// Plugins returns the HDFS sink plugin, for explicit registration. The
// HDFS 3 connector's class name answers too: its keys are the same.
func Plugins() []*connect.Plugin {
	return []*connect.Plugin{{
		Class:        Class,
		Aliases:      []string{Alias, "io.confluent.connect.hdfs3.Hdfs3SinkConnector", "Hdfs3SinkConnector", "Hdfs3Sink"},
		Type:         connect.PluginSink,
		Version:      Version,
		Doc:          "Writes records to HDFS files through WebHDFS (JSON or text lines), partitioned by Kafka partition, field or time, committed exactly once by temp file and rename.",
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
