"""The benchmark table (Markdown, so the README can paste it) and the goals of issue 9."""

from typing import Any


def _f(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        text = f"{value:.3f}" if value < 1 else f"{value:.1f}" if value < 100 else f"{value:.0f}"
        return text + unit
    return f"{value}{unit}"


def _ratio(a: Any, b: Any) -> str:
    return f"{a / b:.2f}×" if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else "—"


def _get(d: dict[str, Any] | None, *path: str) -> Any:
    cur: Any = d
    for p in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(p)
    return cur


def table(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gib']} GiB RAM, Python {m['python']}", ""]
    fan = r.get("fanout") or []
    if fan:
        lines += [
            "### Fan-out: start → every notice accepted by the SMTP sink",
            "",
            "| units | duban cycles | duban | naive | floor (send) | floor (build+send) | naive ÷ duban | duban ÷ floor (send) | duban ÷ floor (build+send) |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in fan:
            d, n, fl = row.get("duban"), row.get("naive"), row.get("floor")
            ds, ns = _get(d, "fanout_s"), _get(n, "fanout_s")
            fs, ft = _get(fl, "send_s"), _get(fl, "total_s")
            lines.append(
                f"| {row['units']} | {_get(d, 'cycles')} | {_f(ds, ' s')} | {_f(ns, ' s')} | {_f(fs, ' s')} | {_f(ft, ' s')}"
                f" | {_ratio(ns, ds)} | {_ratio(ds, fs)} | {_ratio(ds, ft)} |"
            )
        singles = [row for row in fan if row.get("single_cycle")]
        for row in singles:
            s = row["single_cycle"]
            what = (
                f"refused at start: {s.get('error')}"
                if not s.get("started")
                else f"{s.get('notices')} of {s['units']} notices in the wait; failure: {s.get('failure') or 'none'}"
            )
            lines.append(f"\nOne cycle of {s['units']} units (input {s['input_bytes']} bytes): {what}")
        lines += [
            "",
            "### Reminder lateness (scheduled moment → accepted by the sink), every unit pending",
            "",
            "| units | design | first | p50 | p99 | max | reminders |",
            "|---:|---|---:|---:|---:|---:|---:|",
        ]
        for row in fan:
            for design in ("duban", "naive"):
                late = _get(row, design, "reminder_lateness_s")
                if late:
                    lines.append(
                        f"| {row['units']} | {design} | {_f(late.get('first'), ' s')} | {_f(late.get('p50'), ' s')}"
                        f" | {_f(late.get('p99'), ' s')} | {_f(late.get('max'), ' s')} | {late.get('n')} |"
                    )
        lines += [
            "",
            "### Status, listing, submissions (every unit pending; submissions on time)",
            "",
            "| units | design | get_status p50 / max | listing p50 | submissions/s | submit p50 / p99 | start → all closed |",
            "|---:|---|---:|---:|---:|---:|---:|",
        ]
        for row in fan:
            for design in ("duban", "naive"):
                d = row.get(design)
                if not d:
                    continue
                gs = d.get("get_status_s") or {}
                ls = d.get("listing_s") or d.get("board_listing_s") or {}
                sub = d.get("submissions") or {}
                lat = sub.get("latency_s") or {}
                lines.append(
                    f"| {row['units']} | {design} | {_f(gs.get('p50'), ' s')} / {_f(gs.get('max'), ' s')}"
                    f" | {_f(ls.get('p50'), ' s')} | {_f(sub.get('per_s'))} | {_f(lat.get('p50'), ' s')} / {_f(lat.get('p99'), ' s')}"
                    f" | {_f(d.get('complete_s'), ' s')} |"
                )
        lines += [
            "",
            "### Server cost on that run (normal path) and process figures",
            "",
            "| units | design | history events/unit | history bytes/unit | SQLite bytes/unit | worker peak | server peak (cumulative) | worker CPU | server CPU |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in fan:
            for design in ("duban", "naive"):
                d = row.get(design)
                if d:
                    lines.append(
                        f"| {row['units']} | {design} | {_f(d.get('history_events_per_unit'))} | {_f(d.get('history_bytes_per_unit'))}"
                        f" | {_f(d.get('sqlite_bytes_per_unit'))} | {_f(d.get('worker_peak_mb'), ' MB')} | {_f(d.get('server_peak_mb'), ' MB')}"
                        f" | {_f(d.get('worker_cpu_s'), ' s')} | {_f(d.get('server_cpu_s'), ' s')} |"
                    )
    md = r.get("maildir")
    if md:
        lines += [
            "",
            f"Maildir sink (every message written to disk), {md['units']} units: duban {_f(md.get('duban_fanout_s'), ' s')},"
            f" floor send {_f(_get(md, 'floor', 'send_s'), ' s')}, build+send {_f(_get(md, 'floor', 'total_s'), ' s')}"
            f" (duban ÷ floor send {_ratio(md.get('duban_fanout_s'), _get(md, 'floor', 'send_s'))}).",
        ]
    cost = r.get("cost")
    if cost:
        lines += [
            "",
            f"### History per unit per cycle, office-sized cycle ({cost['units']} units)",
            "",
            "| path | design | events/unit | bytes/unit | mails |",
            "|---|---|---:|---:|---:|",
        ]
        for path in ("normal", "late"):
            for design in ("duban", "naive"):
                c = cost.get(f"{design}_{path}") or {}
                lines.append(
                    f"| {path} | {design} | {_f(c.get('history_events_per_unit'))} | {_f(c.get('history_bytes_per_unit'))} | {c.get('mails')} |"
                )
    nat = r.get("national")
    if nat:
        lv = nat["levels"]
        lines += [
            "",
            "### National simulation",
            "",
            f"{nat['offices']} offices ({lv['province']} provinces, {lv['city']} cities, {lv['county']} counties),"
            f" {nat['units']} units ({nat['member_units']} member units handing in over {nat['window_s']:.0f} s).",
            "",
            "| start all cycles | notices out | submissions done | every cycle closed | events/unit | SQLite bytes/unit | worker peak | province get_status p50 | unit search p50 |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| {_f(nat.get('start_s'), ' s')} | {_f(nat.get('notices_s'), ' s')} | {_f(nat.get('submitted_s'), ' s')}"
            f" | {_f(nat.get('complete_s'), ' s')} | {_f(nat.get('history_events_per_unit'))} | {_f(nat.get('sqlite_bytes_per_unit'))}"
            f" | {_f(nat.get('worker_peak_mb'), ' MB')} | {_f(_get(nat, 'get_status_s', 'p50'), ' s')} | {_f(_get(nat, 'listing_s', 'p50'), ' s')} |",
            "",
            f"Province roll-ups received: {nat.get('province_submitted')}; mails {nat.get('mails')};"
            f" submission retries {_get(nat, 'submissions', 'retries')}.",
        ]
    lines += ["", "### Goals (issue 9)", ""] + [f"- {g}" for g in goals(r)]
    return "\n".join(lines)


def goals(r: dict[str, Any]) -> list[str]:
    out = []
    fan = {row["units"]: row for row in r.get("fanout") or []}
    big = fan.get(max(fan)) if fan else None
    if big:
        n = big["units"]
        ds, ns = _get(big, "duban", "fanout_s"), _get(big, "naive", "fanout_s")
        fs = _get(big, "floor", "send_s")
        out.append(f"fan-out at {n}: naive ÷ duban {_ratio(ns, ds)} (goal ≥ 4×)")
        out.append(f"fan-out at {n}: duban ÷ floor {_ratio(ds, fs)} (goal ≤ 1.5×)")
        p99 = _get(big, "duban", "reminder_lateness_s", "p99")
        out.append(f"reminder lateness p99 at {n}: {_f(p99, ' s')} (goal < 1 s)")
        gs = _get(big, "duban", "get_status_s", "p50")
        out.append(
            f"get_status at {n} (one cycle of {_get(big, 'duban', 'get_status_units')} units): {_f(gs, ' s')} (goal < 0.3 s)"
        )
    cost = r.get("cost")
    if cost:
        ev = _get(cost, "duban_normal", "history_events_per_unit")
        out.append(f"history events per unit, normal path: {_f(ev)} (goal ≤ 5)")
    nat = r.get("national")
    if nat:
        out.append(
            f"national simulation ({nat['units']} units, {nat['offices']} offices): {_f(nat.get('complete_s'), ' s')}"
            " (goal < 30 min at 100,000 units)"
        )
    return out
