package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// maxBody caps a request body; larger ones are refused before they are read whole.
const maxBody = 1 << 20

type api struct {
	store *Store
	ready *atomic.Bool
}

func newAPI(store *Store, ready *atomic.Bool) http.Handler {
	return &api{store: store, ready: ready}
}

// ServeHTTP routes by path, then by method; r.URL.Path never includes the query string.
func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case path == "/healthz":
		a.only(w, r, "GET", func() { writeJSON(w, http.StatusOK, map[string]string{"status": "ok"}) })
	case path == "/readyz":
		a.only(w, r, "GET", func() { a.readyz(w) })
	case path == "/work":
		a.only(w, r, "GET", func() { work(w, r) })
	case path == "/notes":
		switch r.Method {
		case "GET":
			a.list(w, r)
		case "POST":
			a.create(w, r)
		default:
			methodNotAllowed(w, "GET, POST")
		}
	case strings.HasPrefix(path, "/notes/") && !strings.Contains(path[len("/notes/"):], "/"):
		id := path[len("/notes/"):]
		switch r.Method {
		case "GET":
			a.read(w, id)
		case "PUT":
			a.replace(w, r, id)
		case "DELETE":
			a.remove(w, r, id)
		default:
			methodNotAllowed(w, "GET, PUT, DELETE")
		}
	default:
		writeError(w, http.StatusNotFound, "not_found", "no such route")
	}
}

func (a *api) only(w http.ResponseWriter, r *http.Request, method string, handle func()) {
	if r.Method != method {
		methodNotAllowed(w, method)
		return
	}
	handle()
}

func (a *api) readyz(w http.ResponseWriter) {
	if a.ready.Load() {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
		return
	}
	writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready"})
}

// work sleeps without holding anything other requests need: each request has its own goroutine.
func work(w http.ResponseWriter, r *http.Request) {
	ms, err := strconv.Atoi(r.URL.Query().Get("ms"))
	if err != nil || ms < 0 || ms > 5000 {
		writeError(w, http.StatusBadRequest, "bad_request", "ms must be an integer from 0 to 5000")
		return
	}
	time.Sleep(time.Duration(ms) * time.Millisecond)
	writeJSON(w, http.StatusOK, map[string]int{"slept_ms": ms})
}

func (a *api) create(w http.ResponseWriter, r *http.Request) {
	in, ok := readFields(w, r)
	if !ok {
		return
	}
	n, err := a.store.Create(in)
	if err != nil {
		storeFailed(w, err)
		return
	}
	w.Header().Set("Location", "/notes/"+n.ID)
	writeNote(w, http.StatusCreated, n)
}

func (a *api) read(w http.ResponseWriter, id string) {
	n, err := a.store.Get(id)
	if err != nil {
		writeError(w, http.StatusNotFound, "not_found", "no such note")
		return
	}
	writeNote(w, http.StatusOK, n)
}

func (a *api) replace(w http.ResponseWriter, r *http.Request, id string) {
	in, ok := readFields(w, r)
	if !ok {
		return
	}
	n, err := a.store.Replace(id, in, parsePrecondition(r.Header.Values("If-Match")))
	if err != nil {
		writeStoreError(w, err)
		return
	}
	writeNote(w, http.StatusOK, n)
}

func (a *api) remove(w http.ResponseWriter, r *http.Request, id string) {
	if err := a.store.Delete(id, parsePrecondition(r.Header.Values("If-Match"))); err != nil {
		writeStoreError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 20
	if raw, ok := q["limit"]; ok {
		n, err := strconv.Atoi(raw[0])
		if err != nil || n < 1 || n > 100 {
			writeError(w, http.StatusBadRequest, "bad_request", "limit must be an integer from 1 to 100")
			return
		}
		limit = n
	}
	var after uint64
	if raw, ok := q["cursor"]; ok {
		seq, err := decodeCursor(raw[0])
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "cursor is not one this service handed out")
			return
		}
		after = seq
	}
	items, more := a.store.Page(after, limit)
	var next *string
	if more && len(items) > 0 {
		c := encodeCursor(items[len(items)-1].seq)
		next = &c
	}
	if items == nil {
		items = []Note{}
	}
	writeJSON(w, http.StatusOK, map[string]interface{}{"items": items, "next_cursor": next})
}

// Cursors are the sequence number of the last note of a page, base64url-encoded: opaque to clients, stable
// while notes are created and deleted.
func encodeCursor(seq uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatUint(seq, 10)))
}

func decodeCursor(c string) (uint64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(string(raw), 10, 64)
}

func sortBySeq(notes []Note) {
	sort.Slice(notes, func(i, j int) bool { return notes[i].seq < notes[j].seq })
}

func writeStoreError(w http.ResponseWriter, err error) {
	var stale errStale
	switch {
	case errors.Is(err, errNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no such note")
	case errors.As(err, &stale):
		w.Header().Set("ETag", etag(stale.version))
		writeError(w, http.StatusPreconditionFailed, "precondition_failed", "the note has changed since that ETag")
	default:
		storeFailed(w, err)
	}
}

func storeFailed(w http.ResponseWriter, err error) {
	log.Printf("store: %v", err)
	writeError(w, http.StatusInternalServerError, "internal", "the note could not be stored")
}

func writeNote(w http.ResponseWriter, status int, n Note) {
	if n.Tags == nil {
		n.Tags = []string{}
	}
	w.Header().Set("ETag", etag(n.Version))
	writeJSON(w, status, n)
}

func etag(version int) string { return fmt.Sprintf("%q", strconv.Itoa(version)) }

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed here")
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]string{"error": code, "message": message})
}

func writeJSON(w http.ResponseWriter, status int, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		log.Printf("writing a response: %v", err)
	}
}
