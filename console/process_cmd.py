"""`duban dev`, `duban worker`, `duban console`: the long-running processes.

Each builds the settings once, configures logging once and hands both down.
"""

import asyncio

import typer
from rich.markup import escape

from console.output import bad_input, failure
from workers.logging import configure_logging
from workers.safety import Role, UnsafeSettings, refuse_unsafe
from workers.settings import InvalidSettings, Settings, load_settings

JSON_HELP = "Print events (the ready line with every address, restarts) as JSON lines."


def _settings(role: Role) -> Settings:
    """The settings, or exit 2 naming what is wrong (never a value) before anything starts."""
    try:
        settings = load_settings()
        refuse_unsafe(settings, role)
    except (InvalidSettings, UnsafeSettings) as error:
        bad_input(escape(str(error)))
    return settings


def dev(json_output: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Run the embedded stack in the foreground: Temporal, SMTP sink, worker, web console. Ctrl-C stops it."""
    from workers.dev.embedded import embedded_problem

    problem = embedded_problem()
    if problem is not None:
        bad_input(problem)
    from workers.dev.stack import run_dev

    settings = _settings("dev")
    configure_logging(settings)
    code = asyncio.run(run_dev(settings, as_json=json_output))
    raise typer.Exit(code)


def worker(
    health_host: str = typer.Option("127.0.0.1", envvar="DUBAN_HEALTH_HOST", help="Address for /healthz, /metrics."),
    health_port: int | None = typer.Option(
        None, envvar="DUBAN_HEALTH_PORT", help="Port for /healthz and /metrics (0: any free port; unset: none)."
    ),
    json_output: bool = typer.Option(False, "--json", help="Accepted for uniformity; the worker only logs."),
) -> None:
    """Run the duban worker (every workflow and activity) until SIGINT/SIGTERM."""
    from workers.process import serve_worker

    settings = _settings("worker")
    configure_logging(settings)
    asyncio.run(serve_worker(settings, health_host, health_port))


def console(
    json_output: bool = typer.Option(False, "--json", help="Accepted for uniformity; the console only logs."),
) -> None:
    """Serve the web console (operators, unit portal, mail viewer, JSON API) on the configured host and port."""
    from importlib.util import find_spec

    import uvicorn

    settings = _settings("console")
    configure_logging(settings)
    if find_spec("console.web") is None or find_spec("console.web.app") is None:
        failure("the web console is not built yet (console/web/app.py is missing)")
    # log_config=None keeps uvicorn's loggers on our structlog handler instead of its own.
    uvicorn.run(
        "console.web.app:create_app",
        factory=True,
        host=settings.console_host,
        port=settings.console_port,
        log_config=None,
        # The client address (sign-in limits, logs) comes from X-Forwarded-For only when the peer is one
        # of the trusted proxies (the ingress); anyone else's header is ignored.
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
    )


def register(app: typer.Typer) -> None:
    """Add the process commands to the `duban` app."""
    app.command("dev")(dev)
    app.command("worker")(worker)
    app.command("console")(console)


__all__ = ["console", "dev", "register", "worker"]
