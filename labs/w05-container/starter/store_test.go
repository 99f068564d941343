package main

import (
	"sync"
	"testing"
)

func TestWritesSurviveReopening(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	kept, _ := s.Create(Fields{Title: "kept", Tags: []string{}})
	gone, _ := s.Create(Fields{Title: "gone", Tags: []string{}})
	if _, err := s.Replace(kept.ID, Fields{Title: "changed", Tags: []string{"a"}}, Precondition{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(gone.ID, Precondition{}); err != nil {
		t.Fatal(err)
	}
	// No Close: the log is synced on every write, as if the process had been killed here.
	again, err := OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	n, err := again.Get(kept.ID)
	if err != nil || n.Title != "changed" || n.Version != 2 {
		t.Fatalf("after reopening: %+v, %v", n, err)
	}
	if _, err := again.Get(gone.ID); err != errNotFound {
		t.Fatalf("a deleted note came back: %v", err)
	}
	fresh, _ := again.Create(Fields{Title: "fresh", Tags: []string{}})
	if fresh.ID == kept.ID || fresh.ID == gone.ID {
		t.Fatalf("id %s reused", fresh.ID)
	}
}

func TestConcurrentConditionalUpdatesLetExactlyOneThrough(t *testing.T) {
	s, err := OpenStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	n, _ := s.Create(Fields{Title: "n", Tags: []string{}})
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			in := Fields{Title: "t", Tags: []string{string(rune('a' + i))}}
			if _, err := s.Replace(n.ID, in, parsePrecondition([]string{`"1"`})); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d conditional updates succeeded, want exactly 1", wins)
	}
}
