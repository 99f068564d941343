"""A note's client-owned fields, parsed and validated as week 2 asks, and If-Match as week 4 asks."""

import json


class BadRequest(Exception):
    """Not JSON, not an object, or a field of the wrong JSON type: 400."""


class Invalid(Exception):
    """A well-typed object that breaks rules: 422, naming every invalid field."""

    def __init__(self, problems):
        super().__init__(f"{len(problems)} fields are invalid")
        self.problems = problems


def parse_fields(raw):
    """Returns {"title", "body", "tags"} from a request body (bytes). Unknown fields, id and version are ignored."""
    try:
        obj = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("the body must be JSON") from None
    if not isinstance(obj, dict):
        raise BadRequest("the body must be a JSON object")
    # null means absent.
    title = obj.get("title")
    body = obj.get("body") if obj.get("body") is not None else ""
    tags = obj.get("tags") if obj.get("tags") is not None else []
    if title is not None and not isinstance(title, str):
        raise BadRequest("title must be a string")
    if not isinstance(body, str):
        raise BadRequest("body must be a string")
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise BadRequest("tags must be an array of strings")
    problems = []
    title = (title or "").strip()
    if not title:
        problems.append({"field": "title", "problem": "must not be empty"})
    elif len(title) > 200:
        problems.append({"field": "title", "problem": "at most 200 characters"})
    if len(body) > 10000:
        problems.append({"field": "body", "problem": "at most 10000 characters"})
    if len(tags) > 10:
        problems.append({"field": "tags", "problem": "at most 10 items"})
    for i, tag in enumerate(tags):
        if not 1 <= len(tag) <= 32:
            problems.append({"field": f"tags[{i}]", "problem": "each tag has 1 to 32 characters"})
    if problems:
        raise Invalid(problems)
    return {"title": title, "body": body, "tags": tags}


def etag(version):
    return f'"{version}"'


def if_match_holds(header, version):
    """No header: anything goes. `*` matches any note. Otherwise a strong match of one of the listed tags."""
    if header is None:
        return True
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or etag(version) in tags
