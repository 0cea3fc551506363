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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "sockplay:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	return server.Run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
}
