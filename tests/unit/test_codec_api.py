"""The codec endpoint for the Temporal UI / CLI: round trips, authentication, CORS."""

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import SecretStr

from console.codec_api import codec_router
from workers.codec import generate_key_line
from workers.settings import Settings

UI = "http://127.0.0.1:8233"
TOKEN = "codec-token-for-the-tests-0123456789abcdef"
CONTACT = '{"name":"王小明","email":"wang.xiaoming@yaan.example"}'.encode()
PLAIN = {"metadata": {"encoding": base64.b64encode(b"json/plain").decode()}, "data": base64.b64encode(CONTACT).decode()}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        secret_key=SecretStr("test-secret-for-the-codec-endpoint"),
        payload_keys=SecretStr(generate_key_line("k1")),
        codec_tokens=SecretStr(f"ui:{TOKEN}"),
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    async def operator_cookie(request: Request) -> bool:
        # Stand-in for the console's session check: the hook decides, the router obeys.
        return request.cookies.get("session") == "operator"

    app = FastAPI()
    app.include_router(codec_router(settings, require_operator=operator_cookie))
    with TestClient(app) as c:
        yield c


def auth(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


class TestRoundTrip:
    def test_encode_then_decode_round_trips(self, client: TestClient, settings: Settings) -> None:
        """What /encode returns, /decode turns back into the original payload."""
        enc = client.post("/codec/encode", json={"payloads": [PLAIN]}, headers=auth(settings))
        assert enc.status_code == 200
        [sealed] = enc.json()["payloads"]
        assert sealed["metadata"]["encoding"] == b64(b"binary/encrypted")
        assert sealed["metadata"]["encryption-key-id"] == b64(b"k1")
        assert "王小明" not in base64.b64decode(sealed["data"]).decode("latin-1")

        dec = client.post("/codec/decode", json={"payloads": [sealed]}, headers=auth(settings))
        assert dec.status_code == 200
        assert dec.json() == {"payloads": [PLAIN]}

    def test_empty_list_round_trips(self, client: TestClient, settings: Settings) -> None:
        """The UI may send an empty batch; it gets an empty batch back."""
        r = client.post("/codec/decode", json={"payloads": []}, headers=auth(settings))
        assert r.json() == {"payloads": []}

    def test_operator_session_is_enough(self, client: TestClient) -> None:
        """The console's session hook authorises the Temporal UI sending cookies."""
        client.cookies.set("session", "operator")
        r = client.post("/codec/encode", json={"payloads": [PLAIN]})
        assert r.status_code == 200


class TestAuthentication:
    @pytest.mark.parametrize("path", ["/codec/encode", "/codec/decode"])
    def test_no_authorization_is_401(self, client: TestClient, path: str) -> None:
        """Without a token or session, nothing is decoded."""
        r = client.post(path, json={"payloads": [PLAIN]})
        assert r.status_code == 401
        assert r.headers["www-authenticate"] == "Bearer"
        assert "王小明" not in r.text

    def test_wrong_token_is_401(self, client: TestClient, settings: Settings) -> None:
        """A token that is not among DUBAN_CODEC_TOKENS is refused."""
        r = client.post("/codec/decode", json={"payloads": [PLAIN]}, headers={"Authorization": "Bearer " + "x" * 40})
        assert r.status_code == 401

    def test_the_secret_key_is_not_a_codec_token(self, client: TestClient, settings: Settings) -> None:
        """The link-signing secret does not open the codec."""
        secret = settings.secret_key.get_secret_value()
        r = client.post("/codec/decode", json={"payloads": [PLAIN]}, headers={"Authorization": f"Bearer {secret}"})
        assert r.status_code == 401


class TestBadInput:
    def test_unknown_key_id_is_a_clear_400(self, client: TestClient, settings: Settings) -> None:
        """A payload sealed with a key this console lacks gets a 400 naming the key."""
        sealed = {"metadata": {"encoding": b64(b"binary/encrypted"), "encryption-key-id": b64(b"gone")}, "data": ""}
        r = client.post("/codec/decode", json={"payloads": [sealed]}, headers=auth(settings))
        assert r.status_code == 400
        assert "'gone'" in r.json()["detail"]

    def test_not_payloads_is_a_client_error(self, client: TestClient, settings: Settings) -> None:
        """A malformed body is rejected, never a server error."""
        for body in ({"payloads": "x"}, [1], {"payloads": [{"metadata": {"encoding": 1}}]}):
            r = client.post("/codec/decode", json=body, headers=auth(settings))
            assert 400 <= r.status_code < 500, body


class TestCors:
    def test_preflight_from_the_temporal_ui_is_allowed(self, client: TestClient) -> None:
        """The UI's browser preflight (no credentials) is answered for its origin."""
        r = client.options(
            "/codec/decode",
            headers={
                "Origin": UI,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
            },
        )
        assert r.status_code == 204
        assert r.headers["access-control-allow-origin"] == UI
        assert r.headers["access-control-allow-credentials"] == "true"
        assert "X-Namespace" in r.headers["access-control-allow-headers"]

    def test_other_origins_get_no_cors_grant(self, client: TestClient, settings: Settings) -> None:
        """A page from any other origin cannot read decoded payloads through the browser."""
        r = client.post(
            "/codec/decode", json={"payloads": [PLAIN]}, headers={**auth(settings), "Origin": "http://evil.example"}
        )
        assert "access-control-allow-origin" not in r.headers
        p = client.options("/codec/decode", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in p.headers

    def test_responses_and_401s_carry_cors_for_the_ui(self, client: TestClient, settings: Settings) -> None:
        """The UI can read both the answer and the refusal."""
        ok = client.post("/codec/decode", json={"payloads": [PLAIN]}, headers={**auth(settings), "Origin": UI})
        assert ok.headers["access-control-allow-origin"] == UI
        denied = client.post("/codec/decode", json={"payloads": [PLAIN]}, headers={"Origin": UI})
        assert denied.status_code == 401
        assert denied.headers["access-control-allow-origin"] == UI


def preflight(client: TestClient, origin: str) -> dict[str, str]:
    r = client.options("/codec/decode", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
    assert r.status_code == 204
    return dict(r.headers)


class TestUiOriginsFromSettings:
    def test_the_production_ui_origin_from_settings_is_granted_and_loopback_no_longer(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """DUBAN_TEMPORAL__UI_ORIGINS (a JSON list) replaces the loopback default; other origins stay refused."""
        monkeypatch.setenv("DUBAN_TEMPORAL__UI_ORIGINS", '["https://temporal.duban.example"]')
        settings = Settings(data_dir=tmp_path, payload_keys=SecretStr(generate_key_line("k1")))
        app = FastAPI()
        app.include_router(codec_router(settings))
        with TestClient(app) as c:
            granted = preflight(c, "https://temporal.duban.example")
            assert granted["access-control-allow-origin"] == "https://temporal.duban.example"
            assert granted["access-control-allow-credentials"] == "true"
            assert "access-control-allow-origin" not in preflight(c, UI)
            assert "access-control-allow-origin" not in preflight(c, "https://temporal.duban.example.evil.example")

    @pytest.mark.parametrize(
        "bad",
        ["temporal.duban.example", "https://temporal.duban.example/ui", "ftp://temporal.duban.example", "https://"],
    )
    def test_something_that_is_not_an_origin_is_refused_at_start(self, bad: str, tmp_path: Path) -> None:
        """A path, a missing scheme or host would never match a browser's Origin header: refused with the reason."""
        with pytest.raises(ValueError, match="is not an origin"):
            Settings(data_dir=tmp_path, temporal={"ui_origins": [bad]})  # type: ignore[arg-type]

    def test_a_trailing_slash_is_forgiven(self, tmp_path: Path) -> None:
        """`https://host/` is the same origin as `https://host`."""
        settings = Settings(data_dir=tmp_path, temporal={"ui_origins": ["https://temporal.duban.example/"]})  # type: ignore[arg-type]
        assert settings.temporal.ui_origins == ["https://temporal.duban.example"]
