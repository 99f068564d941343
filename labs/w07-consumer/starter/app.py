"""The week 7 starter: an account-events consumer with a small HTTP API, in Python with confluent-kafka.

Threads: the HTTP server (main thread, one thread per request) and the consumer loop (consumer.py). State lives
in SQLite under DATA_DIR (store.py). What is left for you is marked TODO(week 7); the lab's README says why.
"""

import json
import os
import signal
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

import consumer
from store import Store


@dataclass(frozen=True)
class Config:
    """Everything comes from the environment the grader (or you, locally) sets."""

    port: int
    data_dir: str
    bootstrap_servers: str
    topic: str
    dlq_topic: str
    group_id: str

    @staticmethod
    def from_env():
        env = os.environ.get
        return Config(
            port=int(env("PORT", "8080")),
            data_dir=env("DATA_DIR", "./data"),
            bootstrap_servers=env("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092"),
            topic=env("KAFKA_TOPIC", "accounts"),
            dlq_topic=env("KAFKA_DLQ_TOPIC", "accounts.dlq"),
            group_id=env("KAFKA_GROUP_ID", "accounts-service"),
        )


def make_handler(store):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            path = urlsplit(self.path).path
            if path == "/healthz":
                # Never waits for the broker: the service is up as soon as it answers HTTP.
                self.send_json(200, {"status": "ok"})
            elif path.startswith("/accounts/") and len(path) > len("/accounts/"):
                account = store.get(unquote(path[len("/accounts/"):]))
                if account is None:
                    self.send_json(404, {"error": "not_found", "message": "no valid event mentions this account"})
                else:
                    self.send_json(200, account)
            else:
                self.send_json(404, {"error": "not_found", "message": "no such route"})

        def send_json(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):
            pass  # the checks poll often; log the consumer's work instead

    return Handler


def main():
    cfg = Config.from_env()
    store = Store(cfg.data_dir)
    stop = threading.Event()
    worker = threading.Thread(target=consumer.run_forever, args=(cfg, store, stop), name="consumer")
    worker.start()

    server = ThreadingHTTPServer(("0.0.0.0", cfg.port), make_handler(store))

    def shut_down(_signum, _frame):
        # Stop consuming on SIGTERM and close the client cleanly.
        # shutdown() waits for serve_forever() to return, so it cannot run on the thread that serves.
        stop.set()
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, shut_down)
    signal.signal(signal.SIGINT, shut_down)
    print(f"accounts: listening on 0.0.0.0:{cfg.port}", flush=True)
    server.serve_forever()
    worker.join()


if __name__ == "__main__":
    main()
