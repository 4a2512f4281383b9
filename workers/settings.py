"""Settings: built once per process from `DUBAN_*` variables (and an optional TOML file), then passed down.

Workflows never see these: anything secret or environment-specific stays in
workers, activities and surfaces.
"""

import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from pydantic_settings.exceptions import SettingsError

from schemas.smtp import SmtpSettings

# Refused outside development, so that a copied example never reaches production.
PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "dev-secret-change-me"}


class TemporalSettings(BaseModel):
    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = "duban"
    ui_port: int = 8233
    # TLS / mTLS for a remote cluster; all optional on the embedded stack.
    tls: bool = False
    tls_ca_cert: Path | None = None
    tls_client_cert: Path | None = None
    tls_client_key: Path | None = None
    # The name the frontend's certificate carries, when it differs from the address's host.
    tls_server_name: str | None = None
    api_key: SecretStr | None = None
    # Origins of the Temporal UI allowed to call the console's /codec from a browser (CORS),
    # e.g. ["https://temporal.duban.example"]; empty: the dev stack's UI on 127.0.0.1/localhost:ui_port.
    ui_origins: list[str] = Field(default_factory=list)
    # Worker tuning.
    max_concurrent_workflow_tasks: int = 100
    max_concurrent_activities: int = 50
    max_cached_workflows: int = 1000
    # On SIGTERM the worker stops polling and lets running activities (a mail batch) finish for
    # this long; then it cancels them and a mail batch stops between two messages. The pod's or
    # container's grace period must exceed this plus one SMTP timeout (deploy/ is checked for it).
    graceful_shutdown_seconds: float = Field(default=30.0, ge=0)

    @field_validator("ui_origins")
    @classmethod
    def _origins_are_bare(cls, origins: list[str]) -> list[str]:
        # A browser's Origin header is scheme://host[:port], nothing more; anything else never matches.
        for origin in origins:
            parts = urlsplit(origin)
            if (
                parts.scheme not in {"http", "https"}
                or not parts.hostname
                or origin.rstrip("/") != (f"{parts.scheme}://{parts.netloc}")
            ):
                raise ValueError(f"{origin!r} is not an origin like https://temporal.duban.example[:port]")
        return [origin.rstrip("/") for origin in origins]


class ObjectSettings(BaseModel):
    """Where blobs (attachments, report bodies, roll-up packages) are kept; sealed with the payload keys either way."""

    # None: files under <data dir>/blobs. "s3://bucket[/prefix]": any S3-compatible store.
    url: str | None = None
    # The S3 API's address, e.g. https://minio.example:9000 or https://oss-cn-hangzhou.aliyuncs.com;
    # None: AWS's own endpoint for the region.
    endpoint: str | None = None
    region: str | None = None
    # Both empty: botocore's usual chain (AWS_* variables, an instance or pod role).
    access_key: SecretStr | None = None
    secret_key: SecretStr | None = None
    # Path-style requests (endpoint/bucket/key) for MinIO, SeaweedFS, Ceph RGW; False for Aliyun OSS and AWS.
    path_style: bool = True
    # Where uploads and roll-up zips are staged before they go to the bucket: this process's own
    # disk (a pod's emptyDir), never shared. None: <data dir>/scratch.
    scratch_dir: Path | None = None

    @field_validator("url")
    @classmethod
    def _s3_url(cls, url: str | None) -> str | None:
        if url is None or not url.strip():
            return None
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("must look like s3://bucket or s3://bucket/prefix")
        if "@" in parts.netloc:
            # Credentials go in DUBAN_OBJECTS__ACCESS_KEY/SECRET_KEY, never in a URL that gets printed.
            raise ValueError("must not carry credentials; set DUBAN_OBJECTS__ACCESS_KEY and SECRET_KEY")
        return url

    @model_validator(mode="after")
    def _key_and_secret_together(self) -> "ObjectSettings":
        if (self.access_key is None) != (self.secret_key is None):
            raise ValueError("DUBAN_OBJECTS__ACCESS_KEY and DUBAN_OBJECTS__SECRET_KEY go together")
        return self


class Settings(BaseSettings):
    """Everything a duban process needs; `DUBAN_SMTP__HOST` sets `smtp.host`."""

    model_config = SettingsConfigDict(
        env_prefix="DUBAN_",
        env_nested_delimiter="__",
        extra="ignore",
        # A settings error names the field; it never repeats the value (which may be a secret).
        hide_input_in_errors=True,
    )

    environment: str = Field(default="development", description="development | staging | production")
    data_dir: Path = Path("var")
    # Holiday overrides (`<year>.toml`); None: the calendars/ folder of a source checkout.
    calendars_dir: Path | None = None
    temporal: TemporalSettings = TemporalSettings()
    smtp: SmtpSettings = SmtpSettings()
    objects: ObjectSettings = ObjectSettings()
    console_host: str = "127.0.0.1"
    console_port: int = 8000
    public_url: str = "http://127.0.0.1:8000"
    secret_key: SecretStr = SecretStr("dev-secret-change-me")
    # Payload encryption keys: "key-id:base64-32-bytes,..."; the first encrypts, all decrypt.
    payload_keys: SecretStr | None = None
    # Named webhook URLs (WeCom/DingTalk robots); plans refer to them by name only, so the
    # keys embedded in those URLs never enter a workflow history.
    webhooks: dict[str, SecretStr] = Field(default_factory=dict)
    # Operator accounts for the console: user -> password hash (see console.auth).
    operators: dict[str, str] = Field(default_factory=dict)
    leaders: dict[str, str] = Field(default_factory=dict)
    portal_token_days: int = 30
    # Bearer credentials for the codec endpoint (Temporal UI/CLI), separate from the secret key:
    # "name:token[:YYYY-MM-DD],..." — every unexpired one is accepted, so a new one can be added
    # before the old one is removed. Tokens are at least 32 characters.
    codec_tokens: SecretStr | None = None
    # Unencrypted payloads are refused outside development (nobody can inject plain Updates
    # through the frontend); True accepts them, e.g. while histories from before encryption run out.
    accept_plain_payloads: bool | None = None
    # Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (uvicorn's forwarded_allow_ips):
    # comma-separated addresses or networks, e.g. the ingress controller's pod network.
    trusted_proxies: str = "127.0.0.1"
    # Where the sign-in limiter and link revocations live: "memory" (one process) or "sqlite"
    # (a file in the data directory, shared by every console on it). Default: memory in development.
    access_store: Literal["memory", "sqlite"] | None = None
    max_upload_bytes: int = 20 * 1024 * 1024
    log_json: bool | None = Field(default=None, description="None: JSON unless stderr is a TTY")
    log_level: str = "INFO"
    # How often the worker recomputes duban's gauges on /metrics (visibility plus one query per running workflow).
    metrics_refresh_seconds: float = Field(default=30.0, gt=0)

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def campaign_dir(self) -> Path:
        return self.data_dir / "campaigns"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @model_validator(mode="after")
    def _client_cert_and_key_together(self) -> "Settings":
        t = self.temporal
        if (t.tls_client_cert is None) != (t.tls_client_key is None):
            raise ValueError("DUBAN_TEMPORAL__TLS_CLIENT_CERT and DUBAN_TEMPORAL__TLS_CLIENT_KEY go together")
        return self

    @model_validator(mode="after")
    def _no_placeholder_secrets_in_production(self) -> "Settings":
        if self.environment != "development" and self.secret_key.get_secret_value() in PLACEHOLDER_SECRETS:
            raise ValueError("DUBAN_SECRET_KEY must be set to a real secret outside development")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the TOML file; the file is optional (DUBAN_CONFIG names it).
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = os.environ.get("DUBAN_CONFIG")
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)


class InvalidSettings(ValueError):
    """Settings that cannot be used; the message names each setting and never includes its value."""


def variable_name(loc: tuple[int | str, ...]) -> str:
    """`("smtp", "port")` -> `DUBAN_SMTP__PORT`; dict keys and list positions are left out."""
    fields = [str(part) for part in loc[:2] if isinstance(part, str)]
    if fields and fields[0] not in Settings.model_fields:
        return f"DUBAN_{fields[0].upper()}"
    if len(fields) == 2 and not isinstance(Settings.model_fields[fields[0]].annotation, type(BaseModel)):
        fields = fields[:1]
    return "DUBAN_" + "__".join(fields).upper()


def describe_settings_error(error: ValidationError | SettingsError) -> str:
    """One line per problem: the variable and what is wrong, never the value."""
    if isinstance(error, SettingsError):
        # pydantic-settings says which field failed to parse (e.g. bad JSON) without the text itself.
        return str(error).split("\n", 1)[0]
    lines = [
        f"{variable_name(e['loc'])}: {e['msg']}" if e["loc"] else e["msg"].removeprefix("Value error, ")
        for e in error.errors(include_input=False, include_url=False)
    ]
    return "; ".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Build the settings once, at a process's entry point."""
    try:
        return Settings(**overrides)
    except (ValidationError, SettingsError) as error:
        raise InvalidSettings(f"invalid DUBAN_* settings: {describe_settings_error(error)}") from None
