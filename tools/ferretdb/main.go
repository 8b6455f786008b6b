// Command ferretdb runs FerretDB v1 as an embedded library with its SQLite backend.
//
// Why: FerretDB's own `go install` binary panics at start because it expects a
// generated version file. Embedding the `ferretdb` package avoids that and keeps
// telemetry off. This gives the tests and the local stack a real server speaking
// the MongoDB wire protocol without Docker. It listens on loopback only.
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on (keep it on loopback)")
	dataDir := flag.String("data", "data/ferretdb", "directory for the SQLite files")
	// FerretDB v1 logs every unsupported command (pymongo's endSessions) as a warning: too chatty.
	level := flag.String("log-level", "error", "log level: debug, info, warn or error")
	synchronous := flag.String("synchronous", "normal",
		"SQLite synchronous pragma: normal (fast; a power cut may lose the last commits) or full")
	flag.Parse()

	if err := os.MkdirAll(*dataDir, 0o750); err != nil {
		log.Fatalf("data directory %s: %v", *dataDir, err)
	}

	var slogLevel slog.Level
	if err := slogLevel.UnmarshalText([]byte(*level)); err != nil {
		log.Fatalf("log level %q: %v", *level, err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slogLevel}))

	server, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + *dataDir + "/?_pragma=synchronous(" + *synchronous + ")",
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	log.Printf("FerretDB listening on %s, data in %s", *listen, *dataDir)
	if err := server.Run(ctx); err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
}
