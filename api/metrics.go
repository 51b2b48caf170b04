package api

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/spur-connect/spur/runtime"
)

// Prometheus text exposition format 0.0.4, written by hand.
const metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

type taskCounter struct {
	name, typ, help string
	get             func(runtime.TaskMetrics) float64
}

var taskCounters = []taskCounter{
	{"spur_task_records_in_total", "counter", "Records consumed from Kafka (sink) or polled from the task (source).",
		func(m runtime.TaskMetrics) float64 { return float64(m.RecordsIn) }},
	{"spur_task_bytes_in_total", "counter", "Bytes of the records counted in spur_task_records_in_total.",
		func(m runtime.TaskMetrics) float64 { return float64(m.BytesIn) }},
	{"spur_task_records_out_total", "counter", "Records handed to the task (sink) or acknowledged by Kafka (source).",
		func(m runtime.TaskMetrics) float64 { return float64(m.RecordsOut) }},
	{"spur_task_records_filtered_total", "counter", "Records dropped by transforms.",
		func(m runtime.TaskMetrics) float64 { return float64(m.Filtered) }},
	{"spur_task_records_failed_total", "counter", "Records that failed (tolerated, sent to the dead letter queue, or failing the task).",
		func(m runtime.TaskMetrics) float64 { return float64(m.Failed) }},
	{"spur_task_retries_total", "counter", "Retried operations.",
		func(m runtime.TaskMetrics) float64 { return float64(m.Retries) }},
	{"spur_task_offset_commits_total", "counter", "Offset commits.",
		func(m runtime.TaskMetrics) float64 { return float64(m.Commits) }},
}

var connectorStates = []runtime.State{runtime.StateUnassigned, runtime.StateRunning, runtime.StatePaused,
	runtime.StateStopped, runtime.StateFailed, runtime.StateRestarting}
var taskStates = []runtime.State{runtime.StateUnassigned, runtime.StateRunning, runtime.StatePaused,
	runtime.StateFailed, runtime.StateRestarting}

func (s *Server) metrics(c echo.Context) error {
	c.Response().Header().Set(echo.HeaderContentType, metricsContentType)
	return c.String(http.StatusOK, s.renderMetrics())
}

func (s *Server) renderMetrics() string {
	var b strings.Builder
	w := s.w
	self := w.WorkerID()

	header(&b, "spur_worker_info", "gauge", "Worker identity.")
	line(&b, "spur_worker_info", 1, "worker_id", self, "version", runtime.Version, "kafka_cluster_id", w.ClusterID())
	header(&b, "spur_worker_ready", "gauge", "1 once the worker has read its stores and joined the group.")
	line(&b, "spur_worker_ready", b2f(w.Ready()))
	header(&b, "spur_worker_leader", "gauge", "1 while this worker leads the cluster.")
	line(&b, "spur_worker_leader", b2f(w.IsLeader()))
	snap := w.Snapshot()
	header(&b, "spur_connectors", "gauge", "Connectors configured in the cluster.")
	line(&b, "spur_connectors", float64(len(snap.Connectors)))

	// Per-task counters of the tasks running here.
	tm := w.TaskMetrics()
	items := make([]runtime.Item, 0, len(tm))
	for it := range tm {
		if !it.IsConnector() {
			items = append(items, it)
		}
	}
	sort.Slice(items, func(i, j int) bool {
		if items[i].Connector != items[j].Connector {
			return items[i].Connector < items[j].Connector
		}
		return items[i].Task < items[j].Task
	})
	for _, ctr := range taskCounters {
		header(&b, ctr.name, ctr.typ, ctr.help)
		for _, it := range items {
			line(&b, ctr.name, ctr.get(tm[it]), "connector", it.Connector, "task", strconv.Itoa(it.Task))
		}
	}
	header(&b, "spur_task_put_latency_seconds", "summary", "Time spent in SinkTask.Put (sink) or producing (source).")
	for _, it := range items {
		m := tm[it]
		line(&b, "spur_task_put_latency_seconds_sum", m.PutSeconds, "connector", it.Connector, "task", strconv.Itoa(it.Task))
		line(&b, "spur_task_put_latency_seconds_count", float64(m.PutCount), "connector", it.Connector, "task", strconv.Itoa(it.Task))
	}
	header(&b, "spur_task_retrying", "gauge", "1 while the task retries a failing operation.")
	for _, it := range items {
		line(&b, "spur_task_retrying", b2f(tm[it].Retrying != ""), "connector", it.Connector, "task", strconv.Itoa(it.Task))
	}

	// States of the connectors and tasks this worker runs, from the status topic.
	header(&b, "spur_connector_state", "gauge", "1 for the state of each connector this worker runs.")
	var taskLines []string
	for _, name := range snap.Names() {
		st, err := w.Status(name)
		if err != nil {
			continue
		}
		if st.Connector.WorkerID == self {
			for _, state := range connectorStates {
				line(&b, "spur_connector_state", b2f(st.Connector.State == state), "connector", name, "state", string(state))
			}
		}
		for _, t := range st.Tasks {
			if t.WorkerID != self {
				continue
			}
			for _, state := range taskStates {
				var tb strings.Builder
				line(&tb, "spur_task_state", b2f(t.State == state), "connector", name, "task", strconv.Itoa(t.ID), "state", string(state))
				taskLines = append(taskLines, tb.String())
			}
		}
	}
	header(&b, "spur_task_state", "gauge", "1 for the state of each task this worker runs.")
	for _, l := range taskLines {
		b.WriteString(l)
	}
	return b.String()
}

func b2f(v bool) float64 {
	if v {
		return 1
	}
	return 0
}

func header(b *strings.Builder, name, typ, help string) {
	b.WriteString("# HELP " + name + " " + help + "\n# TYPE " + name + " " + typ + "\n")
}

// line writes one sample; labels come as name, value pairs.
func line(b *strings.Builder, name string, v float64, labels ...string) {
	b.WriteString(name)
	if len(labels) > 0 {
		b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(labels[i])
			b.WriteString(`="`)
			b.WriteString(escapeLabel(labels[i+1]))
			b.WriteByte('"')
		}
		b.WriteByte('}')
	}
	b.WriteByte(' ')
	b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	b.WriteByte('\n')
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
