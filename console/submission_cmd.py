"""The office reads what units sent, from the command line.

    duban submissions --cycle ID [--unit U] [--json]
    duban submission get RECEIPT -o DIR [--cycle ID] [--json]
    duban submission rollup --cycle ID -o DIR [--draft] [--json]

Files are written with their original names into DIR; a name already there is refused before anything
is written (exit 2). Each file leaves the store with its hash checked, and each read is logged (stderr)
with who and what — never the content.
"""

import shutil
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from temporalio.client import Client

from console import client_calls as calls
from console import submissions as subs
from console.display import local
from console.output import bad_input, console, emit_json
from console.run import acting, run_call
from domain.cycle_words import KIND_ZH
from schemas.base import Model
from schemas.blobs import BlobRef
from workers.logging import configure_logging
from workers.settings import Settings, load_settings

JsonFlag = Annotated[bool, typer.Option("--json", help="Machine output: one JSON document.")]
OutDir = Annotated[Path, typer.Option("-o", "--out", help="Directory to write into (created when missing).")]


class Written(Model):
    name: str
    path: str
    size: int
    sha256: str


def submissions(
    cycle: Annotated[str, typer.Option("--cycle", help="Cycle workflow id.")],
    unit: Annotated[str | None, typer.Option("--unit", help="Only this unit's submissions.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """List a cycle's submissions: receipt, unit, kind, title, time, late, and each file (name, size, sha256).

    Examples:

        duban submissions --cycle cycle:demo:demo-office:summary:2026-Y

        duban submissions --cycle ID --unit yaan-gaj --json
    """

    async def work(client: Client, _: Settings) -> list[subs.SubmissionItem]:
        return await subs.list_submissions(client, cycle, unit)

    items = run_call(work)
    if json_out:
        emit_json(items)
        return
    if not items:
        console.print("尚无报送 (no submissions)")
        return
    for i in items:
        late = " [red]逾期[/red]" if i.late else ""
        old = " (已被新版本替换)" if i.replaced else ""
        kind = KIND_ZH.get(i.kind.value, i.kind.value)
        head = f"[bold]{i.receipt}[/bold]  {escape(i.unit_name)} ({i.unit})  {kind}《{escape(i.title)}》"
        console.print(f"{head}  {local(i.submitted_at)}{late}{old}", soft_wrap=True, highlight=False)
        if i.body:
            console.print(f"    正文  {i.body.size} B", soft_wrap=True, highlight=False)
        for f in i.files:
            console.print(f"    {f.n}. {escape(f.name)}  {f.size} B", soft_wrap=True, highlight=False)


submission_app = typer.Typer(help="One submission's files; the office's roll-up package.", no_args_is_help=True)


def _targets(out: Path, refs: list[BlobRef]) -> list[tuple[BlobRef, Path]]:
    """Where each file goes: its original name made safe, a second file of the same name numbered;
    exit 2 before writing anything when DIR is not a directory or a name is already taken there."""
    if out.exists() and not out.is_dir():
        bad_input(f"{out} is not a directory")
    taken: set[str] = set()
    plan: list[tuple[BlobRef, Path]] = []
    for ref in refs:
        name = calls.safe_filename(ref.name)
        stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
        k = 2
        while name in taken:
            name = f"{stem} ({k}){dot}{ext}"
            k += 1
        taken.add(name)
        plan.append((ref, out / name))
    clash = [str(p) for _, p in plan if p.exists()]
    if clash:
        bad_input(f"would overwrite {', '.join(clash)}; choose an empty directory")
    return plan


def _log_to_stderr(settings: Settings) -> None:
    # The audit line goes to stderr (JSON unless a person watches); stdout stays the command's output.
    configure_logging(settings)


@submission_app.command("get")
def get(
    receipt: Annotated[str, typer.Argument(help="Receipt number, e.g. 2026-Y-yaan-gaj-0001.")],
    out: OutDir,
    cycle: Annotated[
        str | None, typer.Option("--cycle", help="The cycle that issued it (when two cycles issued the same number).")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Write a submission's body and files into DIR with their original names.

    Example:

        duban submission get 2026-Y-yaan-gaj-0001 -o 材料/
    """
    settings = load_settings()
    _log_to_stderr(settings)

    async def work(client: Client, s: Settings) -> tuple[subs.SubmissionItem, list[Written]]:
        found = await subs.find_receipt(client, receipt, cycle)
        _, sub = await subs.find_submission(client, found.cycle_id, found.unit, found.receipt)
        refs = ([sub.body] if sub.body else []) + list(sub.attachments)
        plan = _targets(out, refs)
        out.mkdir(parents=True, exist_ok=True)
        written: list[Written] = []
        who = acting(None)
        for n, (ref, path) in enumerate(plan, start=0 if sub.body else 1):
            await subs.copy_blob(s, ref, path)
            subs.logged(
                who, "cli", "file", found.cycle_id, unit=found.unit, receipt=found.receipt, n=n, sha256=ref.sha256
            )
            written.append(Written(name=path.name, path=str(path), size=ref.size, sha256=ref.sha256))
        return found, written

    found, written = run_call(work, settings)
    if json_out:
        emit_json(
            calls.jsonable({"receipt": found.receipt, "cycle_id": found.cycle_id, "unit": found.unit, "files": written})
        )
        return
    console.print(f"[green]{found.receipt}[/green] {found.unit_name}《{found.title}》 → {out}")
    for w in written:
        console.print(f"  {w.name}  {w.size} B")


@submission_app.command("rollup")
def rollup(
    cycle: Annotated[str, typer.Option("--cycle", help="Cycle workflow id.")],
    out: OutDir,
    draft: Annotated[
        bool, typer.Option("--draft", help="Compile from the current submissions even after forwarding.")
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Write the office's roll-up package (.zip) and 汇总报告 (.docx) into DIR: what was forwarded once the
    cycle has forwarded, else compiled now from the current submissions.

    Example:

        duban submission rollup --cycle ID -o 汇总/
    """
    settings = load_settings()
    _log_to_stderr(settings)

    async def work(client: Client, s: Settings) -> dict[str, object]:
        folder = subs.scratch_folder(s)
        try:
            files = await subs.rollup_files(client, s, cycle, folder, draft)
            targets = [out / calls.safe_filename(files.package_name), out / calls.safe_filename(files.summary_name)]
            clash = [str(p) for p in targets if p.exists()]
            if clash:
                bad_input(f"would overwrite {', '.join(clash)}; choose an empty directory")
            out.mkdir(parents=True, exist_ok=True)
            # Moved, not renamed: DIR may be on another file system than the store's scratch space.
            shutil.move(files.package, targets[0])
            shutil.move(files.summary, targets[1])
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        subs.logged(acting(None), "cli", "rollup", cycle, forwarded=files.forwarded, draft=draft)
        return {"cycle_id": cycle, "forwarded": files.forwarded, "package": str(targets[0]), "summary": str(targets[1])}

    result = run_call(work, settings)
    if json_out:
        emit_json(result)
        return
    what = "已上报的" if result["forwarded"] else "当前材料的"
    console.print(f"{what}汇总材料包 {result['package']}\n{what}汇总报告 {result['summary']}")


def register(app: typer.Typer) -> None:
    app.command("submissions")(submissions)
    app.add_typer(submission_app, name="submission")
