// An OCI registry in memory, on a free port of 127.0.0.1, for the tests
// that push the operator's image and chart and install from them
// (crates/e2e/tests/registry.rs). It prints its address, then serves until
// killed. The crane client is built from the same module (go.mod).
package main

import (
	"fmt"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "registry:", err)
		os.Exit(1)
	}
	fmt.Println(listener.Addr().String())
	quiet := log.New(os.Stderr, "registry: ", log.LstdFlags)
	server := &http.Server{Handler: registry.New(registry.Logger(quiet))}
	if err := server.Serve(listener); err != nil {
		fmt.Fprintln(os.Stderr, "registry:", err)
		os.Exit(1)
	}
}
