"""The history store: `history show` over 3 years x 50 websites against a cache hit, and
`history sync --backfill 1y` over 40 websites at 120/min with 100 ms per answer.

Part show: a store of 50 websites x 1096 days (54,800 daily rows) is written directly, then the
installed `zenovay` is timed (median of N runs, interleaved) on
  - a cache hit of `analytics ID --json` (the reference; the sandbox runs in-process),
  - `history show SITE --from <3y ago> --by month --compare yoy --json`,
  - `history show --all --from <3y ago> --json` (every one of the 54,800 rows summed),
  - `history show SITE --from -30d` as a table.
Goal: each <= 3x the cache hit.

Part sync: `zenovay sandbox serve --websites 40 --latency 0.1 --rate-limit 120`, then
`history sync --backfill 1y --breakdowns none` into a new store. Goal: 41 requests (the list plus
one per website), no 429, <= 2 s. With --with-breakdowns, also the default breakdowns (161
requests: more than one minute's 120, so the budget paces the rest).

    python benchmarks/bench_history.py            # both parts
    python benchmarks/bench_history.py --part show -n 25
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import Sandbox, run_timed, with_bytecode_cache, zenovay_executable  # noqa: E402

SITES = 50
DAYS = 1096  # three years and a day


def build_store(path: Path) -> tuple[str, date]:
    """50 websites x 1096 days ending today; the first website's id and the first day."""
    from zenovay_cli.history import store as st

    today = date.today()
    first = today - timedelta(days=DAYS - 1)
    with st.Store(path) as s:
        for n in range(SITES):
            days = []
            for k in range(DAYS):
                day = first + timedelta(days=k)
                visitors = 200 + (n * 37 + k * 11) % 500
                days.append(st.DayRow(day.isoformat(), visitors, visitors * 4 // 5, visitors * 3))
            s.save_website(st.SiteInfo(f"site-{n:02d}", f"site{n:02d}.example", f"Site {n}"), days,
                           fetched_at=st.now_stamp(), sync_date=today.isoformat(), time_range="1y")
    return "site-00", first


def part_show(runs: int, tmp: str) -> list[tuple[str, float, float]]:
    from zenovay_cli.sandbox import SandboxConfig, SandboxServer

    exe = zenovay_executable()
    db = Path(tmp) / "history.db"
    start = time.perf_counter()
    site, first = build_store(db)
    built = time.perf_counter() - start
    rows = SITES * DAYS
    print(f"show: store of {SITES} websites x {DAYS} days = {rows:,} daily rows "
          f"({db.stat().st_size / 1e6:.1f} MB) written in {built:.1f} s")
    with SandboxServer(SandboxConfig(websites=3)) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZENOVAY_")}
        for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
            env[var] = os.path.join(tmp, var.lower())
        env.update(ZENOVAY_BASE_URL=server.base_url, ZENOVAY_API_KEY=server.api_key, NO_COLOR="1")
        env = with_bytecode_cache(env, os.path.join(tmp, "pycache"))
        listing = subprocess.run([exe, "websites", "--json"], env=env, capture_output=True,
                                 text=True, check=True)
        wid = json.loads(listing.stdout)["websites"][0]["id"]
        cases = [
            ("cache hit: analytics ID --json", [exe, "analytics", wid, "--json"]),
            ("history show SITE 3y --by month --compare yoy --json",
             [exe, "history", "show", site, "--db", str(db), "--from", first.isoformat(),
              "--by", "month", "--compare", "yoy", "--json"]),
            ("history show --all 3y --json (54,800 rows)",
             [exe, "history", "show", "--all", "--db", str(db), "--from", first.isoformat(), "--json"]),
            ("history show SITE -30d (table)",
             [exe, "history", "show", site, "--db", str(db), "--from", "-30d"]),
        ]
        for _, argv in cases:  # warm: the cache entry, the bytecode, the page cache
            proc = subprocess.run(argv, env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr}")
        times: dict[str, list[float]] = {name: [] for name, _ in cases}
        for _ in range(runs):
            for name, argv in cases:
                run = run_timed(argv, env=env)
                if run.returncode != 0:
                    raise SystemExit(f"{name} failed: {run.stderr}")
                times[name].append(run.seconds)
    medians = {name: statistics.median(t) for name, t in times.items()}
    base = medians[cases[0][0]]
    out = []
    print(f"show: {runs} runs each, medians")
    for name, _ in cases:
        ratio = medians[name] / base
        goal = "" if name == cases[0][0] else ("  goal <= 3x: met" if ratio <= 3 else "  goal <= 3x: MISSED")
        print(f"  {name:55s} {medians[name] * 1000:7.1f} ms  {ratio:5.2f}x{goal}")
        out.append((name, medians[name], ratio))
    return out


def part_sync(tmp: str, with_breakdowns: bool) -> None:
    exe = zenovay_executable()
    variants = [("none", "--breakdowns none")]
    if with_breakdowns:
        variants.append(("countries,pages,technology", "default breakdowns"))
    with Sandbox("--websites", "40", "--latency", "0.1", "--rate-limit", "120") as sb:
        for n, (breakdowns, label) in enumerate(variants):
            sb.reset()
            home = Path(tmp) / f"sync{n}"
            env = with_bytecode_cache(sb.env(home), os.path.join(tmp, "pycache"))
            db = home / "history.db"
            subprocess.run([exe, "--version"], env=env, capture_output=True)  # bytecode warm
            run = run_timed([exe, "history", "sync", "--db", str(db), "--backfill", "1y",
                             "--breakdowns", breakdowns, "--json"], env=env)
            if run.returncode != 0:
                raise SystemExit(f"sync failed ({run.returncode}): {run.stderr}")
            stats = sb.stats()
            added = sum(r["added"] for r in json.loads(run.stdout))
            goal = ""
            if breakdowns == "none":
                goal = "  goal <= 2 s: " + ("met" if run.seconds <= 2 else "MISSED")
            print(f"sync --backfill 1y, {label}: {run.seconds:.2f} s, {stats['requests']} requests, "
                  f"{stats['status_counts'].get('429', 0)} answered 429, {added:,} days stored{goal}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("show", "sync", "both"), default="both")
    parser.add_argument("-n", "--runs", type=int, default=15, help="runs of each show command")
    parser.add_argument("--with-breakdowns", action="store_true",
                        help="also time a sync with the default breakdowns (paced: over a minute)")
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="zenovay-bench-history-") as tmp:
        if args.part in ("show", "both"):
            part_show(args.runs, tmp)
        if args.part in ("sync", "both"):
            part_sync(tmp, args.with_breakdowns)


if __name__ == "__main__":
    main()
