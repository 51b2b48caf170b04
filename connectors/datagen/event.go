package datagen

import (
	"strconv"
)

// seededEpochMillis is where the seeded timeline starts: 2025-01-01T00:00:00Z.
// A fixed start (rather than the wall clock) is what makes an event a pure
// function of (seed, task, seq), so a replayed record is byte-identical.
const seededEpochMillis = 1735689600000

// seededGapMillis is the average spacing of a task's events on the seeded
// timeline: each event lands somewhere in its own slot of this length.
const seededGapMillis = 250

// Users 0 and 1 carry fixed ids at the edges of float64 precision, so every
// run of any seed exercises them: 2^53+1 is the first integer a float64
// cannot hold, and MaxInt64 is the largest id a signed 64-bit column holds.
const (
	userPool       = 10000
	productPool    = 2000
	firstUnsafeInt = 1<<53 + 1
	maxInt64       = 1<<63 - 1
)

// AppendEvent appends the JSON of event seq of task of a datagen run with
// the given seed to dst and returns it with the event's user_id (the record
// key). The event is a pure function of its arguments; its timestamps lie on
// the seeded timeline that starts at 2025-01-01T00:00:00Z. It allocates
// nothing when dst has room.
//
// It is exported so tests and benchmarks of other packages can build
// realistic tracking payloads without running the connector.
func AppendEvent(dst []byte, seed int64, task int, seq int64) ([]byte, int64) {
	return appendEvent(dst, seed, task, seq, 0, false)
}

// AppendCompactEvent is AppendEvent for event.shape=compact: the same event
// (same ids, type, url, timestamp and properties) without the browser
// context (anonymous id, referrer, user agent, ip, received_at, timezone,
// city, screen, consent), about 350 B instead of about 700 B.
func AppendCompactEvent(dst []byte, seed int64, task int, seq int64) ([]byte, int64) {
	return appendEvent(dst, seed, task, seq, 0, true)
}

// appendEvent builds one event. nowMillis 0 puts the timestamps on the
// seeded timeline; otherwise received_at is nowMillis and timestamp a little
// earlier, as event.time=now asks for. compact leaves out the browser
// context; every random draw is made either way, so both shapes of an event
// agree on the fields they share.
func appendEvent(dst []byte, seed int64, task int, seq int64, nowMillis int64, compact bool) ([]byte, int64) {
	r := newRand(seed, task, seq)

	kind := pickKind(r.intn(100))
	u := r.intn(userPool)
	uh := mix(uint64(seed)*0x9e3779b97f4a7c15 ^ uint64(u)) // per-user attributes
	userID := userIDOf(seed, u, uh)
	loc := &locales[uh%uint64(len(locales))]
	p := r.intn(productPool)
	ph := mix(uint64(seed)*0xc2b2ae3d27d4eb4f ^ uint64(p)) // per-product attributes

	dst = append(dst, `{"event_id":"`...)
	dst = appendEventID(dst, seed, task, seq)
	dst = append(dst, `","event_type":"`...)
	dst = append(dst, kindNames[kind]...)
	dst = append(dst, `","user_id":`...)
	dst = strconv.AppendInt(dst, userID, 10)
	if !compact {
		dst = append(dst, `,"anonymous_id":"`...)
		dst = appendHex(dst, mix(uh^0x5bd1e995), 16)
		dst = append(dst, '"')
	}
	dst = append(dst, `,"session_id":"`...)
	// A session is a user's run of events within one block of 64 sequence
	// numbers of a task, so ids repeat the way real sessions do.
	dst = appendHex(dst, mix(uh^uint64(task)<<40^uint64(seq>>6)), 16)
	dst = append(dst, `","url":"`...)
	dst = appendURL(dst, kind, p, ph, r)
	dst = append(dst, '"')
	ref := referrers[r.intn(len(referrers))]
	if !compact {
		dst = append(dst, `,"referrer":`...)
		if ref == "" {
			dst = append(dst, "null"...) // direct traffic
		} else {
			dst = append(dst, '"')
			dst = append(dst, ref...)
			dst = append(dst, '"')
		}
		dst = append(dst, `,"user_agent":"`...)
		dst = append(dst, userAgents[(uh>>8)%uint64(len(userAgents))]...)
		dst = append(dst, `","ip":"`...)
		dst = appendIP(dst, uh)
		dst = append(dst, '"')
	}

	delay := int64(5 + r.intn(1995)) // collection delay, ms
	var ts, received int64
	if nowMillis == 0 {
		ts = seededEpochMillis + seq*seededGapMillis + int64(r.intn(seededGapMillis))
		received = ts + delay
	} else {
		received = nowMillis
		ts = nowMillis - delay
	}
	dst = append(dst, `,"timestamp":"`...)
	dst = appendRFC3339Millis(dst, ts)
	if !compact {
		dst = append(dst, `","received_at":"`...)
		dst = appendRFC3339Millis(dst, received)
	}
	dst = append(dst, `","properties":`...)
	dst = appendProperties(dst, kind, p, ph, loc, seed, task, seq, r)
	dst = append(dst, `,"context":{"locale":"`...)
	dst = append(dst, loc.locale...)
	if compact {
		return append(dst, `"}}`...), userID
	}
	dst = append(dst, `","timezone":"`...)
	dst = append(dst, loc.timezone...)
	dst = append(dst, `","city":"`...)
	dst = append(dst, loc.city...)
	sc := &screens[(uh>>16)%uint64(len(screens))]
	dst = append(dst, `","screen":{"width":`...)
	dst = strconv.AppendInt(dst, int64(sc.w), 10)
	dst = append(dst, `,"height":`...)
	dst = strconv.AppendInt(dst, int64(sc.h), 10)
	dst = append(dst, `},"consent":`...)
	dst = strconv.AppendBool(dst, uh>>24%5 != 0)
	dst = append(dst, `}}`...)
	return dst, userID
}

type kind uint8

const (
	pageView kind = iota
	click
	search
	addToCart
	removeFromCart
	checkoutStarted
	purchase
)

var kindNames = [...]string{"page_view", "click", "search", "add_to_cart", "remove_from_cart", "checkout_started", "purchase"}

// pickKind maps a percentile to an event type with a plausible shop funnel:
// many views, fewer clicks, few purchases.
func pickKind(pct int) kind {
	switch {
	case pct < 50:
		return pageView
	case pct < 70:
		return click
	case pct < 78:
		return search
	case pct < 88:
		return addToCart
	case pct < 91:
		return removeFromCart
	case pct < 96:
		return checkoutStarted
	}
	return purchase
}

// userIDOf gives user u a 64-bit id. About a quarter of the users have ids
// above 2^53 (snowflake-style ids), which a float64 cannot hold: a pipeline
// that decodes JSON numbers into float64 corrupts them, and tests see it.
func userIDOf(seed int64, u int, uh uint64) int64 {
	switch {
	case u == 0:
		return firstUnsafeInt
	case u == 1:
		return maxInt64
	case u%4 == 0:
		return 1<<53 + 2 + int64(uh%(maxInt64-1<<53-2))
	}
	return 1000000 + int64(u)
}

func appendURL(dst []byte, k kind, p int, ph uint64, r *rand) []byte {
	dst = append(dst, "https://shop.example.com"...)
	switch k {
	case pageView:
		switch r.intn(10) {
		case 0:
			return append(dst, '/')
		case 1, 2:
			dst = append(dst, "/c/"...)
			return append(dst, productOf(ph).category...)
		}
	case search:
		return append(dst, "/search"...)
	case checkoutStarted:
		return append(dst, "/checkout"...)
	case purchase:
		return append(dst, "/checkout/confirmation"...)
	}
	dst = append(dst, "/p/"...)
	return appendProductID(dst, p)
}

func appendProperties(dst []byte, k kind, p int, ph uint64, loc *locale, seed int64, task int, seq int64, r *rand) []byte {
	if k == search {
		dst = append(dst, `{"query":"`...)
		dst = append(dst, queries[r.intn(len(queries))]...)
		dst = append(dst, `","results":`...)
		dst = strconv.AppendInt(dst, int64(r.intn(120)), 10)
		return append(dst, '}')
	}
	dst = append(dst, `{"product_id":"`...)
	dst = appendProductID(dst, p)
	dst = append(dst, `","name":"`...)
	pr := productOf(ph)
	dst = append(dst, adjectives[ph%uint64(len(adjectives))]...)
	dst = append(dst, ' ')
	dst = append(dst, pr.noun...)
	dst = append(dst, `","category":"`...)
	dst = append(dst, pr.category...)
	// Prices are whole cents ending the way shop prices do (19.90, 4.99),
	// written with both decimals: a pipeline that round-trips them through
	// float64 turns 19.90 into 19.9, and byte-identity tests notice.
	cents := int64(100*(1+(ph>>16)%250)) - int64(priceEndings[(ph>>24)%uint64(len(priceEndings))])
	dst = append(dst, `","price":`...)
	dst = appendPrice(dst, cents, loc.currency)
	dst = append(dst, `,"currency":"`...)
	dst = append(dst, loc.currency...)
	dst = append(dst, '"')
	if k == addToCart || k == removeFromCart || k == purchase {
		qty := int64(1 + r.intn(3))
		dst = append(dst, `,"quantity":`...)
		dst = strconv.AppendInt(dst, qty, 10)
		if k == purchase {
			dst = append(dst, `,"order_id":"O-`...)
			dst = appendHex(dst, mix(uint64(seed)^uint64(task)<<48^uint64(seq)), 12)
			dst = append(dst, `","revenue":`...)
			dst = appendPrice(dst, cents*qty, loc.currency)
		}
	}
	return append(dst, '}')
}

// appendPrice writes cents as a decimal with two places, or as whole units
// for currencies without minor units (JPY), where the table's cents are yen.
func appendPrice(dst []byte, cents int64, currency string) []byte {
	if currency == "JPY" {
		return strconv.AppendInt(dst, cents, 10)
	}
	dst = strconv.AppendInt(dst, cents/100, 10)
	c := cents % 100
	return append(dst, '.', byte('0'+c/10), byte('0'+c%10))
}

func appendProductID(dst []byte, p int) []byte {
	dst = append(dst, "P-"...)
	var b [6]byte
	for i := 5; i >= 0; i-- {
		b[i] = byte('0' + p%10)
		p /= 10
	}
	return append(dst, b[:]...)
}

// appendIP writes an address from the three documentation ranges
// (RFC 5737), so generated data never names a real host.
func appendIP(dst []byte, uh uint64) []byte {
	dst = append(dst, testNets[(uh>>32)%uint64(len(testNets))]...)
	return strconv.AppendInt(dst, int64(1+(uh>>40)%254), 10)
}

// appendEventID writes a version-4-shaped UUID that is unique per
// (seed, task, seq): the high half identifies (seed, task), the low 62 bits
// are a bijection of seq, so two events of one run never share an id.
func appendEventID(dst []byte, seed int64, task int, seq int64) []byte {
	hi := mix(uint64(seed)*0xff51afd7ed558ccd + uint64(task) + 0x632be59bd9b4e019)
	hi = hi&^0xf000 | 0x4000 // version 4
	lo := permute62(uint64(seq)+hi) | 1<<63
	dst = appendHex(dst, hi>>32, 8)
	dst = append(dst, '-')
	dst = appendHex(dst, hi>>16&0xffff, 4)
	dst = append(dst, '-')
	dst = appendHex(dst, hi&0xffff, 4)
	dst = append(dst, '-')
	dst = appendHex(dst, lo>>48, 4)
	dst = append(dst, '-')
	return appendHex(dst, lo&0xffffffffffff, 12)
}

const mask62 = 1<<62 - 1

// permute62 is a bijection on 62-bit integers: each step (xor with a right
// shift, multiplication by an odd constant modulo 2^62) can be undone.
func permute62(x uint64) uint64 {
	x &= mask62
	x ^= x >> 31
	x = x * 0x7fb5d329728ea185 & mask62
	x ^= x >> 27
	x = x * 0x81dadef4bc2dd44d & mask62
	x ^= x >> 33
	return x
}

const hexDigits = "0123456789abcdef"

func appendHex(dst []byte, v uint64, digits int) []byte {
	var b [16]byte
	for i := digits - 1; i >= 0; i-- {
		b[i] = hexDigits[v&0xf]
		v >>= 4
	}
	return append(dst, b[:digits]...)
}

// appendRFC3339Millis writes a UTC time as 2006-01-02T15:04:05.000Z. It does
// the calendar arithmetic itself (Howard Hinnant's days-to-civil), which is
// several times faster than time.Time.AppendFormat on the hot path.
func appendRFC3339Millis(dst []byte, ms int64) []byte {
	days := ms / 86400000
	rem := ms % 86400000
	if rem < 0 {
		days--
		rem += 86400000
	}
	z := days + 719468
	era := z / 146097
	if z < 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if mp >= 10 {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	dst = append4(dst, y)
	dst = append(dst, '-')
	dst = append2(dst, m)
	dst = append(dst, '-')
	dst = append2(dst, d)
	dst = append(dst, 'T')
	dst = append2(dst, rem/3600000)
	dst = append(dst, ':')
	dst = append2(dst, rem/60000%60)
	dst = append(dst, ':')
	dst = append2(dst, rem/1000%60)
	dst = append(dst, '.')
	ms3 := rem % 1000
	dst = append(dst, byte('0'+ms3/100), byte('0'+ms3/10%10), byte('0'+ms3%10))
	return append(dst, 'Z')
}

func append2(dst []byte, v int64) []byte { return append(dst, byte('0'+v/10), byte('0'+v%10)) }

func append4(dst []byte, v int64) []byte {
	return append(dst, byte('0'+v/1000%10), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}

// rand is splitmix64: tiny, fast, and seeded per event so that an event
// does not depend on the events generated before it.
type rand struct{ s uint64 }

func newRand(seed int64, task int, seq int64) *rand {
	return &rand{mix(uint64(seed)*0x9e3779b97f4a7c15 ^ mix(uint64(task)<<32^0xd1b54a32d192ed03) ^ uint64(seq)*0xbf58476d1ce4e5b9)}
}

func (r *rand) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix(r.s)
}

// intn returns a number in [0, n). The modulo bias is irrelevant for fake data.
func (r *rand) intn(n int) int { return int(r.next() % uint64(n)) }

// mix is splitmix64's finalizer, a bijection on uint64.
func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// The tables below are the only strings events contain. None needs JSON
// escaping (no quotes, backslashes or control characters; the test checks),
// which is what lets events be built by appending bytes. Some are non-ASCII
// on purpose, to exercise UTF-8 handling downstream.

type locale struct{ locale, timezone, city, currency string }

var locales = [...]locale{
	{"de-DE", "Europe/Berlin", "Düsseldorf", "EUR"},
	{"de-DE", "Europe/Berlin", "München", "EUR"},
	{"en-GB", "Europe/London", "London", "GBP"},
	{"en-US", "America/New_York", "New York", "USD"},
	{"fr-FR", "Europe/Paris", "Paris", "EUR"},
	{"pt-BR", "America/Sao_Paulo", "São Paulo", "BRL"},
	{"ja-JP", "Asia/Tokyo", "東京", "JPY"},
	{"nl-NL", "Europe/Amsterdam", "Amsterdam", "EUR"},
}

var screens = [...]struct{ w, h int }{{1920, 1080}, {1366, 768}, {1536, 864}, {390, 844}, {412, 915}, {2560, 1440}, {1280, 800}}

var userAgents = [...]string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
	"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
}

// referrers: the empty entries are direct traffic, written as JSON null.
var referrers = [...]string{
	"", "", "", "",
	"https://www.google.com/", "https://www.google.com/", "https://www.google.com/",
	"https://www.bing.com/", "https://duckduckgo.com/", "https://www.instagram.com/",
	"https://t.co/", "https://news.ycombinator.com/", "https://shop.example.com/",
}

var adjectives = [...]string{"Classic", "Ultra", "Eco", "Pro", "Urban", "Vintage", "Smart", "Compact"}

type product struct{ noun, category string }

var products = [...]product{
	{"Sneaker", "shoes"}, {"Trail Runner", "shoes"}, {"Jacket", "apparel"}, {"Hoodie", "apparel"},
	{"Headphones", "electronics"}, {"Watch", "electronics"}, {"Lamp", "home"}, {"Backpack", "sports"},
	{"Kettle", "kitchen"}, {"Blender", "kitchen"}, {"Building Set", "toys"}, {"Face Cream", "beauty"},
}

func productOf(ph uint64) *product { return &products[(ph>>8)%uint64(len(products))] }

var queries = [...]string{"running shoes", "winter jacket", "usb-c cable", "espresso machine", "kinderwagen", "café crème", "lego", "wireless earbuds"}

var priceEndings = [...]int{0, 1, 10, 5, 50}

var testNets = [...]string{"192.0.2.", "198.51.100.", "203.0.113."}
