"""References to content in the blob store: workflows carry these, never the bytes."""

from pydantic import Field

from schemas.base import Model


class BlobRef(Model):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    name: str = Field(min_length=1, max_length=255)
    media_type: str = "application/octet-stream"
