package transforms

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// dateFormat is a java.text.SimpleDateFormat pattern (the format Kafka's
// TimestampConverter and TimestampRouter take), always in UTC and in the
// English locale. Formatting follows Java for every pattern letter; parsing
// is lenient like Java's default: out-of-range fields roll over, text after
// the pattern is ignored, week-based fields (w, W, F, E, u, Y as week year)
// are read but do not move the date.
type dateFormat struct {
	pattern string
	toks    []dfToken
	hasYear bool // y present: Y (week year) does not set the year
	has24h  bool // H or k present: a (AM/PM) does not move the hour
}

type dfToken struct {
	letter byte // 0 for literal text
	count  int
	lit    string
}

const dfLetters = "GyYMLwWDdFEuaHkKhmsSzZX"

var (
	monthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	dayNames   = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
)

// compileDateFormat parses a SimpleDateFormat pattern, rejecting what Java rejects.
func compileDateFormat(pattern string) (*dateFormat, error) {
	f := &dateFormat{pattern: pattern}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			f.toks = append(f.toks, dfToken{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(pattern); {
		c := pattern[i]
		switch {
		case c == '\'':
			if i+1 < len(pattern) && pattern[i+1] == '\'' {
				lit.WriteByte('\'')
				i += 2
				continue
			}
			i++
			closed := false
			for i < len(pattern) {
				if pattern[i] == '\'' {
					if i+1 < len(pattern) && pattern[i+1] == '\'' {
						lit.WriteByte('\'')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				lit.WriteByte(pattern[i])
				i++
			}
			if !closed {
				return nil, errors.New("Unterminated quote")
			}
		case ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z'):
			if strings.IndexByte(dfLetters, c) < 0 {
				return nil, fmt.Errorf("Illegal pattern character '%c'", c)
			}
			n := 1
			for i+n < len(pattern) && pattern[i+n] == c {
				n++
			}
			if c == 'X' && n > 3 {
				return nil, fmt.Errorf("invalid ISO 8601 format: length=%d", n)
			}
			flush()
			f.toks = append(f.toks, dfToken{letter: c, count: n})
			i += n
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	f.hasYear = hasLetter(f, 'y')
	f.has24h = hasLetter(f, 'H', 'k')
	return f, nil
}

func (t dfToken) numeric() bool {
	switch t.letter {
	case 'y', 'Y', 'w', 'W', 'D', 'd', 'F', 'u', 'H', 'k', 'K', 'h', 'm', 's', 'S':
		return true
	case 'M', 'L':
		return t.count <= 2
	}
	return false
}

func pad(b []byte, n, width int) []byte {
	s := strconv.Itoa(n)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// format renders t (in UTC) with the pattern.
func (f *dateFormat) format(t time.Time) string {
	t = t.UTC()
	b := make([]byte, 0, len(f.pattern)+8)
	for _, tok := range f.toks {
		n := tok.count
		switch tok.letter {
		case 0:
			b = append(b, tok.lit...)
		case 'G':
			if t.Year() <= 0 {
				b = append(b, "BC"...)
			} else {
				b = append(b, "AD"...)
			}
		case 'y', 'Y':
			y := t.Year()
			if tok.letter == 'Y' {
				y, _ = usWeek(t)
			}
			if y <= 0 {
				y = 1 - y
			}
			if n == 2 {
				b = pad(b, y%100, 2)
			} else {
				b = pad(b, y, n)
			}
		case 'M', 'L':
			switch {
			case n >= 4:
				b = append(b, monthNames[t.Month()-1]...)
			case n == 3:
				b = append(b, monthNames[t.Month()-1][:3]...)
			default:
				b = pad(b, int(t.Month()), n)
			}
		case 'w':
			_, w := usWeek(t)
			b = pad(b, w, n)
		case 'W':
			first := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
			b = pad(b, (t.Day()-1+int(first.Weekday()))/7+1, n)
		case 'D':
			b = pad(b, t.YearDay(), n)
		case 'd':
			b = pad(b, t.Day(), n)
		case 'F':
			b = pad(b, (t.Day()-1)/7+1, n)
		case 'E':
			name := dayNames[t.Weekday()]
			if n < 4 {
				name = name[:3]
			}
			b = append(b, name...)
		case 'u':
			d := int(t.Weekday())
			if d == 0 {
				d = 7
			}
			b = pad(b, d, n)
		case 'a':
			if t.Hour() < 12 {
				b = append(b, "AM"...)
			} else {
				b = append(b, "PM"...)
			}
		case 'H':
			b = pad(b, t.Hour(), n)
		case 'k':
			h := t.Hour()
			if h == 0 {
				h = 24
			}
			b = pad(b, h, n)
		case 'K':
			b = pad(b, t.Hour()%12, n)
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			b = pad(b, h, n)
		case 'm':
			b = pad(b, t.Minute(), n)
		case 's':
			b = pad(b, t.Second(), n)
		case 'S':
			b = pad(b, t.Nanosecond()/1e6, n)
		case 'z':
			if n >= 4 {
				b = append(b, "Coordinated Universal Time"...)
			} else {
				b = append(b, "UTC"...)
			}
		case 'Z':
			b = append(b, "+0000"...)
		case 'X':
			b = append(b, 'Z')
		}
	}
	return string(b)
}

// usWeek returns the week year and week of year of t under the US rules
// Java's default locale uses: weeks start on Sunday and week 1 is the week
// holding January 1.
func usWeek(t time.Time) (year, week int) {
	sat := t.AddDate(0, 0, 6-int(t.Weekday()))
	if sat.Year() > t.Year() {
		return t.Year() + 1, 1
	}
	jan1 := time.Date(t.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	return t.Year(), (t.YearDay()-1+int(jan1.Weekday()))/7 + 1
}

// dfNow is the clock two-digit years are resolved against.
var dfNow = time.Now

var errNoMatch = errors.New("no match")

// parse reads a time from the start of s, as SimpleDateFormat.parse(String) does.
func (f *dateFormat) parse(s string) (time.Time, error) {
	year, month, day := 1970, 1, 1
	hour, minute, sec, milli := 0, 0, 0, 0
	yday := -1
	dateSet := false // month or day of month given: day of year is ignored
	pm, hour12 := -1, -1
	bc := false
	offset, twoDigitYear := 0, false
	pos := 0
	for i, tok := range f.toks {
		if tok.letter == 0 {
			if !strings.HasPrefix(s[pos:], tok.lit) {
				return time.Time{}, errNoMatch
			}
			pos += len(tok.lit)
			continue
		}
		if tok.numeric() {
			width := 0
			if i+1 < len(f.toks) && f.toks[i+1].numeric() {
				width = tok.count // abutting numeric fields: fixed width
			}
			n, digits, ok := parseDigits(s[pos:], width)
			if !ok {
				return time.Time{}, errNoMatch
			}
			pos += digits
			switch tok.letter {
			case 'y':
				year = n
				twoDigitYear = tok.count <= 2 && digits == 2
			case 'Y':
				if !f.hasYear {
					year = n
					twoDigitYear = tok.count <= 2 && digits == 2
				}
			case 'M', 'L':
				month, dateSet = n, true
			case 'd':
				day, dateSet = n, true
			case 'D':
				yday = n
			case 'H':
				hour, hour12 = n, -1
			case 'k':
				hour, hour12 = n%24, -1
			case 'K':
				hour12 = n % 12
			case 'h':
				hour12 = n % 12
			case 'm':
				minute = n
			case 's':
				sec = n
			case 'S':
				milli = n
			}
			continue
		}
		var n, used int
		var ok bool
		switch tok.letter {
		case 'M', 'L':
			n, used, ok = matchName(s[pos:], monthNames)
			month, dateSet = n+1, true
		case 'E':
			_, used, ok = matchName(s[pos:], dayNames)
		case 'a':
			n, used, ok = matchName(s[pos:], []string{"AM", "PM"})
			pm = n
		case 'G':
			n, used, ok = matchName(s[pos:], []string{"AD", "BC"})
			bc = n == 1
		case 'z', 'Z', 'X':
			offset, used, ok = parseZone(s[pos:])
		}
		if !ok {
			return time.Time{}, errNoMatch
		}
		pos += used
	}
	if twoDigitYear {
		start := dfNow().UTC().Year() - 80
		year += start / 100 * 100
		if year < start {
			year += 100
		}
	}
	if bc {
		year = 1 - year
	}
	if hour12 >= 0 {
		hour = hour12
		if pm == 1 {
			hour += 12
		}
	} else if pm == 1 && hour < 12 && !f.has24h {
		hour += 12
	}
	if yday >= 0 && !dateSet {
		month, day = 1, yday
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
	t = t.Add(time.Duration(milli)*time.Millisecond - time.Duration(offset)*time.Second)
	return t, nil
}

func hasLetter(f *dateFormat, letters ...byte) bool {
	for _, t := range f.toks {
		for _, l := range letters {
			if t.letter == l {
				return true
			}
		}
	}
	return false
}

// parseDigits reads a non-negative decimal number: exactly width digits, or
// all digits there are when width is 0 (at most 9, so the value fits).
func parseDigits(s string, width int) (n, used int, ok bool) {
	max := width
	if max == 0 {
		max = 9
	}
	for used < len(s) && used < max && '0' <= s[used] && s[used] <= '9' {
		n = n*10 + int(s[used]-'0')
		used++
	}
	if used == 0 || (width > 0 && used != width) {
		return 0, 0, false
	}
	return n, used, true
}

// matchName finds the longest full or three-letter name at the start of s,
// ignoring case, and returns its index.
func matchName(s string, names []string) (idx, used int, ok bool) {
	for i, n := range names {
		for _, cand := range []string{n, n[:min(3, len(n))]} {
			if len(cand) > used && len(s) >= len(cand) && strings.EqualFold(s[:len(cand)], cand) {
				idx, used, ok = i, len(cand), true
			}
		}
	}
	return idx, used, ok
}

var zoneAbbrevs = map[string]int{
	"UTC": 0, "GMT": 0, "UT": 0, "Z": 0,
	"EST": -5 * 3600, "EDT": -4 * 3600, "CST": -6 * 3600, "CDT": -5 * 3600,
	"MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
	"CET": 3600, "CEST": 2 * 3600, "EET": 2 * 3600, "EEST": 3 * 3600, "WET": 0, "WEST": 3600,
}

// parseZone reads a time zone: Z, a numeric offset (+hh, +hhmm, +hh:mm),
// GMT/UTC with an optional offset, or a common abbreviation. It returns the
// offset east of UTC in seconds.
func parseZone(s string) (offset, used int, ok bool) {
	for _, prefix := range []string{"GMT", "UTC", "UT"} {
		if strings.HasPrefix(s, prefix) {
			if off, n, ok := parseOffset(s[len(prefix):]); ok {
				return off, len(prefix) + n, true
			}
			return 0, len(prefix), true
		}
	}
	if off, n, ok := parseOffset(s); ok {
		return off, n, true
	}
	best := ""
	for name := range zoneAbbrevs {
		if strings.HasPrefix(s, name) && len(name) > len(best) {
			best = name
		}
	}
	if best == "" {
		return 0, 0, false
	}
	return zoneAbbrevs[best], len(best), true
}

// parseOffset reads +hh, +hhmm or +hh:mm (also with one hour digit).
func parseOffset(s string) (offset, used int, ok bool) {
	if s == "" || (s[0] != '+' && s[0] != '-') {
		return 0, 0, false
	}
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	h, n, ok := parseDigits(s[1:], 0)
	if !ok || n > 4 {
		return 0, 0, false
	}
	used = 1 + n
	m := 0
	switch {
	case n > 2: // hhmm
		h, m = h/100, h%100
	case len(s) > used+2 && s[used] == ':':
		if mm, k, ok := parseDigits(s[used+1:], 2); ok && k == 2 {
			m = mm
			used += 3
		}
	}
	if h > 23 || m > 59 {
		return 0, 0, false
	}
	return sign * (h*3600 + m*60), used, true
}
