"""Start-up refusals: settings a process must not run with, checked before it serves or polls anything.

Outside development (staging, production) the console and the worker refuse a
placeholder or short secret key, missing payload keys, mail without STARTTLS or
TLS unless `DUBAN_SMTP__ALLOW_PLAINTEXT` says so, unusable codec credentials,
and — the console — no operator accounts (the development admin is off there, so
the only way in would be to switch the environment back). In development,
where the secret is a published placeholder and the admin's password sits in
the data directory, nothing may listen beyond loopback.

Every message names the variable to change and never its value.
"""

import ipaddress
from typing import Literal

from workers.settings import PLACEHOLDER_SECRETS, Settings

Role = Literal["console", "worker", "dev"]
MIN_SECRET_CHARS = 32
LOOPBACK_NAMES = {"localhost"}


class UnsafeSettings(ValueError):
    """The process must not start with these settings; `str()` lists every reason."""


def is_loopback(host: str) -> bool:
    if host.strip("[]") in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name that may resolve anywhere


def problems(settings: Settings, role: Role) -> list[str]:
    """Every reason this process must not start (empty: it may)."""
    from workers.codec import codec_from_settings
    from workers.codec_credentials import CodecCredentialError, parse_codec_tokens

    found: list[str] = []
    development = settings.environment == "development"
    keys = settings.payload_keys.get_secret_value().strip() if settings.payload_keys else ""
    # Only configured keys are parsed: in development without them the codec would create the key
    # file, and a refused start must leave no trace in the data directory.
    if keys or not development:
        try:
            codec_from_settings(settings)
        except ValueError as err:  # PayloadKeyError names the key id, never the key
            found.append(str(err))
    if settings.codec_tokens is not None:
        try:
            parse_codec_tokens(settings.codec_tokens.get_secret_value())
        except CodecCredentialError as err:
            found.append(str(err))
    if development:
        if role in ("console", "dev") and not is_loopback(settings.console_host):
            found.append(
                "DUBAN_CONSOLE_HOST: development (the default DUBAN_ENVIRONMENT) listens on loopback only — its "
                "secret is a published placeholder and its admin needs no account; set DUBAN_ENVIRONMENT=production "
                "with real secrets to serve other machines"
            )
        if role == "dev" and not is_loopback(settings.smtp.host):
            found.append("DUBAN_SMTP__HOST: the development mail sink listens on loopback only")
        return found
    secret = settings.secret_key.get_secret_value()
    if secret in PLACEHOLDER_SECRETS or len(secret) < MIN_SECRET_CHARS:
        found.append(
            f"DUBAN_SECRET_KEY must be a random secret of at least {MIN_SECRET_CHARS} characters outside development"
        )
    if not (settings.smtp.starttls or settings.smtp.implicit_tls or settings.smtp.allow_plaintext):
        found.append(
            "DUBAN_SMTP__STARTTLS (or DUBAN_SMTP__IMPLICIT_TLS) must be on outside development; for a relay "
            "without TLS say so explicitly with DUBAN_SMTP__ALLOW_PLAINTEXT=true"
        )
    if role == "console" and not settings.operators:
        found.append(
            "DUBAN_OPERATORS is empty: the development admin is off outside development, so nobody could sign in; "
            "add accounts (hashes from `duban user hash-password`)"
        )
    return found


def refuse_unsafe(settings: Settings, role: Role) -> None:
    """Raise UnsafeSettings when `problems` found any."""
    found = problems(settings, role)
    if found:
        raise UnsafeSettings("refusing to start:\n  - " + "\n  - ".join(found))
