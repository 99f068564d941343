"""The week 8 starter: the notes API of weeks 2-4 on SQLite, with an outbox table and a relay thread to fill in.

Threads: the HTTP server (main thread, one thread per request) and the relay (relay.py). What is left for you is
marked TODO(week 8); the lab's README says what each must do.
"""

import base64
import json
import os
import signal
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from fields import BadRequest, Invalid, etag, parse_fields
from relay import Relay
from store import NotFound, Stale, Store

# Largest request body read; a larger one is refused before it is read.
MAX_BODY = 1 << 20


@dataclass(frozen=True)
class Config:
    """Everything comes from the environment the grader (or you, locally) sets."""

    port: int
    data_dir: str
    bootstrap_servers: str
    topic: str

    @staticmethod
    def from_env():
        env = os.environ.get
        return Config(
            port=int(env("PORT", "8080")),
            data_dir=env("DATA_DIR", "./data"),
            bootstrap_servers=env("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092"),
            topic=env("KAFKA_TOPIC", "notes.events"),
        )


class HttpError(Exception):
    def __init__(self, status, code, message, headers=None, extra=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}
        self.extra = extra or {}


def make_handler(store, relay):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def route(self, method):
            path = urlsplit(self.path).path
            if path == "/healthz":
                self.only(method, "GET")
                return 200, {"status": "ok"}
            if path == "/outbox":
                self.only(method, "GET")
                pending, published = store.outbox_counts()
                return 200, {"pending": pending, "published": published}
            if path == "/notes":
                if method == "GET":
                    return self.list_notes()
                if method == "POST":
                    note = store.create(parse_fields(self.read_body()))
                    relay.wake()
                    return 201, note, {"Location": f"/notes/{note['id']}", "ETag": etag(note["version"])}
                raise method_not_allowed("GET, POST")
            if path.startswith("/notes/") and "/" not in path[len("/notes/"):]:
                note_id = unquote(path[len("/notes/"):])
                if method == "GET":
                    note = store.get(note_id)
                elif method == "PUT":
                    fields = parse_fields(self.read_body())
                    note = store.replace(note_id, fields, self.headers.get("If-Match"))
                    relay.wake()
                elif method == "DELETE":
                    store.delete(note_id, self.headers.get("If-Match"))
                    relay.wake()
                    return 204, None
                else:
                    raise method_not_allowed("GET, PUT, DELETE")
                return 200, note, {"ETag": etag(note["version"])}
            raise HttpError(404, "not_found", "no such route")

        def list_notes(self):
            query = parse_qs(urlsplit(self.path).query)
            try:
                limit = int(query.get("limit", ["20"])[0])
                after = int(base64.urlsafe_b64decode(query["cursor"][0] + "==")) if "cursor" in query else 0
            except ValueError:
                raise HttpError(400, "bad_request", "limit or cursor is invalid") from None
            if not 1 <= limit <= 100:
                raise HttpError(400, "bad_request", "limit must be an integer from 1 to 100")
            notes, last = store.page(after, limit)
            cursor = None if last is None else base64.urlsafe_b64encode(str(last).encode()).decode().rstrip("=")
            return 200, {"items": notes, "next_cursor": cursor}

        def only(self, method, allowed):
            if method != allowed:
                raise method_not_allowed(allowed)

        def read_body(self):
            # Read whole before routing (see handle_method), so even a refused request leaves the connection
            # ready for the next one.
            return self.body

        def handle_method(self, method):
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self.close_connection = True
                self.send_json(413, {"error": "too_large", "message": "the body is too large"})
                return
            self.body = self.rfile.read(length)
            try:
                status, body, *headers = self.route(method)
                self.send_json(status, body, headers[0] if headers else {})
            except HttpError as err:
                self.send_json(err.status, {"error": err.code, "message": err.message, **err.extra}, err.headers)
            except BadRequest as err:
                self.send_json(400, {"error": "bad_request", "message": str(err)})
            except Invalid as err:
                self.send_json(422, {"error": "validation_failed", "message": str(err), "fields": err.problems})
            except NotFound:
                self.send_json(404, {"error": "not_found", "message": "no such note"})
            except Stale as err:
                self.send_json(
                    412,
                    {"error": "precondition_failed", "message": "the note has changed since that ETag"},
                    {"ETag": etag(err.version)},
                )

        def send_json(self, status, body, headers=None):
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self.handle_method("GET")

        def do_POST(self):
            self.handle_method("POST")

        def do_PUT(self):
            self.handle_method("PUT")

        def do_DELETE(self):
            self.handle_method("DELETE")

        def do_PATCH(self):
            self.handle_method("PATCH")

        def log_message(self, format, *args):
            print(f"{self.address_string()} {format % args}", flush=True)

    return Handler


def method_not_allowed(allow):
    return HttpError(405, "method_not_allowed", "method not allowed here", {"Allow": allow})


def main():
    cfg = Config.from_env()
    store = Store(cfg.data_dir)
    relay = Relay(cfg, store)
    relay.start()  # it picks up whatever is still pending from before a restart
    server = ThreadingHTTPServer(("0.0.0.0", cfg.port), make_handler(store, relay))

    def shut_down(_signum, _frame):
        # shutdown() waits for serve_forever() to return, so it cannot run on the thread that serves.
        relay.stop()
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    print(f"notes: listening on 0.0.0.0:{cfg.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
