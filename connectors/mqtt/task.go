package mqtt

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	"github.com/eclipse/paho.golang/paho/session/state"

	"github.com/spur-connect/spur/connect"
)

// Source offset keys. MQTT has no replayable offsets: delivery rests on the
// broker-side session. The offset only records how far the session got and
// what it was subscribed to, so a restarted task can drop subscriptions a
// config change removed.
const (
	partitionClientID  = "mqtt.client.id"
	offsetSeq          = "seq"
	offsetSubscription = "mqtt.subscriptions"
)

// message is one MQTT message from receipt until Kafka acknowledged it.
type message struct {
	pub *paho.Publish
	// gen is the connection the message arrived on: its acknowledgement
	// may only go out on that connection, since packet ids are reused.
	gen uint64
	at  time.Time
	dup bool
	rec *connect.Record // set once polled
}

// stats count what a task did, for its log lines.
type stats struct {
	received  int64 // messages handed over by the client
	polled    int64
	committed int64
	acked     int64 // PUBACK/PUBREC sent
	stale     int64 // committed after their connection ended: the broker redelivers them
	merged    int64 // redeliveries folded into the copy already held
	dropped   int64 // QoS 0 messages dropped on a full buffer
	abandoned int64 // QoS 1/2 messages left to redelivery: their connection closed while they waited for room
	paused    int64 // times reading was held back because the task held mqtt.max.inflight.messages
}

// task is one MQTT client: one connection at a time, one persistent
// session, a bounded buffer between the client and Poll.
type task struct {
	s         *settings
	log       *slog.Logger
	name      string
	num       int
	tls       *tls.Config
	state     *state.State
	partition map[string]any
	subsDesc  string
	prevSubs  []string // subscriptions recorded in the last committed offset

	cancel   context.CancelFunc
	done     chan struct{}
	stopping chan struct{}
	stopOnce sync.Once

	mu        sync.Mutex
	buf       []*message          // received, not polled, in arrival order
	pend      []*message          // polled, not committed, in poll order
	byID      map[uint16]*message // unacknowledged QoS 1/2 messages by packet id
	gen       uint64              // current connection
	connected bool
	downSince time.Time
	lastErr   error
	fatal     error
	seq       int64
	held      int // QoS 1/2 messages received and not yet committed
	stats     stats
	wake      chan struct{} // a message arrived
	room      chan struct{} // closed (and replaced) when room is made and someone waits
	waiters   int           // receivers waiting for room
	pauseEnd  time.Time     // when the last wait for room ended (zero while waiting)
	dropLog   time.Time

	// Acknowledgements are written in batches by flushAcks: one system
	// call for all that Commit queued meanwhile, in commit order.
	ackBuf   []byte
	ackOut   net.Conn // the current connection (nil between connections)
	ackPing  *pinger
	ackKick  chan struct{}
	flushMu  sync.Mutex // serialises flushes, so batches go out in order
	ackSpare []byte
}

func newTask() *task {
	return &task{wake: make(chan struct{}, 1), room: make(chan struct{}), stopping: make(chan struct{}), ackKick: make(chan struct{}, 1), byID: map[uint16]*message{}}
}

// deferredAcks is the client's session state with the acknowledgement the
// client sends when a message handler returns turned off: the task sends
// it itself (see Commit and flushAcks) once Kafka has the record.
type deferredAcks struct{ *state.State }

func (deferredAcks) Ack(*packets.Publish) error { return nil }

// Start parses the config and connects. A first connection refused for good
// (credentials, authorization, protocol, certificate, subscription) fails
// the task; any other failure is retried in the background.
func (t *task) Start(ctx context.Context, cfg connect.Config, sc connect.SourceContext) error {
	t.name, t.num = sc.Connector(), sc.Task()
	s, err := newSettings(cfg, t.name, t.num)
	if err != nil {
		return fmt.Errorf("mqtt source %s task %d: %w", t.name, t.num, err)
	}
	t.s = s
	t.log = sc.Logger().With("client.id", s.clientID)
	for _, sv := range s.servers {
		if sv.tls {
			if t.tls, err = loadTLS(s); err != nil {
				return fmt.Errorf("mqtt source %s task %d: %w", t.name, t.num, err)
			}
			break
		}
	}
	t.partition = map[string]any{partitionClientID: s.clientID}
	t.subsDesc = strings.Join(s.subscribe, "\n")
	if off := sc.Offset(t.partition); off != nil {
		t.seq = asInt64(off[offsetSeq])
		if subs, _ := off[offsetSubscription].(string); subs != "" {
			t.prevSubs = strings.Split(subs, "\n")
		}
	}
	t.state = state.NewInMemory()
	t.downSince = time.Now()

	runCtx, cancel := context.WithCancel(context.Background())
	t.cancel, t.done = cancel, make(chan struct{})
	first := make(chan error, 1)
	go t.flusher()
	go t.run(runCtx, first)
	select {
	case err = <-first:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil && (permanent(err) || ctx.Err() != nil) {
		t.shutdown(context.Background())
		return fmt.Errorf("mqtt source %s task %d: %w", t.name, t.num, err)
	}
	if err != nil {
		t.log.Warn("MQTT broker not reachable yet; reconnecting in the background", "err", err)
	}
	t.log.Info("MQTT source task started", "servers", len(s.servers), "subscriptions", s.subscribe, "qos", s.qos,
		"clean.session", s.clean, "shared", s.shared, "max.inflight", s.maxInflight)
	return nil
}

func asInt64(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case float64:
		return int64(n)
	case json.Number:
		i, _ := n.Int64()
		return i
	case string:
		i, _ := strconv.ParseInt(n, 10, 64)
		return i
	}
	return 0
}

// run keeps one connection up until ctx ends: connect, subscribe, wait for
// the connection to end, back off, connect to the next server.
func (t *task) run(ctx context.Context, first chan<- error) {
	defer close(t.done)
	backoff := t.s.backoff
	for i := 0; ; i++ {
		sv := t.s.servers[i%len(t.s.servers)]
		t.mu.Lock()
		t.gen++
		gen := t.gen
		// Acknowledgements not written yet belong to the old connection:
		// their packet ids mean nothing on the next one.
		t.ackBuf, t.ackOut, t.ackPing = t.ackBuf[:0], nil, nil
		t.mu.Unlock()

		c, ca, err := t.connect(ctx, sv, gen)
		if first != nil {
			first <- err
			first = nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			t.mu.Lock()
			t.lastErr = err
			t.mu.Unlock()
			if permanent(err) {
				t.log.Error("MQTT connection refused", "server", sv.uri, "err", err, "retry.in", backoff)
			} else {
				t.log.Warn("MQTT connection failed", "server", sv.uri, "err", err, "retry.in", backoff)
			}
			if !sleep(ctx, jitter(backoff)) {
				return
			}
			backoff = min(2*backoff, t.s.backoffMax)
			continue
		}

		up := time.Now()
		t.connectedTo(sv, gen, ca.SessionPresent)
		select {
		case <-c.cl.Done():
		case <-ctx.Done():
			c.disconnect(t.s.connectTimeout, t.flushAcks)
			t.disconnected(nil)
			return
		}
		t.disconnected(errors.New("connection lost"))
		t.log.Warn("MQTT connection lost; reconnecting", "server", sv.uri, "connected.for", time.Since(up).Round(time.Millisecond))
		if time.Since(up) > t.s.backoffMax {
			backoff = t.s.backoff
		}
		if !sleep(ctx, jitter(backoff)) {
			return
		}
		backoff = min(2*backoff, t.s.backoffMax)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}

func jitter(d time.Duration) time.Duration {
	return d + time.Duration((rand.Float64()*0.4-0.2)*float64(d))
}

// refusal is a CONNACK or SUBACK that refused the task.
type refusal struct {
	what   string // "connection to tcp://x as client y", "subscription to z"
	code   byte
	reason string
}

func (r *refusal) Error() string {
	s := fmt.Sprintf("%s refused with reason code 0x%02X (%s)", r.what, r.code, reasonText(r.code))
	if r.reason != "" {
		s += ": " + r.reason
	}
	return s
}

// permanent reports errors that retrying with the same config cannot fix.
func permanent(err error) bool {
	var r *refusal
	if errors.As(err, &r) {
		switch r.code {
		case rcUnsupportedProtocol, rcInvalidClientID, rcBadUserOrPassword, rcNotAuthorized, rcBanned,
			rcBadAuthMethod, rcTopicFilterInvalid, rcSharedNotSupported, rcSubIDsNotSupported, rcWildcardsNotSupported:
			return true
		}
		return false
	}
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	if errors.As(err, &unknownCA) || errors.As(err, &hostErr) || errors.As(err, &invalid) || errors.As(err, &verify) {
		return true
	}
	// The broker's TLS alerts about our certificate (crypto/tls reports
	// them as "remote error: tls: <alert>", with an unexported type).
	msg := err.Error()
	if i := strings.Index(msg, "remote error: tls: "); i >= 0 {
		alert := msg[i+len("remote error: tls: "):]
		for _, a := range []string{"bad certificate", "unsupported certificate", "revoked certificate", "expired certificate",
			"unknown certificate", "unknown certificate authority", "access denied", "certificate required"} {
			if strings.HasPrefix(alert, a) {
				return true
			}
		}
	}
	return false
}

// MQTT 5 reason codes of CONNACK and SUBACK.
const (
	rcUnspecified           = 0x80
	rcUnsupportedProtocol   = 0x84
	rcInvalidClientID       = 0x85
	rcBadUserOrPassword     = 0x86
	rcNotAuthorized         = 0x87
	rcServerUnavailable     = 0x88
	rcServerBusy            = 0x89
	rcBanned                = 0x8A
	rcBadAuthMethod         = 0x8C
	rcTopicFilterInvalid    = 0x8F
	rcQuotaExceeded         = 0x97
	rcSharedNotSupported    = 0x9E
	rcSubIDsNotSupported    = 0xA1
	rcWildcardsNotSupported = 0xA2
)

func reasonText(code byte) string {
	switch code {
	case rcUnspecified:
		return "unspecified error"
	case rcUnsupportedProtocol:
		return "unsupported protocol version: the broker does not speak MQTT 5"
	case rcInvalidClientID:
		return "client identifier not valid"
	case rcBadUserOrPassword:
		return "bad user name or password"
	case rcNotAuthorized:
		return "not authorized"
	case rcServerUnavailable:
		return "server unavailable"
	case rcServerBusy:
		return "server busy"
	case rcBanned:
		return "banned"
	case rcBadAuthMethod:
		return "bad authentication method"
	case rcTopicFilterInvalid:
		return "topic filter invalid"
	case rcQuotaExceeded:
		return "quota exceeded"
	case rcSharedNotSupported:
		return "shared subscriptions not supported: set " + keyShared + "=false"
	case rcWildcardsNotSupported:
		return "wildcard subscriptions not supported"
	case rcSubIDsNotSupported:
		return "subscription identifiers not supported"
	}
	return "see the MQTT 5 reason codes"
}

// conn is one live connection.
type conn struct {
	cl  *paho.Client
	out net.Conn // the client's thread-safe view of wc
	wc  *watchedConn
}

// disconnect ends the connection gracefully: a normal DISCONNECT keeps the
// session (unless it is clean), so the broker queues what arrives until
// the task is back. The client then reads until the broker closes the
// connection: closing a socket with unread data makes it send a reset,
// and a broker may discard what it had not read yet, such as the last
// acknowledgements.
func (c *conn) disconnect(timeout time.Duration, flush func()) {
	flush()
	d := packets.NewControlPacket(packets.DISCONNECT)
	d.Content.(*packets.Disconnect).ReasonCode = packets.DisconnectNormalDisconnection
	if _, err := d.WriteTo(c.out); err == nil {
		select {
		case <-c.cl.Done():
			return
		case <-time.After(timeout):
		}
	}
	c.wc.Close()
	<-c.cl.Done()
}

// connect dials sv, sends CONNECT, subscribes, and unsubscribes what the
// session may still hold from another config. Messages arriving on the
// connection belong to generation gen.
func (t *task) connect(ctx context.Context, sv server, gen uint64) (*conn, *paho.Connack, error) {
	s := t.s
	dctx, cancel := context.WithTimeout(ctx, s.connectTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(dctx, "tcp", sv.addr)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to %s: %w", sv.uri, err)
	}
	if sv.tls {
		cfg := t.tls.Clone()
		cfg.ServerName = sv.host
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			nc.Close()
			return nil, nil, fmt.Errorf("TLS handshake with %s: %w", sv.uri, err)
		}
		nc = tc
	}
	wc := newWatchedConn(nc)
	out := packets.NewThreadSafeConn(wc)
	ping := &pinger{paused: t.readingPaused}
	t.mu.Lock()
	if t.gen == gen {
		t.ackOut, t.ackPing = out, ping
	}
	t.mu.Unlock()
	cl := paho.NewClient(paho.ClientConfig{
		ClientID:          s.clientID,
		Conn:              out,
		Session:           deferredAcks{t.state},
		PingHandler:       ping,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){t.receiver(gen, wc)},
		OnClientError: func(err error) {
			t.mu.Lock()
			t.lastErr = err
			t.mu.Unlock()
			t.log.Debug("MQTT client error", "server", sv.uri, "err", err)
		},
		OnServerDisconnect: func(d *paho.Disconnect) {
			reason := ""
			if d.Properties != nil {
				reason = d.Properties.ReasonString
			}
			err := fmt.Errorf("%s disconnected the task with reason code 0x%02X %s", sv.uri, d.ReasonCode, reason)
			if d.ReasonCode == packets.DisconnectSessionTakenOver {
				err = fmt.Errorf("%s: another client connected with client id %s (session taken over): two tasks or connectors share a client id", sv.uri, s.clientID)
			}
			t.mu.Lock()
			t.lastErr = err
			t.mu.Unlock()
			t.log.Warn("MQTT broker disconnected the task", "server", sv.uri, "err", err)
		},
		PacketTimeout: s.connectTimeout,
	})
	cl.SetErrorLogger(pahoLogger{t.log})
	cp := &paho.Connect{
		ClientID:   s.clientID,
		KeepAlive:  s.keepAlive,
		CleanStart: s.clean,
		Properties: &paho.ConnectProperties{
			SessionExpiryInterval: &s.sessionExpiry,
			ReceiveMaximum:        &s.maxInflight,
			RequestProblemInfo:    true,
		},
	}
	if s.username != "" {
		cp.Username, cp.UsernameFlag = s.username, true
	}
	if s.password != "" {
		cp.Password, cp.PasswordFlag = []byte(s.password), true
	}
	ca, err := cl.Connect(dctx, cp)
	if err != nil {
		wc.Close()
		if ca != nil && ca.ReasonCode >= 0x80 {
			r := &refusal{what: fmt.Sprintf("connection to %s as client %s", sv.uri, s.clientID), code: ca.ReasonCode}
			if ca.Properties != nil {
				r.reason = ca.Properties.ReasonString
			}
			return nil, nil, r
		}
		return nil, nil, fmt.Errorf("MQTT connect to %s as client %s: %w", sv.uri, s.clientID, err)
	}
	c := &conn{cl: cl, out: out, wc: wc}
	if err := t.subscribe(dctx, cl, ca.SessionPresent, sv); err != nil {
		c.disconnect(s.connectTimeout, t.flushAcks)
		return nil, nil, err
	}
	// From here on receivers may hold reading back (see receive).
	wc.established.Store(true)
	return c, ca, nil
}

func (t *task) subscribe(ctx context.Context, cl *paho.Client, sessionPresent bool, sv server) error {
	s := t.s
	var retain byte // send retained messages on subscribe...
	if !s.clean {
		retain = 1 // ...only when the subscription is new, not on every resumed session
	}
	sub := &paho.Subscribe{}
	for _, f := range s.subscribe {
		sub.Subscriptions = append(sub.Subscriptions, paho.SubscribeOptions{Topic: f, QoS: s.qos, RetainHandling: retain})
	}
	sa, err := cl.Subscribe(ctx, sub)
	if sa != nil {
		for i, code := range sa.Reasons {
			if i >= len(s.subscribe) {
				break
			}
			if code >= 0x80 {
				r := &refusal{what: fmt.Sprintf("subscription of client %s to %q on %s", s.clientID, s.subscribe[i], sv.uri), code: code}
				if sa.Properties != nil {
					r.reason = sa.Properties.ReasonString
				}
				return r
			}
			if code < s.qos {
				t.log.Warn("MQTT broker granted a lower QoS than requested", "filter", s.subscribe[i], "requested", s.qos, "granted", code)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("subscribe client %s to %v on %s: %w", s.clientID, s.subscribe, sv.uri, err)
	}
	if !sessionPresent {
		return nil
	}
	stale := append([]string(nil), s.unsubscribe...)
	for _, p := range t.prevSubs {
		if !contains(s.subscribe, p) && !contains(stale, p) {
			stale = append(stale, p)
		}
	}
	if len(stale) == 0 {
		return nil
	}
	if _, err := cl.Unsubscribe(ctx, &paho.Unsubscribe{Topics: stale}); err != nil && ctx.Err() == nil {
		// Reason 0x11 (no subscription existed) is the common case and no error.
		t.log.Debug("unsubscribing filters the session may hold from an earlier config", "filters", stale, "err", err)
	}
	return nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func (t *task) connectedTo(sv server, gen uint64, sessionPresent bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.connected, t.lastErr = true, nil
	t.downSince = time.Time{}
	if !sessionPresent {
		// Nothing older than this connection will be redelivered.
		for id, m := range t.byID {
			if m.gen != gen {
				delete(t.byID, id)
			}
		}
	}
	lvl := slog.LevelInfo
	msg := "MQTT connected"
	// A session is expected on reconnections, and at start when an earlier
	// run of this task committed records.
	if !sessionPresent && !t.s.clean && (gen > 1 || t.prevSubs != nil) {
		lvl = slog.LevelWarn
		msg = "MQTT connected, but the broker had no session for this client id: messages published while the task was away are lost (session expired, or the broker lost its state)"
	}
	t.log.Log(context.Background(), lvl, msg, "server", sv.uri, "session.present", sessionPresent, "generation", gen)
}

func (t *task) disconnected(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.connected {
		t.downSince = time.Now()
	}
	t.connected = false
	if err != nil && t.lastErr == nil {
		t.lastErr = err
	}
}

// receiver hands the messages of connection gen to the task.
func (t *task) receiver(gen uint64, conn *watchedConn) func(paho.PublishReceived) (bool, error) {
	return func(pr paho.PublishReceived) (bool, error) {
		t.receive(&message{pub: pr.Packet, gen: gen, at: time.Now(), dup: pr.Packet.Duplicate()}, conn)
		return true, nil
	}
}

// receive buffers a message. It runs on the client's delivery goroutine:
// while it waits for room, the client stops reading from the connection,
// which holds the broker back by TCP flow control.
func (t *task) receive(m *message, conn *watchedConn) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stats.received++
	if m.pub.QoS > 0 {
		id := m.pub.PacketID
		if old := t.byID[id]; old != nil && old.gen != m.gen && m.dup &&
			old.pub.Topic == m.pub.Topic && bytes.Equal(old.pub.Payload, m.pub.Payload) {
			// The broker redelivers a message this task still holds from a
			// connection that ended: keep the copy already buffered or in
			// Kafka's hands, and acknowledge it on this connection instead.
			old.pub, old.gen = m.pub, m.gen
			t.stats.merged++
			return
		}
		// A broker that keeps to the Receive Maximum never sends more than
		// mqtt.max.inflight.messages unacknowledged messages; one that does
		// not (mosquitto 2.0.11 after the first acknowledgements) is held
		// back here. Not during the handshake, though: a resumed session
		// may hold more unacknowledged messages than that (sent under a
		// larger maximum, or past it), which the broker resends right after
		// CONNACK, and the SUBACK behind them must be read. Before Start
		// returns nobody polls, so waiting for room would stall the
		// connection until mqtt.connect.timeout.seconds. What the broker
		// resends is bounded by what it had in flight.
		limit := int(t.s.maxInflight)
		if t.held >= limit && conn.isEstablished() {
			t.stats.paused++
			if !t.waitForRoom(conn, func() bool { return t.held < limit }, -1) {
				t.stats.abandoned++ // not acknowledged: the resumed session redelivers it
				return
			}
		}
		t.held++
		t.byID[id] = m
		t.push(m)
		return
	}
	if len(t.buf) >= t.s.queueSize && conn.isEstablished() && !t.waitForRoom(conn, func() bool { return len(t.buf) < t.s.queueSize }, t.s.fullTimeout) {
		t.stats.dropped++
		if time.Since(t.dropLog) > 10*time.Second {
			t.dropLog = time.Now()
			t.log.Warn("buffer full: dropping QoS 0 messages", "dropped.total", t.stats.dropped, "buffer", t.s.queueSize, "waited", t.s.fullTimeout)
		}
		return
	}
	t.push(m)
}

func (t *task) push(m *message) {
	t.buf = append(t.buf, m)
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// waitForRoom waits, with t.mu released, until ok() holds. It gives up
// after timeout (negative: never), when the connection closes, or when the
// task stops. t.mu is held on entry and on return.
func (t *task) waitForRoom(conn *watchedConn, ok func() bool, timeout time.Duration) bool {
	if ok() {
		return true
	}
	var expired <-chan time.Time
	if timeout >= 0 {
		if timeout == 0 {
			return false
		}
		tm := time.NewTimer(timeout)
		defer tm.Stop()
		expired = tm.C
	}
	var closed <-chan struct{}
	if conn != nil {
		closed = conn.closed
	}
	t.waiters++
	t.pauseEnd = time.Time{}
	defer func() {
		t.waiters--
		if t.waiters == 0 {
			t.pauseEnd = time.Now()
		}
	}()
	for !ok() {
		room := t.room
		t.mu.Unlock()
		select {
		case <-room:
		case <-expired:
			t.mu.Lock()
			return ok()
		case <-closed:
			t.mu.Lock()
			return false
		case <-t.stopping:
			t.mu.Lock()
			return false
		}
		t.mu.Lock()
	}
	return true
}

// madeRoom wakes receivers waiting for room. t.mu is held.
func (t *task) madeRoom() {
	if t.waiters > 0 {
		close(t.room)
		t.room = make(chan struct{})
	}
}

// readingPaused reports whether receivers wait for room now or did since
// the given time, for the pinger: a broker's PINGRESP cannot be read while
// reading is held back.
func (t *task) readingPaused(since time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.waiters > 0 || t.pauseEnd.After(since)
}

// Poll returns the buffered messages as records, up to
// records.buffer.queue.max.batch.size, waiting up to
// records.buffer.queue.empty.timeout for the first.
func (t *task) Poll(ctx context.Context) ([]*connect.Record, error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		t.mu.Lock()
		if err := t.checkFailed(); err != nil {
			t.mu.Unlock()
			return nil, err
		}
		if n := min(len(t.buf), t.s.maxBatch); n > 0 {
			batch := make([]*message, n)
			copy(batch, t.buf)
			clear(t.buf[:n])
			t.buf = t.buf[n:]
			if len(t.buf) == 0 {
				t.buf = t.buf[:0:0] // let the old array go
			}
			pubs := make([]*paho.Publish, n)
			for i, m := range batch {
				pubs[i] = m.pub
			}
			seq := t.seq
			t.seq += int64(n)
			t.madeRoom()
			t.mu.Unlock()

			recs := make([]*connect.Record, n)
			for i, m := range batch {
				recs[i] = t.record(pubs[i], m.at, m.dup, seq+int64(i)+1)
			}
			t.mu.Lock()
			for i, m := range batch {
				m.rec = recs[i]
			}
			t.pend = append(t.pend, batch...)
			t.stats.polled += int64(n)
			t.mu.Unlock()
			return recs, nil
		}
		t.mu.Unlock()
		if timer == nil {
			if t.s.emptyTimeout <= 0 {
				return nil, nil
			}
			timer = time.NewTimer(t.s.emptyTimeout)
		}
		select {
		case <-t.wake:
		case <-timer.C:
			return nil, nil
		case <-ctx.Done():
			return nil, nil
		}
	}
}

// checkFailed fails the task once it has been disconnected for longer than
// max.retry.time.ms. t.mu is held.
func (t *task) checkFailed() error {
	if t.fatal != nil {
		return t.fatal
	}
	if !t.connected && t.s.maxRetry >= 0 && !t.downSince.IsZero() && time.Since(t.downSince) > t.s.maxRetry {
		servers := make([]string, len(t.s.servers))
		for i, sv := range t.s.servers {
			servers[i] = sv.uri
		}
		t.fatal = fmt.Errorf("mqtt source %s task %d (client %s): no connection to %s for %s, longer than %s=%d: last error: %w",
			t.name, t.num, t.s.clientID, strings.Join(servers, ", "), time.Since(t.downSince).Round(time.Second), keyMaxRetryTime, t.s.maxRetry.Milliseconds(), t.lastErrOr())
	}
	return t.fatal
}

func (t *task) lastErrOr() error {
	if t.lastErr != nil {
		return t.lastErr
	}
	return errors.New("none recorded")
}

var (
	qosBytes   = [3][]byte{[]byte("0"), []byte("1"), []byte("2")}
	trueBytes  = []byte("true")
	falseBytes = []byte("false")
)

func boolBytes(b bool) []byte {
	if b {
		return trueBytes
	}
	return falseBytes
}

// record turns a message into a source record.
func (t *task) record(p *paho.Publish, at time.Time, dup bool, seq int64) *connect.Record {
	s := t.s
	rt := s.router.route(p.Topic)
	r := &connect.Record{
		Topic:           rt.topic,
		Partition:       -1,
		Timestamp:       at,
		SourcePartition: t.partition,
		SourceOffset:    map[string]any{offsetSeq: seq, offsetSubscription: t.subsDesc},
	}
	if rt.key != nil {
		r.Key = connect.RawData(connect.FormatString, rt.key)
	}
	payload := p.Payload
	if payload == nil {
		payload = []byte{}
	}
	switch s.valueFormat {
	case formatString:
		r.Value = connect.RawData(connect.FormatString, payload)
	case formatJSON:
		switch {
		case connect.ValidJSON(payload):
			r.Value = connect.RawData(connect.FormatJSON, payload)
		case utf8.Valid(payload):
			r.Value = connect.RawData(connect.FormatString, payload)
		default:
			r.Value = connect.RawData(connect.FormatBytes, payload)
		}
	default:
		r.Value = connect.RawData(connect.FormatBytes, payload)
	}
	if s.headers {
		n := 5
		if p.Properties != nil {
			n += len(p.Properties.User) + 1
		}
		h := make(connect.Headers, 0, n)
		h = append(h,
			connect.Header{Key: "mqtt.topic", Value: rt.topicBytes},
			connect.Header{Key: "mqtt.qos", Value: qosBytes[min(p.QoS, 2)]},
			connect.Header{Key: "mqtt.retained", Value: boolBytes(p.Retain)},
			connect.Header{Key: "mqtt.message.id", Value: strconv.AppendUint(nil, uint64(p.PacketID), 10)},
			connect.Header{Key: "mqtt.duplicate", Value: boolBytes(dup)},
		)
		if pp := p.Properties; pp != nil {
			if pp.ContentType != "" {
				h = append(h, connect.Header{Key: "mqtt.content.type", Value: []byte(pp.ContentType)})
			}
			for _, u := range pp.User {
				h = append(h, connect.Header{Key: "mqtt.user." + u.Key, Value: []byte(u.Value)})
			}
		}
		r.Headers = h
	}
	return r
}

// Commit acknowledges a record's message to the broker, now that Kafka
// has it: PUBACK for QoS 1, PUBREC for QoS 2 (the client answers the
// broker's PUBREL with PUBCOMP). Records come in poll order, which is the
// order the messages arrived in, so acknowledgements go out in that order
// too, as MQTT requires. A message whose connection has ended since is not
// acknowledged (its packet id may mean another message now): the broker
// redelivers it to the resumed session.
func (t *task) Commit(_ context.Context, r *connect.Record) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := -1
	if len(t.pend) > 0 && t.pend[0].rec == r {
		i = 0
	} else {
		for j, m := range t.pend {
			if m.rec == r {
				i = j
				break
			}
		}
	}
	if i < 0 {
		return nil // not ours, or committed already
	}
	m := t.pend[i]
	if i == 0 {
		t.pend[0] = nil
		t.pend = t.pend[1:]
		if len(t.pend) == 0 {
			t.pend = t.pend[:0:0]
		}
	} else {
		t.pend = append(t.pend[:i], t.pend[i+1:]...)
	}
	m.rec = nil
	t.stats.committed++
	if m.pub.QoS == 0 {
		return nil
	}
	t.held--
	t.madeRoom()
	if t.byID[m.pub.PacketID] == m {
		delete(t.byID, m.pub.PacketID)
	}
	if m.gen != t.gen || t.ackOut == nil {
		t.stats.stale++
		return nil
	}
	// PUBACK (QoS 1) or PUBREC (QoS 2) with reason Success and no
	// properties, which MQTT 5 lets a client write as just the packet id.
	// The client's session state answers the broker's PUBREL with PUBCOMP.
	kind := byte(packets.PUBACK)
	if m.pub.QoS == 2 {
		kind = packets.PUBREC
	}
	t.ackBuf = append(t.ackBuf, kind<<4, 2, byte(m.pub.PacketID>>8), byte(m.pub.PacketID))
	t.stats.acked++
	select {
	case t.ackKick <- struct{}{}:
	default:
	}
	return nil
}

// flusher writes queued acknowledgements as soon as there are some; what
// Commit queues while a write is under way goes out in the next.
func (t *task) flusher() {
	for {
		select {
		case <-t.ackKick:
			t.flushAcks()
		case <-t.stopping:
			return
		}
	}
}

// flushAcks writes the queued acknowledgements to the connection they
// belong to (a gone connection fails the write: the broker redelivers).
func (t *task) flushAcks() {
	t.flushMu.Lock()
	defer t.flushMu.Unlock()
	t.mu.Lock()
	buf, out, ping := t.ackBuf, t.ackOut, t.ackPing
	t.ackBuf = t.ackSpare[:0]
	t.mu.Unlock()
	if len(buf) > 0 && out != nil {
		l, _ := out.(sync.Locker) // the client's writes hold it too
		if l != nil {
			l.Lock()
		}
		_, err := out.Write(buf)
		if l != nil {
			l.Unlock()
		}
		if err != nil {
			t.log.Debug("acknowledgements not sent: the connection is gone; the broker redelivers", "bytes", len(buf), "err", err)
		} else {
			ping.PacketSent()
		}
	}
	t.ackSpare = buf[:0]
}

// Stop disconnects normally, which keeps a persistent session: the broker
// queues messages until the task is back. The runtime calls Stop after the
// last Commit, so every acknowledgement is written before the DISCONNECT.
func (t *task) Stop(ctx context.Context) error {
	if t.cancel == nil {
		return nil // never started
	}
	if !t.shutdown(ctx) {
		return nil // stopped already
	}
	t.mu.Lock()
	st := t.stats
	buffered, pending := len(t.buf), len(t.pend)
	t.mu.Unlock()
	t.log.Info("MQTT source task stopped", "received", st.received, "polled", st.polled, "committed", st.committed,
		"acknowledged", st.acked, "left.to.redelivery", st.stale+st.abandoned, "redeliveries.merged", st.merged, "qos0.dropped", st.dropped, "reading.paused", st.paused,
		"unpolled", buffered, "uncommitted", pending)
	return nil
}

// shutdown ends the connection loop, the flusher and waiting receivers,
// once; it reports whether this call did it.
func (t *task) shutdown(ctx context.Context) bool {
	did := false
	t.stopOnce.Do(func() {
		did = true
		close(t.stopping)
		t.cancel()
		select {
		case <-t.done:
		case <-ctx.Done():
		}
		t.state.Close()
	})
	return did
}

// pahoLogger sends the client's error log to the task's logger at debug
// level: it reports mostly failed writes on connections already lost.
type pahoLogger struct{ l *slog.Logger }

func (p pahoLogger) Println(v ...any) {
	p.l.Debug(strings.TrimSpace(fmt.Sprintln(v...)), "source", "paho")
}
func (p pahoLogger) Printf(format string, v ...any) {
	p.l.Debug(fmt.Sprintf(format, v...), "source", "paho")
}

// watchedConn tells waiting receivers that the client closed the
// connection: the client's shutdown waits for its delivery goroutine, so a
// receiver must not wait for room on a connection that is gone.
//
// It also buffers reads: the client reads every packet with several small
// reads, a system call each without a buffer.
type watchedConn struct {
	net.Conn
	r      *bufio.Reader
	once   sync.Once
	closed chan struct{}
	// established is set once CONNECT and the subscriptions are done: only
	// then may a receiver hold reading back.
	established atomic.Bool
}

// isEstablished reports whether the connection's handshake is done (a nil
// connection counts as done).
func (c *watchedConn) isEstablished() bool { return c == nil || c.established.Load() }

func newWatchedConn(c net.Conn) *watchedConn {
	return &watchedConn{Conn: c, r: bufio.NewReaderSize(c, 32<<10), closed: make(chan struct{})}
}

// Read is only called by the client's reading goroutine.
func (c *watchedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *watchedConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
