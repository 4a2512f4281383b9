"""Logging: structlog for our own events, stdlib logging (Temporal, uvicorn, aiosmtpd) routed through it.

One event per line: a coloured console renderer when stderr is a terminal, JSON
otherwise (`DUBAN_LOG_JSON` forces either). Temporal's `workflow.logger` and
`activity.logger` pass their context as `extra=`; `ExtraAdder` turns those
into fields instead of losing them, so a JSON line carries the workflow id,
run id and whatever the workflow added.
"""

import logging
import re
import sys
from typing import Any, TextIO

import structlog
from temporalio import activity, workflow

from workers.settings import Settings

# Fields every event gets, whether it came from structlog or from stdlib logging.
_SHARED_PROCESSORS: list[structlog.typing.Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
]

# A unit's bearer tokens live in its link paths; the access log (and anything quoting a URL) must not
# keep them: `/portal/<token>` and `/feed/<token>.ics` keep their shape, the token becomes "…".
_TOKEN_IN_PATH = re.compile(r"(/(?:portal|feed)/)[^\s\"'/?#]+?(\.ics)?(?=[\s\"'/?#]|$)")


def redact_tokens(text: str) -> str:
    return _TOKEN_IN_PATH.sub(lambda m: f"{m[1]}…{m[2] or ''}", text)


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_tokens(value) if "/portal/" in value or "/feed/" in value else value
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact(v) for v in value)
    return value


def _redact_processor(
    logger: structlog.typing.WrappedLogger, method: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """Every field of every event, from structlog or from stdlib loggers (uvicorn's access log)."""
    return {k: _redact(v) if not k.startswith("_") else v for k, v in event.items()}


# Libraries that log every connection at INFO; their warnings still come through.
_CHATTY_LOGGERS = ("mail.log", "aiosmtpd", "httpx")


def wants_json(settings: Settings, stream: TextIO) -> bool:
    """JSON unless a person is watching: an explicit setting wins over the TTY check."""
    if settings.log_json is not None:
        return settings.log_json
    return not stream.isatty()


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """Configure structlog and the stdlib root logger; call once at a process's entry point.

    Calling it again replaces the earlier configuration rather than adding a
    second handler, so tests may call it freely.
    """
    out = stream if stream is not None else sys.stderr
    as_json = wants_json(settings, out)
    renderer: structlog.typing.Processor
    if as_json:
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        # Records from stdlib loggers skip structlog's chain; give them the same fields
        # plus whatever they carried in `extra=`.
        foreign_pre_chain=[*_SHARED_PROCESSORS, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if as_json else _keep,
            _redact_processor,
            renderer,
        ],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for chatty in _CHATTY_LOGGERS:
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))

    # The workflow/activity context arrives as fields via ExtraAdder; repeating it
    # inside the message text would only make lines longer.
    workflow.logger.workflow_info_on_message = False
    activity.logger.activity_info_on_message = False


def _keep(
    logger: structlog.typing.WrappedLogger, method: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """The console renderer formats exceptions itself; leave `exc_info` for it."""
    return event


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """A structlog logger that goes through the same handler as everything else."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger
