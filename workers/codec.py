"""Payload encryption: every workflow and activity payload leaves the process as AES-256-GCM ciphertext.

The Temporal server, its database and a Temporal UI without the codec endpoint
see only ciphertext; lead content and contact data stay readable only to
processes holding a key. An encoded payload has the metadata
`encoding: binary/encrypted` and `encryption-key-id: <id>`; its data is a
12-byte nonce followed by the GCM ciphertext (with its tag) of the serialized
original `Payload`. The key id is also the GCM associated data, so swapping the
id in the metadata makes decryption fail instead of silently trying another key.

A serialized payload over `COMPRESS_ABOVE` bytes is zlib-compressed before it is
sealed, marked `compression: zlib`; the mark is part of the associated data too,
so it cannot be stripped or added. A 1,000-unit cycle's continue-as-new state and
its list messages are repetitive JSON, about ten times smaller compressed: that
is what keeps them under Temporal's payload (512 KB warning, 2 MB error) and
history limits (issue 17). Payloads sealed before compression stay readable.

Search attributes never pass through a codec: the server must read them to
index them. That is why duban's search attributes carry ids only (campaign,
office, unit ids, stages, dates), never names, contact data or lead content.

Outside development an unencrypted payload is refused: anyone who can reach the
Temporal frontend could otherwise start workflows or send Updates and signals
in clear text that the worker would apply. Decoding does not raise (that would
fail the whole workflow task and freeze the workflow); it swaps the payload
for one whose encoding no converter knows (`binary/unencrypted-refused`), so a
plain Update is *rejected* like any bad argument and the workflow goes on.
`DUBAN_ACCEPT_PLAIN_PAYLOADS=true` turns the refusal off (e.g. while histories
written before encryption still run); development accepts them.

Keys come from `DUBAN_PAYLOAD_KEYS` ("id1:base64,id2:base64", 32-byte keys).
The first key encrypts, every listed key decrypts: to rotate, put a new key
first and keep the old ones for as long as histories encrypted with them are
retained. In development without that setting, a key file under the data
directory is created once and reused, so the embedded stack encrypts too.
"""

import base64
import binascii
import os
import re
import secrets
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from workers.settings import Settings

ENCODING = b"binary/encrypted"
REFUSED_ENCODING = b"binary/unencrypted-refused"
KEY_ID_METADATA = "encryption-key-id"
COMPRESSION_METADATA = "compression"
ZLIB = b"zlib"
# Below this a payload is sealed as it is: small payloads gain nothing from compression.
COMPRESS_ABOVE = 1024
DEV_KEY_FILE = "payload.key"

_NONCE_BYTES = 12
_KEY_BYTES = 32
_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class PayloadKeyError(ValueError):
    """The configured keys are unusable, or a payload names a key we do not hold."""


@dataclass(frozen=True)
class PayloadKey:
    key_id: str
    secret: bytes

    def __repr__(self) -> str:
        # Never print key material, not even in a traceback's locals.
        return f"PayloadKey(key_id={self.key_id!r})"


def parse_keys(text: str, source: str = "DUBAN_PAYLOAD_KEYS") -> list[PayloadKey]:
    """Parse "id:base64,id:base64" (commas or newlines; `#` starts a comment line); first key first."""
    keys: list[PayloadKey] = []
    for raw in re.split(r"[,\n]", text):
        item = raw.strip()
        if not item or item.startswith("#"):
            continue
        key_id, sep, encoded = item.partition(":")
        key_id = key_id.strip()
        # Error messages name the key id and the source, never the key material.
        if not sep or not _KEY_ID.fullmatch(key_id):
            raise PayloadKeyError(
                f"{source}: each entry must be 'key-id:base64-key' with a key id of letters, digits, '.', '_', '-'"
            )
        try:
            secret = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise PayloadKeyError(f"{source}: key {key_id!r} is not valid base64") from exc
        if len(secret) != _KEY_BYTES:
            raise PayloadKeyError(f"{source}: key {key_id!r} must be {_KEY_BYTES} bytes, got {len(secret)}")
        if any(k.key_id == key_id for k in keys):
            raise PayloadKeyError(f"{source}: key id {key_id!r} is listed twice")
        keys.append(PayloadKey(key_id, secret))
    if not keys:
        raise PayloadKeyError(f"{source}: no keys given")
    return keys


def generate_key_line(key_id: str) -> str:
    """A fresh "id:base64" entry for DUBAN_PAYLOAD_KEYS (what `duban key generate` prints)."""
    if not _KEY_ID.fullmatch(key_id):
        raise PayloadKeyError("a key id is 1-64 letters, digits, '.', '_', '-', starting with a letter or digit")
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(_KEY_BYTES)).decode('ascii')}"


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole serialized payloads; the first key encrypts, all keys decrypt."""

    def __init__(self, keys: Sequence[PayloadKey], *, accept_plain: bool = True) -> None:
        if not keys:
            raise PayloadKeyError("an encryption codec needs at least one key")
        self.accept_plain = accept_plain
        self._current = keys[0]
        self._ciphers = {k.key_id: AESGCM(k.secret) for k in keys}

    @property
    def current_key_id(self) -> str:
        return self._current.key_id

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self._current.key_id
        nonce = secrets.token_bytes(_NONCE_BYTES)
        plain = payload.SerializeToString()
        metadata = {"encoding": ENCODING, KEY_ID_METADATA: key_id.encode()}
        if len(plain) > COMPRESS_ABOVE:
            plain = zlib.compress(plain)
            metadata[COMPRESSION_METADATA] = ZLIB
        sealed = self._ciphers[key_id].encrypt(nonce, plain, _associated(key_id, metadata))
        return Payload(metadata=metadata, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            # Payloads written before encryption was switched on stay readable where that is allowed.
            return payload if self.accept_plain else Payload(metadata={"encoding": REFUSED_ENCODING})
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode("utf-8", "replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            known = ", ".join(sorted(self._ciphers))
            raise PayloadKeyError(
                f"payload was encrypted with key {key_id!r}, which is not among the configured keys ({known}); "
                "add it back to DUBAN_PAYLOAD_KEYS (after the current key) to read older histories"
            )
        nonce, sealed = payload.data[:_NONCE_BYTES], payload.data[_NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, _associated(key_id, payload.metadata))
        except InvalidTag as exc:
            raise PayloadKeyError(
                f"payload encrypted with key {key_id!r} failed authentication: tampered, truncated or wrong key"
            ) from exc
        if payload.metadata.get(COMPRESSION_METADATA) == ZLIB:
            plain = zlib.decompress(plain)  # authenticated above: only a key holder could have written it
        original = Payload()
        original.ParseFromString(plain)
        return original


def _associated(key_id: str, metadata: Mapping[str, bytes]) -> bytes:
    """The GCM associated data: the key id, and the compression mark when there is one."""
    mark = metadata.get(COMPRESSION_METADATA)
    return key_id.encode() + (b"/" + mark if mark else b"")


def _dev_key_file(path: Path) -> str:
    """Read the development key file, creating it (mode 0600) if missing.

    The worker and the console may start together: the key is written to a
    private temporary file and hard-linked into place, so exactly one key wins
    and nobody ever reads a half-written file.
    """
    if path.exists():
        return path.read_text(encoding="utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "# duban development payload key (id:base64). Deleting it makes the dev histories unreadable.\n"
        f"{generate_key_line(f'dev-{secrets.token_hex(4)}')}\n"
    )
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.link(tmp, path)
    except FileExistsError:
        pass  # another process created it first; use theirs
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text(encoding="utf-8")


def accepts_plain(settings: Settings) -> bool:
    """Whether unencrypted payloads are decoded as they are (development, or the explicit setting)."""
    if settings.accept_plain_payloads is not None:
        return settings.accept_plain_payloads
    return settings.environment == "development"


def codec_from_settings(settings: Settings, *, accept_plain: bool | None = None) -> PayloadCodec | None:
    """The codec every client and worker uses (never None: all payloads are encrypted).

    Outside development, unset `payload_keys` is an error rather than a silent
    fallback to clear text, and plain payloads are refused (`accept_plain`
    overrides that, for the codec endpoint which only shows payloads).
    """
    plain = accepts_plain(settings) if accept_plain is None else accept_plain
    return EncryptionCodec(payload_keys(settings), accept_plain=plain)


def payload_keys(settings: Settings) -> list[PayloadKey]:
    """The payload keys, first the one that encrypts: DUBAN_PAYLOAD_KEYS, or in development the key file.

    The blob store seals files with the same keys (workers.objects), so one rotation covers both."""
    if settings.payload_keys is not None and settings.payload_keys.get_secret_value().strip():
        return parse_keys(settings.payload_keys.get_secret_value())
    if settings.environment != "development":
        raise ValueError(
            "DUBAN_PAYLOAD_KEYS must be set outside development (payloads are always encrypted); "
            "create a key with `duban key generate` and set DUBAN_PAYLOAD_KEYS=<id>:<base64>"
        )
    path = settings.data_dir / DEV_KEY_FILE
    return parse_keys(_dev_key_file(path), source=str(path))
