#!/usr/bin/env bash
# Webhook benchmark (BENCHMARKS.md, "Webhooks"): verified Smartcar webhooks per second into
# durable signed events, through the real daemon.
#
#   tools/bench/webhook_load_bench.sh [options]
#
# It writes a configuration with N smartcar connections (no tokens: webhooks need none; a 30-day
# poll interval keeps polling out of the window), starts `oemlink run` with the inbound listener,
# the signing stage, the encrypted outbox (synchronous=FULL) and a sink, and drives it with
# `oemlink-mock-oem smartcar-send` in load mode: the ~4 KB real-shaped VEHICLE_STATE 4.0 example,
# each delivery a distinct eventId for one of the N vehicles. Per phase it prints the sender's
# line (rate, p50/p90/p99 from scheduled send to 2xx), the CPU oemlink and the sender used per
# delivery (from /proc and getrusage), and the load average. After the last phase it waits for
# the sink to hold every event and fails (exit 1) unless events == deliveries answered 2xx.
#
# Options:
#   --build DIR          build tree with oemlink, the smartcar driver, oemlink-mock-oem  [build/default]
#   --connections N      configured cars (vehicle ids the deliveries are spread over)    [1000]
#   --sink file|ingest   file: JSONL file sink (fdatasync); ingest: dimo_https over mutual
#                        TLS to oemlink-ingest-sink (one thread) on this machine          [file]
#   --max-count N        deliveries of the max-rate phase (0: skip it)                    [60000]
#   --max-rate R         the rate asked for in that phase (far above what is served)      [50000]
#   --rate R             the fixed-rate phase                                             [2500]
#   --seconds S          its length                                                       [20]
#   --concurrency C      sender connections in flight                                     [64]
#   --runs K             repeat both phases K times against the same daemon              [1]
#   --sender-ceiling     first measure the sender alone against the mock's signature-checking
#                        sink (oemlink-mock-oem smartcar --webhook-amt)
#   --keep               keep the scratch directory (printed) for inspection
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build="$repo/build/default"
connections=1000 sink=file max_count=60000 max_rate=50000 rate=2500 seconds=20 concurrency=64
runs=1 ceiling=0 keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$(cd "$2" && pwd); shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --sink) sink=$2; shift 2 ;;
    --max-count) max_count=$2; shift 2 ;;
    --max-rate) max_rate=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --sender-ceiling) ceiling=1; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "webhook_load_bench.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$sink" in file|ingest) ;; *) echo "--sink must be file or ingest" >&2; exit 2 ;; esac

oemlink="$build/oemlink" mock="$build/oemlink-mock-oem" ingest="$build/oemlink-ingest-sink"
payload="$repo/tools/mock-oem/smartcar/examples/webhook_vehicle_state_4.0.json"
for exe in "$oemlink" "$mock" "$build/plugins/oemlink-driver-smartcar.so"; do
  [ -e "$exe" ] || { echo "missing $exe: build oemlink oemlink-driver-smartcar oemlink-mock-oem" >&2; exit 2; }
done
[ "$sink" = file ] || [ -x "$ingest" ] || { echo "missing $ingest" >&2; exit 2; }

dir=$(mktemp -d /tmp/webhook-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  if [ "$keep" = 1 ]; then echo "kept $dir"; else rm -rf "$dir"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ticks=$(getconf CLK_TCK)
# utime + stime of a process, in seconds.
cpu_of() { awk -v t="$ticks" '{ sub(/^.*\) /, ""); print ($12 + $13) / t }' "/proc/$1/stat"; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# Secrets the driver needs to start: the AMT (the HMAC key) and a client secret it never uses here.
umask 077
openssl rand -hex 32 > "$dir/amt"
echo "unused-by-webhooks" > "$dir/client_secret"
for ((i = 1; i <= connections; i++)); do printf '5c0f0000-0000-4000-8000-%012x\n' "$i"; done > "$dir/vehicles.txt"

port=$(free_port)
{
  cat <<EOF
data_dir: data
logging: {level: info, format: text}
vault: {create_if_missing: true, kek: {file: data/kek.hex}}
listeners:
  inbound: {port: $port, public_url: "http://127.0.0.1:$port", max_connections: 4096}
drivers:
  - name: smartcar
    library: smartcar
    poll_interval: 30d        # webhooks only: the first polls are spread over 30 days
    asleep_interval: 30d
    settings:
      client_id: bench-client
      client_secret: "\${file:client_secret}"
      amt: "\${file:amt}"
      auth_base_url: http://127.0.0.1:9
      api_base_url: http://127.0.0.1:9/v3
connections:
EOF
  i=0
  while read -r id; do
    i=$((i + 1))
    echo "  - {id: car-$i, driver: smartcar, vehicle_token_id: $i, synthetic_token_id: $((100000 + i)), key_child: $i, identifiers: {smartcar_id: $id}}"
  done < "$dir/vehicles.txt"
  echo "sinks:"
  if [ "$sink" = file ]; then
    echo "  - {name: events, type: file, path: events.jsonl, rotate_bytes: 1GiB}"
  fi
} > "$dir/oemlink.yaml"

if [ "$sink" = ingest ]; then
  bash "$repo/tools/make-test-pki.sh" "$dir/pki" > /dev/null 2>&1
  "$ingest" --cert "$dir/pki/server.crt" --key "$dir/pki/server.key" --ca "$dir/pki/ca.crt" \
    --listen 127.0.0.1:0 --threads 1 --log-level warn > "$dir/ingest.out" 2> "$dir/ingest.err" &
  ingest_pid=$!
  pids+=("$ingest_pid")
  for _ in $(seq 100); do grep -qs '^listening on' "$dir/ingest.out" && break; sleep 0.05; done
  ingest_port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/ingest.out")
  [ -n "$ingest_port" ] || { echo "oemlink-ingest-sink did not start" >&2; cat "$dir/ingest.err" >&2; exit 1; }
  cat >> "$dir/oemlink.yaml" <<EOF
  - name: dimo
    type: dimo_https
    url: https://127.0.0.1:$ingest_port/
    client_cert: pki/client.crt
    client_key: pki/client.key
    ca_file: pki/ca.crt
    max_in_flight: 128
EOF
fi

# The sink's event count: lines of the JSONL files, or the ingest sink's accepted counter.
events_in_sink() {
  if [ "$sink" = file ]; then
    cat "$dir"/data/events.jsonl* 2> /dev/null | wc -l
  else
    curl -s --cacert "$dir/pki/ca.crt" --cert "$dir/pki/client.crt" --key "$dir/pki/client.key" \
      "https://127.0.0.1:$ingest_port/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["accepted"])'
  fi
}

# One load-mode run of the sender; prints its line plus CPU figures. Sets `last_ok`.
send_phase() {  # name url count rate [receiver-pid [receiver-name]]
  local name=$1 url=$2 count=$3 r=$4 target_pid=${5:-} who=${6:-oemlink} c0 c1 l0 out
  l0=$(load1)
  [ -n "$target_pid" ] && c0=$(cpu_of "$target_pid")
  out=$(/usr/bin/time -f 'sender_cpu_s=%U+%S' "$mock" smartcar-send --url "$url" \
    --amt-file "$dir/amt" --count "$count" --rate "$r" --concurrency "$concurrency" \
    --vehicle-ids "$dir/vehicles.txt" "$payload" 2>&1) || true
  [ -n "$target_pid" ] && c1=$(cpu_of "$target_pid")
  local line sender_cpu ok secs
  line=$(grep '^sent=' <<< "$out" || true)
  [ -n "$line" ] || { echo "$name: the sender failed: $out" >&2; exit 1; }
  sender_cpu=$(sed -n 's/.*sender_cpu_s=\([0-9.]*\)+\([0-9.]*\).*/\1 \2/p' <<< "$out" | awk '{print $1 + $2}')
  ok=$(sed -n 's/.* ok=\([0-9]*\) .*/\1/p' <<< "$line")
  secs=$(sed -n 's/.* seconds=\([0-9.]*\) .*/\1/p' <<< "$line")
  last_ok=$ok
  echo "$name: $line"
  if [ -n "$target_pid" ]; then
    awk -v n="$ok" -v c="$(echo "$c1 - $c0" | bc -l)" -v s="$sender_cpu" -v t="$secs" \
      -v l0="$l0" -v l1="$(load1)" -v who="$who" 'BEGIN {
        printf "  %s CPU %.1f%% of one core, %.1f us per webhook; sender CPU %.1f%%, %.1f us per webhook; load average %s -> %s\n",
          who, 100 * c / t, 1e6 * c / (n ? n : 1), 100 * s / t, 1e6 * s / (n ? n : 1), l0, l1 }'
    if [ -n "$kernel_us" ] && [ "$who" = oemlink ]; then
      awk -v n="$ok" -v t="$secs" -v c="$(echo "$c1 - $c0" | bc -l)" -v k="$kernel_us" 'BEGIN {
        printf "  vs baseline: rate / one-core HMAC+parse rate = %.3f; oemlink CPU per webhook / HMAC+parse = %.1fx\n",
          (n / t) / (1e6 / k), (1e6 * c / (n ? n : 1)) / k }'
    fi
  else
    awk -v n="$ok" -v s="$sender_cpu" -v t="$secs" -v l0="$l0" -v l1="$(load1)" 'BEGIN {
        printf "  sender CPU %.1f%%, %.1f us per delivery; load average %s -> %s\n",
          100 * s / t, 1e6 * s / (n ? n : 1), l0, l1 }'
  fi
}

# Same-run baseline: HMAC + JSON parse of the same payload alone (Google Benchmark kernel).
kernel_us=""
if [ -x "$build/oemlink-bench-kernels" ]; then
  kernel_us=$("$build/oemlink-bench-kernels" --benchmark_filter='BM_WebhookHmacAndParse/arena:1' \
    --benchmark_min_time=1 --benchmark_format=json 2> /dev/null |
    python3 -c 'import json,sys; b=json.load(sys.stdin)["benchmarks"][0]; print("%.2f" % (b["cpu_time"] / 1000 if b["time_unit"] == "ns" else b["cpu_time"]))')
  echo "baseline BM_WebhookHmacAndParse/arena:1: $kernel_us us CPU per webhook = $(awk -v k="$kernel_us" 'BEGIN { printf "%.0f", 1e6 / k }')/s on one core"
else
  echo "baseline: $build/oemlink-bench-kernels not built; no ratio"
fi

echo "webhook bench: $(nproc) CPUs, $connections connections, sink $sink, concurrency $concurrency, $(date -u +%FT%TZ)"
echo "payload $(wc -c < "$payload") bytes ($(basename "$payload")); uptime: $(uptime)"

if [ "$ceiling" = 1 ]; then
  "$mock" smartcar --port 0 --webhook-amt "$(cat "$dir/amt")" > "$dir/mock.out" 2> "$dir/mock.err" &
  mock_pid=$!
  pids+=("$mock_pid")
  for _ in $(seq 100); do grep -qs '^listening' "$dir/mock.out" && break; sleep 0.05; done
  mock_port=$(sed -n 's/^listening \([0-9]*\).*/\1/p' "$dir/mock.out")
  send_phase "sender ceiling (mock sink)" "http://127.0.0.1:$mock_port/mock/webhook-sink" \
    "$max_count" "$max_rate" "$mock_pid" "mock sink"
  kill "$mock_pid"; wait "$mock_pid" 2> /dev/null || true
fi

(cd "$dir" && exec "$oemlink" run --config oemlink.yaml > oemlink.out 2> oemlink.err) &
daemon=$!
pids+=("$daemon")
for _ in $(seq 600); do
  (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null && break
  kill -0 "$daemon" 2> /dev/null || { echo "oemlink exited:" >&2; tail -20 "$dir/oemlink.err" >&2; exit 1; }
  sleep 0.05
done
# The daemon runs as a child of the subshell's exec: same pid.
url="http://127.0.0.1:$port/webhooks/smartcar"
total_ok=0
send_phase "warm-up" "$url" "$connections" 1000 "$daemon"
total_ok=$((total_ok + last_ok))
for ((run = 1; run <= runs; run++)); do
  if [ "$max_count" -gt 0 ]; then
    send_phase "run $run max rate (asked $max_rate/s)" "$url" "$max_count" "$max_rate" "$daemon"
    total_ok=$((total_ok + last_ok))
  fi
  send_phase "run $run fixed rate $rate/s for ${seconds}s" "$url" \
    "$(awk -v r="$rate" -v s="$seconds" 'BEGIN { printf "%d", r * s }')" "$rate" "$daemon"
  total_ok=$((total_ok + last_ok))
done

# No loss: every delivery answered 2xx is an event in the sink (the outbox drains after the 2xx).
events=0
for _ in $(seq 600); do
  events=$(events_in_sink)
  [ "$events" -ge "$total_ok" ] && break
  sleep 0.1
done
echo "answered 2xx: $total_ok; events in the $sink sink: $events"
kill -TERM "$daemon"; wait "$daemon" 2> /dev/null || true
{ grep -c " \[warn\]\| \[error\]\| warning \| error " "$dir/oemlink.err" || true; } | xargs echo "oemlink warnings/errors logged:"
{ grep -c . "$dir/oemlink.err" || true; } | xargs echo "oemlink log lines:"
if [ "$events" -ne "$total_ok" ]; then
  echo "FAIL: $total_ok deliveries acknowledged, $events events stored" >&2
  exit 1
fi
echo "ok: no loss"
