// Command bench measures Spur's sink path against the limit: a bare franz-go
// consumer draining the same topic from the same broker.
//
//	go run ./bench -records 1000000 -runs 3
//
// It preloads one topic of an in-process kfake broker with datagen tracking
// events, then, in every run, drains it from the start with each case, the
// order rotated from run to run (A/B alternation against drift):
//
//   - bare: a franz-go group consumer that only counts records (the limit);
//   - http: a `spur run` worker process (built without -race) running the
//     HTTP sink (JSON array, batch.max.size 500) into a local receiver that
//     counts the array elements (ground truth at the sink);
//   - http-gzip: the same with request.compression=gzip (the receiver
//     gunzips every body);
//   - file: the same worker process running the file sink (lines counted);
//   - es: the Elasticsearch sink (key.ignore=true, batch.size -batch) into
//     the same receiver answering bulk requests as Elasticsearch does when
//     every item succeeded: the sink's own cost, not a cluster's.
//
// The drain rate is records / (last record - first record) at the sink. The
// sink's memory is the worker process's VmRSS, sampled every 20 ms while it
// drains, and its VmHWM; CPU is the worker's user+system time during the
// drain. It prints per-run numbers and a table of medians and spreads.
//
// -profile DIR adds one unmeasured drain per worker case under `perf record`
// and prints where the worker process spends its CPU.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spur-connect/spur/connectors/datagen"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

type options struct {
	records     int
	partitions  int32
	runs        int
	tasks       int
	shape       string
	batch       int
	inFlight    int
	batchKey    string
	linger      int
	cases       []string
	memory      bool
	verify      bool
	spurBin     string
	spurB       string // -b: the binary of the "@b" cases (A/B against -spur)
	profileDir  string
	workerEnv   []string
	connCfg     map[string]string // -set: extra connector config of the worker cases
	workerCfg   []string          // -worker: extra worker config (key=value)
	keepLogs    string
	registryURL string // the stand-in Schema Registry of the http-avro case
}

func main() {
	var o options
	var parts int
	var cases string
	flag.IntVar(&o.records, "records", 1000000, "records in the topic (each case drains all of them)")
	flag.IntVar(&parts, "partitions", 6, "topic partitions")
	flag.IntVar(&o.runs, "runs", 3, "runs; every run drains once per case, in rotated order")
	flag.IntVar(&o.tasks, "tasks", 2, "tasks.max of the sink connectors (default: one per core of the 2-core machine)")
	flag.StringVar(&o.shape, "shape", "full", "datagen event.shape of the preloaded events: full (~700 B) or compact (~350 B)")
	flag.IntVar(&o.batch, "batch", 500, "batch.max.size of the HTTP sink")
	flag.IntVar(&o.inFlight, "inflight", 5, "max.in.flight.requests of the HTTP sink")
	flag.StringVar(&o.batchKey, "batchkey", "", "batch.key.pattern of the HTTP sink (empty: the connector's default)")
	flag.IntVar(&o.linger, "linger", 0, "batch.linger.ms of the HTTP sink")
	flag.StringVar(&cases, "cases", "bare,http,http-gzip,file", "cases to run, comma-separated")
	flag.BoolVar(&o.memory, "memory", false, "keep the broker in memory instead of on disk")
	flag.BoolVar(&o.verify, "verify", false, "receiver: also json.Valid every body (costs CPU on the shared cores)")
	flag.StringVar(&o.spurBin, "spur", "", "spur binary to run (default: go build ./cmd/spur, without -race)")
	flag.StringVar(&o.spurB, "b", "", "a second spur binary: cases with the suffix @b (http@b, file@b) run it, alternating with the others (A/B of two builds)")
	flag.StringVar(&o.profileDir, "profile", "", "directory for perf profiles of one extra, unmeasured drain per worker case")
	o.connCfg = map[string]string{}
	flag.Func("set", "extra connector config of every worker case, key=value; repeatable (e.g. -set consumer.override.max.partition.fetch.bytes=1048576)", func(kv string) error {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("want key=value, got %q", kv)
		}
		o.connCfg[k] = v
		return nil
	})
	flag.Func("worker", "extra worker config of the worker processes, key=value; repeatable (e.g. -worker memory.limit.bytes=73400320)", func(kv string) error {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("want key=value, got %q", kv)
		}
		o.workerCfg = append(o.workerCfg, kv)
		return nil
	})
	workerEnv := flag.String("workerenv", "", "extra environment of the worker processes, space-separated (e.g. GODEBUG=gctrace=1 GOMEMLIMIT=80MiB)")
	flag.StringVar(&o.keepLogs, "logs", "", "copy the worker logs into this directory")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the harness process (broker, receiver, bare consumer)")
	flag.Parse()
	if o.shape != "full" && o.shape != "compact" {
		fmt.Fprintf(os.Stderr, "bench: unknown -shape %q (full, compact)\n", o.shape)
		os.Exit(2)
	}
	o.partitions = int32(parts)
	o.workerEnv = strings.Fields(*workerEnv)
	for _, c := range strings.Split(cases, ",") {
		if c = strings.TrimSpace(c); c != "" {
			base, isB := strings.CutSuffix(c, "@b")
			if isB && (o.spurB == "" || base == "bare") {
				fmt.Fprintf(os.Stderr, "bench: case %q needs -b and a worker case\n", c)
				os.Exit(2)
			}
			switch base {
			case "bare", "http", "http-gzip", "http-avro", "file", "es":
			default:
				fmt.Fprintf(os.Stderr, "bench: unknown case %q (bare, http, http-gzip, http-avro, file, es)\n", c)
				os.Exit(2)
			}
			o.cases = append(o.cases, c)
		}
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := bench(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// result is one drain.
type result struct {
	rate       float64       // records/s, first to last record at the sink
	fromCreate float64       // records/s, from resuming the connector (or client start) to the last record
	firstAfter time.Duration // resume to first record
	drain      time.Duration
	rssMax     int64 // largest VmRSS while draining
	hwm        int64 // VmHWM at the end
	sinkCPU    float64
	selfCPU    float64 // harness: broker, receiver (and the bare consumer)
	wire, body int64   // request body bytes as sent, and after gunzip
	requests   int64
}

func bench(o options) error {
	dir, err := os.MkdirTemp("", "spur-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	needSpur := false
	for _, c := range o.cases {
		needSpur = needSpur || c != "bare"
	}
	if needSpur && o.spurBin == "" {
		if o.spurBin, err = buildSpur(dir); err != nil {
			return err
		}
	}
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.AllowAutoTopicCreation()}
	if !o.memory {
		opts = append(opts, kfake.DataDir(filepath.Join(dir, "kafka")))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return err
	}
	defer c.Close()
	seeds := c.ListenAddrs()

	const topic = "tracking"
	start := time.Now()
	size, err := fill(seeds, topic, o.partitions, o.records, o.shape == "compact", nil)
	if err != nil {
		return err
	}
	perRec := float64(size) / float64(o.records)
	fmt.Printf("bench: %d datagen events (event.shape=%s, avg value %.0f B, %.0f MB) in %d partitions, preloaded in %v; in-process kfake (in memory: %v); %d runs; sink tasks.max=%d\n",
		o.records, o.shape, perRec, float64(size)/1e6, o.partitions, time.Since(start).Round(100*time.Millisecond), o.memory, o.runs, o.tasks)
	fmt.Printf("http sink: request.body.format=json, batch.max.size=%d, max.in.flight.requests=%d, batch.key.pattern=%q, batch.linger.ms=%d\n",
		o.batch, o.inFlight, o.batchKey, o.linger)

	for _, cs := range o.cases {
		if base, _ := strings.CutSuffix(cs, "@b"); base != "http-avro" || o.registryURL != "" {
			continue
		}
		srv, id := startRegistry()
		defer srv.Close()
		o.registryURL = srv.URL
		start := time.Now()
		encode, err := avroEncoder(id)
		if err != nil {
			return err
		}
		asize, err := fill(seeds, avroTopic, o.partitions, o.records, o.shape == "compact", encode)
		if err != nil {
			return err
		}
		fmt.Printf("http-avro: the same events as Schema Registry framed Avro in %s (avg value %.0f B), preloaded in %v; value.converter=AvroConverter\n",
			avroTopic, float64(asize)/float64(o.records), time.Since(start).Round(100*time.Millisecond))
	}

	results := map[string][]result{}
	seq := 0
	for run := 0; run < o.runs; run++ {
		order := append(append([]string{}, o.cases[run%len(o.cases):]...), o.cases[:run%len(o.cases)]...)
		for _, cs := range order {
			seq++
			r, err := drainCase(o, cs, seeds, topic, dir, seq, "")
			if err != nil {
				return fmt.Errorf("run %d, %s: %w", run+1, cs, err)
			}
			results[cs] = append(results[cs], r)
			fmt.Printf("run %d %-10s %9.0f rec/s  (first record after %v, drain %v)%s\n", run+1, cs, r.rate,
				r.firstAfter.Round(time.Millisecond), r.drain.Round(time.Millisecond), memNote(r))
		}
	}
	printTable(o, results, perRec)

	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return err
		}
		for _, cs := range o.cases {
			if cs == "bare" {
				continue
			}
			seq++
			if _, err := drainCase(o, cs, seeds, topic, dir, seq, o.profileDir); err != nil {
				return fmt.Errorf("profiled %s: %w", cs, err)
			}
		}
	}
	return nil
}

func memNote(r result) string {
	if r.hwm == 0 {
		return ""
	}
	return fmt.Sprintf(", sink RSS max %.0f MB, CPU %.1f s", float64(r.rssMax)/1e6, r.sinkCPU)
}

// avroTopic holds the http-avro case's events.
const avroTopic = "tracking-avro"

func drainCase(o options, cs string, seeds []string, topic, dir string, seq int, profileDir string) (result, error) {
	if base, _ := strings.CutSuffix(cs, "@b"); base == "http-avro" {
		topic = avroTopic
	}
	if cs == "bare" {
		return bareDrain(seeds, topic, o.records, seq)
	}
	return spurDrain(o, cs, seeds, topic, dir, seq, profileDir)
}

// fill produces n datagen events and returns their total value size. encode,
// when set, turns each JSON event into the value to produce.
func fill(seeds []string, topic string, parts int32, n int, compact bool, encode func(js []byte) ([]byte, error)) (int, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(context.Background(), parts, 1, nil, topic); err != nil {
		return 0, err
	}
	total := 0
	errc := make(chan error, 1)
	event := datagen.AppendEvent
	if compact {
		event = datagen.AppendCompactEvent
	}
	for i := 0; i < n; i++ {
		v, uid := event(nil, 1, 0, int64(i))
		if encode != nil {
			var err error
			if v, err = encode(v); err != nil {
				return 0, fmt.Errorf("event %d: %w", i, err)
			}
		}
		total += len(v)
		cl.Produce(context.Background(), &kgo.Record{Key: []byte(strconv.FormatInt(uid, 10)), Value: v}, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errc <- err:
				default:
				}
			}
		})
	}
	if err := cl.Flush(context.Background()); err != nil {
		return 0, err
	}
	select {
	case err := <-errc:
		return 0, err
	default:
	}
	return total, nil
}

// bareDrain is the limit: a franz-go group consumer that only counts.
func bareDrain(seeds []string, topic string, n, seq int) (result, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic), kgo.ConsumerGroup("bare-"+strconv.Itoa(seq)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return result{}, err
	}
	defer cl.Close()
	start := time.Now()
	var first time.Time
	var cpu0 float64
	got := 0
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for got < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return result{}, fmt.Errorf("bare consumer: %d of %d after timeout", got, n)
		}
		if k := fs.NumRecords(); k > 0 && first.IsZero() {
			first, cpu0 = time.Now(), cpuSeconds("self")
		}
		got += fs.NumRecords()
	}
	end := time.Now()
	return result{rate: float64(n) / end.Sub(first).Seconds(), fromCreate: float64(n) / end.Sub(start).Seconds(),
		firstAfter: first.Sub(start), drain: end.Sub(first), selfCPU: cpuSeconds("self") - cpu0}, nil
}

// spurDrain starts a worker process, creates the sink connector on the
// topic (paused until its consumer group is stable), and waits until the
// sink holds every record.
func spurDrain(o options, cs string, seeds []string, topic, dir string, seq int, profileDir string) (result, error) {
	id := strconv.Itoa(seq)
	bin := o.spurBin
	if base, isB := strings.CutSuffix(cs, "@b"); isB {
		cs, bin = base, o.spurB
	}
	p, err := startSpur(bin, strings.Join(seeds, ","), dir, id, o.workerEnv, o.workerCfg)
	if err != nil {
		return result{}, err
	}
	defer func() {
		p.stop()
		if o.keepLogs != "" {
			if b, err := os.ReadFile(p.log); err == nil && os.MkdirAll(o.keepLogs, 0o755) == nil {
				_ = os.WriteFile(filepath.Join(o.keepLogs, cs+"-"+id+".log"), b, 0o644)
			}
		}
	}()
	mem := sampleMemory(p.pid(), 20*time.Millisecond)
	defer func() {
		select {
		case <-mem.done:
		default:
			mem.finish()
		}
	}()

	name := cs + "-" + id
	cfg := map[string]string{"topics": topic, "tasks.max": strconv.Itoa(o.tasks)}
	var rcv *receiver
	var lines *lineCounter
	out := filepath.Join(dir, name+".jsonl")
	switch cs {
	case "http", "http-gzip", "http-avro":
		if rcv, err = newReceiver(int64(o.records), o.verify); err != nil {
			return result{}, err
		}
		defer rcv.close()
		cfg["connector.class"] = "http-sink"
		cfg["http.api.url"] = rcv.url
		cfg["request.body.format"] = "json"
		cfg["batch.max.size"] = strconv.Itoa(o.batch)
		cfg["max.in.flight.requests"] = strconv.Itoa(o.inFlight)
		cfg["batch.linger.ms"] = strconv.Itoa(o.linger)
		if o.batchKey != "" {
			cfg["batch.key.pattern"] = o.batchKey
		}
		if cs == "http-gzip" {
			cfg["request.compression"] = "gzip"
		}
		if cs == "http-avro" {
			cfg["value.converter"] = "io.confluent.connect.avro.AvroConverter"
			cfg["value.converter.schema.registry.url"] = o.registryURL
		}
	case "es":
		if rcv, err = newReceiver(int64(o.records), o.verify); err != nil {
			return result{}, err
		}
		defer rcv.close()
		cfg["connector.class"] = "elasticsearch-sink"
		cfg["connection.url"] = strings.TrimSuffix(rcv.url, "/ingest")
		cfg["key.ignore"] = "true"
		cfg["batch.size"] = strconv.Itoa(o.batch)
		cfg["max.in.flight.requests"] = strconv.Itoa(o.inFlight)
		cfg["linger.ms"] = strconv.Itoa(o.linger)
	case "file":
		cfg["connector.class"] = "file-sink"
		cfg["file"] = out
		lines = &lineCounter{}
	}
	for k, v := range o.connCfg {
		cfg[k] = v
	}
	count := func() int64 {
		if rcv != nil {
			return rcv.records.Load()
		}
		return int64(lines.count(out))
	}

	// The connector starts paused, and runs once its tasks' consumers
	// form one stable group: otherwise the drain measures a group-protocol
	// race of the start as well. kfake completes a new group's first join
	// at once (Kafka holds it for group.initial.rebalance.delay.ms, 3 s by
	// default), so the task whose JoinGroup lands first often takes all
	// partitions and drains alone for the ~1 s the cooperative rebalance
	// that brings in the second task takes: runs came out bimodal,
	// 700k or 920k rec/s for the same build.
	if err := p.create(name, cfg, "PAUSED"); err != nil {
		return result{}, err
	}
	tasks, err := p.taskCount(name) // the file sink runs one task whatever tasks.max says
	if err != nil {
		return result{}, err
	}
	if err := waitGroupStable(seeds, "connect-"+name, min(tasks, int(o.partitions))); err != nil {
		return result{}, fmt.Errorf("%w; status: %s", err, p.taskState(name))
	}
	var perf *perfRecorder
	created := time.Now()
	if err := p.resume(name); err != nil {
		return result{}, err
	}
	if profileDir != "" {
		if perf, err = startPerf(p.pid(), filepath.Join(profileDir, "perf-"+cs+".data")); err != nil {
			return result{}, err
		}
	}
	deadline := created.Add(5 * time.Minute)
	var first time.Time
	var cpu0, self0 float64
	for {
		got := count()
		if got > 0 && first.IsZero() {
			first = time.Now()
			if rcv != nil {
				first = time.Unix(0, rcv.firstNano.Load())
			}
			cpu0, self0 = cpuSeconds(strconv.Itoa(p.pid())), cpuSeconds("self")
			mem.reset()
		}
		if got >= int64(o.records) {
			break
		}
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("%d of %d records at the sink after 5 minutes; status: %s", got, o.records, p.taskState(name))
		}
		select {
		case <-p.done:
			return result{}, fmt.Errorf("the worker exited: %s", p.tail())
		case <-time.After(5 * time.Millisecond):
		}
	}
	end := time.Now()
	if rcv != nil {
		end = time.Unix(0, rcv.lastNano.Load())
	}
	r := result{
		rate: float64(o.records) / end.Sub(first).Seconds(), fromCreate: float64(o.records) / end.Sub(created).Seconds(),
		firstAfter: first.Sub(created), drain: end.Sub(first),
		sinkCPU: cpuSeconds(strconv.Itoa(p.pid())) - cpu0, selfCPU: cpuSeconds("self") - self0,
	}
	r.rssMax = mem.finish()
	_, r.hwm = procStatus(p.pid())
	if perf != nil {
		if err := perf.finish(); err != nil {
			return result{}, err
		}
	}
	if rcv != nil {
		r.wire, r.body, r.requests = rcv.wireBytes.Load(), rcv.bodyBytes.Load(), rcv.requests.Load()
		if got := rcv.records.Load(); got != int64(o.records) || rcv.bad.Load() > 0 {
			fmt.Printf("  warning: the receiver counted %d records (want %d) and %d bad bodies\n", got, o.records, rcv.bad.Load())
		}
	}
	return r, nil
}

func printTable(o options, results map[string][]result, perRec float64) {
	bare := 0.0
	if rs := results["bare"]; len(rs) > 0 {
		bare = median(rs, func(r result) float64 { return r.rate })
	}
	fmt.Printf("\nmedians of %d runs (%d records of %.0f B; drain rate = records / first-to-last record at the sink):\n\n", o.runs, o.records, perRec)
	fmt.Println("| case | rec/s (median) | min..max | % of bare | MB/s | from resume, rec/s | sink RSS max while draining | sink VmHWM | sink CPU s (cores) | harness CPU s | requests | wire MB (B/rec) | body MB |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, cs := range o.cases {
		rs := results[cs]
		if len(rs) == 0 {
			continue
		}
		rate := median(rs, func(r result) float64 { return r.rate })
		pct := "-"
		if bare > 0 {
			pct = fmt.Sprintf("%.0f%%", 100*rate/bare)
		}
		mem, hwm, cpu := "-", "-", "-"
		if cs != "bare" {
			mem = fmt.Sprintf("%.0f MB (max %.0f)", median(rs, func(r result) float64 { return float64(r.rssMax) / 1e6 }), maxOf(rs, func(r result) float64 { return float64(r.rssMax) / 1e6 }))
			hwm = fmt.Sprintf("%.0f MB", median(rs, func(r result) float64 { return float64(r.hwm) / 1e6 }))
			sc := median(rs, func(r result) float64 { return r.sinkCPU })
			cpu = fmt.Sprintf("%.1f (%.2f)", sc, sc/median(rs, func(r result) float64 { return r.drain.Seconds() }))
		}
		reqs, wire, body := "-", "-", "-"
		if strings.HasPrefix(cs, "http") {
			w := median(rs, func(r result) float64 { return float64(r.wire) })
			reqs = fmt.Sprintf("%.0f", median(rs, func(r result) float64 { return float64(r.requests) }))
			wire = fmt.Sprintf("%.0f (%.0f)", w/1e6, w/float64(o.records))
			body = fmt.Sprintf("%.0f", median(rs, func(r result) float64 { return float64(r.body) })/1e6)
		}
		fmt.Printf("| %s | %.0f | %.0f..%.0f | %s | %.0f | %.0f | %s | %s | %s | %.1f | %s | %s | %s |\n", cs, rate,
			minOf(rs, func(r result) float64 { return r.rate }), maxOf(rs, func(r result) float64 { return r.rate }), pct,
			rate*perRec/1e6, median(rs, func(r result) float64 { return r.fromCreate }), mem, hwm, cpu,
			median(rs, func(r result) float64 { return r.selfCPU }), reqs, wire, body)
	}
	if bare > 0 {
		fmt.Println()
		for _, t := range []struct {
			cs  string
			min float64
		}{{"http", 0.60}, {"http-gzip", 0.40}, {"http@b", 0.60}, {"http-gzip@b", 0.40}} {
			rs := results[t.cs]
			if len(rs) == 0 {
				continue
			}
			rate := median(rs, func(r result) float64 { return r.rate })
			rss := maxOf(rs, func(r result) float64 { return float64(r.rssMax) })
			verdict := func(ok bool) string {
				if ok {
					return "met"
				}
				return "MISSED"
			}
			fmt.Printf("target %-11s >= %.0f%% of bare: %.0f%% %s; RSS < 100 MB while draining: max %.0f MB %s\n",
				t.cs, 100*t.min, 100*rate/bare, verdict(rate >= t.min*bare), rss/1e6, verdict(rss < 100e6))
		}
	}
}

func median(rs []result, f func(result) float64) float64 {
	s := values(rs, f)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func minOf(rs []result, f func(result) float64) float64 { return values(rs, f)[0] }
func maxOf(rs []result, f func(result) float64) float64 { s := values(rs, f); return s[len(s)-1] }

func values(rs []result, f func(result) float64) []float64 {
	s := make([]float64, len(rs))
	for i, r := range rs {
		s[i] = f(r)
	}
	sort.Float64s(s)
	return s
}
