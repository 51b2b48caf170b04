package mqtt

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/connect/connecttest"
)

func mosquittoPub(t *testing.T, b *broker, args ...string) {
	t.Helper()
	bin, err := exec.LookPath("mosquitto_pub")
	if err != nil {
		t.Skip("mosquitto_pub is not installed (apt-get install -y mosquitto-clients)")
	}
	args = append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(b.port)}, args...)
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub %v: %v\n%s", args, err, out)
	}
}

// Messages published with mosquitto_pub and a Go client arrive as records
// with the configured topic, key, value and the MQTT headers.
func TestRecordsFromMosquitto(t *testing.T) {
	b := startBroker(t, brokerOptions{})
	// Retained before the task subscribes: delivered on subscription with retain=true.
	mosquittoPub(t, b, "-q", "1", "-r", "-t", "sensors/d2/state", "-m", "on")
	h := startTask(t, taskConfig(b, keyKafkaTopic, "iot.${mqtt.topic}", keyValueFormat, "json", keyQoS, "2"), "plant", 0, nil)

	const doc = `{"t":21.5,"id":12345678901234567890}`
	mosquittoPub(t, b, "-V", "mqttv5", "-q", "1", "-t", "sensors/d1/temp", "-m", doc,
		"-D", "publish", "user-property", "site", "plant7", "-D", "publish", "content-type", "application/json")
	mosquittoPub(t, b, "-q", "0", "-t", "sensors/d1/raw", "-m", "not json")
	p := newPublisher(t, b)
	p.publish("sensors/d3/blob", []byte{0xff, 0x00, 0xfe}, 2) // the subscription's QoS 2 lets it arrive as QoS 2
	p.publish("other/ignored", []byte("x"), 1)

	recs := h.poll(4, 10*time.Second)
	if len(recs) != 4 {
		t.Fatalf("got %d records: %v", len(recs), values(recs))
	}
	byTopic := map[string]*connect.Record{}
	for _, r := range recs {
		byTopic[header(r, "mqtt.topic")] = r
	}
	type want struct {
		kafka, format, value, qos, retained string
	}
	for mqttTopic, w := range map[string]want{
		"sensors/d2/state": {"iot.sensors.d2.state", "string", "on", "1", "true"},
		"sensors/d1/temp":  {"iot.sensors.d1.temp", "json", doc, "1", "false"},
		"sensors/d1/raw":   {"iot.sensors.d1.raw", "string", "not json", "0", "false"},
		"sensors/d3/blob":  {"iot.sensors.d3.blob", "bytes", "\xff\x00\xfe", "2", "false"},
	} {
		r := byTopic[mqttTopic]
		if r == nil {
			t.Fatalf("no record for %s", mqttTopic)
		}
		raw, _ := r.Value.Raw()
		if r.Topic != w.kafka || r.Partition != -1 || r.Value.Format().String() != w.format || string(raw) != w.value {
			t.Errorf("%s: topic %q partition %d format %s value %q", mqttTopic, r.Topic, r.Partition, r.Value.Format(), raw)
		}
		if k, _ := r.Key.Raw(); string(k) != mqttTopic || r.Key.Format() != connect.FormatString {
			t.Errorf("%s: key %q (%s)", mqttTopic, k, r.Key.Format())
		}
		if header(r, "mqtt.qos") != w.qos || header(r, "mqtt.retained") != w.retained || header(r, "mqtt.duplicate") != "false" {
			t.Errorf("%s: headers %v", mqttTopic, r.Headers)
		}
		id, err := strconv.Atoi(header(r, "mqtt.message.id"))
		if err != nil || (w.qos == "0") != (id == 0) {
			t.Errorf("%s: mqtt.message.id %q with qos %s", mqttTopic, header(r, "mqtt.message.id"), w.qos)
		}
		if r.SourcePartition[partitionClientID] != "spur-plant-0" || r.SourceOffset[offsetSeq] == nil || r.SourceOffset[offsetSubscription] != "sensors/#" {
			t.Errorf("%s: source partition %v offset %v", mqttTopic, r.SourcePartition, r.SourceOffset)
		}
		if time.Since(r.Timestamp) > time.Minute {
			t.Errorf("%s: timestamp %v", mqttTopic, r.Timestamp)
		}
	}
	temp := byTopic["sensors/d1/temp"]
	if header(temp, "mqtt.user.site") != "plant7" || header(temp, "mqtt.content.type") != "application/json" {
		t.Errorf("MQTT 5 properties not in headers: %v", temp.Headers)
	}
	// The JSON value keeps its 64-bit number exactly when a transform decodes it.
	v, err := temp.Value.Value()
	if err != nil || fmt.Sprint(v.(map[string]any)["id"]) != "12345678901234567890" {
		t.Errorf("decoded %v, %v", v, err)
	}
	h.commit(recs)
	if st := h.statsNow(); st.acked != 3 || st.committed != 4 {
		t.Errorf("acked %d committed %d, want 3 (QoS 1/2) and 4", st.acked, st.committed)
	}
}

// A message is acknowledged to the broker only in Commit: the task is
// killed (SIGKILL, in a child process) after polling 10 messages and
// committing 4; the restarted task with the same client id receives the 6
// others again, flagged as duplicates, and after it commits them nothing
// comes back.
func TestNotAcknowledgedUntilCommit(t *testing.T) {
	for _, qos := range []string{"1", "2"} {
		t.Run("qos"+qos, func(t *testing.T) {
			b := startBroker(t, brokerOptions{})
			raw := taskConfig(b, keyQoS, qos)
			child := startChild(t, raw, "killme", 0, 10, 4)
			p := newPublisher(t, b)
			q, _ := strconv.Atoi(qos)
			for i := 0; i < 10; i++ {
				p.publish("sensors/x", []byte(fmt.Sprintf("m-%d", i)), byte(q))
			}
			child.waitFor(t, "committed 4")
			child.kill(t)

			sc := &connecttest.SourceContext{}
			h := startTask(t, raw, "killme", 0, sc)
			recs := h.poll(10, 3*time.Second)
			got := values(recs)
			t.Logf("QoS %s: after killing the task between Poll and Commit, the restarted task received %d messages again: %v", qos, len(recs), got)
			want := []string{"m-4", "m-5", "m-6", "m-7", "m-8", "m-9"}
			if !slices.Equal(got, want) {
				t.Fatalf("redelivered %v, want exactly the uncommitted %v", got, want)
			}
			for _, r := range recs {
				if header(r, "mqtt.duplicate") != "true" {
					t.Errorf("%s redelivered without the duplicate flag", r.Value.String())
				}
			}
			h.commit(recs)
			h.stop()

			h2 := startTask(t, raw, "killme", 0, sc)
			if again := h2.poll(1, time.Second); len(again) != 0 {
				t.Fatalf("committed messages delivered again: %v", values(again))
			}
			p.publish("sensors/x", []byte("after"), byte(q))
			if next := h2.pollCommit(1, 5*time.Second); len(next) != 1 || next[0].Value.String() != "after" {
				t.Fatalf("session does not go on: %v", values(next))
			}
		})
	}
}

// Two tasks with a shared subscription split the messages between them
// without duplicates, and both get some.
func TestSharedSubscriptionSplitsMessages(t *testing.T) {
	b := startBroker(t, brokerOptions{})
	tcs := taskConfigs(t, taskConfig(b), 2)
	if len(tcs) != 2 {
		t.Fatalf("%d task configs", len(tcs))
	}
	hs := []*taskHandle{startTask(t, tcs[0], "shared", 0, nil), startTask(t, tcs[1], "shared", 1, nil)}
	const n = 1000
	var (
		mu   sync.Mutex
		all  []*connect.Record
		each [2]int
		wg   sync.WaitGroup
		done = make(chan struct{})
	)
	for i, h := range hs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				recs, err := h.tk.Poll(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				for _, r := range recs {
					h.tk.Commit(context.Background(), r)
				}
				mu.Lock()
				all = append(all, recs...)
				each[i] += len(recs)
				mu.Unlock()
			}
		}()
	}
	p := newPublisher(t, b)
	p.publishN("sensors/a", "s", n)
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		got := len(all)
		mu.Unlock()
		if got >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // any duplicate would arrive now
	close(done)
	wg.Wait()
	counts := tally(all)
	t.Logf("shared subscription, 2 tasks: %d messages published, task 0 got %d, task 1 got %d, %d distinct", n, each[0], each[1], len(counts))
	if len(all) != n || len(counts) != n {
		t.Fatalf("got %d records, %d distinct, want %d without duplicates", len(all), len(counts), n)
	}
	if each[0] == 0 || each[1] == 0 {
		t.Fatalf("one task got nothing: %v", each)
	}
	if hs[0].tk.s.clientID == hs[1].tk.s.clientID {
		t.Fatal("tasks share a client id")
	}
}

// Going from one task (plain subscription) to two (shared) does not leave
// task 0's session subscribed twice.
func TestScalingUpDropsThePlainSubscription(t *testing.T) {
	b := startBroker(t, brokerOptions{})
	raw := taskConfig(b)
	one := startTask(t, taskConfigs(t, raw, 1)[0], "scale", 0, nil)
	p := newPublisher(t, b)
	p.publishN("sensors/a", "before", 5)
	if got := one.pollCommit(5, 5*time.Second); len(got) != 5 {
		t.Fatalf("one task got %d", len(got))
	}
	one.stop()

	tcs := taskConfigs(t, raw, 2)
	h0, h1 := startTask(t, tcs[0], "scale", 0, nil), startTask(t, tcs[1], "scale", 1, nil)
	p.publishN("sensors/a", "after", 100)
	var recs []*connect.Record
	deadline := time.Now().Add(10 * time.Second)
	for len(recs) < 100 && time.Now().Before(deadline) {
		recs = append(recs, h0.pollCommit(1, 50*time.Millisecond)...)
		recs = append(recs, h1.pollCommit(1, 50*time.Millisecond)...)
	}
	recs = append(recs, h0.pollCommit(1000, 300*time.Millisecond)...)
	recs = append(recs, h1.pollCommit(1000, 300*time.Millisecond)...)
	if c := tally(recs); len(recs) != 100 || len(c) != 100 {
		var extra []string
		for v, n := range c {
			if n > 1 || !strings.HasPrefix(v, "after") {
				extra = append(extra, v)
			}
		}
		t.Fatalf("got %d records, %d distinct, want 100 once each; extra %v", len(recs), len(c), extra)
	}
}

// A restart of mosquitto (with persistence) while the task holds
// uncommitted and unpolled messages loses nothing with QoS 1: the resumed
// session redelivers what was not acknowledged, and messages the task
// still holds are not duplicated.
func TestBrokerRestartLosesNothing(t *testing.T) {
	b := startBroker(t, brokerOptions{})
	h := startTask(t, taskConfig(b), "restart", 0, nil)
	p := newPublisher(t, b)
	p.publishN("sensors/a", "one", 200)

	// Poll at least 100, commit only 50: the rest are in Kafka's hands
	// (polled, not committed), buffered, or still queued at the broker.
	first := h.poll(100, 10*time.Second)
	if len(first) < 100 {
		t.Fatalf("polled %d", len(first))
	}
	h.commit(first[:50])
	all := append([]*connect.Record(nil), first...)

	b.restart()
	p = newPublisher(t, b)
	p.publishN("sensors/a", "two", 200)

	// The other 50 of the first 100 reach Kafka now, after the restart.
	h.commit(first[50:])
	deadline := time.Now().Add(20 * time.Second)
	for len(tally(all)) < 400 && time.Now().Before(deadline) {
		all = append(all, h.pollCommit(1, 100*time.Millisecond)...)
	}
	all = append(all, h.pollCommit(1000, 500*time.Millisecond)...)
	counts := tally(all)
	var missing []string
	for _, prefix := range []string{"one", "two"} {
		for i := 0; i < 200; i++ {
			if v := fmt.Sprintf("%s-%d", prefix, i); counts[v] == 0 {
				missing = append(missing, v)
			}
		}
	}
	st := h.statsNow()
	t.Logf("broker restart: %d records for 400 messages (%d duplicates); redeliveries merged into held copies: %d; committed after their connection ended: %d",
		len(all), len(all)-len(counts), st.merged, st.stale)
	if len(missing) > 0 {
		t.Fatalf("lost %d messages: %v", len(missing), missing)
	}
	if !strings.Contains(h.logs.String(), "MQTT connection lost") {
		t.Fatal("the task never noticed the restart")
	}
}

// A task never holds more than mqtt.max.inflight.messages unacknowledged
// messages: it sends that as the MQTT 5 Receive Maximum, and since
// mosquitto 2.0.11 keeps to it only until the first acknowledgements, it
// also stops reading while it holds that many. Nothing is lost or
// duplicated on the way. mosquitto's default max_inflight_messages (20)
// does not limit an MQTT 5 client that sends a Receive Maximum.
func TestBackpressureMaxInflight(t *testing.T) {
	for _, brokerInflight := range []int{-1, 1000} {
		t.Run(fmt.Sprintf("max_inflight_messages=%d", brokerInflight), func(t *testing.T) {
			b := startBroker(t, brokerOptions{maxInflight: brokerInflight})
			h := startTask(t, taskConfig(b, keyMaxInflight, "50"), "bp", 0, nil)
			p := newPublisher(t, b)
			p.publishN("sensors/a", "bp", 300)
			var all []*connect.Record
			for round := 0; round < 6; round++ {
				held := h.poll(60, 500*time.Millisecond) // asks for more than may come
				h.tk.mu.Lock()
				unacked := h.tk.held
				h.tk.mu.Unlock()
				if len(held) != 50 || unacked != 50 {
					t.Fatalf("round %d: polled %d, holding %d unacknowledged; want mqtt.max.inflight.messages=50", round, len(held), unacked)
				}
				h.commit(held)
				all = append(all, held...)
			}
			if c := tally(all); len(c) != 300 {
				t.Fatalf("%d distinct of 300", len(c))
			}
			st := h.statsNow()
			t.Logf("broker max_inflight_messages %d: reading held back %d times", brokerInflight, st.paused)
		})
	}
}

// QoS 0 messages that find the buffer full are dropped after
// records.buffer.queue.full.timeout, and counted; the task stays connected.
func TestQoS0DroppedOnFullBuffer(t *testing.T) {
	b := startBroker(t, brokerOptions{})
	h := startTask(t, taskConfig(b, keyQoS, "0", keyQueueSize, "10", keyFullTimeout, "0"), "q0", 0, nil)
	p := newPublisher(t, b)
	for i := 0; i < 100; i++ {
		p.publish("sensors/a", []byte(strconv.Itoa(i)), 0)
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.statsNow().received < 100 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	recs := h.pollCommit(100, 300*time.Millisecond)
	st := h.statsNow()
	if len(recs) != 10 || st.dropped != 90 {
		t.Fatalf("polled %d, dropped %d; want 10 and 90", len(recs), st.dropped)
	}
	p.publish("sensors/a", []byte("later"), 0)
	if next := h.pollCommit(1, 5*time.Second); len(next) != 1 {
		t.Fatal("nothing after the drops")
	}
}

// Subscriptions a config change removed are dropped from the persistent
// session: the previous list is kept in the source offset.
func TestRemovedFilterIsUnsubscribed(t *testing.T) {
	b := startBroker(t, brokerOptions{})
	sc := &connecttest.SourceContext{}
	h := startTask(t, taskConfig(b, keyTopics, "sensors/#"), "change", 0, sc)
	p := newPublisher(t, b)
	p.publish("sensors/a", []byte("1"), 1)
	if got := h.pollCommit(1, 5*time.Second); len(got) != 1 {
		t.Fatal("nothing received")
	}
	h.stop()
	h2 := startTask(t, taskConfig(b, keyTopics, "other/#"), "change", 0, sc)
	p.publish("sensors/a", []byte("stale"), 1)
	p.publish("other/a", []byte("new"), 1)
	got := values(h2.pollCommit(2, 2*time.Second))
	if !slices.Equal(got, []string{"new"}) {
		t.Fatalf("after the filter change got %v, want only [new]", got)
	}
}

// With mqtt.clean.session.enabled=true (Confluent's default) the session
// ends with the connection: what is published while the task is stopped is lost.
func TestCleanSessionForgets(t *testing.T) {
	b := startBroker(t, brokerOptions{})
	raw := taskConfig(b, keyCleanSession, "true")
	h := startTask(t, raw, "clean", 0, nil)
	h.stop()
	p := newPublisher(t, b)
	p.publish("sensors/a", []byte("while away"), 1)
	h2 := startTask(t, raw, "clean", 0, nil)
	if got := h2.poll(1, time.Second); len(got) != 0 {
		t.Fatalf("clean session received %v", values(got))
	}
	p.publish("sensors/a", []byte("now"), 1)
	if got := h2.pollCommit(1, 5*time.Second); len(got) != 1 {
		t.Fatal("nothing received")
	}
}

// Bad credentials fail the task at start, naming the broker's reason,
// without the password; good ones connect.
func TestBadCredentialsFailStart(t *testing.T) {
	needMosquitto(t)
	passwd, err := exec.LookPath("mosquitto_passwd")
	if err != nil {
		t.Skip("mosquitto_passwd is not installed (it comes with the mosquitto package)")
	}
	b := startBroker(t, brokerOptions{extra: []string{"allow_anonymous false"}})
	b.stop()
	pwfile := b.dir + "/passwd"
	if out, err := exec.Command(passwd, "-b", "-c", pwfile, "spur", "right-pass").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v %s", err, out)
	}
	b.writeConf(append(b.baseConf(), "allow_anonymous false", "password_file "+pwfile))
	b.start()

	_, err = tryStartTask(t, taskConfig(b, keyUsername, "spur", keyPassword, "wrong-pass"), "auth", 0, nil)
	if err == nil || !strings.Contains(err.Error(), "0x86") && !strings.Contains(err.Error(), "0x87") {
		t.Fatalf("bad password: %v", err)
	}
	if strings.Contains(err.Error(), "wrong-pass") {
		t.Fatalf("password in error: %v", err)
	}
	t.Logf("bad password: %v", err)
	startTask(t, taskConfig(b, keyUsername, "spur", keyPassword, "right-pass"), "auth", 0, nil)
}

// A task that cannot reach any broker keeps trying; with max.retry.time.ms
// set, Poll fails it after that long, naming the servers.
func TestMaxRetryTimeFailsTask(t *testing.T) {
	needMosquitto(t)
	dead := fmt.Sprintf("tcp://127.0.0.1:%d", freePort(t))
	raw := map[string]string{keyServerURI: dead, keyTopics: "a", keyMaxRetryTime: "300", keyBackoff: "20", keyBackoffMax: "50", keyEmptyTimeout: "20"}
	h := startTask(t, raw, "dead", 0, nil)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		_, err := h.tk.Poll(context.Background())
		if err != nil {
			if !strings.Contains(err.Error(), dead) || !strings.Contains(err.Error(), keyMaxRetryTime) {
				t.Fatalf("error lacks context: %v", err)
			}
			return
		}
	}
	t.Fatal("task never failed")
}

// A task whose broker comes up after it started connects in the background.
func TestBrokerLaterThanTask(t *testing.T) {
	b := startBroker(t, brokerOptions{})
	b.stop()
	h := startTask(t, taskConfig(b), "late", 0, nil)
	time.Sleep(200 * time.Millisecond)
	b.start()
	p := newPublisher(t, b)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		h.tk.mu.Lock()
		up := h.tk.connected
		h.tk.mu.Unlock()
		if up {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.publish("sensors/a", []byte("hello"), 1)
	if got := h.pollCommit(1, 5*time.Second); len(got) != 1 {
		t.Fatal("nothing received")
	}
}

// Filters dealt out to tasks (mqtt.shared.subscription=false) give each
// task only its filters' messages.
func TestSplitFiltersAcrossTasks(t *testing.T) {
	b := startBroker(t, brokerOptions{})
	tcs := taskConfigs(t, taskConfig(b, keyTopics, "a/#,b/#", keyShared, "false"), 4)
	if len(tcs) != 2 {
		t.Fatalf("%d tasks for 2 filters", len(tcs))
	}
	h0, h1 := startTask(t, tcs[0], "split", 0, nil), startTask(t, tcs[1], "split", 1, nil)
	p := newPublisher(t, b)
	p.publish("a/1", []byte("a"), 1)
	p.publish("b/1", []byte("b"), 1)
	if got := values(h0.pollCommit(2, time.Second)); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("task 0 got %v", got)
	}
	if got := values(h1.pollCommit(2, time.Second)); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("task 1 got %v", got)
	}
}

// A refused subscription is an error that names the filter and the
// reason, and counts as permanent (the task fails at start). mosquitto
// 2.0.11 grants every subscription and applies its ACL when delivering, so
// this is checked on the error itself.
func TestRefusalIsPermanent(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", &refusal{what: `subscription of client c-0 to "secret/#" on tcp://b:1883`, code: rcNotAuthorized, reason: "acl"})
	if !permanent(err) || !strings.Contains(err.Error(), "secret/#") || !strings.Contains(err.Error(), "0x87 (not authorized): acl") {
		t.Fatalf("%v permanent=%v", err, permanent(err))
	}
	if permanent(&refusal{code: rcServerBusy}) || permanent(errors.New("connection refused")) {
		t.Fatal("transient errors taken as permanent")
	}
}

// While the task holds reading back (it holds mqtt.max.inflight.messages
// unacknowledged messages and the broker sends more anyway), the
// connection survives keep alive: the task keeps pinging, and does not
// take the unread PINGRESPs for a dead broker. Stop does not hang on a
// receiver waiting for room.
func TestHeldBackConnectionSurvivesKeepAlive(t *testing.T) {
	b := startBroker(t, brokerOptions{})
	h := startTask(t, taskConfig(b, keyMaxInflight, "10", keyKeepAlive, "1"), "ka", 0, nil)
	p := newPublisher(t, b)
	p.publishN("sensors/a", "ka", 100)
	first := h.poll(10, 2*time.Second)
	h.commit(first) // mosquitto now sends all the rest at once
	held := h.poll(10, time.Second)
	if len(held) != 10 {
		t.Fatalf("holding %d", len(held))
	}
	time.Sleep(4 * time.Second) // 4 keep alive intervals without reading
	if st := h.statsNow(); st.paused == 0 {
		t.Fatal("reading was never held back")
	}
	h.commit(held)
	all := append(first, held...)
	deadline := time.Now().Add(10 * time.Second)
	for len(all) < 100 && time.Now().Before(deadline) {
		all = append(all, h.pollCommit(1, 100*time.Millisecond)...)
	}
	if c := tally(all); len(all) != 100 || len(c) != 100 {
		t.Fatalf("%d records, %d distinct", len(all), len(c))
	}
	if strings.Contains(h.logs.String(), "connection lost") {
		t.Fatalf("the connection dropped while reading was held back:\n%s", h.logs.String())
	}

	// Hold reading back again and stop without committing.
	p.publishN("sensors/a", "more", 50)
	h.poll(10, time.Second)
	time.Sleep(200 * time.Millisecond)
	done := make(chan struct{})
	go func() { h.stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop hangs while a receiver waits for room")
	}
}

// A resumed session can hold more unacknowledged messages than the task
// may hold now (mosquitto 2.0.11 also sends past the Receive Maximum, and
// resends everything unacknowledged right after CONNACK, before the
// SUBACK). The task is not polled before Start returns, so holding the
// reader back during the connection handshake would leave the SUBACK
// unread: Start would wait for mqtt.connect.timeout.seconds, drop the
// connection and leave the held messages to duplicate in Kafka.
func TestResumedSessionAboveMaxInflightConnects(t *testing.T) {
	b := startBroker(t, brokerOptions{})
	sc := &connecttest.SourceContext{}
	h := startTask(t, taskConfig(b, keyMaxInflight, "500"), "over", 0, sc)
	p := newPublisher(t, b)
	p.publishN("sensors/a", "over", 300)
	if got := h.poll(300, 5*time.Second); len(got) != 300 {
		t.Fatalf("polled %d of 300", len(got))
	}
	h.stop() // nothing committed: the session keeps 300 messages in flight

	start := time.Now()
	h2 := startTask(t, taskConfig(b, keyMaxInflight, "50", keyConnectTimeout, "3"), "over", 0, sc)
	took := time.Since(start)
	logs := h2.logs.String()
	if took > 2*time.Second || strings.Contains(logs, "not reachable") {
		t.Fatalf("Start took %v with 300 messages in flight in the session and max.inflight 50:\n%s", took, logs)
	}
	all := h2.pollCommit(300, 10*time.Second)
	c := tally(all)
	if len(c) != 300 || len(all) != 300 {
		t.Fatalf("%d records, %d distinct, want 300 once each", len(all), len(c))
	}
	st := h2.statsNow()
	t.Logf("Start took %v; reading held back %d times; %d redeliveries merged", took.Round(time.Millisecond), st.paused, st.merged)
}
