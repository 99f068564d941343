package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Fields are the client-owned fields of a note, parsed and valid.
type Fields struct {
	Title string
	Body  string
	Tags  []string
}

type problem struct {
	Field   string `json:"field"`
	Problem string `json:"problem"`
}

// readFields parses the body as week 2 asks: not JSON, not an object or a field of the wrong type is 400; a
// well-typed object that breaks a rule is 422 naming every invalid field. Unknown fields, id and version are
// ignored. On failure the answer has been written.
func readFields(w http.ResponseWriter, r *http.Request) (Fields, bool) {
	var raw map[string]json.RawMessage
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&raw); err != nil || raw == nil {
		writeError(w, http.StatusBadRequest, "bad_request", "the body must be a JSON object")
		return Fields{}, false
	}
	var title *string
	in := Fields{Tags: []string{}}
	typed := decodeField(raw, "title", &title) && decodeField(raw, "body", &in.Body) &&
		decodeField(raw, "tags", &in.Tags)
	if !typed {
		writeError(w, http.StatusBadRequest, "bad_request", "a field has the wrong JSON type")
		return Fields{}, false
	}
	if in.Tags == nil {
		in.Tags = []string{}
	}
	var problems []problem
	if title == nil || strings.TrimSpace(*title) == "" {
		problems = append(problems, problem{"title", "must not be empty"})
	} else if utf8.RuneCountInString(strings.TrimSpace(*title)) > 200 {
		problems = append(problems, problem{"title", "at most 200 characters"})
	} else {
		in.Title = strings.TrimSpace(*title)
	}
	if utf8.RuneCountInString(in.Body) > 10000 {
		problems = append(problems, problem{"body", "at most 10000 characters"})
	}
	if len(in.Tags) > 10 {
		problems = append(problems, problem{"tags", "at most 10 items"})
	}
	for i, t := range in.Tags {
		if n := utf8.RuneCountInString(t); n < 1 || n > 32 {
			problems = append(problems, problem{fmt.Sprintf("tags[%d]", i), "each tag has 1 to 32 characters"})
		}
	}
	if len(problems) > 0 {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]interface{}{
			"error":   "validation_failed",
			"message": fmt.Sprintf("%d fields are invalid", len(problems)),
			"fields":  problems,
		})
		return Fields{}, false
	}
	return in, true
}

// decodeField decodes one field when present and not null; false means it has the wrong JSON type.
func decodeField(raw map[string]json.RawMessage, name string, into interface{}) bool {
	v, ok := raw[name]
	if !ok || string(v) == "null" {
		return true
	}
	return json.Unmarshal(v, into) == nil
}

// Precondition is a parsed If-Match header: absent (anything goes), `*`, or a list of entity tags.
type Precondition struct {
	present bool
	any     bool
	tags    []string
}

func parsePrecondition(values []string) Precondition {
	if len(values) == 0 {
		return Precondition{}
	}
	p := Precondition{present: true}
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if t == "*" {
				p.any = true
			} else if t != "" {
				p.tags = append(p.tags, t)
			}
		}
	}
	return p
}

// Holds compares strongly: a weak tag (W/"3") never matches.
func (p Precondition) Holds(version int) bool {
	if !p.present || p.any {
		return true
	}
	for _, t := range p.tags {
		if t == etag(version) {
			return true
		}
	}
	return false
}
