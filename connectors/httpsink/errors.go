package httpsink

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/spur-connect/spur/connect"
)

// DeliveryError is the error a record is reported with when the request
// holding it failed for good: after the retries, or with a status that is
// not retried. It is what SinkContext.Report receives and what the task
// fails with, so it reads on its own.
type DeliveryError struct {
	Method   string
	URL      string // without credentials or secret-looking query values
	Status   int    // 0 when no response was received
	Body     string // the start of the response body
	Attempts int
	Records  string // topic/partition@first..last of the request's records
	Err      error  // the transport error when there was no response, or what a partial rejection said
}

func (e *DeliveryError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "http-sink: %s %s (records %s) failed after %d attempt", e.Method, e.URL, e.Records, e.Attempts)
	if e.Attempts != 1 {
		b.WriteByte('s')
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, ": status %d %s", e.Status, http.StatusText(e.Status))
		if e.Body != "" {
			b.WriteString(": response: ")
			b.WriteString(e.Body)
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// ErrRecordTooLarge is wrapped by the error of a record that does not fit
// into a request of batch.max.bytes on its own.
var ErrRecordTooLarge = errors.New("record larger than batch.max.bytes")

// describeRecords renders the offset ranges of records per partition, as
// "orders/0@10..14, orders/3@7".
func describeRecords(records []*connect.Record) string {
	type span struct{ lo, hi int64 }
	spans := map[connect.TopicPartition]*span{}
	var order []connect.TopicPartition
	for _, r := range records {
		tp := connect.TopicPartition{Topic: r.Topic, Partition: r.Partition}
		s := spans[tp]
		if s == nil {
			s = &span{r.Offset, r.Offset}
			spans[tp] = s
			order = append(order, tp)
		}
		s.lo, s.hi = min(s.lo, r.Offset), max(s.hi, r.Offset)
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].Topic != order[j].Topic {
			return order[i].Topic < order[j].Topic
		}
		return order[i].Partition < order[j].Partition
	})
	parts := make([]string, 0, len(order))
	for i, tp := range order {
		if i == 8 {
			parts = append(parts, fmt.Sprintf("and %d more partitions", len(order)-i))
			break
		}
		s := spans[tp]
		p := tp.Topic + "/" + strconv.Itoa(int(tp.Partition)) + "@" + strconv.FormatInt(s.lo, 10)
		if s.hi != s.lo {
			p += ".." + strconv.FormatInt(s.hi, 10)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}
