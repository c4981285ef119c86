#!/usr/bin/env bash
# Tesla driver throughput (issue 12, section 8; BENCHMARKS.md "Tesla driver"): the real `oemlink`
# daemon (tesla driver, mode poll, file sink) polling N cars of `oemlink-mock-oem tesla`, every
# car online, at a given API latency. Prints polls/s, events/s, and the CPU of oemlink and of the
# mock, each read from /proc, separately.
#
#   tools/bench/tesla_throughput.sh [--cars N] [--per-account K] [--latency-ms L]
#       [--interval D] [--in-flight M] [--seconds S] [--warmup W] [--mock-threads T]
#       [--build DIR]
#
# Defaults: 10,000 cars in accounts of 100 (one page of the mock's vehicle list), 0 ms,
# every car due every 1s (offered 10,000 polls/s, above the goal), 2,000 polls in flight,
# a 20 s window after 10 s of warm-up, mock with 2 threads. Tokens are seeded with
# `oemlink secrets set` (one connection per account; the account's others share its chain).
set -euo pipefail

cars=10000 per_account=100 latency=0 interval=1s in_flight=2000 seconds=20 warmup=10
mock_threads=2 build=build/default
while [ $# -gt 0 ]; do
  case "$1" in
    --cars) cars=$2 ;;
    --per-account) per_account=$2 ;;
    --latency-ms) latency=$2 ;;
    --interval) interval=$2 ;;
    --in-flight) in_flight=$2 ;;
    --seconds) seconds=$2 ;;
    --warmup) warmup=$2 ;;
    --mock-threads) mock_threads=$2 ;;
    --build) build=$2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$build" && pwd)
fixtures="$src/../shared/fixtures/tesla"
dir=$(mktemp -d /tmp/tesla-throughput.XXXXXX)
mock_pid="" daemon_pid=""
cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
  [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT

vin() { printf '5YJ3SYNTH%08d' "$1"; }  # the mock's --synthesize VINs
accounts=$(( (cars + per_account - 1) / per_account ))

mkdir -p "$dir/captures" "$dir/data"
chmod 700 "$dir" "$dir/data"
k=0
for f in "$fixtures"/vehicle_data_*.json; do
  cp "$f" "$dir/captures/$(vin $((90000000 + k))).json"; k=$((k + 1))
done

mock_args=(tesla --port 0 --captures "$dir/captures" --synthesize "$cars" --threads "$mock_threads"
           --latency-ms "$latency" --default-state online)
for ((a = 0; a < accounts; a++)); do
  vins=""
  for ((n = a * per_account; n < (a + 1) * per_account && n < cars; n++)); do
    vins+="${vins:+,}$(vin $n)"
  done
  mock_args+=(--accept-refresh-token "seed-$a@acct$a" --account-vins "acct$a=$vins")
done
coproc MOCK { exec "$build/oemlink-mock-oem" "${mock_args[@]}" 2>"$dir/mock.log"; }
mock_pid=$MOCK_PID
read -r word port <&"${MOCK[0]}"
[ "$word" = listening ] || { echo "mock did not start" >&2; cat "$dir/mock.log" >&2; exit 1; }
base="http://127.0.0.1:$port"

cfg="$dir/oemlink.yaml"
{
  cat <<EOF
data_dir: $dir/data
logging: {level: warn, format: text}
http: {allow_plain_http: true, max_connections_per_host: $((in_flight + 100))}
vault:
  create_if_missing: true
  kek: {file: $dir/data/kek.hex}
drivers:
  - name: tesla
    library: tesla
    mode: poll
    poll_interval: $interval
    max_concurrent_requests: $in_flight
    settings:
      client_id: mock-client-id
      auth_base_url: $base
      fleet_api_base_url: $base
      daily_request_budget: 100000000
      # A refresh stores its pair on one connection; each other member copies it in its next
      # poll (one durable secret_put, ~4 ms here, on the event loop). At a 1 s interval those
      # 10,000 copies load the loop for ~40 s in the first seconds, and answers queued behind
      # them wait that long (BENCHMARKS.md, "Tesla driver"). The benchmark measures the steady
      # state after it.
      http_timeout: 120s
sinks:
  - {name: events, type: file, path: events.jsonl, rotate_bytes: 256MiB, keep_files: 2}
connections:
EOF
  for ((n = 0; n < cars; n++)); do
    printf '  - {id: c%d, driver: tesla, vin: 5YJ3SYNTH%08d, identifiers: {tesla_id: "%d", account: acct%d}, vehicle_token_id: %d, synthetic_token_id: %d, key_child: %d}\n' \
      "$n" "$n" $((100000000000 + n)) $((n / per_account)) $((n + 1)) $((n + 1)) $((n + 1))
  done
} >"$cfg"

# A KEK file of our own; the vault seed and the data keys are created on first use.
(umask 077; od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$dir/data/kek.hex")
# Seeded through a config holding only the seeded connections (the store keys secrets by driver
# and connection id), so each `secrets set` does not parse every car.
seed_cfg="$dir/seed.yaml"
sed '/^connections:/q' "$cfg" >"$seed_cfg"
grep -E "^  - \{id: c[0-9]+," "$cfg" | awk -v k="$per_account" -F'[ ,]+' \
  '{ id = substr($4, 2); if (id % k == 0) print }' >>"$seed_cfg"
for ((a = 0; a < accounts; a++)); do
  printf 'seed-%d' "$a" >"$dir/token"
  "$build/oemlink" secrets set --config "$seed_cfg" "c$((a * per_account))" refresh_token \
    --file "$dir/token" >/dev/null
done

"$build/oemlink" run --config "$cfg" >"$dir/daemon.log" 2>&1 &
daemon_pid=$!

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
status() {  # updated_ms polls_ok appended
  python3 - "$dir/data/status.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
m = s.get("metrics", {})
polls_ok = sum(v for k, v in m.items()
               if k.startswith("oemlink_polls_total{") and 'outcome="ok"' in k)
print(s["updated_ms"], int(polls_ok), (s.get("outbox") or {}).get("appended", 0))
EOF
}
echo "setup done in ${SECONDS}s" >&2
# Warm-up: every account's first token refresh, then each connection's copy of the new pair (one
# durable secret_put each, on the event loop): polls only flow at full rate once all are done.
for ((i = 0; i < 180; i++)); do
  sleep 1
  [ -f "$dir/data/status.json" ] || continue
  done_refreshes=$(python3 -c "import json,sys; print(int(json.load(open(sys.argv[1]))['metrics'].get('oemlink_driver_events_total{driver=\"tesla\",name=\"token_refreshes\"}', 0)))" "$dir/data/status.json")
  [ "$done_refreshes" -ge "$accounts" ] && break
done
echo "tokens of $accounts accounts refreshed after ${SECONDS}s" >&2
sleep "$warmup"
read -r t0 p0 e0 < <(status)
o0=$(cpu_ticks "$daemon_pid") m0=$(cpu_ticks "$mock_pid") w0=$(date +%s.%N)
sleep "$seconds"
read -r t1 p1 e1 < <(status)
o1=$(cpu_ticks "$daemon_pid") m1=$(cpu_ticks "$mock_pid") w1=$(date +%s.%N)
hz=$(getconf CLK_TCK)
python3 - "$t0" "$t1" "$p0" "$p1" "$e0" "$e1" "$o0" "$o1" "$m0" "$m1" "$hz" "$(echo "$w1 - $w0" | bc)" \
  "$cars" "$interval" "$latency" "$in_flight" <<'EOF'
import sys
t0, t1, p0, p1, e0, e1, o0, o1, m0, m1, hz, secs = map(float, sys.argv[1:13])
cars, interval, latency, in_flight = sys.argv[13:17]
wall = (t1 - t0) / 1000
polls = (p1 - p0) / wall
events = (e1 - e0) / wall
ocpu = (o1 - o0) / hz / secs
mcpu = (m1 - m0) / hz / secs
print(f"tesla throughput: {cars} cars, interval {interval}, latency {latency} ms, in flight {in_flight}")
print(f"  polls/s {polls:.0f}  events/s {events:.0f}  (status window {wall:.1f} s)")
print(f"  oemlink CPU {100 * ocpu:.0f}% of one core = {1e6 * ocpu / max(polls, 1):.0f} us per poll")
print(f"  mock CPU {100 * mcpu:.0f}% of one core")
EOF
grep -c -i "error\|warn" "$dir/daemon.log" | xargs echo "  daemon log warnings/errors:"
grep -i "error\|warn" "$dir/daemon.log" | head -3 || true
