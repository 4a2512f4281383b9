"""The daily holiday check: running cycles and leads counted on provisional years, recomputed once data is out."""

from pydantic import Field

from schemas.base import Model

# One Schedule per deployment; created idempotently by every worker at start-up.
HOLIDAY_CHECK_SCHEDULE = "duban-holiday-check"
HOLIDAY_CHECK_WORKFLOW = "HolidayCheck"


class HolidayCheckInput(Model):
    by: str = "duban"
    # Empty: every running cycle and lead of the deployment (the daily Schedule); else one campaign's.
    campaign: str = Field(default="", pattern=r"^$|^[a-z0-9][a-z0-9_-]{0,62}$")


class HolidayCheckResult(Model):
    """What one check did: the workflows it looked at and those whose deadlines it had counted again."""

    checked: int = 0
    recomputed: list[str] = Field(default_factory=list, description="workflow ids sent the new holiday data")
    moved: dict[str, list[str]] = Field(default_factory=dict, description="workflow id → what moved in it")
    refused: dict[str, str] = Field(default_factory=dict, description="workflow id → why it refused the data")
    still_provisional: list[int] = Field(default_factory=list, description="years still without published data")
