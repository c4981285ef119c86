#!/usr/bin/env python3
"""Summarise a tools/bench/soak.sh run: growth per hour, outbox drain, loss check, shutdown.

  soak_summary.py --dir OUT --outage-at 20 --outage-minutes 5 --minutes 60 [--warmup 10]
      [--exit-code RC] [--stop-seconds S] [--quiesce-to-empty S] [--table-every 5]

Reads OUT/soak.csv (one row a minute), OUT/outbox-5s.csv, OUT/final-metrics.txt,
OUT/final-ingest-stats.json and OUT/received.jsonl (when still there); prints the verdict and a
Markdown table of every --table-every'th minute, the form BENCHMARKS.md uses.
"""
import argparse
import csv
import json
import os
import re
import sys


def load_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def num(row, key):
    value = row.get(key, "")
    return float(value) if value not in ("", None) else None


def growth_per_hour(first, last, minutes):
    """(last - first) / first, scaled to one hour, in %."""
    if not first or minutes <= 0:
        return float("nan")
    return 100.0 * (last - first) / first * 60.0 / minutes


def slope_per_hour(points):
    """Least-squares slope of (minute, value), as % of the mean per hour."""
    if len(points) < 2:
        return float("nan")
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    sxy = sum((p[0] - mx) * (p[1] - my) for p in points)
    return 100.0 * (sxy / sxx) * 60.0 / my if sxx and my else float("nan")


def metric(text, name):
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == name:
            return float(parts[1])
    return None


def distinct_ids(path):
    ids, lines = set(), 0
    id_re = re.compile(r'"id":"([^"]+)"')
    with open(path, "rb") as f:
        for raw in f:
            lines += 1
            line = raw.decode("utf-8", "replace")
            # The envelope's id is its first "id" member (dimo-wire.md order); fall back to JSON.
            m = id_re.search(line)
            event_id = m.group(1) if m else json.loads(line)["id"]
            ids.add(event_id)
    return len(ids), lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--outage-at", type=int, default=20)
    ap.add_argument("--outage-minutes", type=int, default=5)
    ap.add_argument("--minutes", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--exit-code", default="?")
    ap.add_argument("--stop-seconds", default="?")
    ap.add_argument("--quiesce-to-empty", type=int, default=-1)
    ap.add_argument("--table-every", type=int, default=5)
    a = ap.parse_args()

    rows = load_csv(os.path.join(a.dir, "soak.csv"))
    by_minute = {int(r["minute"]): r for r in rows}
    outage_end = a.outage_at + a.outage_minutes
    run = [r for r in rows if a.warmup <= int(r["minute"]) <= a.minutes]
    # The outage and the five minutes after it (the backlog being delivered) distort CPU, RSS
    # and descriptors (the sink's connections); they are left out of the slopes and means.
    steady = [r for r in run if not (a.outage_at < int(r["minute"]) <= outage_end + 5)]

    print(f"soak summary: {a.dir}")
    print(f"  warm-up: minutes 0-{a.warmup} excluded; run minutes {a.warmup}-{a.minutes}; "
          f"outage minutes {a.outage_at}-{outage_end} (ingest down)")
    first, last = by_minute.get(a.warmup), by_minute.get(a.minutes)
    pre = by_minute.get(a.outage_at)
    for key, label in (("rss_kib", "RSS (KiB)"), ("rss_anon_kib", "RSS anon (KiB)"),
                       ("fds", "open fds"), ("threads", "threads")):
        if not first or not last:
            break
        f0, f1 = num(first, key), num(last, key)
        line = (f"  {label}: minute {a.warmup} {f0:.0f} -> minute {a.minutes} {f1:.0f}: "
                f"{growth_per_hour(f0, f1, a.minutes - a.warmup):+.2f} %/h (end points)")
        if pre:
            p = num(pre, key)
            line += f"; {a.warmup}->{a.outage_at} {growth_per_hour(f0, p, a.outage_at - a.warmup):+.2f} %/h"
            post = [r for r in run if int(r["minute"]) >= outage_end + 5]
            if len(post) >= 2:
                q0, q1 = num(post[0], key), num(post[-1], key)
                line += (f"; {post[0]['minute']}->{post[-1]['minute']} "
                         f"{growth_per_hour(q0, q1, int(post[-1]['minute']) - int(post[0]['minute'])):+.2f} %/h")
        # Least squares per window: across the outage the level changes (read-ahead memory that
        # malloc keeps), which a single line through both windows would call growth.
        for lo, hi in ((a.warmup, a.outage_at), (outage_end + 5, a.minutes)):
            pts = [(int(r["minute"]), num(r, key)) for r in run
                   if lo <= int(r["minute"]) <= hi and num(r, key) is not None]
            line += f"; least squares {lo}-{hi} {slope_per_hour(pts):+.2f} %/h"
        print(line)
    peak_rss = max((num(r, "rss_kib") for r in rows), default=0)
    print(f"  RSS peak {peak_rss:.0f} KiB; fds range "
          f"{min(num(r, 'fds') for r in rows):.0f}-{max(num(r, 'fds') for r in rows):.0f}")

    cpu = [num(r, "cpu_pct") for r in steady if num(r, "cpu_pct") is not None]
    if cpu:
        print(f"  CPU (daemon, % of one core, steady minutes): mean {sum(cpu) / len(cpu):.1f}, "
              f"min {min(cpu):.1f}, max {max(cpu):.1f}")
    ing = [num(r, "ingest_cpu_pct") for r in steady if num(r, "ingest_cpu_pct") is not None]
    if ing:
        print(f"  CPU (ingest): mean {sum(ing) / len(ing):.1f}")
    rec = [num(r, "cpu_pct") for r in run if outage_end < int(r["minute"]) <= outage_end + 5]
    if rec:
        print(f"  CPU (daemon) in the 5 minutes after the restart: max {max(rec):.1f}")
    loads = [num(r, "load1") for r in rows if num(r, "load1") is not None]
    print(f"  load average (1 min) during the run: {min(loads):.1f}-{max(loads):.1f}")
    if by_minute.get(a.warmup) and pre:
        rate = (num(pre, "appended") - num(by_minute[a.warmup], "appended")) / 60.0 / (a.outage_at - a.warmup)
        print(f"  events appended per second before the outage: {rate:.0f}")

    # Outbox: steady level before the outage, peak, and when it was back to that level.
    five = load_csv(os.path.join(a.dir, "outbox-5s.csv"))
    base = [r for r in five if a.warmup * 60 <= int(r["t_s"]) < a.outage_at * 60]
    if base:
        base_events = max(int(r["outbox_events"]) for r in base)
        base_oldest = max(int(r["outbox_oldest_s"]) for r in base)
        peak = max(five, key=lambda r: int(r["outbox_events"]))
        print(f"  outbox before the outage: at most {base_events} events, oldest {base_oldest} s")
        print(f"  outbox peak: {int(peak['outbox_events'])} events, "
              f"{int(peak['outbox_bytes']) / 2**20:.1f} MiB at t={int(peak['t_s'])} s "
              f"(minute {int(peak['t_s']) / 60:.1f})")
        restart_t = outage_end * 60
        back = next((r for r in five if int(r["t_s"]) > restart_t
                     and int(r["outbox_events"]) <= base_events
                     and int(r["outbox_oldest_s"]) <= max(base_oldest, 5)), None)
        if back:
            print(f"  outbox back to its pre-outage level (<= {base_events} events, oldest <= "
                  f"{max(base_oldest, 5)} s) {int(back['t_s']) - restart_t} s after the ingest "
                  f"restart (t={int(back['t_s'])} s)")
        else:
            print("  outbox NOT back to its pre-outage level before the end")
    if a.quiesce_to_empty >= 0:
        print(f"  after the run, polling stopped (every car asleep): outbox at 0 events "
              f"{a.quiesce_to_empty} s later")
    else:
        print("  after the run: outbox did NOT reach 0 within the drain timeout")

    # Loss: distinct ids the ingest stored against the events the daemon appended.
    try:
        final = open(os.path.join(a.dir, "final-metrics.txt")).read()
    except OSError:
        final = ""
    app = metric(final, "oemlink_outbox_appended_total")
    dlv = metric(final, 'oemlink_sink_events_delivered_total{sink="dimo"}')
    dead = metric(final, "oemlink_outbox_dead_letters")
    left = metric(final, "oemlink_outbox_events")
    store = os.path.join(a.dir, "received.jsonl")
    if os.path.exists(store) and app is not None:
        distinct, lines = distinct_ids(store)
        verdict = "no loss" if distinct == app and left == 0 else "MISMATCH"
        print(f"  events: daemon appended {app:.0f}, delivered (acknowledged) {dlv:.0f}, "
              f"dead letters {dead:.0f}, left in the outbox {left:.0f}; ingest stored {lines} "
              f"lines, {distinct} distinct ids ({lines - distinct} duplicates): {verdict}")
    try:
        stats = json.load(open(os.path.join(a.dir, "final-ingest-stats.json")))
        print(f"  ingest after its restart: accepted {stats.get('accepted')}, rejected_400 "
              f"{stats.get('rejected_400')}, order_violations {stats.get('order_violations')}, "
              f"source_mismatches {stats.get('source_mismatches')}")
    except (OSError, ValueError):
        pass
    print(f"  SIGTERM: exit code {a.exit_code} after {a.stop_seconds} s")

    print()
    print("| minute | phase | RSS MiB | fds | threads | CPU % | outbox events | outbox MiB | "
          "appended | delivered | ingest stored |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        m = int(r["minute"])
        if m % a.table_every and r is not rows[-1] and m not in (a.outage_at + 1, outage_end + 1):
            continue
        print(f"| {m} | {r['phase']} | {num(r, 'rss_kib') / 1024:.1f} | {r['fds']} | {r['threads']} | "
              f"{r['cpu_pct']} | {r['outbox_events']} | {int(r['outbox_bytes']) / 2**20:.1f} | "
              f"{r['appended']} | {r['delivered']} | {r['ingest_accepted'] or '—'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
