// Command sockplay is a socket playground in the browser: real TCP sockets
// on the host, every call and its result streamed live to the page.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sockplay/sockplay/server"
)

func main() {
	// SIGINT (Ctrl-C) stops at once; SIGTERM, an orchestrator's "stop",
	// drains first (server.Run), and a SIGINT then cuts the drain short.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	drain, undrain := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer undrain()
	if err := run(ctx, drain.Done()); err != nil {
		fmt.Fprintln(os.Stderr, "sockplay:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, drain <-chan struct{}) error {
	return server.Run(ctx, drain, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
}
