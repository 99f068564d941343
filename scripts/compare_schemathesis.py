"""Helper of scripts/compare-schemathesis: runs schemathesis against a lab's reference service, each mutant and
each near miss (testsvc as a host process on 127.0.0.1), and compares what it reports with what
`gauntlet prove --json` says Gauntlet's checks found on the same services.

Two subcommands, so the bash script stays the one place that installs, builds and calls Gauntlet:
  run     LAB TESTSVC SCHEMATHESIS OUT  -- one schemathesis run per service, reports under OUT/st/
  report  LAB OUT                       -- reads OUT/gauntlet.json and OUT/st/, writes OUT/comparison.md

Standard library only (Python 3.11+ for tomllib), so it runs under the venv's interpreter or any other.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Service:
    """The reference, a mutant or a near miss of the lab, as mutants.toml declares it."""

    slug: str
    role: str  # "reference", "mutant" or "near miss"
    name: str
    env: dict[str, str] = field(default_factory=dict)


def services(lab: Path) -> list[Service]:
    """The reference first, then the mutants and near misses in mutants.toml's order."""
    doc = tomllib.loads((lab / "mutants.toml").read_text())
    out = [Service("reference", "reference", "the reference")]
    for role, key in (("mutant", "mutant"), ("near miss", "near_miss")):
        for m in doc.get(key, []):
            env = {k: str(v) for k, v in m.get("env", {}).items()}
            slug = env.get("TESTSVC_DEFECT") or env.get("TESTSVC_VARIANT") or re.sub(r"\W+", "-", m["name"])
            out.append(Service(slug, role, m["name"], env))
    return out


def openapi_checks(lab: Path) -> tuple[list[str], str]:
    """The ids of the lab's own `openapi` checks, and the document path they fetch."""
    ids, document = [], "/openapi.json"
    for f in sorted((lab / "checks").glob("*.toml")):
        for c in tomllib.loads(f.read_text()).get("check", []):
            if c.get("kind") == "openapi":
                ids.append(c["id"])
                document = c.get("openapi", {}).get("document", document)
    return ids, document


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port: int, proc: subprocess.Popen, secs: float = 10.0) -> bool:
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def stop(proc: subprocess.Popen) -> None:
    """Stops the one process this helper started (never anything found by name)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Running:
    """testsvc as a host process on a free 127.0.0.1 port, stopped on leaving the `with` block."""

    def __init__(self, testsvc: Path, lab_id: str, env: dict[str, str], log: Path):
        self.port = free_port()
        full = {k: v for k, v in os.environ.items() if not k.startswith("TESTSVC_")}
        full.update(GAUNTLET_LAB=lab_id, PORT=str(self.port), **env)
        self.log = open(log, "wb")
        self.proc = subprocess.Popen([str(testsvc)], env=full, stdout=self.log, stderr=subprocess.STDOUT)
        self.healthy = wait_healthy(self.port, self.proc)

    def __enter__(self) -> "Running":
        return self

    def __exit__(self, *_: object) -> None:
        stop(self.proc)
        self.log.close()


def run(lab: Path, testsvc: Path, schemathesis: Path, out: Path, examples: int, seed: int) -> int:
    _, document = openapi_checks(lab)
    st_dir = out / "st"
    st_dir.mkdir(parents=True, exist_ok=True)
    lab_id = lab.resolve().name
    svcs = services(lab)
    for svc in svcs:
        with Running(testsvc, lab_id, svc.env, st_dir / f"{svc.slug}.service.log") as running:
            if not running.healthy:
                (st_dir / f"{svc.slug}.error").write_text("the service never answered /healthz\n")
                print(f"  {svc.slug}: never healthy", file=sys.stderr)
                continue
            # Kept so that the replay below knows which services serve the reference's own document.
            with urllib.request.urlopen(f"http://127.0.0.1:{running.port}{document}", timeout=5) as r:
                (st_dir / f"{svc.slug}.openapi.json").write_bytes(r.read())
            cmd = [
                str(schemathesis), "run", f"http://127.0.0.1:{running.port}{document}",
                "--checks", "all",
                "--phases", "examples,coverage,fuzzing,stateful",
                "--max-examples", str(examples),
                "--seed", str(seed),
                "--workers", "1",
                "--request-timeout", "5",
                "--generation-database", "none",
                "--no-color",
                "--report", "json,ndjson",
                "--report-json-path", str(st_dir / f"{svc.slug}.json"),
                "--report-ndjson-path", str(st_dir / f"{svc.slug}.ndjson"),
            ]
            started = time.monotonic()
            with open(st_dir / f"{svc.slug}.txt", "wb") as txt:
                rc = subprocess.run(cmd, stdout=txt, stderr=subprocess.STDOUT, cwd=st_dir).returncode
            secs = time.monotonic() - started
            (st_dir / f"{svc.slug}.meta.json").write_text(json.dumps({"exit_code": rc, "seconds": secs}))
            print(f"  {svc.slug}: schemathesis exit {rc} in {secs:.1f} s", file=sys.stderr)
    replay_on_reference(svcs, testsvc, lab_id, st_dir)
    return 0


def replay_on_reference(svcs: list[Service], testsvc: Path, lab_id: str, st_dir: Path) -> None:
    """Sends each request behind a failure the reference's run did not have to a fresh reference, and records
    its answer: when the reference answers exactly alike (status, Content-Type, body), the failure is the
    reference's own behaviour that its run happened not to reach (schemathesis draws differently on each
    service), not the mutant's defect. A request that depends on earlier state answers differently and so stays
    the mutant's: the replay can only take findings away from a mutant when the evidence is identical. Only
    services that serve the reference's own document are replayed: where the document differs, the same answer
    can be a failure for the one and not for the other."""
    if not (st_dir / "reference.openapi.json").exists():
        return
    baseline = set(st_findings(st_dir, "reference")[0])
    document = (st_dir / "reference.openapi.json").read_bytes()
    with Running(testsvc, lab_id, {}, st_dir / "replay.service.log") as ref:
        if not ref.healthy:
            print("  replay: the reference never became healthy", file=sys.stderr)
            return
        for svc in svcs[1:]:
            own = st_dir / f"{svc.slug}.openapi.json"
            if not own.exists() or own.read_bytes() != document:
                continue
            replays = {}
            for key, f in st_findings(st_dir, svc.slug)[0].items():
                if key in baseline or not f.interaction:
                    continue
                replays[" | ".join(key)] = {
                    "theirs": answer_of(f.interaction),
                    "reference": send(ref.port, f.interaction),
                }
            (st_dir / f"{svc.slug}.replay.json").write_text(json.dumps(replays, indent=1))


def answer_of(inter: dict) -> dict:
    resp = inter.get("response") or {}
    return {
        "status": resp.get("status_code"),
        "content_type": ", ".join((resp.get("headers") or {}).get("content-type", [])),
        "body": decode(resp.get("content"), 100_000),
    }


def send(port: int, inter: dict) -> dict:
    req = inter.get("request") or {}
    path = re.sub(r"^https?://[^/]+", "", req.get("uri", "/"))
    body = base64.b64decode(req["body"]["$base64"]) if (req.get("body") or {}).get("$base64") else None
    headers = {k: ", ".join(v) for k, v in (req.get("headers") or {}).items() if k.lower() != "content-length"}
    r = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=req.get("method", "GET"),
                               headers=headers)
    try:
        with urllib.request.urlopen(r, timeout=5) as resp:
            status, ctype, text = resp.status, resp.headers.get("content-type", ""), resp.read()
    except urllib.error.HTTPError as e:
        status, ctype, text = e.code, e.headers.get("content-type", ""), e.read()
    except (OSError, ValueError) as e:
        return {"status": None, "content_type": "", "body": f"no answer: {e}"}
    return {"status": status, "content_type": ctype, "body": text.decode("utf-8", "replace")}


# --- report -------------------------------------------------------------------------------------------------


@dataclass
class Finding:
    """One schemathesis failure kind on one operation, with the first example seen."""

    code: str
    title: str
    operation: str
    example: str
    interaction: dict | None = None


def normalize(op: str) -> str:
    """`POST /v1/notes` (a document with full paths) and `POST /notes` (servers /v1) name one operation."""
    method, _, path = op.partition(" ")
    return f"{method} {path.removeprefix('/v1')}" if path.startswith("/v1/") or path == "/v1" else op


def decode(body: dict | None, limit: int = 240) -> str:
    if not body:
        return ""
    raw = base64.b64decode(body.get("$base64", "")) if "$base64" in body else str(body).encode()
    text = raw.decode("utf-8", "replace")
    return text if len(text) <= limit else text[:limit] + "…"


def broken_part(component: str) -> str:
    """`tags` from "Invalid component: in body - tags: Incorrect type" or "... at /properties/tags ..."."""
    for pattern in (r"in body - ([^:]+):", r"at /properties/(\S+)", r"in (query|header|path) - ([^:]+):"):
        m = re.search(pattern, component)
        if m:
            return m.group(m.lastindex or 1)
    return "unnamed" if "positive test case" in component or not component else component[19:60]


def example(inter: dict, component: str) -> str:
    """One request and its answer, short: what the failure looked like on the wire."""
    req, resp = inter.get("request") or {}, inter.get("response") or {}
    text = f"{req.get('method', '?')} {re.sub(r'^http://127.0.0.1:[0-9]+', '', req.get('uri', '?'))}"
    for name, values in (req.get("headers") or {}).items():
        if name.lower() == "if-match":
            text += f" (If-Match: {json.dumps(', '.join(values))})"
    if req.get("body"):
        text += f" body {decode(req.get('body'), 160)}"
    text += f" → {resp.get('status_code', 'no answer')}"
    ctype = ", ".join((resp.get("headers") or {}).get("content-type", []))
    if ctype:
        text += f" {ctype}"
    if resp.get("content"):
        text += f" {decode(resp.get('content'), 160)}"
    if component:
        text += f" ({component.removeprefix('Invalid component: ')})"
    return text


def st_findings(st_dir: Path, slug: str) -> tuple[dict[tuple[str, str], Finding], str | None]:
    """The failures of one schemathesis run keyed by (code, operation); or why there are none to read."""
    nd = st_dir / f"{slug}.ndjson"
    if (st_dir / f"{slug}.error").exists():
        return {}, (st_dir / f"{slug}.error").read_text().strip()
    found: dict[tuple[str, str], Finding] = {}
    error = None
    if nd.exists():
        for line in nd.read_text().splitlines():
            event = json.loads(line)
            if "LoadingFinished" in event or "Initialize" in event:
                continue
            for key in ("NonFatalError", "FatalError"):
                if key in event:
                    info = event[key]
                    error = (info.get("info") or {}).get("title") or str(info)[:300]
            fin = event.get("ScenarioFinished")
            if not fin:
                continue
            rec = fin["recorder"]
            label = rec.get("label", "")
            for case_id, checks in rec.get("checks", {}).items():
                for ch in checks:
                    info = (ch.get("failure_info") or {}).get("failure")
                    if ch.get("status") != "failure" or not info:
                        continue
                    # Keyed by operation, whichever phase (examples, coverage, fuzzing, stateful) found it, and
                    # for an accepted invalid request by the property it broke, so that a mutant's new breach
                    # is not hidden behind one the reference already has on the same operation.
                    op = normalize(info.get("operation") or label)
                    message = info.get("message", "")
                    component = next((ln for ln in message.splitlines() if ln.startswith("Invalid component")), "")
                    if info["code"] == "ST201":
                        op = f"{op} [{broken_part(component)}]"
                    key = (info["code"], op)
                    if key in found:
                        continue
                    inter = rec.get("interactions", {}).get(case_id) or {}
                    found[key] = Finding(info["code"], info["title"], op, example(inter, component), inter)
    rep = st_dir / f"{slug}.json"
    if rep.exists():
        doc = json.loads(rep.read_text())
        # Warnings (an unresolvable $ref, say) do not fail a schemathesis run, but they are what it noticed.
        for name, ops in (doc.get("warnings") or {}).items():
            for op in ops if isinstance(ops, list) else []:
                key = (f"warning {name}", normalize(str(op)))
                found[key] = Finding(key[0], f"warning: {name}", key[1], "")
        for e in doc.get("errors", []):
            error = error or str(e)[:300]
        for f in doc.get("failures", []):
            for op in f.get("operations", []):
                if op == "Stateful tests":
                    continue  # the NDJSON events name the operation of each stateful failure
                op = normalize(op)
                if not any(k[0] == f["code"] and k[1].split(" [")[0] == op for k in found):
                    found[(f["code"], op)] = Finding(f["code"], f["title"], op, "")
        if not found and doc.get("operations", {}).get("tested", 0) == 0:
            error = error or "no operation was tested"
    elif not nd.exists():
        error = error or "schemathesis wrote no report"
    if error is None and not rep.exists():
        txt = st_dir / f"{slug}.txt"
        error = txt.read_text()[-300:] if txt.exists() else "no report"
    return found, error


def gauntlet_trials(out: Path) -> dict[str, dict]:
    proof = json.loads((out / "gauntlet.json").read_text())
    trials = {"the reference": proof["reference"]}
    for t in proof["mutants"] + proof["near_misses"]:
        trials[t["name"]] = t
    return trials


def report(lab: Path, out: Path) -> str:
    ids, _ = openapi_checks(lab)
    trials = gauntlet_trials(out)
    st_dir = out / "st"
    svcs = services(lab)
    results = {s.slug: st_findings(st_dir, s.slug) for s in svcs}
    baseline = set(results["reference"][0])
    rows, st_only, g_only, neither, alarms, notes = [], [], [], [], [], []
    caught = {"gauntlet": 0, "schemathesis": 0, "mutants": 0}
    for s in svcs:
        t = trials.get(s.name, {})
        failed = t.get("failed", [])
        g_api = [c for c in failed if c in ids]
        g_other = [c for c in failed if c not in ids]
        found, error = results[s.slug]
        replay_file = st_dir / f"{s.slug}.replay.json"
        replays = json.loads(replay_file.read_text()) if replay_file.exists() else {}
        alike = {k for k in found if (r := replays.get(" | ".join(k))) and r["theirs"] == r["reference"]}
        new = sorted(k for k in found if k not in baseline and k not in alike)
        if error:
            st_cell = f"error: {error}"
        elif s.role == "mutant" or s.role == "near miss":
            st_cell = ", ".join(f"{c} {op}" for c, op in new) or "nothing beyond the reference's"
            if alike:
                st_cell += " (the reference answers alike: " + ", ".join(f"{c} {op}" for c, op in sorted(alike)) + ")"
        else:
            st_cell = ", ".join(f"{c} {op}" for c, op in sorted(found)) or "nothing"
        if t.get("failed_at"):
            g_api_cell = f"failed at {t['failed_at']}: {t.get('failure', '')}"
        else:
            g_api_cell = ", ".join(g_api) or "none"
        others = ", ".join(g_other) or "none"
        rows.append(f"| {s.role} | {s.name} (`{s.slug}`) | {g_api_cell} | {others} | {st_cell} |")
        st_caught = bool(new) or bool(error)
        if s.role == "mutant":
            caught["mutants"] += 1
            caught["gauntlet"] += bool(g_api)
            caught["schemathesis"] += st_caught
            if not st_caught and not g_api:
                neither.append(f"- `{s.slug}`: caught by Gauntlet's other checks: {', '.join(g_other) or 'none'}")
            if st_caught and not g_api:
                st_only.append(f"- `{s.slug}`: schemathesis: {st_cell}; Gauntlet's openapi checks: none"
                               f" (its other checks: {', '.join(g_other) or 'none'})")
            if g_api and not st_caught:
                g_only.append(
                    f"- `{s.slug}`: Gauntlet: {', '.join(g_api)}; schemathesis: nothing beyond the reference's"
                )
        else:
            if failed:
                alarms.append(f"- Gauntlet on `{s.slug}` ({s.role}): {', '.join(failed)}")
            shown = found if s.role == "reference" else {k: found[k] for k in new}
            for k, f in sorted(shown.items()):
                alarms.append(f"- schemathesis on `{s.slug}` ({s.role}): {f.code} {f.title} on {f.operation}"
                              + (f": {f.example}" if f.example else ""))
            if error:
                alarms.append(f"- schemathesis on `{s.slug}` ({s.role}): error: {error}")
        for k in new:
            f = found[k]
            if f.example and s.role == "mutant":
                notes.append(f"- `{s.slug}`: {f.code} {f.title} on {f.operation}: {f.example}")
    seconds = sum(
        json.loads((st_dir / f"{s.slug}.meta.json").read_text())["seconds"]
        for s in svcs
        if (st_dir / f"{s.slug}.meta.json").exists()
    )
    version = next(
        (json.loads(p.read_text()).get("schemathesis_version") for p in sorted(st_dir.glob("*.json"))
         if not p.name.endswith(".meta.json")),
        "?",
    )
    lines = [
        f"schemathesis {version}; {len(svcs)} services; schemathesis ran {seconds:.0f} s in all.",
        f"Mutants caught: Gauntlet's openapi checks {caught['gauntlet']} of {caught['mutants']},"
        f" schemathesis {caught['schemathesis']} of {caught['mutants']}"
        " (a mutant counts as caught by schemathesis when it reports a failure, warning or error the reference's"
        " run does not have, and a fresh reference serving the same document does not answer its request alike).",
        "",
        "| role | service | Gauntlet's openapi checks failing | Gauntlet's other checks failing |"
        " schemathesis failures (for mutants and near misses: those the reference does not have) |",
        "| --- | --- | --- | --- | --- |",
        *rows,
        "",
        "What schemathesis finds on a mutant that Gauntlet's openapi checks do not:",
        *(st_only or ["- nothing"]),
        "",
        "What Gauntlet's openapi checks find on a mutant that schemathesis does not:",
        *(g_only or ["- nothing"]),
        "",
        "Mutants neither Gauntlet's openapi checks nor schemathesis catch:",
        *(neither or ["- none"]),
        "",
        "Failures on the reference and the near misses (false alarms, or deviations of the reference itself):",
        *(alarms or ["- none"]),
        "",
        "An example of each schemathesis failure on a mutant that the reference does not have:",
        *(notes or ["- none"]),
    ]
    text = "\n".join(lines) + "\n"
    (out / "comparison.md").write_text(text)
    return text


def main(argv: list[str]) -> int:
    if len(argv) >= 6 and argv[1] == "run":
        examples = int(os.environ.get("ST_EXAMPLES", "25"))
        seed = int(os.environ.get("ST_SEED", "1"))
        return run(Path(argv[2]), Path(argv[3]), Path(argv[4]), Path(argv[5]), examples, seed)
    if len(argv) >= 4 and argv[1] == "report":
        sys.stdout.write(report(Path(argv[2]), Path(argv[3])))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
