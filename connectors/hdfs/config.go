package hdfs

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spur-connect/spur/connect"
)

// Config keys: Confluent's kafka-connect-hdfs keys where it has them, so an
// existing config runs; Spur's additions are marked in their docs.
const (
	keyHDFSURL        = "hdfs.url"
	keyStoreURL       = "store.url"
	keyWebHDFSURL     = "webhdfs.url"
	keyUser           = "hdfs.user"
	keyTopicsDir      = "topics.dir"
	keyLogsDir        = "logs.dir"
	keyFormat         = "format.class"
	keyFlushSize      = "flush.size"
	keyRotate         = "rotate.interval.ms"
	keyRotateSchedule = "rotate.schedule.interval.ms"
	keyMaxOpen        = "max.open.records"
	keyBackoff        = "retry.backoff.ms"
	keyPadWidth       = "filename.offset.zero.pad.width"
	keyPartitioner    = "partitioner.class"
	keyFieldName      = "partition.field.name"
	keyDuration       = "partition.duration.ms"
	keyPathFormat     = "path.format"
	keyLocale         = "locale"
	keyTimezone       = "timezone"
	keyExtractor      = "timestamp.extractor"
	keyTSField        = "timestamp.field"
	keyHadoopConf     = "hadoop.conf.dir"
	keyKerberos       = "hdfs.authentication.kerberos"
	keyHive           = "hive.integration"
	keyTimeout        = "webhdfs.request.timeout.ms"
)

const (
	gHDFS  = "HDFS"
	gStore = "Storage"
	gPart  = "Partitioner"
)

// Spec declares every key of the HDFS sink, once.
func Spec() *connect.ConfigSpec { return spec }

var spec = connect.NewSpec(
	connect.ConfigKey{Name: keyHDFSURL, Importance: connect.High, Group: gHDFS,
		Doc: "The cluster, as hdfs://namenode:port (Confluent's key). Spur speaks WebHDFS, so it turns hdfs://host:port into http://host:9870 (Hadoop 3's namenode HTTP port) unless webhdfs.url says otherwise; http(s):// and webhdfs:// URLs are used as they are."},
	connect.ConfigKey{Name: keyStoreURL, Importance: connect.High, Group: gHDFS,
		Doc: "Like hdfs.url, and wins over it (Confluent's newer key)."},
	connect.ConfigKey{Name: keyWebHDFSURL, Importance: connect.Medium, Group: gHDFS, Validate: validHTTPURL,
		Doc: "Spur addition: the namenode's WebHDFS base URL (http://namenode:9870, https://namenode:9871). Wins over hdfs.url and store.url."},
	connect.ConfigKey{Name: keyUser, Importance: connect.Medium, Group: gHDFS,
		Doc: "Spur addition: the HDFS user files are written as (WebHDFS user.name, simple authentication). Empty: HADOOP_USER_NAME from the environment, else none (the cluster's default user)."},
	connect.ConfigKey{Name: keyTimeout, Type: connect.TypeInt, Default: "60000", Importance: connect.Low, Group: gHDFS, Validate: connect.Between(1, 3600000),
		Doc: "Spur addition: timeout of one WebHDFS request, in ms."},
	connect.ConfigKey{Name: keyHadoopConf, Importance: connect.Low, Group: gHDFS,
		Doc: "Accepted for compatibility and not read: WebHDFS needs only the namenode's URL."},
	connect.ConfigKey{Name: keyKerberos, Type: connect.TypeBoolean, Default: "false", Importance: connect.Low, Group: gHDFS,
		Doc: "Not supported: true is an error."},
	connect.ConfigKey{Name: keyHive, Type: connect.TypeBoolean, Default: "false", Importance: connect.Low, Group: gHDFS,
		Doc: "Not supported: true is an error."},

	connect.ConfigKey{Name: keyTopicsDir, Default: "topics", Importance: connect.High, Group: gStore, Validate: connect.NonEmpty,
		Doc: "Directory committed files go under: <topics.dir>/<topic>/<partition directory>/<topic>+<kafka partition>+<first offset>+<last offset>.<ext>. Relative paths are under /."},
	connect.ConfigKey{Name: keyLogsDir, Default: "logs", Importance: connect.Low, Group: gStore,
		Doc: "Accepted for compatibility and not used: Spur keeps no write-ahead log (see the docs: recovery reads the committed file names)."},
	connect.ConfigKey{Name: keyFormat, Default: "io.confluent.connect.hdfs.json.JsonFormat", Importance: connect.High, Group: gStore,
		Validate: validFormat,
		Doc:      "JsonFormat (one JSON value per line, .json) or StringFormat (one value as text per line, .txt), by Confluent's class name or short name. Confluent's default, AvroFormat, and Parquet and ORC are not supported: Spur's default is JsonFormat."},
	connect.ConfigKey{Name: keyFlushSize, Type: connect.TypeInt, Required: true, Importance: connect.High, Group: gStore, Validate: connect.AtLeast(1),
		Doc: "Records per file: a file is committed when it holds this many."},
	connect.ConfigKey{Name: keyRotate, Type: connect.TypeLong, Default: "-1", Importance: connect.High, Group: gStore, Validate: connect.AtLeast(-1),
		Doc: "Commit a file once the timestamps (of timestamp.extractor) of its records span this many ms; -1: off. With the Wallclock extractor it is also checked at every offset flush, so a quiet partition's file is committed too."},
	connect.ConfigKey{Name: keyRotateSchedule, Type: connect.TypeLong, Default: "-1", Importance: connect.Medium, Group: gStore, Validate: connect.AtLeast(-1),
		Doc: "Commit open files at wall-clock multiples of this many ms (checked at every put and offset flush); -1: off."},
	connect.ConfigKey{Name: keyMaxOpen, Type: connect.TypeInt, Default: "10000", Importance: connect.Medium, Group: gStore, Validate: connect.AtLeast(1),
		Doc: "Spur addition: most records a task holds in files not yet committed; beyond it the largest open file is committed early. Keep it at most consumer.max.outstanding.records (10000 by default), above which the runtime stops fetching for the task."},
	connect.ConfigKey{Name: keyBackoff, Type: connect.TypeLong, Default: "5000", Importance: connect.Low, Group: gStore, Validate: connect.AtLeast(0),
		Doc: "First wait before retrying a failed HDFS request, in ms; doubles up to 60 s. Requests are retried until they succeed or the task stops."},
	connect.ConfigKey{Name: keyPadWidth, Type: connect.TypeInt, Default: "10", Importance: connect.Low, Group: gStore, Validate: connect.Between(1, 19),
		Doc: "Digits the offsets in file names are zero-padded to."},

	connect.ConfigKey{Name: keyPartitioner, Default: "io.confluent.connect.storage.partitioner.DefaultPartitioner", Importance: connect.High, Group: gPart,
		Validate: validPartitioner,
		Doc:      "DefaultPartitioner (partition=<kafka partition>), FieldPartitioner (<field>=<value> per partition.field.name), TimeBasedPartitioner (path.format), HourlyPartitioner, DailyPartitioner; Confluent's class names or short names."},
	connect.ConfigKey{Name: keyFieldName, Type: connect.TypeList, Default: "", Importance: connect.Medium, Group: gPart,
		Doc: "FieldPartitioner: the value fields (dotted paths reach nested ones) whose values name the directories."},
	connect.ConfigKey{Name: keyDuration, Type: connect.TypeLong, Default: "-1", Importance: connect.Medium, Group: gPart, Validate: connect.AtLeast(-1),
		Doc: "TimeBasedPartitioner: the time span one directory covers, in ms (e.g. 3600000)."},
	connect.ConfigKey{Name: keyPathFormat, Default: "", Importance: connect.Medium, Group: gPart,
		Doc: "TimeBasedPartitioner: the directory pattern in Joda-Time syntax, e.g. 'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH. Supported fields: YYYY/yyyy, MM, dd, HH, mm, ss (others, such as yy or MMM, are refused); quoted text is literal."},
	connect.ConfigKey{Name: keyLocale, Default: "", Importance: connect.Low, Group: gPart,
		Doc: "Accepted for compatibility: the supported fields are numeric, so the locale changes nothing."},
	connect.ConfigKey{Name: keyTimezone, Default: "", Importance: connect.Medium, Group: gPart, Validate: validTimezone,
		Doc: "Time zone of time-based directories and of rotate.schedule.interval.ms (an IANA name such as UTC or Europe/Berlin); required by time-based partitioners."},
	connect.ConfigKey{Name: keyExtractor, Default: "Wallclock", Importance: connect.Medium, Group: gPart, Validate: connect.OneOf("Wallclock", "Record", "RecordField"),
		Recommended: []string{"Wallclock", "Record", "RecordField"},
		Doc:         "Where a record's time comes from for time-based directories and rotate.interval.ms: Wallclock (when the sink writes it), Record (the Kafka timestamp), RecordField (timestamp.field of the value: epoch milliseconds or an RFC 3339 string)."},
	connect.ConfigKey{Name: keyTSField, Default: "timestamp", Importance: connect.Low, Group: gPart,
		Doc: "RecordField: the value field holding the time (dotted paths reach nested fields)."},
)

func validHTTPURL(v any) error {
	s, _ := v.(string)
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an http(s) URL such as http://namenode:9870")
	}
	return nil
}

func validTimezone(v any) error {
	if s, _ := v.(string); s != "" {
		if _, err := time.LoadLocation(s); err != nil {
			return fmt.Errorf("unknown time zone %q", s)
		}
	}
	return nil
}

// formats maps the accepted format.class values to a format.
var formats = map[string]format{
	"io.confluent.connect.hdfs.json.JsonFormat":  formatJSON,
	"io.confluent.connect.hdfs3.json.JsonFormat": formatJSON,
	"JsonFormat": formatJSON,
	"json":       formatJSON,
	"io.confluent.connect.hdfs.string.StringFormat":  formatString,
	"io.confluent.connect.hdfs3.string.StringFormat": formatString,
	"StringFormat": formatString,
	"string":       formatString,
}

func validFormat(v any) error {
	s, _ := v.(string)
	if _, ok := formats[s]; ok {
		return nil
	}
	if strings.Contains(s, "Avro") || strings.Contains(s, "Parquet") || strings.Contains(s, "Orc") {
		return fmt.Errorf("%s is not supported: Spur writes JsonFormat or StringFormat", s)
	}
	return fmt.Errorf("unknown format %q: use JsonFormat or StringFormat", s)
}

// partitioners maps the accepted partitioner.class values to a kind.
var partitioners = map[string]string{
	"io.confluent.connect.storage.partitioner.DefaultPartitioner": "default",
	"io.confluent.connect.hdfs.partitioner.DefaultPartitioner":    "default",
	"DefaultPartitioner": "default",
	"io.confluent.connect.storage.partitioner.FieldPartitioner": "field",
	"io.confluent.connect.hdfs.partitioner.FieldPartitioner":    "field",
	"FieldPartitioner": "field",
	"io.confluent.connect.storage.partitioner.TimeBasedPartitioner": "time",
	"io.confluent.connect.hdfs.partitioner.TimeBasedPartitioner":    "time",
	"TimeBasedPartitioner": "time",
	"io.confluent.connect.storage.partitioner.HourlyPartitioner": "hourly",
	"io.confluent.connect.hdfs.partitioner.HourlyPartitioner":    "hourly",
	"HourlyPartitioner": "hourly",
	"io.confluent.connect.storage.partitioner.DailyPartitioner": "daily",
	"io.confluent.connect.hdfs.partitioner.DailyPartitioner":    "daily",
	"DailyPartitioner": "daily",
}

func validPartitioner(v any) error {
	s, _ := v.(string)
	if _, ok := partitioners[s]; !ok {
		return fmt.Errorf("unknown partitioner %q: use DefaultPartitioner, FieldPartitioner, TimeBasedPartitioner, HourlyPartitioner or DailyPartitioner", s)
	}
	return nil
}

// settings is a checked config in the form the task uses.
type settings struct {
	base           *url.URL // WebHDFS base: http(s)://namenode:port
	user           string
	timeout        time.Duration
	topicsDir      string // absolute, without a trailing slash
	format         format
	flushSize      int
	rotate         time.Duration // 0: off
	rotateSchedule time.Duration // 0: off
	maxOpen        int
	backoff        time.Duration
	padWidth       int
	part           *partitioner
}

// newSettings checks the rules that span keys and builds the settings.
func newSettings(c connect.Config) (*settings, []connect.KeyError) {
	var errs []connect.KeyError
	bad := func(key, format string, args ...any) {
		errs = append(errs, connect.KeyError{Key: key, Message: fmt.Sprintf(format, args...)})
	}
	s := &settings{
		user:      c.String(keyUser),
		timeout:   c.Millis(keyTimeout),
		format:    formats[c.String(keyFormat)],
		flushSize: int(c.Int(keyFlushSize)),
		maxOpen:   int(c.Int(keyMaxOpen)),
		backoff:   c.Millis(keyBackoff),
		padWidth:  int(c.Int(keyPadWidth)),
	}
	if s.user == "" {
		s.user = os.Getenv("HADOOP_USER_NAME")
	}
	if n := c.Int(keyRotate); n > 0 {
		s.rotate = c.Millis(keyRotate)
	}
	if n := c.Int(keyRotateSchedule); n > 0 {
		s.rotateSchedule = c.Millis(keyRotateSchedule)
	}
	s.topicsDir = "/" + strings.Trim(c.String(keyTopicsDir), "/")
	if strings.Contains(s.topicsDir, "${") || strings.Contains(s.topicsDir, "//") || strings.Contains(s.topicsDir, "/../") {
		bad(keyTopicsDir, "must be a plain directory path (${topic} and capture groups are not supported)")
	}
	if raw := c.Raw()["consumer.max.outstanding.records"]; raw != "" {
		var n int
		if _, err := fmt.Sscan(raw, &n); err == nil && n < s.maxOpen {
			bad(keyMaxOpen, "is %d, above consumer.max.outstanding.records=%d: the runtime would stop fetching before a file is committed", s.maxOpen, n)
		}
	}

	// Where the cluster is.
	var err error
	switch web, store, hdfs := c.String(keyWebHDFSURL), c.String(keyStoreURL), c.String(keyHDFSURL); {
	case web != "":
		s.base, err = url.Parse(web)
	case store != "":
		s.base, err = webhdfsURL(store)
		if err != nil {
			bad(keyStoreURL, "%v", err)
		}
	case hdfs != "":
		s.base, err = webhdfsURL(hdfs)
		if err != nil {
			bad(keyHDFSURL, "%v", err)
		}
	default:
		bad(keyHDFSURL, "set %s, %s or %s to the cluster", keyHDFSURL, keyStoreURL, keyWebHDFSURL)
	}
	if s.base != nil {
		s.base.Path = strings.TrimRight(s.base.Path, "/")
	}

	for _, k := range []string{keyKerberos, keyHive} {
		if c.Bool(k) {
			bad(k, "is not supported by Spur's HDFS sink")
		}
	}

	p, perrs := newPartitioner(c)
	errs = append(errs, perrs...)
	s.part = p
	if s.rotateSchedule > 0 && c.String(keyTimezone) == "" {
		bad(keyTimezone, "must be set with %s", keyRotateSchedule)
	}
	return s, errs
}

// webhdfsURL turns Confluent's hdfs://host:port into the namenode's
// WebHDFS URL.
func webhdfsURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("not a URL with a host: %q", raw)
	}
	switch u.Scheme {
	case "http", "https":
	case "webhdfs":
		u.Scheme = "http"
	case "swebhdfs":
		u.Scheme = "https"
	case "hdfs":
		u.Scheme, u.Host = "http", u.Hostname()+":9870"
	default:
		return nil, fmt.Errorf("%q: the scheme must be hdfs, webhdfs, http or https", raw)
	}
	u.Path = ""
	return u, nil
}
