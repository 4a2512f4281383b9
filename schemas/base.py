"""The base model every duban schema derives from."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict


class Model(BaseModel):
    """Strict about unknown fields so a typo in a plan or a call is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid")


def _require_aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("datetime must carry a time zone")
    return value.astimezone(UTC)


# Every stored moment is an aware datetime normalised to UTC; the office's zone travels separately.
UtcDateTime = Annotated[datetime, AfterValidator(_require_aware)]
