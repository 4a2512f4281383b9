"""The payload codec: AES-256-GCM round trips, tamper detection, key rotation, key configuration."""

import base64
import secrets
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload

from workers.codec import (
    COMPRESS_ABOVE,
    COMPRESSION_METADATA,
    DEV_KEY_FILE,
    ENCODING,
    KEY_ID_METADATA,
    EncryptionCodec,
    PayloadKeyError,
    codec_from_settings,
    generate_key_line,
    parse_keys,
)
from workers.settings import Settings

CONTACT = '{"name":"王小明","email":"wang.xiaoming@yaan.example"}'.encode()


def plain(data: bytes = CONTACT) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


def codec(*ids: str) -> EncryptionCodec:
    return EncryptionCodec(parse_keys(",".join(KEYS[i] for i in ids)))


KEYS = {i: generate_key_line(i) for i in ("k1", "k2", "k3")}


class TestRoundTrip:
    async def test_encode_then_decode_gives_the_original_payload(self) -> None:
        """Decoding an encoded payload restores its metadata and data exactly."""
        c = codec("k1")
        originals = [plain(), plain(b""), Payload(metadata={"encoding": b"binary/null"})]
        encoded = await c.encode(originals)
        assert await c.decode(encoded) == originals

    async def test_encoded_payload_hides_content_and_names_its_key(self) -> None:
        """The encoded payload is marked encrypted, names its key, and contains no clear text."""
        [enc] = await codec("k1").encode([plain()])
        assert enc.metadata["encoding"] == ENCODING
        assert enc.metadata[KEY_ID_METADATA] == b"k1"
        assert set(enc.metadata) == {"encoding", KEY_ID_METADATA}
        assert "王小明".encode() not in enc.data
        assert b"yaan.example" not in enc.data
        assert b"json/plain" not in enc.data

    async def test_same_payload_encrypts_differently_each_time(self) -> None:
        """A fresh nonce per payload: equal inputs do not give equal ciphertexts."""
        a, b = await codec("k1").encode([plain(), plain()])
        assert a.data != b.data

    async def test_unencrypted_payloads_pass_through_decode(self) -> None:
        """Histories written before encryption was switched on stay readable."""
        assert await codec("k1").decode([plain()]) == [plain()]


class TestTampering:
    async def test_flipped_ciphertext_byte_is_rejected(self) -> None:
        """Any changed byte fails GCM authentication with a clear error."""
        c = codec("k1")
        [enc] = await c.encode([plain()])
        data = bytearray(enc.data)
        data[-5] ^= 0x01
        enc.data = bytes(data)
        with pytest.raises(PayloadKeyError, match="failed authentication"):
            await c.decode([enc])

    async def test_truncated_payload_is_rejected(self) -> None:
        """A cut-off payload fails authentication instead of decoding to garbage."""
        c = codec("k1")
        [enc] = await c.encode([plain()])
        enc.data = enc.data[:10]
        with pytest.raises(PayloadKeyError, match="failed authentication"):
            await c.decode([enc])

    async def test_swapped_key_id_is_rejected(self) -> None:
        """The key id is authenticated data: relabelling a payload with another held key fails."""
        c = codec("k1", "k2")
        [enc] = await c.encode([plain()])
        enc.metadata[KEY_ID_METADATA] = b"k2"
        with pytest.raises(PayloadKeyError, match="'k2' failed authentication"):
            await c.decode([enc])


def sealed_before_compression(c: EncryptionCodec, payload: Payload) -> Payload:
    """A payload as the codec sealed it before compression existed: the whole Payload, key id as AAD."""
    key_id = c.current_key_id
    secret = base64.b64decode(KEYS[key_id].split(":", 1)[1])
    nonce = secrets.token_bytes(12)
    data = nonce + AESGCM(secret).encrypt(nonce, payload.SerializeToString(), key_id.encode())
    return Payload(metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id.encode()}, data=data)


class TestCompression:
    """Large payloads (a 1,000-unit cycle's state, a bulletin's list) are compressed before sealing."""

    LARGE = b'{"unit_id":"w0001","phase":"pending","timeline":[]}' * 2000

    async def test_a_large_payload_is_compressed_sealed_and_restored(self) -> None:
        """Over the threshold: marked zlib, several times smaller, decodes to the original."""
        c = codec("k1")
        [enc] = await c.encode([plain(self.LARGE)])
        assert enc.metadata[COMPRESSION_METADATA] == b"zlib"
        assert len(enc.data) < len(self.LARGE) / 10
        assert await c.decode([enc]) == [plain(self.LARGE)]

    async def test_a_small_payload_is_not_compressed(self) -> None:
        """At or under the threshold the payload is sealed as it is (nothing to gain)."""
        [enc] = await codec("k1").encode([plain(b"x" * (COMPRESS_ABOVE - 64))])
        assert COMPRESSION_METADATA not in enc.metadata

    @pytest.mark.parametrize("change", ["strip", "add"])
    async def test_the_compression_mark_is_authenticated(self, change: str) -> None:
        """Removing the mark from a compressed payload, or adding it to a plain one, fails authentication."""
        c = codec("k1")
        [big, small] = await c.encode([plain(self.LARGE), plain()])
        target = big if change == "strip" else small
        if change == "strip":
            del target.metadata[COMPRESSION_METADATA]
        else:
            target.metadata[COMPRESSION_METADATA] = b"zlib"
        with pytest.raises(PayloadKeyError, match="failed authentication"):
            await c.decode([target])

    async def test_payloads_sealed_before_compression_still_decode(self) -> None:
        """Histories written by the codec before compression (large payloads included) stay readable."""
        c = codec("k1")
        old = sealed_before_compression(c, plain(self.LARGE))
        assert await c.decode([old]) == [plain(self.LARGE)]


class TestRotation:
    async def test_old_payloads_decode_after_a_new_first_key(self) -> None:
        """Rotation: a payload sealed with k1 still decodes once k2 is put first; new ones use k2."""
        [old] = await codec("k1").encode([plain()])
        rotated = codec("k2", "k1")
        assert rotated.current_key_id == "k2"
        assert await rotated.decode([old]) == [plain()]
        [new] = await rotated.encode([plain()])
        assert new.metadata[KEY_ID_METADATA] == b"k2"

    async def test_unknown_key_id_names_the_missing_key(self) -> None:
        """A payload from a dropped key gives an error naming that key and the held ones."""
        [old] = await codec("k1").encode([plain()])
        with pytest.raises(PayloadKeyError, match=r"key 'k1', which is not among the configured keys \(k2, k3\)"):
            await codec("k2", "k3").decode([old])


class TestKeyParsing:
    def test_generated_line_parses_to_a_32_byte_key(self) -> None:
        """`duban key generate` output is directly usable in DUBAN_PAYLOAD_KEYS."""
        [key] = parse_keys(generate_key_line("2026-01"))
        assert key.key_id == "2026-01"
        assert len(key.secret) == 32

    def test_generated_keys_differ(self) -> None:
        """Each generated key is fresh randomness."""
        assert generate_key_line("a") != generate_key_line("a")

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("", "no keys given"),
            ("nokeyid", "key-id:base64-key"),
            (":" + base64.b64encode(bytes(32)).decode(), "key-id:base64-key"),
            ("k1:not base64!", "'k1' is not valid base64"),
            ("k1:" + base64.b64encode(bytes(16)).decode(), "'k1' must be 32 bytes, got 16"),
            ("k1:" + base64.b64encode(bytes(32)).decode() + ",k1:" + base64.b64encode(bytes(32)).decode(), "twice"),
        ],
    )
    def test_bad_key_configuration_is_a_clear_error(self, text: str, message: str) -> None:
        """Malformed keys are refused with the reason and never with the key material."""
        with pytest.raises(PayloadKeyError, match=message) as info:
            parse_keys(text)
        assert base64.b64encode(bytes(32)).decode() not in str(info.value)

    def test_bad_key_id_for_generation_is_refused(self) -> None:
        """Key ids are restricted so they survive metadata, env vars and file lines."""
        with pytest.raises(PayloadKeyError):
            generate_key_line("bad id:with colon")

    def test_key_repr_hides_material(self) -> None:
        """A key printed in a log or traceback shows its id only."""
        [key] = parse_keys(KEYS["k1"])
        assert KEYS["k1"].split(":")[1] not in repr(key)


class TestSettings:
    async def test_configured_keys_are_used_first_key_encrypting(self, tmp_path: Path) -> None:
        """DUBAN_PAYLOAD_KEYS wins, and no dev key file is written."""
        s = Settings(data_dir=tmp_path, payload_keys=SecretStr(f"{KEYS['k2']},{KEYS['k1']}"))
        c = codec_from_settings(s)
        assert isinstance(c, EncryptionCodec)
        assert c.current_key_id == "k2"
        [old] = await codec("k1").encode([plain()])
        assert await c.decode([old]) == [plain()]
        assert not (tmp_path / DEV_KEY_FILE).exists()

    async def test_development_creates_a_private_key_file_once_and_reuses_it(self, tmp_path: Path) -> None:
        """Without keys, development encrypts with a 0600 key file made on first use and kept."""
        s = Settings(environment="development", data_dir=tmp_path / "var")
        first = codec_from_settings(s)
        assert first is not None
        path = tmp_path / "var" / DEV_KEY_FILE
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        content = path.read_text()
        [enc] = await first.encode([plain()])

        second = codec_from_settings(s)
        assert second is not None
        assert path.read_text() == content
        assert await second.decode([enc]) == [plain()]
        assert [p.name for p in path.parent.iterdir()] == [DEV_KEY_FILE]

    def test_production_without_keys_is_an_error(self, tmp_path: Path) -> None:
        """Outside development, missing keys refuse to start instead of writing clear text."""
        s = Settings(environment="production", secret_key=SecretStr("a-real-secret-0123456789"), data_dir=tmp_path)
        with pytest.raises(ValueError, match="DUBAN_PAYLOAD_KEYS must be set outside development"):
            codec_from_settings(s)
        assert not (tmp_path / DEV_KEY_FILE).exists()

    def test_production_with_bad_keys_is_an_error(self, tmp_path: Path) -> None:
        """A malformed production key is refused at start, not at first payload."""
        s = Settings(
            environment="production",
            secret_key=SecretStr("a-real-secret-0123456789"),
            data_dir=tmp_path,
            payload_keys=SecretStr("k1:tooshort"),
        )
        with pytest.raises(ValueError, match="DUBAN_PAYLOAD_KEYS"):
            codec_from_settings(s)
