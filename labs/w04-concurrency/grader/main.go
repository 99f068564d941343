// Command grader is lab w04's own grader. It drives concurrent writers against the learner's service
// (SERVICE_URL) and checks the invariants no sequence of single requests shows, then writes
// $RESULTS_DIR/results.json in the format of Exercism's test-runner interface, version 3.
//
// It exits 0 whatever the tests found (a failing test is the learner's); only a grader that cannot write its
// results exits non-zero, which Gauntlet reports as a platform error.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// writers is how many clients write one note at once.
const writers = 8

// attempts bounds one conditional writer's retries on 412.
const attempts = 60

type testResult struct {
	Name     string `json:"name"`
	Status   string `json:"status"`
	Message  string `json:"message,omitempty"`
	Output   string `json:"output,omitempty"`
	TestCode string `json:"test_code,omitempty"`
	TaskID   int    `json:"task_id,omitempty"`
}

type results struct {
	Version int          `json:"version"`
	Status  string       `json:"status"`
	Tests   []testResult `json:"tests"`
}

// transcript is a test's output for staff: every request and answer, in order.
type transcript struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (t *transcript) logf(format string, args ...interface{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(&t.buf, format+"\n", args...)
}

var (
	client = &http.Client{Timeout: 10 * time.Second}
	base   = strings.TrimRight(os.Getenv("SERVICE_URL"), "/")
	seed   = os.Getenv("GAUNTLET_SEED")
)

func main() {
	tests := []testResult{
		run("conditional writers each win exactly once", 1,
			"N clients GET the note, PUT with If-Match and retry on 412 until each has won once", conditionalWriters),
		run("unconditional writers all count", 2,
			"N clients PUT the note at once without If-Match; every write bumps the version", unconditionalWriters),
	}
	status := "pass"
	for _, t := range tests {
		if t.Status != "pass" {
			status = "fail"
		}
	}
	out, err := json.MarshalIndent(results{Version: 3, Status: status, Tests: tests}, "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, "grader:", err)
		os.Exit(2)
	}
	dir := os.Getenv("RESULTS_DIR")
	if dir == "" {
		dir = "/results"
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), out, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "grader:", err)
		os.Exit(2)
	}
	fmt.Printf("grader: %d tests against %s, %s\n", len(tests), base, status)
}

func run(name string, task int, code string, test func(*transcript) error) testResult {
	var t transcript
	err := test(&t)
	r := testResult{Name: name, Status: "pass", TaskID: task, TestCode: code}
	if err != nil {
		r.Status = "fail"
		r.Message = err.Error()
	}
	r.Output = t.buf.String()
	return r
}

type answer struct {
	status   int
	etag     string
	location string
	version  int64
}

// call sends one request; an error means there was no answer at all.
func call(t *transcript, method, path, ifMatch, title string) (answer, error) {
	var body io.Reader
	if title != "" {
		b, err := json.Marshal(map[string]string{"title": title})
		if err != nil {
			return answer{}, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		return answer{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.logf("%s %s: %v", method, path, err)
		return answer{}, fmt.Errorf("a %s of the note got no answer from the service", method)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	a := answer{status: resp.StatusCode, etag: resp.Header.Get("ETag"), location: resp.Header.Get("Location")}
	var doc struct {
		Version *int64 `json:"version"`
	}
	if json.Unmarshal(raw, &doc) == nil && doc.Version != nil {
		a.version = *doc.Version
	}
	t.logf("%s %s If-Match=%q -> %d ETag=%q version=%d", method, path, ifMatch, a.status, a.etag, a.version)
	return a, nil
}

// create makes a note and returns its path (from Location, relative or absolute).
func create(t *transcript, what string) (string, error) {
	a, err := call(t, "POST", "/notes", "", fmt.Sprintf("%s %s", what, seed))
	if err != nil {
		return "", err
	}
	if a.status != 201 || a.location == "" {
		return "", fmt.Errorf("creating a note answered %d without the 201 and Location the lab asks for", a.status)
	}
	if u, err := url.Parse(a.location); err == nil && u.IsAbs() {
		return u.RequestURI(), nil
	}
	return a.location, nil
}

// failure keeps the first error of concurrent writers.
type failure struct {
	mu  sync.Mutex
	err error
}

func (f *failure) set(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

func conditionalWriters(t *transcript) error {
	note, err := create(t, "contested")
	if err != nil {
		return err
	}
	var (
		mu     sync.Mutex
		winBy  = map[string]int{}
		failed failure
		wg     sync.WaitGroup
	)
	start := make(chan struct{})
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			<-start
			for attempt := 0; attempt < attempts; attempt++ {
				got, err := call(t, "GET", note, "", "")
				if err != nil {
					failed.set(err)
					return
				}
				if got.status != 200 || got.etag == "" {
					failed.set(fmt.Errorf("reading the note answered %d without an ETag", got.status))
					return
				}
				title := fmt.Sprintf("writer %d attempt %d %s", w, attempt, seed)
				put, err := call(t, "PUT", note, got.etag, title)
				if err != nil {
					failed.set(err)
					return
				}
				switch put.status {
				case 200:
					mu.Lock()
					winBy[got.etag]++
					mu.Unlock()
					return
				case 412:
					time.Sleep(time.Duration(5+3*w) * time.Millisecond)
				default:
					failed.set(fmt.Errorf("a PUT with a current If-Match answered %d; expected 200, or 412 when another writer won first", put.status))
					return
				}
			}
			failed.set(fmt.Errorf("a writer that retried on 412 never won in %d attempts", attempts))
		}(w)
	}
	close(start)
	wg.Wait()
	if failed.err != nil {
		return failed.err
	}
	for tag, n := range winBy {
		if n > 1 {
			t.logf("%d writers won with If-Match %s", n, tag)
			return fmt.Errorf("%d writers holding the same ETag all won; only one write may succeed per version", n)
		}
	}
	final, err := call(t, "GET", note, "", "")
	if err != nil {
		return err
	}
	if final.version != 1+writers {
		return fmt.Errorf("after %d conditional writes that each won once, the note's version is %d, not %d", writers, final.version, 1+writers)
	}
	return nil
}

func unconditionalWriters(t *transcript) error {
	note, err := create(t, "crowded")
	if err != nil {
		return err
	}
	var (
		failed failure
		wg     sync.WaitGroup
	)
	start := make(chan struct{})
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			<-start
			put, err := call(t, "PUT", note, "", fmt.Sprintf("blind writer %d %s", w, seed))
			if err != nil {
				failed.set(err)
				return
			}
			if put.status != 200 {
				failed.set(fmt.Errorf("a PUT without If-Match answered %d, not 200", put.status))
			}
		}(w)
	}
	close(start)
	wg.Wait()
	if failed.err != nil {
		return failed.err
	}
	final, err := call(t, "GET", note, "", "")
	if err != nil {
		return err
	}
	if final.version != 1+writers {
		return fmt.Errorf("after %d concurrent writes the note's version is %d, not %d: some writes were lost", writers, final.version, 1+writers)
	}
	return nil
}
