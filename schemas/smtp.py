"""The SMTP server the mail activity sends through: a part of the worker's settings, handed to it."""

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class SmtpSettings(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    host: str = "127.0.0.1"
    port: int = 1025
    starttls: bool = False
    implicit_tls: bool = False
    # Outside development mail goes over STARTTLS or implicit TLS; a relay without either must be
    # accepted explicitly (e.g. a catcher on the same private network).
    allow_plaintext: bool = False
    username: str | None = None
    password: SecretStr | None = None
    sender: str = "duban@duban.example"
    sender_name: str = "督办 duban"
    timeout_seconds: float = 30.0
    # Files attached to one message, in total (the roll-up's package and 汇总报告): what is over it is
    # linked instead (a signed download link, docs/guarantees.md), so no relay refuses the message.
    max_attachment_bytes: int = Field(default=15 * 1024 * 1024, ge=0)
