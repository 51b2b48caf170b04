package transforms

import (
	"errors"
	"strings"

	"github.com/spur-connect/spur/connect"
)

const (
	replaceNullKey   = "replace.null.with.default"
	optionalityDoc   = " Suffix with ! to make this a required field, or ? to keep it optional (the default)."
	insertionPurpose = "field insertion"
)

var replaceNullConfigKey = connect.ConfigKey{
	Name: replaceNullKey, Type: connect.TypeBoolean, Default: "true", Importance: connect.Medium,
	Doc: "With a schema: whether a null field that has a default value in its schema is read as that default.",
}

func insertFieldSpec() *connect.ConfigSpec {
	return connect.NewSpec(
		connect.ConfigKey{Name: "topic.field", Doc: "Field name for Kafka topic." + optionalityDoc},
		connect.ConfigKey{Name: "partition.field", Doc: "Field name for Kafka partition." + optionalityDoc},
		connect.ConfigKey{Name: "offset.field", Doc: "Field name for Kafka offset - only applicable to sink connectors." + optionalityDoc},
		connect.ConfigKey{Name: "timestamp.field", Doc: "Field name for record timestamp (epoch milliseconds; a Timestamp with a schema)." + optionalityDoc},
		connect.ConfigKey{Name: "static.field", Doc: "Field name for static data field." + optionalityDoc},
		connect.ConfigKey{Name: "static.value", Doc: "Static field value, if field name configured."},
		replaceNullConfigKey,
		syntaxConfigKey,
	)
}

type insertion struct {
	path     fieldPath
	optional bool
}

type insertField struct {
	key                                         bool
	topic, partition, offset, timestamp, static *insertion
	staticValue                                 string
	replaceNull                                 bool
	cache                                       schemaCache
}

func newInsertField(cfg connect.Config, key bool) (connect.Transformation, error) {
	t := &insertField{key: key, replaceNull: cfg.Bool(replaceNullKey)}
	v2 := syntaxV2Enabled(cfg)
	var errs connect.ConfigErrors
	parse := func(name string) *insertion {
		if !cfg.IsSet(name) {
			return nil
		}
		spec := cfg.String(name)
		ins := &insertion{optional: true}
		if s, ok := strings.CutSuffix(spec, "?"); ok {
			spec = s
		} else if s, ok := strings.CutSuffix(spec, "!"); ok {
			spec, ins.optional = s, false
		}
		p, err := parsePath(spec, v2)
		if err != nil {
			errs = append(errs, connect.KeyError{Key: name, Message: err.Error()})
			return nil
		}
		ins.path = p
		return ins
	}
	t.topic, t.partition, t.offset = parse("topic.field"), parse("partition.field"), parse("offset.field")
	t.timestamp, t.static = parse("timestamp.field"), parse("static.field")
	t.staticValue = cfg.String("static.value")
	if len(errs) > 0 {
		return nil, errs
	}
	if t.topic == nil && t.partition == nil && t.offset == nil && t.timestamp == nil && t.static == nil {
		return nil, connect.KeyError{Key: "topic.field", Message: "No field insertion configured"}
	}
	if t.static != nil && !cfg.IsSet("static.value") {
		return nil, connect.KeyError{Key: "static.value", Message: "No value specified for static field: " + cfg.String("static.field")}
	}
	return t, nil
}

// isSourceRecord tells a source record from a sink record: only a source
// task sets the source partition and offset.
func isSourceRecord(r *connect.Record) bool { return r.SourcePartition != nil || r.SourceOffset != nil }

// values returns the fields to insert, in Kafka's order, with a nil value
// for metadata the record does not have.
func (t *insertField) values(r *connect.Record, f func(ins *insertion, v any) error) error {
	if t.topic != nil {
		if err := f(t.topic, r.Topic); err != nil {
			return err
		}
	}
	if t.partition != nil {
		var v any
		if r.Partition >= 0 {
			v = intNumber(int64(r.Partition))
		}
		if err := f(t.partition, v); err != nil {
			return err
		}
	}
	if t.offset != nil {
		if isSourceRecord(r) {
			return errors.New("Only SinkRecord supported for [field insertion], found: source record")
		}
		if err := f(t.offset, intNumber(r.Offset)); err != nil {
			return err
		}
	}
	if t.timestamp != nil {
		var v any
		if !r.Timestamp.IsZero() {
			v = intNumber(r.Timestamp.UnixMilli())
		}
		if err := f(t.timestamp, v); err != nil {
			return err
		}
	}
	if t.static != nil {
		if err := f(t.static, t.staticValue); err != nil {
			return err
		}
	}
	return nil
}

func (t *insertField) Apply(r *connect.Record) (*connect.Record, error) {
	d := operand(r, t.key)
	if d.IsNull() {
		return r, nil
	}
	v, err := d.Value()
	if err != nil {
		return nil, err
	}
	if d.Schema == nil {
		m, err := requireMap(v, insertionPurpose)
		if err != nil {
			return nil, err
		}
		err = t.values(r, func(ins *insertion, v any) error {
			if v == nil { // Kafka inserts partition and timestamp only when the record has them
				return nil
			}
			parent, err := ins.path.makeParent(m)
			if err != nil {
				return err
			}
			parent[ins.path.last()] = v
			return nil
		})
		if err != nil {
			return nil, err
		}
		d.Set(m)
		return r, nil
	}
	m, err := requireStruct(v, d.Schema, insertionPurpose)
	if err != nil {
		return nil, err
	}
	schema, err := t.cache.get(d.Schema, t.updateSchema)
	if err != nil {
		return nil, err
	}
	if t.replaceNull {
		withDefaults(m, d.Schema)
	}
	err = t.values(r, func(ins *insertion, v any) error {
		parent := ins.path.parent(m)
		if parent == nil { // a null optional parent struct stays null
			return nil
		}
		parent[ins.path.last()] = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	d.Set(m)
	d.Schema = schema
	return r, nil
}

func (t *insertField) updateSchema(s *connect.Schema) (*connect.Schema, error) {
	add := func(ins *insertion, fs *connect.Schema) error {
		if ins == nil {
			return nil
		}
		var err error
		s, err = editStruct(s, ins.path.parents(), func(st *connect.Schema) error {
			return addField(st, ins.path.last(), fs)
		})
		if errors.Is(err, errNoField) {
			return errors.New("cannot insert field " + ins.path.text + ": its parent is not a struct field of the schema")
		}
		return err
	}
	opt := func(ins *insertion) bool { return ins == nil || ins.optional }
	if err := add(t.topic, primitive(typeString, opt(t.topic))); err != nil {
		return nil, err
	}
	if err := add(t.partition, primitive(typeInt32, opt(t.partition))); err != nil {
		return nil, err
	}
	if err := add(t.offset, primitive(typeInt64, opt(t.offset))); err != nil {
		return nil, err
	}
	if err := add(t.timestamp, logical(logicalTimestamp, opt(t.timestamp))); err != nil {
		return nil, err
	}
	if err := add(t.static, primitive(typeString, opt(t.static))); err != nil {
		return nil, err
	}
	return s, nil
}
