"""structlog wiring: one event per line, JSON off a terminal, Temporal's `extra=` kept as fields."""

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from temporalio import activity, workflow

from workers.logging import configure_logging, get_logger, wants_json
from workers.settings import Settings


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state; give the next test what it had."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    info_flags = workflow.logger.workflow_info_on_message, activity.logger.activity_info_on_message
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()
    workflow.logger.workflow_info_on_message, activity.logger.activity_info_on_message = info_flags


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


class TestConfigureLogging:
    def test_json_when_not_a_terminal(self) -> None:
        """Off a TTY (CI, containers, the supervisor's children) every line is one JSON object."""
        stream = io.StringIO()
        configure_logging(Settings(), stream)
        get_logger("duban.test").info("reminder sent", unit="yaan-gaj", batch=3)
        [event] = _lines(stream)
        assert event["event"] == "reminder sent"
        assert event["unit"] == "yaan-gaj"
        assert event["batch"] == 3
        assert event["level"] == "info"
        assert event["logger"] == "duban.test"
        assert str(event["timestamp"]).endswith("Z")

    def test_console_on_a_terminal(self) -> None:
        """A person at a terminal gets the readable renderer, not JSON."""
        stream = _Tty()
        assert wants_json(Settings(), stream) is False
        configure_logging(Settings(), stream)
        get_logger("duban.test").info("worker polling", task_queue="duban")
        text = stream.getvalue()
        assert "worker polling" in text
        assert not text.lstrip().startswith("{")

    def test_setting_overrides_the_terminal_check(self) -> None:
        """DUBAN_LOG_JSON=true forces JSON even on a terminal."""
        assert wants_json(Settings(log_json=True), _Tty()) is True
        assert wants_json(Settings(log_json=False), io.StringIO()) is False

    def test_stdlib_extra_becomes_fields(self) -> None:
        """Temporal's loggers pass context via `extra=`; it must arrive as fields, not be dropped."""
        stream = io.StringIO()
        configure_logging(Settings(), stream)
        logging.getLogger("temporalio.workflow").warning(
            "escalated %s", "yaan-gaj", extra={"temporal_workflow": {"workflow_id": "cycle-1"}, "level_no": 2}
        )
        [event] = _lines(stream)
        assert event["event"] == "escalated yaan-gaj"
        assert event["temporal_workflow"] == {"workflow_id": "cycle-1"}
        assert event["level_no"] == 2

    def test_reconfiguring_does_not_duplicate_lines(self) -> None:
        """Calling configure_logging twice (tests, re-entry) still prints each event once."""
        stream = io.StringIO()
        configure_logging(Settings(), stream)
        configure_logging(Settings(), stream)
        logging.getLogger("x").warning("once")
        assert len(_lines(stream)) == 1

    def test_level_filters(self) -> None:
        """DUBAN_LOG_LEVEL=WARNING drops info events from both structlog and stdlib loggers."""
        stream = io.StringIO()
        configure_logging(Settings(log_level="warning"), stream)
        get_logger("duban.test").info("hidden")
        logging.getLogger("temporalio").info("hidden too")
        get_logger("duban.test").warning("shown")
        assert [e["event"] for e in _lines(stream)] == ["shown"]

    def test_workflow_context_not_repeated_in_message(self) -> None:
        """The workflow info travels as a field, so it is not also appended to the message text."""
        configure_logging(Settings(), io.StringIO())
        assert workflow.logger.workflow_info_on_message is False

    def test_exceptions_are_rendered_in_json(self) -> None:
        """A logged exception carries its traceback inside the one JSON line."""
        stream = io.StringIO()
        configure_logging(Settings(), stream)
        try:
            raise ValueError("bad plan")
        except ValueError:
            get_logger("duban.test").exception("plan rejected")
        [event] = _lines(stream)
        assert "ValueError: bad plan" in str(event["exception"])
