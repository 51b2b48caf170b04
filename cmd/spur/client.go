package main

import (
	"fmt"
	"io"
)

// cmdClient runs the client-side subcommands (get, describe, apply...).
func cmdClient(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintf(stderr, "spur: unknown command %q (try spur help)\n", args[0])
	return exitUsage
}
