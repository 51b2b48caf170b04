// Package connect is the contract between Spur's runtime and its plugins:
// records and their lazily decoded data, connectors and their tasks,
// transforms, predicates, converters, config specs and the plugin registry.
//
// It imports nothing else of Spur's, so a connector depends on this package
// alone and never on the runtime.
package connect
