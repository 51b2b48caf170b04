package mqtt

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"

	"github.com/spur-connect/spur/connect"
)

// payload is a typical small IoT JSON message (~120 bytes).
const benchPayload = `{"device":"d-0042","ts":1767225600123,"temperature":21.5,"humidity":48.2,"battery":3.71,"rssi":-67,"fw":"1.4.2"}`

// asyncPublish starts publishing n QoS 1 messages from `clients`
// connections as fast as the broker takes them; wait waits for the end.
func asyncPublish(b testing.TB, br *broker, n, clients int) (wait func()) {
	b.Helper()
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		conn, err := net.Dial("tcp", br.addr())
		if err != nil {
			b.Fatal(err)
		}
		cl := paho.NewClient(paho.ClientConfig{Conn: packets.NewThreadSafeConn(conn)})
		if _, err := cl.Connect(context.Background(), &paho.Connect{ClientID: fmt.Sprintf("bench-pub-%d", c), KeepAlive: 30, CleanStart: true}); err != nil {
			b.Fatal(err)
		}
		share := n / clients
		if c == 0 {
			share += n % clients
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cl.Disconnect(&paho.Disconnect{})
			for i := 0; i < share; i++ {
				_, err := cl.PublishWithOptions(context.Background(),
					&paho.Publish{Topic: fmt.Sprintf("sensors/d-%d/telemetry", i%100), QoS: 1, Payload: []byte(benchPayload)},
					paho.PublishOptions{Method: paho.PublishMethod_AsyncSend})
				if err != nil {
					b.Error(err)
					return
				}
			}
			// let the last PUBACKs come back before disconnecting
			time.Sleep(200 * time.Millisecond)
		}()
	}
	return wg.Wait
}

// drive polls and commits like the runtime until n records came. With
// latency > 0, each batch is committed that long after it was polled, from
// another goroutine, in order (Kafka's acknowledgement round trip).
func drive(b *testing.B, h *taskHandle, n int, latency time.Duration) {
	b.Helper()
	type batch struct {
		recs []*connect.Record
		at   time.Time
	}
	var (
		commits chan batch
		wg      sync.WaitGroup
	)
	if latency > 0 {
		commits = make(chan batch, 1<<16)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for bt := range commits {
				time.Sleep(time.Until(bt.at.Add(latency)))
				for _, r := range bt.recs {
					h.tk.Commit(context.Background(), r)
				}
			}
		}()
	}
	deadline := time.Now().Add(5 * time.Minute)
	for got := 0; got < n; {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d records after 5 minutes", got, n)
		}
		recs, err := h.tk.Poll(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		got += len(recs)
		if latency > 0 {
			commits <- batch{recs, time.Now()}
			continue
		}
		for _, r := range recs {
			h.tk.Commit(context.Background(), r)
		}
	}
	if commits != nil {
		close(commits)
		wg.Wait()
	}
}

// BenchmarkPollCommit: messages/s from mosquitto through Poll and Commit
// (acknowledged at once, as if Kafka acknowledged instantly), while 4
// clients publish QoS 1.
func BenchmarkPollCommit(b *testing.B) {
	benchLive(b, 0, "1000")
}

// BenchmarkPollCommitKafka5ms: the same with every poll's records
// committed 5 ms later (a Kafka produce round trip with acks=all), so the
// task works with mqtt.max.inflight.messages in flight.
func BenchmarkPollCommitKafka5ms(b *testing.B) {
	for _, inflight := range []string{"100", "1000", "10000"} {
		b.Run("inflight="+inflight, func(b *testing.B) { benchLive(b, 5*time.Millisecond, inflight) })
	}
}

func benchLive(b *testing.B, latency time.Duration, inflight string) {
	br := startBroker(b, brokerOptions{})
	h := startTask(b, taskConfig(br, keyKafkaTopic, "iot.${mqtt.topic}", keyMaxInflight, inflight, keyRecordKey, "${mqtt.topic.level.1}"), "bench", 0, nil)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	wait := asyncPublish(b, br, b.N, 4)
	drive(b, h, b.N, latency)
	sec := time.Since(start).Seconds()
	b.StopTimer()
	wait()
	b.ReportMetric(float64(b.N)/sec, "msgs/s")
}

// BenchmarkDrainQueued: messages/s a task drains from its persistent
// session after being away (the broker queued b.N messages), Poll and
// Commit acknowledging at once.
func BenchmarkDrainQueued(b *testing.B) {
	br := startBroker(b, brokerOptions{})
	raw := taskConfig(br)
	h := startTask(b, raw, "drain", 0, nil)
	h.stop()
	asyncPublish(b, br, b.N, 4)()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	h = startTask(b, raw, "drain", 0, nil)
	drive(b, h, b.N, 0)
	sec := time.Since(start).Seconds()
	b.ReportMetric(float64(b.N)/sec, "msgs/s")
}

// BenchmarkRecord: building one record (routing through a template with
// the cache warm, JSON check, headers), without a broker.
func BenchmarkRecord(b *testing.B) {
	s := settingsFor(b, base(keyKafkaTopic, "iot.${mqtt.topic}", keyValueFormat, "json", keyRecordKey, "${mqtt.topic.level.1}"), "bench", 0)
	tk := newTask()
	tk.s = s
	tk.partition = map[string]any{partitionClientID: s.clientID}
	p := &paho.Publish{Topic: "sensors/d-0042/telemetry", QoS: 1, PacketID: 7, Payload: []byte(benchPayload)}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPayload)))
	for i := 0; i < b.N; i++ {
		_ = tk.record(p, time.Now(), false, int64(i))
	}
}
