"""Outside development the console and the worker refuse unsafe settings; development refuses to listen
beyond loopback; a refusal names the setting and never prints a value (issue 21, item 5)."""

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.security.console_process import base_env, console_process, production_env, run_command

MARKER = "Q7TAILMARKERQ7"


UNSAFE = {
    "placeholder secret": ({"DUBAN_SECRET_KEY": "dev-secret-change-me"}, "DUBAN_SECRET_KEY"),
    "short secret": ({"DUBAN_SECRET_KEY": "0123456789abcdef"}, "DUBAN_SECRET_KEY"),
    "no payload keys": ({"DUBAN_PAYLOAD_KEYS": None}, "DUBAN_PAYLOAD_KEYS"),
    "STARTTLS off": ({"DUBAN_SMTP__STARTTLS": "false"}, "DUBAN_SMTP__STARTTLS"),
}


class TestOutsideDevelopment:
    @pytest.mark.parametrize("command", ["console", "worker"])
    @pytest.mark.parametrize("case", sorted(UNSAFE))
    def test_unsafe_settings_refuse_to_start(self, tmp_path: Path, command: str, case: str) -> None:
        """Each unsafe setting stops the process at once with exit 2 and the variable's name, nothing else."""
        changes, variable = UNSAFE[case]
        try:
            done = run_command([command], production_env(tmp_path / "var", **changes), timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"duban {command} started with {case}")
        assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
        assert variable in done.stderr
        assert "Traceback" not in done.stderr

    def test_console_refuses_the_dev_admin(self, tmp_path: Path) -> None:
        """Without operator accounts the only account would be the development admin: refused outside development."""
        done = run_command(["console"], production_env(tmp_path / "var", DUBAN_OPERATORS=None), timeout=30)
        assert done.returncode == 2, done.stderr[-2000:]
        assert "DUBAN_OPERATORS" in done.stderr

    def test_plaintext_smtp_needs_the_explicit_opt_out(self, tmp_path: Path) -> None:
        """STARTTLS off is accepted once DUBAN_SMTP__ALLOW_PLAINTEXT says so; the console then serves."""
        env = production_env(tmp_path / "var", DUBAN_SMTP__STARTTLS="false", DUBAN_SMTP__ALLOW_PLAINTEXT="true")
        with console_process(env, tmp_path / "log") as running:
            assert httpx.get(f"{running.url}/login", timeout=10).status_code == 200

    def test_safe_production_settings_start(self, tmp_path: Path) -> None:
        """The refusals are not blanket: a complete production configuration serves the sign-in page."""
        with console_process(production_env(tmp_path / "var"), tmp_path / "log") as running:
            page = httpx.get(f"{running.url}/login", timeout=10)
            assert page.status_code == 200
            assert "admin-password" not in page.text


class TestDevelopment:
    def test_development_refuses_a_non_loopback_address(self, tmp_path: Path) -> None:
        """`DUBAN_CONSOLE_HOST=0.0.0.0 duban console` with no environment set is refused, not served to the network."""
        env = base_env(tmp_path / "var", DUBAN_CONSOLE_HOST="0.0.0.0", DUBAN_CONSOLE_PORT="0")  # noqa: S104
        try:
            done = run_command(["console"], env, timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail("the development console started on 0.0.0.0")
        assert done.returncode == 2, done.stderr[-2000:]
        assert "DUBAN_CONSOLE_HOST" in done.stderr

    def test_dev_stack_refuses_a_non_loopback_address(self, tmp_path: Path) -> None:
        """`duban dev` is development by definition: the same refusal, before anything starts."""
        env = base_env(tmp_path / "var", DUBAN_CONSOLE_HOST="0.0.0.0")  # noqa: S104
        try:
            done = run_command(["dev", "--json"], env, timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail("duban dev started on 0.0.0.0")
        assert done.returncode == 2, done.stderr[-2000:]
        assert "DUBAN_CONSOLE_HOST" in done.stdout + done.stderr
        assert not (tmp_path / "var" / "temporal.db").exists()


BAD = {
    "DUBAN_PAYLOAD_KEYS": f"k1:AAAA{MARKER}",
    "DUBAN_PORTAL_TOKEN_DAYS": MARKER,
    "DUBAN_WEBHOOKS": json.dumps({"wecom": 5, "k": MARKER}),
    "DUBAN_OPERATORS": json.dumps({"zhang": [MARKER]}),
    "DUBAN_CODEC_TOKENS": f"ui:{MARKER}:not-a-date",
}


class TestNoValueEchoed:
    @pytest.mark.parametrize("command", ["console", "worker"])
    @pytest.mark.parametrize("variable", sorted(BAD))
    def test_a_bad_value_is_named_not_printed(self, tmp_path: Path, command: str, variable: str) -> None:
        """Whatever is wrong with a setting, the refusal names it and prints no part of its value."""
        env = base_env(tmp_path / "var", DUBAN_CONSOLE_PORT="0", **{variable: BAD[variable]})
        try:
            done = run_command([command], env, timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"duban {command} started with a bad {variable}")
        output = done.stdout + done.stderr
        assert done.returncode == 2, output[-2000:]
        assert MARKER not in output
        assert MARKER[:6] not in output and MARKER[-6:] not in output
        assert "Traceback" not in output
        # Named by its variable (or its field), so the operator knows what to fix.
        field = variable.removeprefix("DUBAN_").lower().split("__")[0]
        assert variable in output or field in output.lower(), output[-2000:]
