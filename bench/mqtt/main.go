// Command mqtt measures the MQTT source end to end: messages per second
// from mosquitto into Kafka, through `spur run` (built without -race) and
// through a do-it-yourself pipeline, `mosquitto_sub | kcat -P`, on the same
// machine, the same broker and the same Kafka (a `spur broker` process).
//
//	go run ./bench/mqtt                       # from the repository root
//	go run ./bench/mqtt -messages 200000 -runs 5
//
// Every measurement drains a backlog: the consumers' persistent sessions
// are subscribed, then go away (the connector is stopped, the
// mosquitto_sub processes are not running), the messages are published
// and queued by mosquitto, then the consumers start. Messages are counted
// at Kafka (the sum of the topic's end offsets, polled every 10 ms): the
// rate is the backlog over the time from the consumers' start to the last
// record (start-up included, so nothing a consumer does before its first
// record is missed), and also the rate while Kafka went from 10% to 90%;
// the topic is read back afterwards to check that every message is there
// once.
//
// Both pipelines get the same broker settings. mosquitto_sub acknowledges
// a message when it receives it (before kcat has it, let alone Kafka: a
// crash loses what is in the pipe); Spur acknowledges after Kafka's
// acknowledgement. kcat runs with librdkafka's defaults (acks=all, linger
// 5 ms); Spur writes with the ByteArrayConverter and its default headers.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	messages := flag.Int("messages", 100000, "messages per measurement")
	runs := flag.Int("runs", 3, "runs per cell (the table shows medians)")
	partitions := flag.Int("partitions", 6, "partitions of each Kafka topic")
	keep := flag.Bool("keep", false, "keep the temporary directory (logs)")
	flag.Parse()
	if err := bench(*messages, *runs, int32(*partitions), *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench/mqtt:", err)
		os.Exit(1)
	}
}

// payload is a typical small IoT JSON message (about 120 bytes); seq
// identifies it when the topic is read back.
func payload(seq int) []byte {
	return []byte(fmt.Sprintf(`{"device":"d-%04d","seq":%d,"ts":1767225600123,"temperature":21.5,"humidity":48.2,"battery":3.71,"fw":"1.4.2"}`, seq%100, seq))
}

type env struct {
	dir       string
	spur      string
	kafka     string
	mqttAddr  string
	worker    string // REST URL
	adm       *kadm.Client
	cl        *kgo.Client
	procs     []*exec.Cmd
	mosqSub   string
	kcat      string
	stdbuf    string
	subLogDir string
}

func bench(n, runs int, parts int32, keep bool) error {
	mosq := lookPath("mosquitto", "/usr/sbin/mosquitto")
	mosqSub := lookPath("mosquitto_sub", "/usr/bin/mosquitto_sub")
	kcat := lookPath("kcat", "/usr/bin/kcat")
	stdbuf := lookPath("stdbuf", "/usr/bin/stdbuf")
	if mosq == "" || mosqSub == "" || kcat == "" || stdbuf == "" {
		return errors.New("needs mosquitto, mosquitto_sub, kcat and stdbuf (apt-get install -y mosquitto mosquitto-clients kcat coreutils)")
	}
	dir, err := os.MkdirTemp("", "spur-bench-mqtt-")
	if err != nil {
		return err
	}
	if keep {
		fmt.Println("bench/mqtt: files in", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	e := &env{dir: dir, mosqSub: mosqSub, kcat: kcat, stdbuf: stdbuf, subLogDir: dir}
	defer e.stopAll()

	fmt.Fprintln(os.Stderr, "bench/mqtt: building ./cmd/spur (without -race)")
	e.spur = filepath.Join(dir, "spur")
	build := exec.Command("go", "build", "-o", e.spur, "./cmd/spur")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building ./cmd/spur (run from the repository root): %w", err)
	}

	// Kafka: a `spur broker` process (kfake on disk).
	kport, err := freePort()
	if err != nil {
		return err
	}
	e.kafka = "127.0.0.1:" + strconv.Itoa(kport)
	if _, err := e.start("kafka", e.spur, "broker", "--addr", e.kafka, "--data-dir", filepath.Join(dir, "kafka")); err != nil {
		return err
	}
	if e.cl, err = kgo.NewClient(kgo.SeedBrokers(e.kafka)); err != nil {
		return err
	}
	defer e.cl.Close()
	e.adm = kadm.NewClient(e.cl)
	if err := waitFor(30*time.Second, func() error { _, err := e.adm.ListBrokers(context.Background()); return err }); err != nil {
		return fmt.Errorf("kafka: %w", err)
	}

	// mosquitto: queues QoS 0 and 1 messages for absent persistent sessions,
	// without limits.
	if e.mqttAddr, err = e.startMosquitto(mosq); err != nil {
		return err
	}

	// One Spur worker for all runs; every run has its own connector.
	wport, err := freePort()
	if err != nil {
		return err
	}
	e.worker = "http://127.0.0.1:" + strconv.Itoa(wport)
	if _, err := e.start("worker", e.spur, "run", "--set", "bootstrap.servers="+e.kafka,
		"--set", "listeners="+e.worker, "--set", "group.id=bench-mqtt"); err != nil {
		return err
	}
	if err := waitFor(60*time.Second, func() error {
		_, code, err := httpDo(http.MethodGet, e.worker+"/connectors", nil)
		if err == nil && code != 200 {
			err = fmt.Errorf("status %d", code)
		}
		return err
	}); err != nil {
		return fmt.Errorf("worker: %w", err)
	}

	fmt.Printf("bench/mqtt: %d messages of %d bytes per run, %d runs per cell, Kafka topics of %d partitions; mosquitto %s; %d CPUs\n",
		n, len(payload(n)), runs, parts, mosquittoVersion(mosq), runtime.NumCPU())
	type cell struct {
		qos, tasks        int
		spur, diy         []float64
		spurAll, diyAll   []float64
		spurTail, diyTail int
		spurLost, diyLost int
		spurDups, diyDups int
	}
	var cells []*cell
	for _, qos := range []int{0, 1} {
		for _, tasks := range []int{1, 2} {
			c := &cell{qos: qos, tasks: tasks}
			cells = append(cells, c)
			for r := 0; r < runs; r++ {
				// alternate which pipeline goes first
				order := []string{"spur", "diy"}
				if r%2 == 1 {
					order = []string{"diy", "spur"}
				}
				for _, kind := range order {
					id := fmt.Sprintf("%s-q%d-t%d-r%d", kind, qos, tasks, r)
					res, err := e.measure(kind, id, qos, tasks, n, parts)
					if err != nil {
						return fmt.Errorf("%s: %w", id, err)
					}
					fmt.Printf("  %-16s %8.0f msg/s (%8.0f from 10%% to 90%%; first record after %v, then %v); %d in Kafka, %d missing, %d duplicates, %d sent only at EOF\n",
						id, res.overall, res.rate, res.startup.Round(time.Millisecond), res.took.Round(time.Millisecond),
						res.total, res.missing, res.dups, res.heldTail)
					if kind == "spur" {
						c.spur, c.spurAll = append(c.spur, res.rate), append(c.spurAll, res.overall)
						c.spurTail, c.spurLost, c.spurDups = c.spurTail+res.heldTail, c.spurLost+res.missing, c.spurDups+res.dups
					} else {
						c.diy, c.diyAll = append(c.diy, res.rate), append(c.diyAll, res.overall)
						c.diyTail, c.diyLost, c.diyDups = c.diyTail+res.heldTail, c.diyLost+res.missing, c.diyDups+res.dups
					}
				}
			}
		}
	}
	fmt.Println()
	fmt.Println("| QoS | tasks / subscribers | Spur msg/s | mosquitto_sub \\| kcat -P msg/s | Spur / DIY | Spur, 10% to 90% | DIY, 10% to 90% |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, c := range cells {
		fmt.Printf("| %d | %d | %.0f (%s) | %.0f (%s) | %.2f | %.0f | %.0f |\n", c.qos, c.tasks,
			median(c.spurAll), spreadOf(c.spurAll), median(c.diyAll), spreadOf(c.diyAll), median(c.spurAll)/median(c.diyAll),
			median(c.spur), median(c.diy))
	}
	fmt.Println()
	fmt.Println("Medians of the runs (min to max). msg/s: the backlog over the time from the consumers' start (connector resumed,")
	fmt.Println("processes started) to the last record in Kafka; 10% to 90%: while Kafka went from 10% to 90% of the messages (a Spur")
	fmt.Println("task takes in a QoS 0 backlog while it connects, so its QoS 0 figure there is mostly producing). 2 tasks or")
	fmt.Println("subscribers share the filter as $share/<group>/<filter>.")
	for _, c := range cells {
		if c.spurLost+c.spurDups+c.diyLost+c.diyDups+c.diyTail+c.spurTail > 0 {
			fmt.Printf("QoS %d, %d: Spur %d missing, %d duplicates; DIY %d missing, %d duplicates, %d held by kcat until its input closed (all runs)\n",
				c.qos, c.tasks, c.spurLost, c.spurDups, c.diyLost, c.diyDups, c.diyTail)
		}
	}
	return nil
}

type result struct {
	startup              time.Duration // consumers started to first record in Kafka
	overall              float64       // messages/s from the consumers' start to the last record
	heldTail             int           // records that reached Kafka only once the consumers stopped (kcat holds the last lines of an open input)
	rate                 float64
	total, missing, dups int
	took                 time.Duration
}

// measure queues n messages for absent consumers, starts them and times the
// drain into Kafka.
func (e *env) measure(kind, id string, qos, tasks, n int, parts int32) (*result, error) {
	topic := "bench." + id
	res, err := e.adm.CreateTopic(context.Background(), parts, 1, nil, topic)
	if err == nil {
		err = res.Err
	}
	if err != nil {
		return nil, fmt.Errorf("create topic: %w", err)
	}
	filter := "bench/" + id + "/+"
	var startConsumers func() (stop func(), err error)
	switch kind {
	case "spur":
		name := id
		cfg := map[string]string{
			"connector.class":                   "mqtt-source",
			"tasks.max":                         strconv.Itoa(tasks),
			"mqtt.server.uri":                   "tcp://" + e.mqttAddr,
			"mqtt.topics":                       filter,
			"mqtt.qos":                          strconv.Itoa(qos),
			"kafka.topic":                       topic,
			"key.converter":                     "org.apache.kafka.connect.storage.StringConverter",
			"value.converter":                   "org.apache.kafka.connect.converters.ByteArrayConverter",
			"records.buffer.queue.full.timeout": "600000",
		}
		if _, code, err := httpDo(http.MethodPost, e.worker+"/connectors", map[string]any{"name": name, "config": cfg}); err != nil || code != 201 {
			return nil, fmt.Errorf("create connector: %v %d", err, code)
		}
		// Running means subscribed: the sessions exist. Stopping keeps them.
		if err := e.waitState(name, tasks, "RUNNING"); err != nil {
			return nil, err
		}
		if _, code, err := httpDo(http.MethodPut, e.worker+"/connectors/"+name+"/stop", nil); err != nil || code/100 != 2 {
			return nil, fmt.Errorf("stop connector: %v %d", err, code)
		}
		if err := e.waitState(name, 0, "STOPPED"); err != nil {
			return nil, err
		}
		startConsumers = func() (func(), error) {
			if _, code, err := httpDo(http.MethodPut, e.worker+"/connectors/"+name+"/resume", nil); err != nil || code != 202 {
				return nil, fmt.Errorf("resume connector: %v %d", err, code)
			}
			return func() { httpDo(http.MethodDelete, e.worker+"/connectors/"+name, nil) }, nil
		}
	case "diy":
		sub := filter
		if tasks > 1 {
			sub = "$share/" + id + "/" + filter
		}
		args := func(i int) []string {
			return []string{"-h", "127.0.0.1", "-p", portOf(e.mqttAddr), "-t", sub, "-q", strconv.Itoa(qos), "-c", "-i", id + "-" + strconv.Itoa(i)}
		}
		for i := 0; i < tasks; i++ { // create the persistent sessions and subscriptions
			if out, err := exec.Command(e.mosqSub, append(args(i), "-E")...).CombinedOutput(); err != nil {
				return nil, fmt.Errorf("mosquitto_sub -E: %v: %s", err, out)
			}
		}
		startConsumers = func() (func(), error) {
			var subs, kcats []*exec.Cmd
			// Ending mosquitto_sub closes kcat's input: kcat then sends the
			// lines it still held and exits.
			stop := func() {
				for _, c := range subs {
					_ = c.Process.Signal(syscall.SIGTERM)
					_ = c.Wait()
				}
				for _, c := range kcats {
					done := make(chan struct{})
					go func() { c.Wait(); close(done) }()
					select {
					case <-done:
					case <-time.After(30 * time.Second):
						_ = c.Process.Kill()
						<-done
					}
				}
			}
			for i := 0; i < tasks; i++ {
				log, err := os.Create(filepath.Join(e.subLogDir, id+"-"+strconv.Itoa(i)+".log"))
				if err != nil {
					return nil, err
				}
				// mosquitto_sub writes through stdio: line buffering makes
				// every message reach kcat at once (block buffering leaves
				// the last few in mosquitto_sub's buffer).
				subCmd := exec.Command(e.stdbuf, append([]string{"-oL", e.mosqSub}, args(i)...)...)
				kc := exec.Command(e.kcat, "-P", "-b", e.kafka, "-t", topic)
				pipe, err := subCmd.StdoutPipe()
				if err != nil {
					return nil, err
				}
				kc.Stdin = pipe
				subCmd.Stderr, kc.Stdout, kc.Stderr = log, log, log
				if err := kc.Start(); err != nil {
					return nil, err
				}
				if err := subCmd.Start(); err != nil {
					return nil, err
				}
				subs, kcats = append(subs, subCmd), append(kcats, kc)
			}
			return stop, nil
		}
	}

	// Queue the backlog while the consumers are away.
	if err := e.publish(id, qos, n); err != nil {
		return nil, err
	}
	started := time.Now()
	stop, err := startConsumers()
	if err != nil {
		return nil, err
	}
	var once sync.Once
	stopOnce := func() { once.Do(stop) }
	defer stopOnce()

	var first, t10, t90 time.Time
	var c10, c90 int64
	last, lastChange := int64(0), time.Now()
	for {
		c, err := e.count(topic)
		if err != nil {
			return nil, err
		}
		now := time.Now()
		if c > 0 && first.IsZero() {
			first = now
		}
		if c*10 >= int64(n) && t10.IsZero() {
			t10, c10 = now, c
		}
		if c*10 >= int64(n)*9 && t90.IsZero() {
			t90, c90 = now, c
		}
		if c != last {
			last, lastChange = c, now
		}
		if c >= int64(n) {
			break
		}
		if now.Sub(lastChange) > 3*time.Second {
			break // no progress: count what came
		}
		time.Sleep(10 * time.Millisecond)
	}
	r := &result{took: lastChange.Sub(first), startup: first.Sub(started)}
	if !t90.IsZero() && t90.After(t10) {
		r.rate = float64(c90-c10) / t90.Sub(t10).Seconds()
	}
	r.overall = float64(last) / lastChange.Sub(started).Seconds()
	stopOnce()
	final, err := e.count(topic)
	if err != nil {
		return nil, err
	}
	r.heldTail = int(final - last)
	r.total, r.missing, r.dups, err = e.readBack(topic, n)
	return r, err
}

func (e *env) count(topic string) (int64, error) {
	offs, err := e.adm.ListEndOffsets(context.Background(), topic)
	if err != nil {
		return 0, err
	}
	var sum int64
	offs.Each(func(o kadm.ListedOffset) { sum += o.Offset })
	return sum, nil
}

// readBack reads the topic and checks that every seq is there once.
func (e *env) readBack(topic string, n int) (total, missing, dups int, err error) {
	want, err := e.count(topic)
	if err != nil {
		return 0, 0, 0, err
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.kafka), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return 0, 0, 0, err
	}
	defer cl.Close()
	seen := make([]uint8, n)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for int64(total) < want && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			total++
			if i := bytes.Index(r.Value, []byte(`"seq":`)); i >= 0 {
				v := r.Value[i+6:]
				j := bytes.IndexByte(v, ',')
				if s, err := strconv.Atoi(string(v[:max(j, 0)])); err == nil && s >= 0 && s < n {
					if seen[s] < 255 {
						seen[s]++
					}
				}
			}
		})
	}
	for _, c := range seen {
		switch {
		case c == 0:
			missing++
		case c > 1:
			dups += int(c) - 1
		}
	}
	return total, missing, dups, nil
}

func (e *env) waitState(name string, tasks int, state string) error {
	return waitFor(60*time.Second, func() error {
		b, code, err := httpDo(http.MethodGet, e.worker+"/connectors/"+name+"/status", nil)
		if err != nil || code != 200 {
			return fmt.Errorf("status: %v %d %s", err, code, b)
		}
		var st struct {
			Connector struct {
				State string `json:"state"`
			} `json:"connector"`
			Tasks []struct {
				State string `json:"state"`
				Trace string `json:"trace"`
			} `json:"tasks"`
		}
		if err := json.Unmarshal(b, &st); err != nil {
			return err
		}
		if st.Connector.State != state || len(st.Tasks) != tasks {
			return fmt.Errorf("%s is %s with %d tasks, want %s with %d", name, st.Connector.State, len(st.Tasks), state, tasks)
		}
		for _, t := range st.Tasks {
			if t.State != state {
				return fmt.Errorf("task %s %s", t.State, t.Trace)
			}
		}
		return nil
	})
}

// publish sends n messages to bench/<id>/d-<i%100> with QoS qos, pipelined,
// and returns once mosquitto has processed them all: a last QoS 1 message
// on another topic comes back acknowledged only after the ones before it on
// the same connection were handled.
func (e *env) publish(id string, qos, n int) error {
	conn, err := net.Dial("tcp", e.mqttAddr)
	if err != nil {
		return err
	}
	c := paho.NewClient(paho.ClientConfig{Conn: packets.NewThreadSafeConn(conn)})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: "bench-pub-" + id, KeepAlive: 30, CleanStart: true}); err != nil {
		return err
	}
	defer c.Disconnect(&paho.Disconnect{})
	for i := 0; i < n; i++ {
		_, err := c.PublishWithOptions(ctx, &paho.Publish{Topic: fmt.Sprintf("bench/%s/d-%d", id, i%100), QoS: byte(qos), Payload: payload(i)},
			paho.PublishOptions{Method: paho.PublishMethod_AsyncSend})
		if err != nil {
			return fmt.Errorf("publish: %w", err)
		}
	}
	if _, err := c.Publish(ctx, &paho.Publish{Topic: "bench-marker/" + id, QoS: 1, Payload: []byte("end")}); err != nil {
		return fmt.Errorf("publish marker: %w", err)
	}
	return nil
}

func (e *env) startMosquitto(bin string) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	mdir := filepath.Join(e.dir, "mosquitto")
	if err := os.MkdirAll(mdir, 0o755); err != nil {
		return "", err
	}
	// mosquitto started as root drops privileges to the mosquitto user.
	_ = os.Chmod(e.dir, 0o755)
	if os.Geteuid() == 0 {
		if u, err := user.Lookup("mosquitto"); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			gid, _ := strconv.Atoi(u.Gid)
			_ = os.Chown(mdir, uid, gid)
		}
	}
	conf := filepath.Join(mdir, "mosquitto.conf")
	lines := []string{
		fmt.Sprintf("listener %d 127.0.0.1", port),
		"allow_anonymous true",
		"persistence false",
		"max_inflight_messages 1000", // MQTT 3.1.1 clients (mosquitto_sub); MQTT 5 clients bring their Receive Maximum
		"max_queued_messages 0",      // unlimited: nothing is dropped while the consumers are away
		"queue_qos0_messages true",   // queue QoS 0 messages for absent persistent sessions too
		"log_dest stderr",
		"log_type error",
		"log_type warning",
	}
	if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return "", err
	}
	if _, err := e.start("mosquitto", bin, "-c", conf); err != nil {
		return "", err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	return addr, waitFor(10*time.Second, func() error {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err
	})
}

// start runs a process with its output in a log file; stopAll ends it.
func (e *env) start(name, bin string, args ...string) (*exec.Cmd, error) {
	log, err := os.Create(filepath.Join(e.dir, name+".log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	e.procs = append(e.procs, cmd)
	return cmd, nil
}

func (e *env) stopAll() {
	for i := len(e.procs) - 1; i >= 0; i-- {
		p := e.procs[i]
		_ = p.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = p.Process.Kill()
			<-done
		}
	}
}

func lookPath(name, fallback string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if _, err := os.Stat(fallback); err == nil {
		return fallback
	}
	return ""
}

func mosquittoVersion(bin string) string {
	out, _ := exec.Command(bin, "-h").CombinedOutput()
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 3 && f[0] == "mosquitto" && f[1] == "version" {
			return f[2]
		}
	}
	return "?"
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitFor(total time.Duration, fn func() error) error {
	deadline := time.Now().Add(total)
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func httpDo(method, url string, body any) ([]byte, int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, resp.StatusCode, err
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func spreadOf(xs []float64) string {
	if len(xs) == 0 {
		return "-"
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return fmt.Sprintf("%.0f to %.0f", s[0], s[len(s)-1])
}
