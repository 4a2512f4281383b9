"""The sent-ledger's cost per message: SQLite file (the default) against PostgreSQL, side by side.

    .venv/bin/python -m bench.ledger [--messages 4000] [--batch 200] [--out bench/results/ledger.json]

What the mail activity does per batch, without SMTP: one `sent_keys` lookup for
every key of the batch, then one `record` (its own committed transaction) per
message as the server accepts it. Both databases are durable as deployed: SQLite
in WAL mode with synchronous=NORMAL (the records file's pragmas), PostgreSQL
from Debian's package (the cluster of tests/postgres.py) with fsync on, reached
over loopback TCP with a password, through the same pooled SQLAlchemy engine the
worker uses. One writer, as one mail batch is.
"""

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from activities.records import Records
from activities.sent_ledger import SentLedger
from tests.postgres import start_cluster


async def _measure(url: str, messages: int, batch: int) -> dict[str, Any]:
    records = Records(url)
    await records.upgrade()
    ledger = SentLedger(records)
    lookups: list[float] = []
    writes: list[float] = []
    started = time.perf_counter()
    for first in range(0, messages, batch):
        keys = [f"cycle:bench/notice@0/u{i}/unit_contact/u{i}@bench.example" for i in range(first, first + batch)]
        t0 = time.perf_counter()
        already = await ledger.sent_keys(keys)
        lookups.append(time.perf_counter() - t0)
        assert not already
        for key in keys:
            t0 = time.perf_counter()
            await ledger.record([key], channel="email", message_id=f"<{key}>", recipient="x@bench.example",
                                scope="cycle:bench")  # fmt: skip
            writes.append(time.perf_counter() - t0)
    total = time.perf_counter() - started
    await records.dispose()
    ordered = sorted(writes)
    return {
        "messages": messages,
        "batch": batch,
        "per_message_ms": round(total / messages * 1000, 3),
        "record_ms_mean": round(statistics.fmean(writes) * 1000, 3),
        "record_ms_p50": round(ordered[len(ordered) // 2] * 1000, 3),
        "record_ms_p99": round(ordered[int(len(ordered) * 0.99)] * 1000, 3),
        "lookup_ms_per_batch": round(statistics.fmean(lookups) * 1000, 3),
    }


async def run(messages: int, batch: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="duban-bench-ledger-") as tmp:
        sqlite = await _measure(f"sqlite+aiosqlite:///{Path(tmp) / 'records.db'}", messages, batch)
    cluster = start_cluster(durable=True)
    try:
        postgres = await _measure(await cluster.new_database(), messages, batch)
    finally:
        cluster.stop()
    return {
        "sqlite": sqlite,
        "postgresql": postgres,
        "ratio_per_message": round(postgres["per_message_ms"] / sqlite["per_message_ms"], 2),
    }


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.ledger", description=__doc__.split("\n")[0])
    p.add_argument("--messages", type=int, default=4000)
    p.add_argument("--batch", type=int, default=200)
    p.add_argument("--out", type=Path, default=Path("bench/results/ledger.json"))
    args = p.parse_args()
    figures = asyncio.run(run(args.messages, args.batch))
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print("| ledger | per message (ms) | record mean / p50 / p99 (ms) | lookup per batch (ms) |")
    print("|---|---|---|---|")
    for name in ("sqlite", "postgresql"):
        f = figures[name]
        print(
            f"| {name} | {f['per_message_ms']} | {f['record_ms_mean']} / {f['record_ms_p50']} / {f['record_ms_p99']}"
            f" | {f['lookup_ms_per_batch']} |"
        )
    print(f"PostgreSQL / SQLite per message: {figures['ratio_per_message']}x")


if __name__ == "__main__":
    main()
