// The notes service of weeks 1-4 in Go, with only the standard library, ready for week 5's container work.
//
// Settings come from the environment: PORT (default 8080), READY_DELAY_MS (default 0) and DATA_DIR (default: a folder under /tmp, the one
// writable place on a read-only root filesystem).
package main

import (
	"context"
	"errors"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// drainTimeout bounds how long in-flight requests get after SIGTERM; the platform kills at 10 s.
const drainTimeout = 8 * time.Second

func main() {
	port := getenv("PORT", "8080")
	dataDir := getenv("DATA_DIR", filepath.Join(os.TempDir(), "notes"))

	started := time.Now()
	var ready atomic.Bool
	store, err := OpenStore(dataDir)
	if err != nil {
		log.Fatalf("cannot open the store in %s: %v", dataDir, err)
	}
	// READY_DELAY_MS stands for a slow start-up (a cache to warm, say): listen at once, but report ready only
	// that long after the process started.
	delay, _ := strconv.Atoi(getenv("READY_DELAY_MS", "0"))
	go func() {
		time.Sleep(time.Until(started.Add(time.Duration(delay) * time.Millisecond)))
		ready.Store(true)
	}()

	server := &http.Server{
		Addr:              ":" + port,
		Handler:           newAPI(store, &ready),
		ReadHeaderTimeout: 10 * time.Second,
	}

	stop, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer cancel()
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		<-stop.Done()
		// Not ready from the moment SIGTERM arrives, so that a platform stops sending new traffic while the
		// requests in flight finish. (Shutdown also closes the listener at once: new connections are refused.)
		ready.Store(false)
		log.Printf("SIGTERM: draining")
		ctx, done := context.WithTimeout(context.Background(), drainTimeout)
		defer done()
		if err := server.Shutdown(ctx); err != nil {
			log.Printf("drain cut short: %v", err)
		}
	}()

	log.Printf("listening on :%s, data in %s", port, dataDir)
	if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("server: %v", err)
	}
	// ListenAndServe returns as soon as draining begins; Shutdown returns once every request in flight has
	// been answered, and only then is the store closed.
	<-drained
	if err := store.Close(); err != nil {
		log.Fatalf("closing the store: %v", err)
	}
	log.Printf("stopped cleanly")
}

func getenv(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
