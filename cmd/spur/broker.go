package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"syscall"

	"github.com/spur-connect/spur/runtime"
)

func cmdBroker(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("spur broker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9092", "listen address")
	dir := fs.String("data-dir", "./spur-data", "data directory")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	b, err := runtime.StartBroker(*addr, *dir)
	if err != nil {
		fmt.Fprintln(stderr, "spur broker:", err)
		return exitError
	}
	fmt.Fprintf(stderr, "spur broker: listening on %v, data in %s\n", b.Addrs(), *dir)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	b.Close()
	return exitOK
}
