// A Kafka broker for the tests of `wandb-operator check`: kfake, the
// in-memory Kafka cluster of the franz-go project, which speaks the Kafka
// protocol (ApiVersions, Metadata, Produce, Fetch, ...). One broker on
// 127.0.0.1:PORT until SIGTERM or SIGINT.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	port := flag.Int("port", 9092, "port on 127.0.0.1")
	flag.Parse()
	cluster, err := kfake.NewCluster(kfake.Ports(*port), kfake.NumBrokers(1))
	if err != nil {
		fmt.Fprintf(os.Stderr, "kfake: %v\n", err)
		os.Exit(1)
	}
	defer cluster.Close()
	fmt.Printf("kfake: listening on %v\n", cluster.ListenAddrs())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}
