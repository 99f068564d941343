# Shared by the scripts/bench-* grading benchmarks (sourced, not run): builds the binaries, starts a local
# server with one worker and a token, and measures one submission to verdict through the API.
# Needs: $runs set by the caller. Sets: $bin, $work, $base, $token; defines now, median, gauntlet_once.

cargo build --release -q
RUSTFLAGS='-C target-feature=+crt-static' CARGO_TARGET_DIR=target/static \
    cargo build --release -q -p testsvc --target x86_64-unknown-linux-gnu
bin=target/release/gauntlet
testsvc=target/static/x86_64-unknown-linux-gnu/release/testsvc
work="$(mktemp -d /tmp/gauntlet-bench.XXXXXX)"
server_pid=""
# The by-hand baselines leave what the classic builder leaves: the layers of a multi-stage build that are not
# the final image's ancestors. Untagged images that appear while a benchmark runs are removed at its end
# (removing the top of such a chain removes the untagged layers under it).
dangling() { docker images -q --no-trunc --filter dangling=true | sort -u; }
dangling_before="$(dangling)"
# Callers add their own clean-up to bench_cleanup_extra.
bench_cleanup_extra() { :; }
bench_cleanup() {
    [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
    bench_cleanup_extra
    comm -13 <(echo "$dangling_before") <(dangling) | grep . | xargs -r docker rmi >/dev/null 2>&1 || true
    if [[ -n "${KEEP:-}" ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap bench_cleanup EXIT

bench_start_server() {
    mkdir -p "$work/data"
    export GAUNTLET_DATA_DIR="$work/data" GAUNTLET_WORKERS=1
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    echo "a long enough password" | $bin user add bench@example.org --password-stdin >/dev/null
    token=$($bin user token bench@example.org)
    $bin serve --bind "127.0.0.1:$port" 2>"$work/server.log" &
    server_pid=$!
    base="http://127.0.0.1:$port"
    until curl -sf "$base/healthz" >/dev/null; do sleep 0.1; done
}

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }

# gauntlet_once LAB ARCHIVE: seconds from upload to a final run (which must pass); then waits, untimed, for
# the worker's clean-up so the next measurement has the engine to itself.
gauntlet_once() {
    local lab="$1" archive="$2" t0 t1 run state
    t0=$(now)
    run=$(curl -sf -H "Authorization: Bearer $token" --data-binary @"$archive" \
        "$base/api/v1/labs/$lab/submissions" | jq -r .run_id)
    while :; do
        state=$(curl -sf -H "Authorization: Bearer $token" "$base/api/v1/runs/$run" | jq -r .state)
        case "$state" in passed|failed|error) break ;; esac
        sleep 0.05
    done
    t1=$(now)
    [[ "$state" == passed ]] || { echo "run $run: $state" >&2; exit 1; }
    while [[ -n "$(docker ps -aq --filter label=gauntlet.run)$(docker images -q --filter 'reference=gauntlet-run/*')" ]]; do
        sleep 0.1
    done
    echo "$t1 - $t0" | bc
}
