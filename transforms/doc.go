// Package transforms implements Kafka Connect's single message transforms
// (SMTs) and predicates on Spur's lazily decoded records, and the Chain that
// applies a connector's configured transforms in order.
//
// Every transform answers to Kafka's class name
// (org.apache.kafka.connect.transforms.InsertField$Value), to its simple
// class name (InsertField$Value) and to a kebab-case alias
// (insert-field-value), so an existing Kafka Connect config runs unchanged.
//
// Schemaless values are handled as the decoded JSON tree (encoding/json with
// UseNumber), so numbers keep their exact text; transforms that only touch
// the topic or the headers never decode the key or the value. A transform
// changes the record it is given in place and returns it (or nil to drop it).
//
// Registration is explicit: cmd/spur registers Plugins() in its registry.
package transforms
