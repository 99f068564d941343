package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Note is the resource of week 2.
type Note struct {
	ID      string   `json:"id"`
	Title   string   `json:"title"`
	Body    string   `json:"body"`
	Tags    []string `json:"tags"`
	Version int      `json:"version"`
	seq     uint64
}

// record is one line of the store's append-only log: a note as written, or its deletion.
type record struct {
	Seq     uint64 `json:"seq"`
	Note    *Note  `json:"note,omitempty"`
	Deleted string `json:"deleted,omitempty"`
}

// Store keeps notes in memory and every acknowledged write in an append-only log in DATA_DIR, synced to disk
// before the write is acknowledged, so a kill at any moment loses nothing that was answered. One lock makes
// every write atomic with respect to every other (week 4).
type Store struct {
	mu    sync.Mutex
	log   *os.File
	notes map[string]*Note
	next  uint64
}

var errNotFound = errors.New("not found")

// errStale is returned when an If-Match precondition does not hold; it carries the note's current version.
type errStale struct{ version int }

func (e errStale) Error() string { return fmt.Sprintf("stale: current version %d", e.version) }

// OpenStore replays the log in dir, creating the folder and the log on the first start.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "notes.log")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	s := &Store{log: f, notes: map[string]*Note{}, next: 1}
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		var r record
		if json.Unmarshal(scanner.Bytes(), &r) != nil {
			break // a torn last line from a crash mid-write: it was never acknowledged
		}
		if r.Seq >= s.next {
			s.next = r.Seq + 1
		}
		if r.Note != nil {
			n := *r.Note
			if old, ok := s.notes[n.ID]; ok {
				n.seq = old.seq
			} else {
				n.seq = r.Seq
			}
			s.notes[n.ID] = &n
		} else {
			delete(s.notes, r.Deleted)
		}
	}
	return s, scanner.Err()
}

// Close flushes and closes the log.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.log.Sync(); err != nil {
		return err
	}
	return s.log.Close()
}

func (s *Store) append(r record) error {
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if _, err := s.log.Write(append(line, '\n')); err != nil {
		return err
	}
	return s.log.Sync()
}

// Create stores a new note with a fresh id and version 1.
func (s *Store) Create(in Fields) (Note, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq := s.next
	n := Note{ID: fmt.Sprintf("n_%d", seq), Title: in.Title, Body: in.Body, Tags: in.Tags, Version: 1, seq: seq}
	if err := s.append(record{Seq: seq, Note: &n}); err != nil {
		return Note{}, err
	}
	s.next++
	s.notes[n.ID] = &n
	return n, nil
}

// Get returns a copy of the note.
func (s *Store) Get(id string) (Note, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.notes[id]
	if !ok {
		return Note{}, errNotFound
	}
	return *n, nil
}

// Replace sets the client-owned fields when the precondition holds; an identical replacement changes nothing.
func (s *Store) Replace(id string, in Fields, ifMatch Precondition) (Note, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.notes[id]
	if !ok {
		return Note{}, errNotFound
	}
	if !ifMatch.Holds(cur.Version) {
		return Note{}, errStale{cur.Version}
	}
	if cur.Title == in.Title && cur.Body == in.Body && equal(cur.Tags, in.Tags) {
		return *cur, nil
	}
	n := *cur
	n.Title, n.Body, n.Tags, n.Version = in.Title, in.Body, in.Tags, cur.Version+1
	if err := s.append(record{Seq: s.next, Note: &n}); err != nil {
		return Note{}, err
	}
	s.next++
	s.notes[id] = &n
	return n, nil
}

// Delete removes the note when the precondition holds.
func (s *Store) Delete(id string, ifMatch Precondition) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.notes[id]
	if !ok {
		return errNotFound
	}
	if !ifMatch.Holds(cur.Version) {
		return errStale{cur.Version}
	}
	if err := s.append(record{Seq: s.next, Deleted: id}); err != nil {
		return err
	}
	s.next++
	delete(s.notes, id)
	return nil
}

// Page returns up to limit notes created after the one with sequence number after, oldest first, and whether
// more follow.
func (s *Store) Page(after uint64, limit int) ([]Note, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []Note
	for _, n := range s.notes {
		if n.seq > after {
			all = append(all, *n)
		}
	}
	sortBySeq(all)
	if len(all) > limit {
		return all[:limit], true
	}
	return all, false
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
