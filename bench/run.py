"""`python -m bench`: every scenario on one embedded stack, a table on stdout, JSON on disk.

.venv/bin/python -m bench [--units 1000,10000] [--national-units 10000] [--out bench/results/latest.json] [--quick]
"""

import argparse
import asyncio
import datetime as dt
import json
import math
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import procinfo, report
from bench.board import run_board
from bench.cache import run_cache
from bench.cost import run_cost
from bench.fanout import fanout_maildir, run_duban, run_floor, run_naive, single_cycle_attempt, workload
from bench.ledger import run as run_ledger
from bench.national import run_national
from bench.stack import SA_VALUE_LIMIT, Stack, Tuning
from bench.workers import run_workers
from bench.worst_path import figures, measure

SCENARIOS = ("fanout", "workers", "ledger", "maildir", "cost", "national", "cache", "board", "worst")
QUICK: dict[str, object] = {
    "units": "20,50",
    "shard": 25,
    "cost_units": 3,
    "national_units": 12,
    "office_units": 3,
    "national_window": 5.0,
    "single_cycle_wait": 0.0,
    "probes": 3,
    "workers_units": 20,
    "workers_shard": 10,
    "ledger_messages": 100,
    "cache_sizes": "10:2:4,30:2:4",
    "board_units": 40,
    "board_times": 3,
    # None: the worst path at CI's size runs in tests/workflows/test_worst_path.py already.
    "worst_units": "",
}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument("--units", default="1000,10000", help="fan-out sizes, comma-separated (default 1000,10000)")
    p.add_argument("--shard", type=int, default=1000, help="most units per cycle; more units run as several cycles")
    p.add_argument("--naive-max", type=int, default=10_000, help="skip the naive design above this many units")
    p.add_argument(
        "--naive-full-max",
        type=int,
        default=1000,
        help="above this many units the naive design is measured for fan-out only (its later phases take too long)",
    )
    p.add_argument(
        "--single-cycle-wait",
        type=float,
        default=60.0,
        help="seconds to watch one cycle holding more than --shard units (0: do not try)",
    )
    p.add_argument("--probes", type=int, default=20, help="single reminders timed while every unit is pending")
    p.add_argument("--workers-units", type=int, default=2000, help="units of the 1-vs-2 worker processes fan-out")
    p.add_argument("--workers-shard", type=int, default=250, help="units per cycle there (several cycles to share)")
    p.add_argument("--ledger-messages", type=int, default=4000, help="messages recorded per ledger (SQLite vs PG)")
    p.add_argument("--cost-units", type=int, default=30, help="units per cycle in the normal/late path scenario")
    p.add_argument("--national-units", type=int, default=10_000, help="units in the national simulation (full: 100000)")
    p.add_argument("--office-units", type=int, default=30, help="units per office cycle in the national simulation")
    p.add_argument("--national-window", type=float, default=120.0, help="seconds over which submissions arrive")
    p.add_argument(
        "--cache-sizes",
        default="100:20:60,1000:2:6",
        help="worker memory per cached cycle: units:cycles-first:cycles-second, comma-separated",
    )
    p.add_argument(
        "--board-units",
        type=int,
        default=10_000,
        help="units on the operators' board, in cycles of --shard units (bench/board.py)",
    )
    p.add_argument("--board-times", type=int, default=20, help="board readings per variant, one after another")
    p.add_argument(
        "--worst-units",
        default="200,500,1000",
        help="office sizes driven through the worst path (bench/worst_path.py), each on its own server",
    )
    p.add_argument(
        "--worst-can-after-events",
        type=int,
        default=1000,
        help="the worst path's server suggests continue-as-new after this many events (one at every size)",
    )
    p.add_argument("--only", default=",".join(SCENARIOS), help=f"scenarios to run, of {','.join(SCENARIOS)}")
    p.add_argument("--max-cached-workflows", type=int, default=Tuning.max_cached_workflows)
    p.add_argument("--max-concurrent-activities", type=int, default=Tuning.max_concurrent_activities)
    p.add_argument(
        "--sa-value-limit",
        type=int,
        default=SA_VALUE_LIMIT,
        help="server limit on one search attribute value in bytes (Temporal's default: 2048)",
    )
    p.add_argument("--timeout", type=float, default=1800.0, help="give up on any one wait after this many seconds")
    p.add_argument("--out", type=Path, default=Path("bench/results/latest.json"))
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (server db, logs)")
    p.add_argument("--quick", action="store_true", help="tiny sizes: every code path in about a minute")
    args = p.parse_args(argv)
    if args.quick:  # tiny sizes, except where given on the command line
        for name, value in QUICK.items():
            if getattr(args, name) == p.get_default(name):
                setattr(args, name, value)
    return args


def _lead_seconds(estimate_s: float) -> float:
    """Seconds from the start to the reminder: after the notices are all out, so the two do not overlap."""
    return round(estimate_s * 1.5 + 8, 1)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    only = set(args.only.split(","))
    tuning = Tuning(
        max_cached_workflows=args.max_cached_workflows, max_concurrent_activities=args.max_concurrent_activities
    )
    started = dt.datetime.now(dt.UTC)
    results: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "machine": {**procinfo.machine(), "python": platform.python_version()},
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "tuning": vars(tuning),
    }
    stamp = started.strftime("%H%M%S")
    tmp = tempfile.mkdtemp(prefix="duban-bench-")
    try:
        stack = Stack(Path(tmp), tuning, args.sa_value_limit)
        await stack.start()
        try:
            for name in SCENARIOS:
                if name not in only:
                    continue
                try:
                    await SCENARIO_RUNNERS[name](stack, args, stamp, results)
                except Exception as err:  # one scenario failing must not lose the others' figures
                    print(f"[bench] {name} failed: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
                    results.setdefault("errors", {})[name] = f"{type(err).__name__}: {err}"[:500]
                _save(args.out, results)  # what is measured so far survives a crash or Ctrl-C
        finally:
            results["server_peak_mb"] = round(stack.server_peak_mb(), 1)
            results["sqlite_bytes_total"] = stack.sqlite_bytes() if stack.db.exists() else 0
            stack.stop()
    finally:
        if args.keep:
            print(f"[bench] kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    results["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return results


def _sizes(args: argparse.Namespace) -> list[int]:
    return sorted(int(x) for x in args.units.split(",") if x)


async def _fanout(stack: Stack, args: argparse.Namespace, stamp: str, results: dict[str, Any]) -> None:
    results["fanout"] = []
    per_unit = {"duban": 0.01, "naive": 0.05}  # first guesses (s per unit), then measured
    for n in _sizes(args):
        row: dict[str, Any] = {"units": n}
        results["fanout"].append(row)
        print(f"[bench] fan-out {n}: floor", file=sys.stderr, flush=True)
        row["floor"] = await run_floor(stack, workload(f"fl{n}x{stamp}", n, args.shard, 600))
        print(f"[bench] fan-out {n}: duban", file=sys.stderr, flush=True)
        lead = _lead_seconds(per_unit["duban"] * n)
        w = workload(f"d{n}x{stamp}", n, args.shard, lead)
        row["duban"] = await run_duban(stack, w, args.timeout, args.probes)
        row["duban"]["reminder_lead_s"] = lead
        if row["duban"].get("fanout_s"):
            per_unit["duban"] = row["duban"]["fanout_s"] / n
        if n <= args.naive_max:
            print(f"[bench] fan-out {n}: naive", file=sys.stderr, flush=True)
            full = n <= args.naive_full_max
            lead = _lead_seconds(per_unit["naive"] * n) if full else 7200.0
            w = workload(f"n{n}x{stamp}", n, args.shard, lead)
            row["naive"] = await run_naive(stack, w, args.timeout, full=full)
            row["naive"]["reminder_lead_s"] = lead
            if row["naive"].get("fanout_s"):
                per_unit["naive"] = row["naive"]["fanout_s"] / n
        if n > args.shard and args.single_cycle_wait > 0:
            print(f"[bench] fan-out {n}: one cycle of {n}", file=sys.stderr, flush=True)
            row["single_cycle"] = await single_cycle_attempt(stack, f"s{n}x{stamp}", n, args.single_cycle_wait)
        _save(args.out, results)


async def _workers(stack: Stack, args: argparse.Namespace, stamp: str, results: dict[str, Any]) -> None:
    n, shard = args.workers_units, args.workers_shard
    print(f"[bench] fan-out {n} with 1 and 2 worker processes, SQLite and PG ledger", file=sys.stderr, flush=True)
    results["workers"] = await run_workers(stack, f"w{stamp}", n, shard, args.timeout)


async def _ledger(stack: Stack, args: argparse.Namespace, stamp: str, results: dict[str, Any]) -> None:
    """Not on `stack`: the ledger alone, SQLite file against PostgreSQL (bench/ledger.py)."""
    print(f"[bench] ledger: {args.ledger_messages} messages, SQLite and PG", file=sys.stderr, flush=True)
    results["ledger"] = await run_ledger(args.ledger_messages, min(200, args.ledger_messages))


async def _maildir(stack: Stack, args: argparse.Namespace, stamp: str, results: dict[str, Any]) -> None:
    n = min(min(_sizes(args)), args.shard)
    print(f"[bench] fan-out {n} into the Maildir sink", file=sys.stderr, flush=True)
    results["maildir"] = await fanout_maildir(stack, n, f"m{n}x{stamp}", args.timeout)


async def _cost(stack: Stack, args: argparse.Namespace, stamp: str, results: dict[str, Any]) -> None:
    print(f"[bench] cost: normal and late path, {args.cost_units} units", file=sys.stderr, flush=True)
    results["cost"] = await run_cost(stack, f"c{stamp}", args.cost_units, args.timeout, quick=args.quick)


async def _national(stack: Stack, args: argparse.Namespace, stamp: str, results: dict[str, Any]) -> None:
    print(f"[bench] national: {args.national_units} units", file=sys.stderr, flush=True)
    due_min = math.ceil(args.national_window / 60) + 2
    kw: dict[str, Any] = {"cities_per_province": 2, "counties_per_city": 2} if args.quick else {}
    results["national"] = await run_national(
        stack, f"nat{stamp}", args.national_units, args.office_units, args.national_window, due_min, args.timeout, **kw
    )


async def _cache(stack: Stack, args: argparse.Namespace, stamp: str, results: dict[str, Any]) -> None:
    sizes = [tuple(int(x) for x in spec.split(":")) for spec in args.cache_sizes.split(",") if spec]
    print(f"[bench] cache: worker memory per cached cycle, {sizes}", file=sys.stderr, flush=True)
    results["cache"] = await run_cache(stack, f"k{stamp}", sizes, args.timeout)  # type: ignore[arg-type]


async def _board(stack: Stack, args: argparse.Namespace, stamp: str, results: dict[str, Any]) -> None:
    print(f"[bench] board: {args.board_units} units in cycles of {args.shard}", file=sys.stderr, flush=True)
    results["board"] = await run_board(
        stack, f"b{stamp}", args.board_units, min(args.shard, args.board_units), args.board_times, args.timeout
    )


async def _worst(stack: Stack, args: argparse.Namespace, stamp: str, results: dict[str, Any]) -> None:
    """Each size on its own in-memory dev server and in-process worker (bench/worst_path.py), not on `stack`."""
    results["worst_path"] = []
    for n in sorted(int(x) for x in args.worst_units.split(",") if x):
        print(f"[bench] worst path: {n} units", file=sys.stderr, flush=True)
        results["worst_path"].append(figures(await measure(n, args.worst_can_after_events)))
        _save(args.out, results)


SCENARIO_RUNNERS = {
    "fanout": _fanout,
    "workers": _workers,
    "ledger": _ledger,
    "maildir": _maildir,
    "cost": _cost,
    "national": _national,
    "cache": _cache,
    "board": _board,
    "worst": _worst,
}


def _save(out: Path, results: dict[str, Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n")


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    t = time.monotonic()
    results = asyncio.run(run(args))
    results["wall_s"] = round(time.monotonic() - t, 1)
    _save(args.out, results)
    print(report.table(results))
    print(f"\nJSON: {args.out}")
