package runtime

import "context"

// OnClusterLogLevel installs the function that applies a cluster-wide log
// level (PUT /admin/loggers/{ns}?scope=cluster) on this worker. Levels are
// written to the config topic, so every running worker applies them, also
// one that was briefly unreachable; a worker that starts later keeps the
// levels of its own config, as in Kafka Connect.
func (w *Worker) OnClusterLogLevel(apply func(namespace, level string)) {
	w.configs.mu.Lock()
	w.configs.loggers = apply
	w.configs.mu.Unlock()
}

// SetClusterLogLevel records a cluster-wide log level for every worker.
func (w *Worker) SetClusterLogLevel(ctx context.Context, namespace, level string) error {
	return w.configs.putLoggerLevel(ctx, namespace, level)
}
