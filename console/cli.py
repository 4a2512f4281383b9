"""The `duban` command: one Typer app, one sub-app per domain area."""

import typer

from console import (
    amend_cmd,
    backup_cmd,
    blobs_cmd,
    calendar_cmd,
    campaign_cmd,
    chase_cmd,
    cycle_cmd,
    db_cmd,
    export_cmd,
    info_cmd,
    lead_cmd,
    lead_office_cmd,
    link_cmd,
    mail_cmd,
    plan_cmd,
    process_cmd,
    stats_cmd,
    submission_cmd,
    user_cmd,
)
from console.client_calls import exit_without_teardown

app = typer.Typer(
    name="duban",
    help="督办 duban — campaign supervision on Temporal. Every command takes --json.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(calendar_cmd.app, name="calendar")
app.add_typer(plan_cmd.app, name="plan")
app.add_typer(campaign_cmd.app, name="campaign")
campaign_cmd.app.command("amend")(amend_cmd.amend)
process_cmd.register(app)
cycle_cmd.register(app)
submission_cmd.register(app)
app.command("remind")(chase_cmd.remind)
app.command("stats")(stats_cmd.stats_command)
app.add_typer(link_cmd.app, name="link")
lead_cmd.app.add_typer(lead_office_cmd.extension_app, name="extension")
lead_cmd.app.add_typer(lead_office_cmd.link_app, name="link")
app.add_typer(lead_cmd.app, name="lead")
app.add_typer(info_cmd.app, name="info")
app.add_typer(mail_cmd.app, name="mail")
app.add_typer(export_cmd.app, name="export")
app.add_typer(user_cmd.user_app, name="user")
app.add_typer(db_cmd.app, name="db")
backup_cmd.register(app)
app.add_typer(blobs_cmd.app, name="blobs")


def main() -> None:
    try:
        app()
    except SystemExit as done:
        exit_without_teardown(done.code)
        raise
