package datagen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/spur-connect/spur/connect"
)

func TestEventsAreValidJSONWithExact64BitUserIDs(t *testing.T) {
	var above2p53, below2p53 int
	seen := map[string]int{}
	for _, seed := range []int64{0, 1, 42, -7, math.MaxInt64} {
		for _, task := range []int{0, 3} {
			for seq := int64(0); seq < 1000; seq++ {
				b, uid := AppendEvent(nil, seed, task, seq)
				if !json.Valid(b) {
					t.Fatalf("seed %d task %d seq %d: invalid JSON: %s", seed, task, seq, b)
				}
				v, err := connect.DecodeJSON(b)
				if err != nil {
					t.Fatal(err)
				}
				ev := v.(map[string]any)
				for _, f := range []string{"event_id", "event_type", "user_id", "anonymous_id", "session_id", "url", "referrer",
					"user_agent", "ip", "timestamp", "received_at", "properties", "context"} {
					if _, ok := ev[f]; !ok {
						t.Fatalf("event lacks %q: %s", f, b)
					}
				}
				// The id must survive as the exact digits, never through float64.
				if got := ev["user_id"].(json.Number).String(); got != strconv.FormatInt(uid, 10) {
					t.Fatalf("user_id %s, key %d", got, uid)
				}
				if uid > 1<<53 {
					above2p53++
				} else {
					below2p53++
				}
				seen[ev["event_type"].(string)]++
				ts, err := time.Parse(time.RFC3339Nano, ev["timestamp"].(string))
				if err != nil {
					t.Fatal(err)
				}
				rcv, _ := time.Parse(time.RFC3339Nano, ev["received_at"].(string))
				if !rcv.After(ts) {
					t.Fatalf("received_at %v not after timestamp %v", rcv, ts)
				}
			}
		}
	}
	if above2p53 == 0 || below2p53 == 0 {
		t.Fatalf("user ids above 2^53: %d, below: %d; want both", above2p53, below2p53)
	}
	for _, k := range kindNames {
		if seen[k] == 0 {
			t.Errorf("no %s events generated", k)
		}
	}
}

func TestEdgeUserIDsAppear(t *testing.T) {
	want := map[int64]bool{firstUnsafeInt: false, maxInt64: false}
	for seq := int64(0); seq < 100000; seq++ {
		if _, uid := AppendEvent(nil, 0, 0, seq); uid == firstUnsafeInt || uid == maxInt64 {
			want[uid] = true
		}
	}
	for id, ok := range want {
		if !ok {
			t.Errorf("user id %d never generated", id)
		}
	}
	if f := float64(firstUnsafeInt); int64(f) == firstUnsafeInt {
		t.Errorf("%d should not survive a float64 round trip", int64(firstUnsafeInt))
	}
}

func TestPricesKeepTheirTwoDecimals(t *testing.T) {
	for seq := int64(0); seq < 2000; seq++ {
		b, _ := AppendEvent(nil, 5, 0, seq)
		i := bytes.Index(b, []byte(`"price":`))
		if i < 0 || bytes.Contains(b, []byte(`"currency":"JPY"`)) {
			continue
		}
		num := b[i+len(`"price":`):]
		num = num[:bytes.IndexByte(num, ',')]
		if dot := bytes.IndexByte(num, '.'); dot < 0 || len(num)-dot != 3 {
			t.Fatalf("price %s lacks two decimals", num)
		}
		if bytes.HasSuffix(num, []byte("0")) {
			return // found a price like 19.90 that float64 round trips would shorten
		}
	}
	t.Fatal("no price with a trailing zero in 2000 events")
}

func TestEventsAreAPureFunctionOfSeedTaskAndSeq(t *testing.T) {
	a, _ := AppendEvent(nil, 7, 2, 12345)
	b, _ := AppendEvent(make([]byte, 0, 4096), 7, 2, 12345)
	if !bytes.Equal(a, b) {
		t.Fatalf("same inputs, different events:\n%s\n%s", a, b)
	}
	for _, other := range []struct{ seed, task, seq int64 }{{8, 2, 12345}, {7, 3, 12345}, {7, 2, 12346}} {
		c, _ := AppendEvent(nil, other.seed, int(other.task), other.seq)
		if bytes.Equal(a, c) {
			t.Errorf("%+v gave the same event as {7 2 12345}", other)
		}
	}
}

func TestEventIDsAreUniqueAcrossTasksAndSequence(t *testing.T) {
	ids := map[string]bool{}
	for task := 0; task < 4; task++ {
		for seq := int64(0); seq < 20000; seq++ {
			id := string(appendEventID(nil, 1, task, seq))
			if ids[id] {
				t.Fatalf("duplicate event_id %s at task %d seq %d", id, task, seq)
			}
			ids[id] = true
			if len(id) != 36 || id[14] != '4' || !strings.ContainsRune("89ab", rune(id[19])) {
				t.Fatalf("event_id %s is not shaped like a version 4 UUID", id)
			}
		}
	}
}

func TestPermute62IsABijection(t *testing.T) {
	// Spot check: distinct inputs in a window give distinct outputs, and
	// outputs stay within 62 bits (the top two carry the UUID variant).
	out := map[uint64]uint64{}
	for x := uint64(1<<62 - 5000); x < 1<<62+5000; x++ {
		y := permute62(x)
		if y > mask62 {
			t.Fatalf("permute62(%d) = %d exceeds 62 bits", x, y)
		}
		if prev, dup := out[y]; dup && prev&mask62 != x&mask62 {
			t.Fatalf("permute62(%d) = permute62(%d)", x, prev)
		}
		out[y] = x
	}
}

func TestTableStringsNeedNoJSONEscaping(t *testing.T) {
	var all []string
	for _, l := range locales {
		all = append(all, l.locale, l.timezone, l.city, l.currency)
	}
	for _, p := range products {
		all = append(all, p.noun, p.category)
	}
	all = append(all, userAgents[:]...)
	all = append(all, referrers[:]...)
	all = append(all, adjectives[:]...)
	all = append(all, queries[:]...)
	all = append(all, testNets[:]...)
	all = append(all, kindNames[:]...)
	for _, s := range all {
		if !utf8.ValidString(s) {
			t.Errorf("%q is not UTF-8", s)
		}
		enc, _ := connect.EncodeJSON(s)
		if string(enc) != `"`+s+`"` {
			t.Errorf("%q needs escaping in JSON: %s", s, enc)
		}
	}
}

func TestRFC3339MillisMatchesTheTimePackage(t *testing.T) {
	for _, ms := range []int64{0, 1, 999, seededEpochMillis, 951782400000 /* 2000-02-29 */, 4102444799999, -1, -86400001, 253402300799999} {
		want := time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00")
		if got := string(appendRFC3339Millis(nil, ms)); got != want {
			t.Errorf("%d: got %s, want %s", ms, got, want)
		}
	}
	r := &rand{s: 1}
	for i := 0; i < 100000; i++ {
		ms := int64(r.next() % 253402300800000)
		want := time.UnixMilli(ms).UTC().Format("2006-01-02T15:04:05.000Z07:00")
		if got := string(appendRFC3339Millis(nil, ms)); got != want {
			t.Fatalf("%d: got %s, want %s", ms, got, want)
		}
	}
}

func TestWallClockEventsUseTheGivenTime(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC).UnixMilli()
	b, _ := appendEvent(nil, 0, 0, 99, now, false)
	if !bytes.Contains(b, []byte(`"received_at":"2026-11-21T10:30:00.000Z"`)) {
		t.Fatalf("received_at is not now: %s", b)
	}
}

// FuzzEventIsValidJSON checks the append-only encoder over arbitrary seeds,
// tasks and sequence numbers, including negative and huge ones.
func FuzzEventIsValidJSON(f *testing.F) {
	f.Add(int64(0), 0, int64(0), int64(0))
	f.Add(int64(-1), 1000, int64(math.MaxInt64), int64(1))
	f.Fuzz(func(t *testing.T, seed int64, task int, seq int64, now int64) {
		if now < 0 || now > 253402300799999 {
			now = 0
		}
		b, uid := appendEvent(nil, seed, task, seq, now, false)
		if !json.Valid(b) {
			t.Fatalf("invalid JSON: %s", b)
		}
		if !bytes.Contains(b, []byte(fmt.Sprintf(`"user_id":%d,`, uid))) {
			t.Fatalf("user_id %d not in %s", uid, b)
		}
	})
}

func TestMaxRecordSize(t *testing.T) {
	longest := 0
	for seq := int64(0); seq < 50000; seq++ {
		b, uid := appendEvent(nil, seq*31, int(seq%7), seq, 253402300799999, false)
		longest = max(longest, len(strconv.AppendInt(b, uid, 10)))
	}
	// Leave room for rarer combinations than 50000 events produce.
	if longest > maxRecordSize/2 {
		t.Fatalf("an event plus key took %d bytes; raise maxRecordSize (%d)", longest, maxRecordSize)
	}
	t.Logf("longest event plus key: %d bytes", longest)
}

func TestCompactEventIsTheFullEventWithoutBrowserContext(t *testing.T) {
	total := 0
	const n = 2000
	for seq := int64(0); seq < n; seq++ {
		fb, fuid := AppendEvent(nil, 9, 1, seq)
		cb, cuid := AppendCompactEvent(nil, 9, 1, seq)
		if !json.Valid(cb) {
			t.Fatalf("seq %d: invalid JSON: %s", seq, cb)
		}
		if fuid != cuid {
			t.Fatalf("seq %d: keys differ: %d vs %d", seq, fuid, cuid)
		}
		full, err := connect.DecodeJSON(fb)
		if err != nil {
			t.Fatal(err)
		}
		compact, err := connect.DecodeJSON(cb)
		if err != nil {
			t.Fatal(err)
		}
		f, c := full.(map[string]any), compact.(map[string]any)
		for _, k := range []string{"anonymous_id", "referrer", "user_agent", "ip", "received_at"} {
			if _, ok := c[k]; ok {
				t.Fatalf("seq %d: compact event has %q: %s", seq, k, cb)
			}
		}
		for _, k := range []string{"event_id", "event_type", "user_id", "session_id", "url", "timestamp", "properties"} {
			if fmt.Sprint(c[k]) != fmt.Sprint(f[k]) {
				t.Fatalf("seq %d: %q is %v in the compact event, %v in the full one", seq, k, c[k], f[k])
			}
		}
		if got, want := c["context"], map[string]any{"locale": f["context"].(map[string]any)["locale"]}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("seq %d: context %v, want %v", seq, got, want)
		}
		total += len(cb)
	}
	if avg := total / n; avg < 250 || avg > 400 {
		t.Fatalf("compact events average %d B, want about 350", avg)
	}
}
