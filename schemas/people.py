"""People and addresses: units, contacts, leaders, offices."""

from pydantic import Field

from schemas.base import Model

ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"


class Person(Model):
    """Someone a message can reach: by email, and/or through a named group-robot webhook."""

    name: str = Field(min_length=1)
    title: str = ""
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str = ""
    # Name of a webhook in the settings (never the URL: it embeds the robot's key).
    webhook: str | None = None


class Contact(Model):
    """The office's contact person printed on every notice (联系人)."""

    name: str
    phone: str = ""
    email: str | None = None
