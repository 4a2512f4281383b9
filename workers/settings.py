"""Settings: built once per process from `DUBAN_*` variables (and an optional TOML file), then passed down.

Workflows never see these: anything secret or environment-specific stays in
workers, activities and surfaces.
"""

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

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
    api_key: SecretStr | None = None
    # Worker tuning.
    max_concurrent_workflow_tasks: int = 100
    max_concurrent_activities: int = 50
    max_cached_workflows: int = 1000


class Settings(BaseSettings):
    """Everything a duban process needs; `DUBAN_SMTP__HOST` sets `smtp.host`."""

    model_config = SettingsConfigDict(
        env_prefix="DUBAN_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    environment: str = Field(default="development", description="development | staging | production")
    data_dir: Path = Path("var")
    # Holiday overrides (`<year>.toml`); None: the calendars/ folder of a source checkout.
    calendars_dir: Path | None = None
    temporal: TemporalSettings = TemporalSettings()
    smtp: SmtpSettings = SmtpSettings()
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
    max_upload_bytes: int = 20 * 1024 * 1024
    log_json: bool | None = Field(default=None, description="None: JSON unless stderr is a TTY")
    log_level: str = "INFO"

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


def load_settings(**overrides: Any) -> Settings:
    """Build the settings once, at a process's entry point."""
    return Settings(**overrides)
