// Command bench measures Spur's sink path against the limit: a bare franz-go
// consumer draining the same topic from the same broker.
//
//	go run ./bench -records 1000000 -partitions 6 -runs 5
//
// Each run fills a fresh topic with datagen events, then alternates a bare
// consumer drain and a Spur worker running the file sink (count checked at
// the sink: the file's lines) and prints per-run numbers and medians.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"time"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/connectors/datagen"
	"github.com/spur-connect/spur/connectors/file"
	"github.com/spur-connect/spur/runtime"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	records := flag.Int("records", 500000, "records per run")
	partitions := flag.Int("partitions", 6, "topic partitions")
	runs := flag.Int("runs", 3, "runs (A/B alternating)")
	memory := flag.Bool("memory", false, "keep the broker in memory instead of on disk")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := bench(*records, int32(*partitions), *runs, *memory); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func bench(n int, parts int32, runs int, memory bool) error {
	dir, err := os.MkdirTemp("", "spur-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	opts := []kfake.Opt{kfake.NumBrokers(1)}
	if !memory {
		opts = append(opts, kfake.DataDir(filepath.Join(dir, "kafka")))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return err
	}
	defer c.Close()
	seeds := c.ListenAddrs()
	fmt.Printf("bench: %d records/run, %d partitions, %d runs, in-process kfake (in memory: %v)\n", n, parts, runs, memory)

	var bare, spur []float64
	var bytesPerRec float64
	for run := 0; run < runs; run++ {
		topic := "events-" + strconv.Itoa(run)
		size, err := fill(seeds, topic, parts, n)
		if err != nil {
			return err
		}
		bytesPerRec = float64(size) / float64(n)
		b, err := bareDrain(seeds, topic, n)
		if err != nil {
			return err
		}
		s, err := spurDrain(seeds, topic, n, dir, run)
		if err != nil {
			return err
		}
		bare, spur = append(bare, b), append(spur, s)
		fmt.Printf("run %d: bare consumer %8.0f rec/s | spur file sink %8.0f rec/s (%.0f%%)\n", run+1, b, s, 100*s/b)
	}
	mb, ms := median(bare), median(spur)
	fmt.Printf("median: bare consumer %.0f rec/s (%.0f MB/s) | spur file sink %.0f rec/s (%.0f MB/s) = %.0f%% of the limit; spread spur %.0f..%.0f\n",
		mb, mb*bytesPerRec/1e6, ms, ms*bytesPerRec/1e6, 100*ms/mb, minOf(spur), maxOf(spur))
	return nil
}

// fill produces n datagen events and returns their total value size.
func fill(seeds []string, topic string, parts int32, n int) (int, error) {
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
	for i := 0; i < n; i++ {
		v, uid := datagen.AppendEvent(nil, 1, 0, int64(i))
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
func bareDrain(seeds []string, topic string, n int) (float64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic), kgo.ConsumerGroup("bare-"+topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	start := time.Now()
	got := 0
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for got < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return 0, fmt.Errorf("bare consumer: %d of %d after timeout", got, n)
		}
		got += fs.NumRecords()
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// spurDrain runs a worker with a file sink on the topic and waits for n lines.
func spurDrain(seeds []string, topic string, n int, dir string, run int) (float64, error) {
	reg := connect.NewRegistry()
	reg.MustRegister(runtime.ConverterPlugins()...)
	reg.MustRegister(file.Plugins()...)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cfg, _, err := runtime.ParseWorkerConfig(map[string]string{
		"bootstrap.servers": seeds[0], "listeners": "http://127.0.0.1:" + strconv.Itoa(port),
		"group.id": "bench-" + strconv.Itoa(run), "config.storage.topic": "bench-configs-" + strconv.Itoa(run),
		"status.storage.topic": "bench-status-" + strconv.Itoa(run), "offset.storage.topic": "bench-offsets-" + strconv.Itoa(run),
		"heartbeat.interval.ms": "500",
	})
	if err != nil {
		return 0, err
	}
	w, err := runtime.NewWorker(cfg, runtime.Options{Registry: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for !w.Ready() {
		time.Sleep(10 * time.Millisecond)
	}
	out := filepath.Join(dir, topic+".jsonl")
	start := time.Now()
	if _, err := w.PutConnector(ctx, "sink", map[string]string{"name": "sink", "connector.class": "file-sink", "topics": topic, "file": out}, "", false); err != nil {
		return 0, err
	}
	deadline := time.Now().Add(5 * time.Minute)
	var lc lineCounter
	var first time.Time
	for time.Now().Before(deadline) {
		got := lc.count(out)
		if got > 0 && first.IsZero() {
			first = time.Now()
		}
		if got >= n {
			fmt.Printf("  spur: first record %v after create, then %.0f rec/s\n", first.Sub(start).Round(time.Millisecond), float64(n)/time.Since(first).Seconds())
			return float64(n) / time.Since(start).Seconds(), nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return 0, fmt.Errorf("spur: %d of %d lines after timeout", lc.n, n)
}

// lineCounter counts the lines of a growing file, reading only what is new.
type lineCounter struct {
	off int64
	n   int
	buf []byte
}

func (c *lineCounter) count(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return c.n
	}
	defer f.Close()
	if c.buf == nil {
		c.buf = make([]byte, 1<<20)
	}
	for {
		k, err := f.ReadAt(c.buf, c.off)
		c.n += bytes.Count(c.buf[:k], []byte("\n"))
		c.off += int64(k)
		if err != nil || k == 0 {
			return c.n
		}
	}
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func minOf(xs []float64) float64 { return sorted(xs)[0] }
func maxOf(xs []float64) float64 { s := sorted(xs); return s[len(s)-1] }
func sorted(xs []float64) []float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s
}
