#!/usr/bin/env bash
# Soak benchmark (issue 17, part 4 "A week of running"; BENCHMARKS.md "Soak"): the real `oemlink`
# daemon with N mock connections (error injection on) delivering to the reference ingest server
# (tools/ingest-sink) over mutual TLS, for M minutes, with one ingest outage. Every minute it
# records the daemon's RSS, open descriptors, threads, CPU, outbox depth and bytes, its counters
# and the ingest's count; every 5 s the outbox alone (to time the drain). Then it stops the
# polling (a live reload making every mock car asleep), waits for the outbox to empty, stops the
# daemon with SIGTERM, checks it exits 0, and compares the distinct event ids the ingest stored
# with the events the daemon appended.
#
#   tools/bench/soak.sh [--connections N] [--minutes M] [--interval D] [--outage-at MIN]
#       [--outage-minutes MIN] [--drain-timeout MIN] [--warmup MIN] [--out DIR] [--build DIR]
#       [--keep-store]
#
# Defaults: 10,000 connections polled every 20s, 60 minutes, the ingest killed (SIGKILL) at
# minute 20 and restarted on the same port and certificates at minute 25, at most 15 minutes
# for the drain after the run; the first 10 minutes are warm-up, left out of the growth figures. Outputs in DIR (default /tmp/oemlink-soak.XXXXXX):
#   soak.csv        one row per minute (columns: see the header line)
#   outbox-5s.csv   every 5 s: outbox events, bytes, oldest age
#   summary.txt     growth per hour, drain times, loss check, shutdown (tools/bench/soak_summary.py)
#   daemon.log, ingest-*.log, oemlink.yaml, data/, pki/
# On a shared machine run it as `nice -n 5 tools/bench/soak.sh ...`: everything it starts
# inherits the niceness.
set -euo pipefail

connections=10000 minutes=60 interval=20s outage_at=20 outage_minutes=5 drain_timeout=15 warmup=10
out="" build=build/default keep_store=0
while [ $# -gt 0 ]; do
  case "$1" in
    --connections) connections=$2 ;;
    --minutes) minutes=$2 ;;
    --interval) interval=$2 ;;
    --outage-at) outage_at=$2 ;;
    --outage-minutes) outage_minutes=$2 ;;
    --drain-timeout) drain_timeout=$2 ;;
    --warmup) warmup=$2 ;;
    --out) out=$2 ;;
    --build) build=$2 ;;
    --keep-store) keep_store=1; shift; continue ;;
    -h | --help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { print }' "$0"; exit 0 ;;
    *) echo "soak: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$build" && pwd)
for bin in oemlink oemlink-ingest-sink plugins/oemlink-driver-mock.so; do
  [ -e "$build/$bin" ] || { echo "soak: $build/$bin is missing (build it first)" >&2; exit 1; }
done
if [ -z "$out" ]; then out=$(mktemp -d /tmp/oemlink-soak.XXXXXX); fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
data="$out/data"
mkdir -p "$data"
chmod 700 "$out" "$data"

daemon_pid="" ingest_pid="" sampler_pid=""
cleanup() {
  [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null || true
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
  [ -n "$ingest_pid" ] && kill "$ingest_pid" 2>/dev/null && wait "$ingest_pid" 2>/dev/null || true
}
trap cleanup EXIT
log() { echo "soak $(date -u +%H:%M:%S): $*" | tee -a "$out/soak.log" >&2; }

# --- PKI and the ingest server ---------------------------------------------------------------
"$src/tools/make-test-pki.sh" "$out/pki" >/dev/null
pki="$out/pki"
store="$out/received.jsonl"
ingest_port=0 ingest_runs=0 ingest_prior_lines=0
start_ingest() {
  ingest_runs=$((ingest_runs + 1))
  local listen="$out/ingest-$ingest_runs.listen"
  "$build/oemlink-ingest-sink" --listen "127.0.0.1:$ingest_port" --threads 2 --log-level warn \
    --cert "$pki/server.crt" --key "$pki/server.key" --ca "$pki/ca.crt" --store "$store" \
    >"$listen" 2>"$out/ingest-$ingest_runs.log" &
  ingest_pid=$!
  for _ in $(seq 100); do
    grep -q '^listening on ' "$listen" 2>/dev/null && break
    sleep 0.1
  done
  grep -q '^listening on ' "$listen" || { log "ingest did not start"; cat "$out/ingest-$ingest_runs.log" >&2; exit 1; }
  ingest_port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$listen")
}
ingest_stats() {  # prints the ingest's /stats JSON, or nothing when it is down
  curl -s --max-time 5 --cacert "$pki/ca.crt" --cert "$pki/client.crt" --key "$pki/client.key" \
    "https://127.0.0.1:$ingest_port/stats" 2>/dev/null || true
}
start_ingest
log "ingest on 127.0.0.1:$ingest_port (pid $ingest_pid)"

# --- the configuration -----------------------------------------------------------------------
ops_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
write_config() {  # asleep_rate: the quiesce step sets it to 1 (every car asleep: no events)
  local asleep_rate=$1
  {
    cat <<EOF
# Written by tools/bench/soak.sh.
data_dir: $data
logging: {level: warn, format: text}
schedule: {jitter: 0.1, max_backoff: 2m, shutdown_timeout: 10s}
vault:
  create_if_missing: true
  kek: {file: $data/kek.hex}
dimo:
  source: "0xc4035Fecb1cc906130423EF05f9C20977F643722"   # the CN make-test-pki.sh gives client.crt
drivers:
  - name: mock
    library: mock
    mode: poll
    poll_interval: $interval
    asleep_interval: 60s
    max_concurrent_requests: 1000
    settings:
      seed: 17
      latency: 100ms
      asleep_rate: $asleep_rate
      rate_limited_rate: 0.01
      rate_limit_retry_after: 30s
      error_rate: 0.01
      retry_rate: 0.02
outbox: {max_bytes: 1GiB, full_policy: block}
sinks:
  - name: dimo
    type: dimo_https
    url: https://127.0.0.1:$ingest_port/
    client_cert: $pki/client.crt
    client_key: $pki/client.key
    ca_file: $pki/ca.crt
    max_in_flight: 64
listeners:
  operations: {port: $ops_port}
connections:
EOF
    for ((n = 1; n <= connections; n++)); do
      printf '  - {id: soak-%d, driver: mock, vin: 5YJ3E1EA7S%07d, vehicle_token_id: %d, synthetic_token_id: %d, key_child: %d}\n' \
        "$n" "$n" "$n" "$((1000000 + n))" "$n"
    done
  } >"$out/oemlink.yaml.new"
  mv "$out/oemlink.yaml.new" "$out/oemlink.yaml"
}
write_config 0.05
"$build/oemlink" check-config "$out/oemlink.yaml" >"$out/check-config.txt" 2>&1 ||
  { cat "$out/check-config.txt" >&2; exit 1; }

# --- the daemon ------------------------------------------------------------------------------
"$build/oemlink" run --config "$out/oemlink.yaml" >"$out/daemon.log" 2>&1 &
daemon_pid=$!
metrics() { curl -s --max-time 10 "http://127.0.0.1:$ops_port/metrics" 2>/dev/null || true; }
for _ in $(seq 600); do
  metrics | grep -q '^oemlink_outbox_events' && break
  kill -0 "$daemon_pid" 2>/dev/null || { log "daemon died at start"; tail -20 "$out/daemon.log" >&2; exit 1; }
  sleep 1
done
log "daemon pid $daemon_pid up after ${SECONDS}s; operations on 127.0.0.1:$ops_port; output in $out"

# The value of one series of a Prometheus text scrape (first match), 0 when absent.
metric() { awk -v want="$2" '$1 == want { printf "%.0f", $2; found = 1; exit } END { if (!found) print 0 }' <<<"$1"; }
hz=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# CPU between two samples as % of one core: ticks0 ticks1 time0 time1.
pct() { awk -v a="$1" -v b="$2" -v t0="$3" -v t1="$4" -v hz="$hz" 'BEGIN { printf "%.1f", 100 * (b - a) / hz / (t1 - t0) }'; }
status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# Every 5 s: the outbox alone, to see when the backlog is gone.
t0=$(date +%s)
(
  echo "t_s,outbox_events,outbox_bytes,outbox_oldest_s"
  while kill -0 "$daemon_pid" 2>/dev/null; do
    m=$(metrics)
    [ -n "$m" ] && echo "$(($(date +%s) - t0)),$(metric "$m" oemlink_outbox_events),$(metric "$m" oemlink_outbox_bytes),$(metric "$m" oemlink_outbox_oldest_age_seconds)"
    sleep 5
  done
) >"$out/outbox-5s.csv" &
sampler_pid=$!

csv="$out/soak.csv"
echo "minute,utc,phase,rss_kib,rss_anon_kib,rss_file_kib,fds,threads,cpu_pct,outbox_events,outbox_bytes,outbox_oldest_s,appended,delivered,retried,dead_letters,polls_ok,polls_retry,polls_error,ingest_accepted,ingest_cpu_pct,load1" >"$csv"
prev_ticks=$(ticks "$daemon_pid") prev_ingest_ticks=$(ticks "$ingest_pid") prev_t=$(date +%s.%N)
phase=run
sample() {  # minute
  local now m ing accepted cur ingest_cur
  now=$(date +%s.%N)
  cur=$(ticks "$daemon_pid") ingest_cur=0
  [ -n "$ingest_pid" ] && ingest_cur=$(ticks "$ingest_pid")
  m=$(metrics)
  ing=$(ingest_stats)
  accepted=""
  [ -n "$ing" ] && accepted=$((ingest_prior_lines + $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["accepted"])' "$ing")))
  printf '%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n' \
    "$1" "$(date -u +%H:%M:%S)" "$phase" \
    "$(status_kib "$daemon_pid" VmRSS)" "$(status_kib "$daemon_pid" RssAnon)" "$(status_kib "$daemon_pid" RssFile)" \
    "$(ls "/proc/$daemon_pid/fd" | wc -l)" "$(status_kib "$daemon_pid" Threads)" \
    "$(pct "$prev_ticks" "$cur" "$prev_t" "$now")" \
    "$(metric "$m" oemlink_outbox_events)" "$(metric "$m" oemlink_outbox_bytes)" \
    "$(metric "$m" oemlink_outbox_oldest_age_seconds)" "$(metric "$m" oemlink_outbox_appended_total)" \
    "$(metric "$m" 'oemlink_sink_events_delivered_total{sink="dimo"}')" \
    "$(metric "$m" 'oemlink_sink_events_retried_total{sink="dimo"}')" "$(metric "$m" oemlink_outbox_dead_letters)" \
    "$(metric "$m" 'oemlink_polls_total{driver="mock",outcome="ok"}')" \
    "$(metric "$m" 'oemlink_polls_total{driver="mock",outcome="retry"}')" \
    "$(metric "$m" 'oemlink_polls_total{driver="mock",outcome="error"}')" \
    "$accepted" \
    "$(if [ -n "$ingest_pid" ] && [ "$prev_ingest_ticks" != 0 ]; then pct "$prev_ingest_ticks" "$ingest_cur" "$prev_t" "$now"; fi)" \
    "$(cut -d' ' -f1 /proc/loadavg)" >>"$csv"
  prev_ticks=$cur prev_ingest_ticks=$ingest_cur prev_t=$now
}
sleep_until_minute() { local due=$((t0 + 60 * $1)); local now; now=$(date +%s); [ "$due" -gt "$now" ] && sleep $((due - now)); return 0; }
alive() { kill -0 "$daemon_pid" 2>/dev/null || { log "daemon died"; tail -20 "$out/daemon.log" >&2; exit 1; }; }

# --- the run ---------------------------------------------------------------------------------
sample 0
outage_end=$((outage_at + outage_minutes))
for ((minute = 1; minute <= minutes; minute++)); do
  sleep_until_minute "$minute"
  alive
  sample "$minute"
  if [ "$minute" -eq "$outage_at" ]; then
    kill -KILL "$ingest_pid"; wait "$ingest_pid" 2>/dev/null || true
    ingest_prior_lines=$(wc -l <"$store")
    ingest_pid="" prev_ingest_ticks=0 phase=outage
    log "minute $minute: ingest killed (SIGKILL); it had stored $ingest_prior_lines events"
  elif [ "$minute" -eq "$outage_end" ]; then
    start_ingest
    prev_ingest_ticks=$(ticks "$ingest_pid") phase=recovery
    log "minute $minute: ingest restarted on 127.0.0.1:$ingest_port (pid $ingest_pid)"
  fi
done

# --- quiesce, drain, stop ----------------------------------------------------------------------
# Every car asleep from now on (a driver change: a new instance, connections move over as their
# polls finish), so the outbox can reach exactly 0 and the ingest's ids can be counted.
write_config 1
phase=quiesce
"$build/oemlink" reload --config "$out/oemlink.yaml" --timeout 120 >"$out/reload.txt" 2>&1 ||
  log "reload did not apply: $(tr '\n' ' ' <"$out/reload.txt")"
log "reload: $(tr '\n' ' ' <"$out/reload.txt")"
quiesced_at=$(date +%s)
empty_at=""
minute=$minutes
while [ -z "$empty_at" ] && [ $(($(date +%s) - quiesced_at)) -lt $((60 * drain_timeout)) ]; do
  alive
  m=$(metrics)
  if [ "$(metric "$m" oemlink_outbox_events)" = 0 ]; then
    empty_at=$(date +%s)
    break
  fi
  if [ "$(date +%s)" -ge $((t0 + 60 * (minute + 1))) ]; then minute=$((minute + 1)); sample "$minute"; fi
  sleep 5
done
minute=$((minute + 1)); phase=drained; sample "$minute"
if [ -n "$empty_at" ]; then
  log "outbox empty $((empty_at - quiesced_at)) s after the quiesce"
else
  log "outbox NOT empty after $drain_timeout minutes"
fi
final_metrics=$(metrics)
echo "$final_metrics" >"$out/final-metrics.txt"
final_stats=$(ingest_stats)
echo "$final_stats" >"$out/final-ingest-stats.json"

stop_start=$(date +%s.%N)
kill -TERM "$daemon_pid"
rc=0
wait "$daemon_pid" || rc=$?
stop_s=$(awk -v a="$stop_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
daemon_pid=""
kill "$sampler_pid" 2>/dev/null || true; sampler_pid=""
log "daemon exited with $rc, $stop_s s after SIGTERM"
kill -TERM "$ingest_pid"; wait "$ingest_pid" 2>/dev/null || true; ingest_pid=""

python3 "$src/tools/bench/soak_summary.py" --dir "$out" --outage-at "$outage_at" \
  --outage-minutes "$outage_minutes" --minutes "$minutes" --warmup "$warmup" --exit-code "$rc" --stop-seconds "$stop_s" \
  --quiesce-to-empty "$( [ -n "$empty_at" ] && echo $((empty_at - quiesced_at)) || echo -1)" |
  tee "$out/summary.txt"
[ "$keep_store" = 1 ] || rm -f "$store"
