package transforms

import (
	"strings"
	"unicode"

	"github.com/spur-connect/spur/connect"
)

const (
	classPrefix     = "org.apache.kafka.connect.transforms."
	predicatePrefix = "org.apache.kafka.connect.transforms.predicates."
	// Version is reported for every plugin of this package.
	Version = "1.0.0"
)

// Plugins returns every transformation and predicate plugin of this
// package, each time new. cmd/spur registers them; there is no init().
func Plugins() []*connect.Plugin {
	var ps []*connect.Plugin
	ps = append(ps, sided("InsertField", insertFieldDoc, insertFieldSpec(), newInsertField)...)
	ps = append(ps, sided("ReplaceField", replaceFieldDoc, replaceFieldSpec(), newReplaceField)...)
	ps = append(ps, sided("MaskField", maskFieldDoc, maskFieldSpec(), newMaskField)...)
	ps = append(ps, single("ValueToKey", valueToKeyDoc, valueToKeySpec(), newValueToKey))
	ps = append(ps, sided("ExtractField", extractFieldDoc, extractFieldSpec(), newExtractField)...)
	ps = append(ps, sided("HoistField", hoistFieldDoc, hoistFieldSpec(), newHoistField)...)
	ps = append(ps, sided("Cast", castDoc, castSpec(), newCast)...)
	ps = append(ps, sided("TimestampConverter", timestampConverterDoc, timestampConverterSpec(), newTimestampConverter)...)
	ps = append(ps, single("RegexRouter", regexRouterDoc, regexRouterSpec(), newRegexRouter))
	ps = append(ps, single("TimestampRouter", timestampRouterDoc, timestampRouterSpec(), newTimestampRouter))
	ps = append(ps, sided("Flatten", flattenDoc, flattenSpec(), newFlatten)...)
	ps = append(ps, single("Filter", filterDoc, connect.NewSpec(), newFilter))
	ps = append(ps, sided("HeaderFrom", headerFromDoc, headerFromSpec(), newHeaderFrom)...)
	ps = append(ps, single("InsertHeader", insertHeaderDoc, insertHeaderSpec(), newInsertHeader))
	ps = append(ps, single("DropHeaders", dropHeadersDoc, dropHeadersSpec(), newDropHeaders))
	ps = append(ps, sided("SetSchemaMetadata", setSchemaMetadataDoc, setSchemaMetadataSpec(), newSetSchemaMetadata)...)

	ps = append(ps, predicate("TopicNameMatches", topicNameMatchesDoc, topicNameMatchesSpec(), newTopicNameMatches))
	ps = append(ps, predicate("HasHeaderKey", hasHeaderKeyDoc, hasHeaderKeySpec(), newHasHeaderKey))
	ps = append(ps, predicate("RecordIsTombstone", recordIsTombstoneDoc, connect.NewSpec(), newRecordIsTombstone))
	return ps
}

// sided returns the $Key and $Value variants of a transform.
func sided(name, doc string, spec *connect.ConfigSpec, build func(cfg connect.Config, key bool) (connect.Transformation, error)) []*connect.Plugin {
	variant := func(suffix string, key bool) *connect.Plugin {
		return &connect.Plugin{
			Class:   classPrefix + name + "$" + suffix,
			Aliases: []string{kebab(name) + "-" + strings.ToLower(suffix)},
			Type:    connect.PluginTransformation,
			Version: Version,
			Doc:     doc + " (on the record " + strings.ToLower(suffix) + ")",
			Spec:    spec,
			NewTransformation: func(cfg connect.Config) (connect.Transformation, error) {
				return build(cfg, key)
			},
		}
	}
	return []*connect.Plugin{variant("Key", true), variant("Value", false)}
}

func single(name, doc string, spec *connect.ConfigSpec, build func(cfg connect.Config) (connect.Transformation, error)) *connect.Plugin {
	return &connect.Plugin{
		Class: classPrefix + name, Aliases: []string{kebab(name)}, Type: connect.PluginTransformation,
		Version: Version, Doc: doc, Spec: spec, NewTransformation: build,
	}
}

func predicate(name, doc string, spec *connect.ConfigSpec, build func(cfg connect.Config) (connect.Predicate, error)) *connect.Plugin {
	return &connect.Plugin{
		Class: predicatePrefix + name, Aliases: []string{kebab(name)}, Type: connect.PluginPredicate,
		Version: Version, Doc: doc, Spec: spec, NewPredicate: build,
	}
}

// kebab turns InsertField into insert-field.
func kebab(name string) string {
	var b strings.Builder
	for i, r := range name {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Plugin docs, after Kafka's OVERVIEW_DOCs.
const (
	insertFieldDoc        = "Insert field(s) using attributes from the record metadata or a configured static value."
	replaceFieldDoc       = "Filter or rename fields."
	maskFieldDoc          = "Mask specified fields with a valid null value for the field type (0, false, empty string, and so on), a replacement value, or a (keyed) hash."
	valueToKeyDoc         = "Replace the record key with a new key formed from a subset of fields in the record value."
	extractFieldDoc       = "Extract the specified field from a Struct when schema present, or a Map in the case of schemaless data. Any null values are passed through unmodified."
	hoistFieldDoc         = "Wrap data using the specified field name in a Struct when schema present, or a Map in the case of schemaless data."
	castDoc               = "Cast fields or the entire key or value to a specific type, e.g. to force an integer field to a smaller width."
	timestampConverterDoc = "Convert timestamps between different formats such as Unix epoch, strings, and Connect Date/Timestamp types."
	regexRouterDoc        = "Update the record topic using the configured regular expression and replacement string."
	timestampRouterDoc    = "Update the record's topic field as a function of the original topic value and the record timestamp."
	flattenDoc            = "Flatten a nested data structure, generating names for each field by concatenating the field names at each level with a configurable delimiter character."
	filterDoc             = "Drops all records, filtering them from subsequent transformations in the chain. This is intended to be used conditionally to filter out records matching (or not matching) a particular Predicate."
	headerFromDoc         = "Moves or copies fields in the key/value of a record into that record's headers."
	insertHeaderDoc       = "Add a header to each record."
	dropHeadersDoc        = "Removes one or more headers from each record."
	setSchemaMetadataDoc  = "Set the schema name, version or both on the record's key or value schema."
	topicNameMatchesDoc   = "A predicate which is true for records with a topic name that matches the configured regular expression."
	hasHeaderKeyDoc       = "A predicate which is true for records with at least one header with the configured name."
	recordIsTombstoneDoc  = "A predicate which is true for records which are tombstones (i.e. have null value)."
)
