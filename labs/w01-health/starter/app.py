"""The notes service, week 1 starter: Python's standard library only, so it runs anywhere Python 3.10+ does.

It already starts, reads PORT, answers GET /healthz with JSON and logs one line per request. What is left for
you is marked TODO(week 1); the lab's README says what each must do.
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class Handler(BaseHTTPRequestHandler):
    # Keep-alive, as real clients (and the grader) expect.
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        # self.path holds the query string too (/healthz?probe=1): route on the path alone.
        path = urlsplit(self.path).path
        if path == "/healthz":
            self.send_json(200, {"status": "ok"})
            return
        # TODO(week 1): an unknown path must answer 404 with a JSON body such as
        # {"error": "not_found", "message": "..."}; send_error writes an HTML page.
        self.send_error(404)

    # TODO(week 1): the other methods (POST, PUT, DELETE, PATCH...). Without a do_<METHOD> the standard
    # library answers 501 with an HTML page. A wrong method on a known path is a 405 with a JSON error body;
    # an unknown path is a 404 whatever the method. Read (and discard) any request body first, so the
    # connection stays usable.

    def send_json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        # One line per request on standard output: you will read it in your run's container log.
        print(f"{self.address_string()} {format % args}", flush=True)


def main():
    port = int(os.environ.get("PORT", "8080"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    print(f"notes: listening on 0.0.0.0:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
