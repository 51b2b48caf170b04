package main

import (
	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/connectors/datagen"
	"github.com/spur-connect/spur/connectors/elasticsearch"
	"github.com/spur-connect/spur/connectors/file"
	"github.com/spur-connect/spur/connectors/hdfs"
	"github.com/spur-connect/spur/connectors/httpsink"
	"github.com/spur-connect/spur/connectors/mqtt"
	"github.com/spur-connect/spur/converters/avro"
	"github.com/spur-connect/spur/runtime"
	"github.com/spur-connect/spur/transforms"
)

// newRegistry registers every built-in plugin, explicitly.
func newRegistry() (*connect.Registry, error) {
	reg := connect.NewRegistry()
	for _, ps := range [][]*connect.Plugin{
		runtime.ConverterPlugins(),
		avro.Plugins(),
		transforms.Plugins(),
		datagen.Plugins(),
		file.Plugins(),
		elasticsearch.Plugins(),
		hdfs.Plugins(),
		httpsink.Plugins(),
		mqtt.Plugins(),
	} {
		if err := reg.Register(ps...); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// runtimeOptions wires the registry and the transforms package into the runtime.
func runtimeOptions(reg *connect.Registry) runtime.Options {
	return runtime.Options{
		Registry:      reg,
		TransformSpec: transforms.Spec,
		NewChain: func(reg *connect.Registry, raw map[string]string) (runtime.Chain, error) {
			c, errs := transforms.NewChain(reg, raw)
			if len(errs) > 0 {
				return nil, errs
			}
			return c, nil
		},
	}
}
