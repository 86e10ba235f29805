#!/usr/bin/env bash
# The Waymore mass export as a shop owner meets it, driven from outside: a release
# `shopbridge serve` on a fresh embedded cluster holding a demo shop of BENCH_CUSTOMERS
# (5,000) customers and BENCH_ORDERS (20,000) orders, the fake_waymore example answering after
# BENCH_PARTNER_MS (100), timed from `POST /waymore/connect` to `completed` in
# `/waymore/status` (polled every 20 ms). One line per run: objects, seconds (and the
# export's own started → finished), objects/s.
#
#   bash benches/outside/waymore_export.sh [BINARY ...]   (default target/release/shopbridge)
#
# Several binaries are run in turn, BENCH_RUNS (3) rounds, so builds compare alternately.
set -euo pipefail
cd "$(dirname "$0")/../.."
customers=${BENCH_CUSTOMERS:-5000}
orders=${BENCH_ORDERS:-20000}
runs=${BENCH_RUNS:-3}
binaries=("$@")
[ ${#binaries[@]} -gt 0 ] || binaries=(target/release/shopbridge)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
work=$(mktemp -d /tmp/shopbridge-outside-XXXXXX)
chmod 0755 "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

cargo build --release --locked -q --example fake_waymore
standin=$(free_port)
FAKE_WAYMORE_ADDR=127.0.0.1:$standin FAKE_WAYMORE_MS=${BENCH_PARTNER_MS:-100} \
    target/release/examples/fake_waymore >/dev/null &
pids+=($!)
waymore=http://127.0.0.1:$standin
until curl -s -o /dev/null "$waymore/"; do sleep 0.05; done

one_run() {
    local binary=$1 n=$2 port pid
    port=$(free_port)
    local cluster="$work/pg-$n"
    local env=(env -i PATH="$PATH" HOME="${HOME:-/root}" EMBEDDED_PG_DIR="$cluster"
        BIND_ADDR=127.0.0.1:$port RUST_LOG=error ADMIN_TOKEN=bench OUTBOUND_ALLOWLIST=127.0.0.1
        WAYMORE_AUTH_URL=$waymore/api/authenticate WAYMORE_DATA_URL=$waymore/api/data
        WAYMORE_EVENTS_URL=$waymore/api/event)
    "${env[@]}" "$binary" demo seed --customers "$customers" --orders "$orders" >/dev/null
    "${env[@]}" "$binary" serve >"$work/serve-$n.log" 2>&1 &
    pid=$!
    until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.05; done
    sleep ${BENCH_SETTLE:-0}
    python3 - "$port" "$binary" <<'PY'
import json, sys, time, urllib.request
port, binary = sys.argv[1], sys.argv[2]
base = f"http://127.0.0.1:{port}"
auth = {"Authorization": "Bearer bench", "Content-Type": "application/json"}
begun = time.monotonic()
request = urllib.request.Request(f"{base}/waymore/connect", method="POST", headers=auth,
    data=json.dumps({"username": "owner@example.com", "password": "secret"}).encode())
urllib.request.urlopen(request).read()
while True:
    status = json.load(urllib.request.urlopen(urllib.request.Request(f"{base}/waymore/status", headers=auth)))
    export = status.get("export") or {}
    if export.get("state") in ("completed", "failed"):
        break
    time.sleep(0.02)
seconds = time.monotonic() - begun
objects = sum(e["sent"] for e in export["entities"])
from datetime import datetime
at = lambda k: datetime.fromisoformat(export[k].replace("Z", "+00:00"))
data = (at("finishedAt") - at("startedAt")).total_seconds()
print(f"| {binary} | {export['state']} | {objects} | {seconds:.2f} | {data:.2f} | {objects / seconds:.0f} |", flush=True)
PY
    kill -TERM "$pid"
    wait "$pid" || true
    rm -rf "$cluster"
}

echo "| build | state | objects | seconds | of which started → finished | objects/s |"
echo "| --- | --- | --- | --- | --- | --- |"
n=0
for _ in $(seq "$runs"); do
    for binary in "${binaries[@]}"; do
        n=$((n + 1))
        one_run "$binary" "$n"
    done
done
