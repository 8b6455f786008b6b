// Command ferretdb runs FerretDB v1 as an embedded library with its PostgreSQL backend.
//
// Why it exists: FerretDB's own `go install` binary panics at start because it expects a
// generated version file. Embedding the `ferretdb` package avoids that and keeps telemetry
// off. This gives the tests and the local stack a real server speaking the MongoDB wire
// protocol without Docker.
//
// Why PostgreSQL: FerretDB's SQLite backend answers every query by scanning the collection;
// the PostgreSQL backend hands top-level equality filters to PostgreSQL, which answers them
// through indexes (scripts/servers runs the cluster and adds the GIN indexes that make the
// declared indexes usable: tools/ferretdb/gin_indexes.sql, docs/STORAGE.md).
//
// It listens on loopback only: it has no authentication of its own.
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on (loopback only)")
	postgresqlURL := flag.String("postgresql-url", "postgres://ferretdb@127.0.0.1:54329/ferretdb",
		"PostgreSQL connection string (see pgx's ParseConfig)")
	// FerretDB v1 logs every unsupported command (pymongo's endSessions) as a warning: too chatty.
	level := flag.String("log-level", "error", "log level: debug, info, warn or error")
	flag.Parse()

	if err := checkLoopback(*listen); err != nil {
		log.Fatal(err)
	}

	var slogLevel slog.Level
	if err := slogLevel.UnmarshalText([]byte(*level)); err != nil {
		log.Fatalf("log level %q: %v", *level, err)
	}
	logger := slog.New(quietHandler{
		Handler: slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slogLevel}),
		traces:  slogLevel <= slog.LevelDebug,
	})

	server, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: *listen},
		Logger:        logger,
		Handler:       "postgresql",
		PostgreSQLURL: *postgresqlURL,
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	log.Printf("FerretDB listening on %s, PostgreSQL backend", *listen)
	if err := server.Run(ctx); err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
}

// checkLoopback refuses a listen address that is not on a loopback interface.
func checkLoopback(address string) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return &net.AddrError{Err: "not a loopback address (FerretDB has no authentication here)", Addr: address}
}

// quietHandler keeps the log readable and free of health data. FerretDB's PostgreSQL backend
// traces every failed SQL statement at error level with its arguments, which are the documents;
// each expected duplicate key (an insert under a unique index that loses) is one. Such a trace
// (it has an "sql" attribute) is logged only at debug level, and never with its arguments:
// FerretDB returns the error to the client anyway.
type quietHandler struct {
	slog.Handler
	traces bool
}

func (h quietHandler) Handle(ctx context.Context, record slog.Record) error {
	trace := false
	kept := slog.NewRecord(record.Time, record.Level, record.Message, record.PC)
	record.Attrs(func(attr slog.Attr) bool {
		switch attr.Key {
		case "sql":
			trace = true
		case "args":
			return true
		}
		kept.AddAttrs(attr)
		return true
	})
	if trace && !h.traces {
		return nil
	}
	return h.Handler.Handle(ctx, kept)
}

func (h quietHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietHandler{Handler: h.Handler.WithAttrs(attrs), traces: h.traces}
}

func (h quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{Handler: h.Handler.WithGroup(name), traces: h.traces}
}
