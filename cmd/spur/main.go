// Command spur runs Spur workers and manages connectors.
//
//	spur run [-c worker.yaml] [--set key=value]... [--data-dir DIR] [--connectors DIR]
//	spur broker [--addr 127.0.0.1:9092] [--data-dir DIR]
//	spur version
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spur-connect/spur/runtime"
)

// Exit codes scripts can rely on.
const (
	exitOK     = 0
	exitError  = 1 // the operation failed
	exitUsage  = 2 // bad flags or arguments
	exitConfig = 3 // invalid worker config or connector definitions
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "run":
		return cmdRun(args[1:], stderr)
	case "broker":
		return cmdBroker(args[1:], stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "spur", runtime.Version)
		return exitOK
	case "help", "-h", "--help":
		usage(stdout)
		return exitOK
	}
	return cmdClient(args, stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `spur: a Kafka Connect replacement

Usage:
  spur run [-c worker.yaml] [--set key=value]... [--data-dir DIR] [--connectors DIR [--watch]]
        Run a worker. Without bootstrap.servers it starts an embedded broker.
  spur broker [--addr 127.0.0.1:9092] [--data-dir DIR]
        Run the embedded broker alone (for local multi-worker clusters).
  spur version

Worker settings come from the YAML file, then SPUR_* environment variables
(SPUR_BOOTSTRAP_SERVERS=... sets bootstrap.servers), then --set flags.
`)
	fmt.Fprint(w, clientUsage)
}
