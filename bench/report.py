"""The benchmark table (Markdown, so the README can paste it) and the goals of issue 9."""

from typing import Any


def _f(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        text = f"{value:.3f}" if value < 1 else f"{value:.1f}" if value < 100 else f"{value:.0f}"
        return text + unit
    return f"{value}{unit}"


def _s(value: Any) -> str:
    return _f(value, " s")


def _mb(value: Any) -> str:
    return _f(value, " MB")


def _ratio(a: Any, b: Any) -> str:
    ok = isinstance(a, (int, float)) and isinstance(b, (int, float)) and b
    return f"{a / b:.2f}×" if ok else "—"


def _get(d: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict):
            return None
        d = d.get(p)
    return d


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _header(title: str, columns: list[str], numeric_from: int) -> list[str]:
    align = ["---" if i < numeric_from else "---:" for i in range(len(columns))]
    return ["", f"### {title}", "", _row(columns), _row(align)]


def table(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gib']} GiB RAM, Python {m['python']}"]
    fan = r.get("fanout") or []
    if fan:
        lines += _fanout(fan)
    procs = r.get("workers")
    if procs:
        lines += _header(
            f"Fan-out with 1 and 2 worker processes on a shared ledger ({procs['units']} units,"
            f" cycles of {procs['shard']})",
            ["ledger", "workers", "fan-out", "msgs/s", "batches per worker", "CPU s per worker"],
            2,
        )
        for p in procs["rows"]:
            rate = round(procs["units"] / p["fanout_s"], 1) if p.get("fanout_s") else None
            cpu = " + ".join(_f(c) for c in p["worker_cpu_s"])
            batches = " + ".join(str(b) for b in p["batches_by_worker"])
            lines.append(_row([p["ledger"], str(p["processes"]), _s(p.get("fanout_s")), _f(rate), batches, cpu]))
    ledger = r.get("ledger")
    if ledger:
        lines += _header("Sent-ledger per message (one writer, durable)", ["ledger", "per message", "record p99"], 1)
        for name in ("sqlite", "postgresql"):
            f = ledger[name]
            lines.append(_row([name, _f(f["per_message_ms"], " ms"), _f(f["record_ms_p99"], " ms")]))
        lines.append(f"PostgreSQL ÷ SQLite per message: {ledger['ratio_per_message']}×")
    md = r.get("maildir")
    if md:
        floor_send = _get(md, "floor", "send_s")
        lines += [
            "",
            f"Maildir sink (every message written to disk), {md['units']} units in one cycle:"
            f" duban {_s(md.get('duban_fanout_s'))}, floor send {_s(floor_send)},"
            f" build+send {_s(_get(md, 'floor', 'total_s'))}"
            f" (duban ÷ floor send {_ratio(md.get('duban_fanout_s'), floor_send)}).",
        ]
    cost = r.get("cost")
    if cost:
        lines += _header(
            f"History per unit per cycle, office-sized cycle ({cost['units']} units)",
            ["path", "design", "events/unit", "bytes/unit", "mails"],
            2,
        )
        for path in ("normal", "late"):
            for design in ("duban", "naive"):
                c = cost.get(f"{design}_{path}") or {}
                cells = [_f(c.get("history_events_per_unit")), _f(c.get("history_bytes_per_unit")), _f(c.get("mails"))]
                lines.append(_row([path, design, *cells]))
    nat = r.get("national")
    if nat:
        lines += _national(nat)
    cache = r.get("cache") or []
    if cache:
        lines += _header(
            "Worker memory per cached cycle (one worker process, resident memory)",
            ["units per cycle", "cycles cached", "RSS MiB", "MiB per cached cycle", "KiB per unit", "idle MiB"],
            1,
        )
        for c in cache:
            cached = " → ".join(str(k) for k in c["cycles"])
            rss = " → ".join(_f(x) for x in c["rss_mb"])
            lines.append(
                _row(
                    [
                        str(c["units"]),
                        cached,
                        rss,
                        _f(c["mb_per_cached_cycle"]),
                        _f(c["kb_per_unit"]),
                        _f(c["idle_rss_mb"]),
                    ]
                )
            )
    board = r.get("board")
    if board:
        lines += _board(board)
    worst = r.get("worst_path") or []
    if worst:
        lines += _header(
            "Worst path (every unit late, three rungs at one instant incl. a bulletin to all, two late reports"
            " each, returns, extensions, continue-as-new): each size once",
            [
                "units",
                "status",
                "runs",
                "largest history",
                "events (largest run)",
                "largest event",
                "mails",
                "wall",
                "holds",
            ],
            2,
        )
        for w in worst:
            lines.append(
                _row(
                    [
                        str(w["units"]),
                        w["status"],
                        str(w["runs"]),
                        _mb(max(w["history_bytes"]) / 1e6),
                        str(max(w["history_events"])),
                        f"{w['largest_event_bytes'] / 1024:.0f} KiB",
                        str(w["mails"]),
                        _s(w["seconds"]),
                        "yes" if w["holds"] else "no",
                    ]
                )
            )
    for name, error in (r.get("errors") or {}).items():
        lines += ["", f"**{name} failed:** {error}"]
    lines += ["", "### Goals (issue 9)", ""] + [f"- {g}" for g in goals(r)]
    return "\n".join(lines)


def _fanout(fan: list[dict[str, Any]]) -> list[str]:
    lines = _header(
        "Fan-out: start → every notice accepted by the SMTP sink",
        ["units", "duban cycles", "duban", "naive", "floor send", "floor build+send", "naive ÷ duban",
         "duban ÷ floor send", "duban ÷ floor build+send"],
        0,
    )  # fmt: skip
    for row in fan:
        d, n, fl = row.get("duban"), row.get("naive"), row.get("floor")
        ds, ns, fs, ft = _get(d, "fanout_s"), _get(n, "fanout_s"), _get(fl, "send_s"), _get(fl, "total_s")
        cells = [_s(ds), _s(ns), _s(fs), _s(ft), _ratio(ns, ds), _ratio(ds, fs), _ratio(ds, ft)]
        lines.append(_row([str(row["units"]), _f(_get(d, "cycles")), *cells]))
    for row in fan:
        s = row.get("single_cycle")
        if not s:
            continue
        if not s.get("started"):
            what = f"refused at start: {s.get('error')}"
        else:
            what = f"{s.get('notices')} of {s['units']} notices arrived; failure: {s.get('failure') or 'none'}"
        lines += ["", f"One cycle of {s['units']} units (input {s['input_bytes']} bytes): {what}"]
    lines += _header(
        "Reminder lateness (scheduled moment → accepted by the sink), every unit reminded at once",
        ["units", "design", "first", "p50", "p99", "max", "reminders"],
        2,
    )
    for row in fan:
        for design in ("duban", "naive"):
            late = _get(row, design, "reminder_lateness_s")
            if late:
                cells = [_s(late.get(k)) for k in ("first", "p50", "p99", "max")]
                lines.append(_row([str(row["units"]), design, *cells, _f(late.get("n"))]))
        probe = _get(row, "duban", "probe_lateness_s")
        if probe:
            cells = ["—", *(_s(probe.get(k)) for k in ("p50", "p99", "max"))]
            what = "duban, single reminders while all pending"
            lines.append(_row([str(row["units"]), what, *cells, _f(probe.get("n"))]))
    lines += _header(
        "Status, listing, submissions (every unit pending; then all submit on time)",
        ["units", "design", "get_status p50 / max", "whole board p50", "listing p50", "submissions/s",
         "submit p50 / p99", "start → all closed"],
        2,
    )  # fmt: skip
    for row in fan:
        for design in ("duban", "naive"):
            d = row.get(design)
            if not d:
                continue
            gs = d.get("get_status_s") or {}
            ls = d.get("listing_s") or d.get("board_listing_s") or {}
            sub = d.get("submissions") or {}
            lat = sub.get("latency_s") or {}
            cells = [
                f"{_s(gs.get('p50'))} / {_s(gs.get('max'))}",
                _s(_get(d, "board_s", "p50")),
                _s(ls.get("p50")),
                _f(sub.get("per_s")),
                f"{_s(lat.get('p50'))} / {_s(lat.get('p99'))}",
                _s(d.get("complete_s")),
            ]
            lines.append(_row([str(row["units"]), design, *cells]))
    lines += _header(
        "Server cost of that run (normal path) and process figures",
        ["units", "design", "history events/unit", "history bytes/unit", "SQLite bytes/unit", "worker peak",
         "server peak (cumulative)", "worker CPU", "server CPU"],
        2,
    )  # fmt: skip
    for row in fan:
        for design in ("duban", "naive"):
            d = row.get(design)
            if d:
                cells = [
                    _f(d.get("history_events_per_unit")),
                    _f(d.get("history_bytes_per_unit")),
                    _f(d.get("sqlite_bytes_per_unit")),
                    _mb(d.get("worker_peak_mb")),
                    _mb(d.get("server_peak_mb")),
                    _s(d.get("worker_cpu_s")),
                    _s(d.get("server_cpu_s")),
                ]
                lines.append(_row([str(row["units"]), design + (" (fan-out only)" if d.get("phases") else ""), *cells]))
    return lines


def _board(b: dict[str, Any]) -> list[str]:
    lines = _header(
        f"The operators' board: {b['units']} units in {b['cycles']} cycles, every unit pending,"
        f" {b['times']} readings one after another (1-minute load average {b.get('load_avg_1m', '—')}"
        " when the readings began)",
        ["what", "p50", "p99", "max", "units shown"],
        1,
    )
    for key, what in (
        ("full_status", "list + every `get_status` (`duban status`, `/api/status`)"),
        ("board", "list + every `get_board` (the console's board)"),
        ("board_page", "the board page, `GET /` signed in (HTML)"),
    ):
        s = b.get(f"{key}_s") or {}
        lines.append(_row([what, _s(s.get("p50")), _s(s.get("p99")), _s(s.get("max")), _f(b.get(f"{key}_units"))]))
    return lines


def _national(nat: dict[str, Any]) -> list[str]:
    lv = nat["levels"]
    lines = _header(
        "National simulation",
        ["start all cycles", "notices out", "submissions done", "every cycle closed", "events/unit",
         "SQLite bytes/unit", "worker peak", "province get_status p50", "unit search p50"],
        0,
    )  # fmt: skip
    lines.insert(
        2,
        f"{nat['offices']} offices ({lv['province']} provinces, {lv['city']} cities, {lv['county']} counties),"
        f" {nat['units']} units ({nat['member_units']} member units handing in over {nat['window_s']:.0f} s).\n",
    )
    cells = [
        _s(nat.get("start_s")),
        _s(nat.get("notices_s")),
        _s(nat.get("submitted_s")),
        _s(nat.get("complete_s")),
        _f(nat.get("history_events_per_unit")),
        _f(nat.get("sqlite_bytes_per_unit")),
        _mb(nat.get("worker_peak_mb")),
        _s(_get(nat, "get_status_s", "p50")),
        _s(_get(nat, "listing_s", "p50")),
    ]
    lines.append(_row(cells))
    if not nat.get("all_closed"):
        lines += [
            "",
            f"**Stopped at {_s(nat.get('stopped_s'))}, not complete:** {_get(nat, 'submissions', 'n')} of"
            f" {nat['member_units']} submissions made, {nat.get('cycles_closed')} of {nat['offices']} cycles closed.",
        ]
    lines += [
        "",
        f"Province roll-ups received: {nat.get('province_submitted')}; mails {nat.get('mails')};"
        f" submission retries {_get(nat, 'submissions', 'retries')}.",
    ]
    return lines


def goals(r: dict[str, Any]) -> list[str]:
    out = []
    fan = {row["units"]: row for row in r.get("fanout") or []}
    big = fan.get(max(fan)) if fan else None
    if big:
        n = big["units"]
        ds, ns, fs = _get(big, "duban", "fanout_s"), _get(big, "naive", "fanout_s"), _get(big, "floor", "send_s")
        out.append(f"fan-out at {n}: naive ÷ duban {_ratio(ns, ds)} (goal ≥ 4×)")
        out.append(f"fan-out at {n}: duban ÷ floor send {_ratio(ds, fs)} (goal ≤ 1.5×)")
        p99 = _get(big, "duban", "reminder_lateness_s", "p99")
        probe = _get(big, "duban", "probe_lateness_s", "p99")
        out.append(
            f"reminder lateness p99 with {n} pending: single reminders {_s(probe)} (goal < 1 s);"
            f" all {n} due at one instant {_s(p99)} (bounded by mail: the floor sends {n} in {_s(fs)})"
        )
        gs = _get(big, "duban", "get_status_s", "p50")
        units = _get(big, "duban", "get_status_units")
        out.append(f"get_status at {n} (one cycle of {units} units): {_s(gs)} (goal < 0.3 s)")
        board = _get(big, "duban", "board_s", "p50")
        shards = _get(big, "duban", "cycles")
        out.append(f"whole board at {n} ({shards} cycles, list + every get_status): {_s(board)} (goal < 0.3 s)")
    board = r.get("board")
    if board:
        n, k = board["units"], board["cycles"]
        out.append(
            f"the board at {n} units ({k} cycles): list + every get_board {_s(_get(board, 'board_s', 'p50'))},"
            f" the page {_s(_get(board, 'board_page_s', 'p50'))} (goal < 0.3 s, p50)"
        )
    cost = r.get("cost")
    if cost:
        ev = _get(cost, "duban_normal", "history_events_per_unit")
        out.append(f"history events per unit, normal path, {cost['units']}-unit cycle: {_f(ev)} (goal ≤ 5)")
    nat = r.get("national")
    if nat:
        out.append(
            f"national simulation ({nat['units']} units, {nat['offices']} offices): {_s(nat.get('complete_s'))}"
            " (goal < 30 min at 100,000 units)"
        )
    return out


if __name__ == "__main__":
    # `python -m bench.report bench/results/latest.json`: the table again from a saved run.
    import json
    import sys
    from pathlib import Path

    print(table(json.loads(Path(sys.argv[1]).read_text())))
