"""Group-robot webhooks: WeCom (企业微信) and DingTalk (钉钉), the second channel many offices live in.

Plans name a webhook (`Person.webhook = "yaan-leaders"`); the URL, which embeds
the robot's key, lives only in the settings (`DUBAN_WEBHOOKS='{"yaan-leaders": "..."}'`).

Which robot a URL is for:
- an explicit prefix wins: `wecom:https://...` or `dingtalk:https://...`;
- otherwise the host: `qyapi.weixin.qq.com` is WeCom, `oapi.dingtalk.com` is DingTalk;
- `sink://NAME` writes the JSON into a local directory instead of posting (dev
  and tests); `sink://dingtalk/...` or a `dingtalk:` prefix selects the
  DingTalk format, anything else the WeCom one.
A DingTalk robot with 加签 (signing) security takes its secret as the URL
fragment, `https://oapi.dingtalk.com/robot/send?access_token=T#secret=SEC...`;
the fragment is never sent, it signs each request (timestamp + HMAC-SHA256).

Message formats (both robots' documented JSON):
- WeCom: `{"msgtype": "markdown", "markdown": {"content": ...}}`, at most 4096 bytes;
- DingTalk: `{"msgtype": "markdown", "markdown": {"title": ..., "text": ...}, "at": {"atMobiles": [...]}}`.
Both answer `{"errcode": 0, "errmsg": "ok"}`; a rate-limit errcode or an HTTP
5xx/429 is temporary, any other errcode is permanent.
"""

import base64
import hashlib
import hmac
import json
import os
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx

from activities.mail_render import Rendered
from schemas.people import Person

WECOM_HOST = "qyapi.weixin.qq.com"
DINGTALK_HOST = "oapi.dingtalk.com"
WECOM_MAX_BYTES = 4096
DINGTALK_MAX_BYTES = 18000
# "API frequency out of limit" (WeCom) and "send too fast" (DingTalk): wait and retry.
RATE_LIMIT_CODES = {45009, 45033, 130101}


class WebhookKind(StrEnum):
    WECOM = "wecom"
    DINGTALK = "dingtalk"


class WebhookError(Exception):
    """A post failed; `temporary` says whether trying again later may succeed."""

    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


@dataclass(frozen=True)
class WebhookTarget:
    kind: WebhookKind
    url: str  # without prefix and fragment
    secret: str | None = None
    sink: bool = False


def parse_webhook(raw: str) -> WebhookTarget:
    """Interpret a configured webhook URL (see the module docstring for the conventions)."""
    kind: WebhookKind | None = None
    url = raw.strip()
    for candidate in WebhookKind:
        if url.startswith(candidate.value + ":") and not url.startswith(candidate.value + "://"):
            kind = candidate
            url = url[len(candidate.value) + 1 :]
            break
    url, _, fragment = url.partition("#")
    secret = urllib.parse.parse_qs(fragment).get("secret", [None])[0] if fragment else None
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "sink":
        if kind is None:
            kind = WebhookKind.DINGTALK if parts.netloc == "dingtalk" else WebhookKind.WECOM
        return WebhookTarget(kind=kind, url=url, secret=secret, sink=True)
    if parts.scheme not in {"https", "http"} or not parts.netloc:
        raise WebhookError(f"not a webhook URL: scheme {parts.scheme!r}", temporary=False)
    if kind is None:
        if parts.hostname == WECOM_HOST:
            kind = WebhookKind.WECOM
        elif parts.hostname == DINGTALK_HOST:
            kind = WebhookKind.DINGTALK
        else:
            raise WebhookError(
                f"cannot tell the robot kind of host {parts.hostname!r}; prefix the URL with wecom: or dingtalk:",
                temporary=False,
            )
    return WebhookTarget(kind=kind, url=url, secret=secret)


def _clip(text: str, max_bytes: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text
    return data[: max_bytes - 3].decode("utf-8", errors="ignore") + "…"


def build_payload(kind: WebhookKind, rendered: Rendered, person: Person) -> dict[str, Any]:
    if kind is WebhookKind.WECOM:
        return {"msgtype": "markdown", "markdown": {"content": _clip(rendered.markdown, WECOM_MAX_BYTES)}}
    text = rendered.markdown
    mobiles = [person.phone] if person.phone else []
    if mobiles:
        # DingTalk only highlights an @mention that also appears in the text.
        text = f"@{person.phone}\n\n{text}"
    return {
        "msgtype": "markdown",
        "markdown": {"title": rendered.subject, "text": _clip(text, DINGTALK_MAX_BYTES)},
        "at": {"atMobiles": mobiles, "isAtAll": False},
    }


def _signed_url(target: WebhookTarget) -> str:
    if target.kind is not WebhookKind.DINGTALK or not target.secret:
        return target.url
    timestamp = str(int(time.time() * 1000))
    mac = hmac.new(target.secret.encode(), f"{timestamp}\n{target.secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(mac).decode())
    separator = "&" if "?" in target.url else "?"
    return f"{target.url}{separator}timestamp={timestamp}&sign={sign}"


def sink_file(sink_dir: Path, name: str, key: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)
    return sink_dir / f"{safe}-{hashlib.sha256(key.encode()).hexdigest()[:24]}.json"


def write_sink(sink_dir: Path, name: str, key: str, target: WebhookTarget, payload: dict[str, Any]) -> Path:
    """Record a post in the local sink: one JSON file per message, written atomically."""
    sink_dir.mkdir(parents=True, exist_ok=True)
    path = sink_file(sink_dir, name, key)
    record = {"webhook": name, "kind": target.kind.value, "key": key, "payload": payload}
    fd, tmp = tempfile.mkstemp(dir=sink_dir, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record, fh, ensure_ascii=False, indent=2)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


async def post(client: httpx.AsyncClient, target: WebhookTarget, payload: dict[str, Any]) -> None:
    """POST one message to a robot; raise WebhookError (temporary or not) unless it answers errcode 0."""
    try:
        response = await client.post(_signed_url(target), json=payload)
    except httpx.TransportError as exc:
        raise WebhookError(f"{type(exc).__name__}: {exc}", temporary=True) from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise WebhookError(f"HTTP {response.status_code}", temporary=True)
    if response.status_code >= 400:
        raise WebhookError(f"HTTP {response.status_code}: {response.text[:200]}", temporary=False)
    try:
        body = response.json()
    except ValueError as exc:
        raise WebhookError(f"not a JSON answer: {response.text[:200]!r}", temporary=True) from exc
    code = body.get("errcode", 0) if isinstance(body, dict) else -1
    if code == 0:
        return
    message = f"errcode {code}: {body.get('errmsg', '') if isinstance(body, dict) else body}"
    raise WebhookError(message, temporary=code in RATE_LIMIT_CODES)


def default_sink_dir(data_dir: Path) -> Path:
    """Where `duban dev` records webhook posts (`var/webhooks/`); `duban mail hooks` reads it."""
    return data_dir / "webhooks"
