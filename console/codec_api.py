"""The codec endpoint: lets the Temporal UI and CLI show decrypted payloads to operators.

Protocol (Temporal's remote codec): `POST {base}/encode` and `POST {base}/decode`
with a JSON body `{"payloads": [...]}` in protobuf JSON form (metadata values
and data base64), answered in the same form. Point the UI's "codec server"
setting, or `temporal ... --codec-endpoint`, at `{public_url}/codec`.

Decoding hands out clear text, so every call needs either

- `Authorization: Bearer <token>` with an unexpired credential of
  `DUBAN_CODEC_TOKENS` (see `workers.codec_credentials`: its own secrets, not
  derived from `DUBAN_SECRET_KEY`, several valid at once for rotation); for the
  CLI: `--codec-auth "Bearer <token>"`; or
- an operator session, checked by the `require_operator` hook the console
  passes in (the UI sends cookies when its codec setting "include
  credentials" is on).

The console's body gate (`console.web.body_gate`) runs `authorized` before a
request body is read, so a stranger's payloads are never parsed.

The UI calls from its own origin, so the routes answer CORS for the Temporal
UI origins: `DUBAN_TEMPORAL__UI_ORIGINS` (a JSON list, e.g.
`["https://temporal.duban.example"]`, the UI as browsers reach it in
production), by default the dev stack's UI on 127.0.0.1/localhost at
`temporal.ui_port`.
"""

from collections.abc import Awaitable, Callable, Sequence

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from pydantic import BaseModel, ConfigDict, Field
from temporalio.api.common.v1 import Payloads
from temporalio.converter import PayloadCodec

from console.web.responses import errors
from workers.codec import PayloadKeyError, codec_from_settings
from workers.codec_credentials import CodecCredentials
from workers.settings import Settings

# Returns True when the request carries a signed-in operator's session.
OperatorCheck = Callable[[Request], Awaitable[bool]]

_ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"
UNAUTHORIZED = "codec endpoint: sign in as an operator or send 'Authorization: Bearer <codec token>'"


class CodecPayload(BaseModel):
    """One `temporal.api.common.v1.Payload` in protobuf JSON form."""

    # Fields a newer Temporal API adds are passed on to protobuf, not dropped.
    model_config = ConfigDict(extra="allow")

    metadata: dict[str, str] = Field(default_factory=dict, description="metadata values, base64")
    data: str = Field(default="", description="payload bytes, base64")


class CodecPayloads(BaseModel):
    payloads: list[CodecPayload]


def codec_credentials(settings: Settings) -> CodecCredentials:
    return CodecCredentials(settings.codec_tokens.get_secret_value() if settings.codec_tokens else None)


async def bearer_or_operator(
    request: Request, credentials: CodecCredentials, require_operator: OperatorCheck | None
) -> bool:
    """May this request use the codec? (A bearer credential, or a signed-in operator.)"""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.accepts(token.strip()):
        return True
    return require_operator is not None and await require_operator(request)


def _cors_headers(origins: frozenset[str], request: Request) -> dict[str, str]:
    origin = request.headers.get("origin")
    if origin not in origins:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }


def codec_gate(
    settings: Settings, *, require_operator: OperatorCheck | None = None, ui_origins: Sequence[str] | None = None
) -> Callable[[Request], Awaitable[Response | None]]:
    """The endpoint's authorization from headers alone, for the console's body gate: None, or the 401."""
    credentials = codec_credentials(settings)
    origins = frozenset(ui_origins if ui_origins is not None else temporal_ui_origins(settings))

    async def gate(request: Request) -> Response | None:
        if await bearer_or_operator(request, credentials, require_operator):
            return None
        headers = {**_cors_headers(origins, request), "WWW-Authenticate": "Bearer"}
        return JSONResponse({"detail": UNAUTHORIZED}, status_code=401, headers=headers)

    return gate


def temporal_ui_origins(settings: Settings) -> list[str]:
    """The browser origins of the Temporal UI: `DUBAN_TEMPORAL__UI_ORIGINS`, else the dev stack's UI."""
    if settings.temporal.ui_origins:
        return list(settings.temporal.ui_origins)
    port = settings.temporal.ui_port
    return [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]


def codec_router(
    settings: Settings,
    *,
    require_operator: OperatorCheck | None = None,
    ui_origins: Sequence[str] | None = None,
    codec: PayloadCodec | None = None,
) -> APIRouter:
    """Routes under /codec; `codec` defaults to the one every worker and client uses."""
    # The endpoint shows what is there: plain payloads (from before encryption) pass through it even
    # where the worker refuses them.
    payload_codec = codec if codec is not None else codec_from_settings(settings, accept_plain=True)
    if payload_codec is None:  # pragma: no cover - codec_from_settings always returns one today
        raise ValueError("the codec endpoint needs a payload codec")
    credentials = codec_credentials(settings)
    origins = frozenset(ui_origins if ui_origins is not None else temporal_ui_origins(settings))

    def cors_headers(request: Request) -> dict[str, str]:
        return _cors_headers(origins, request)

    async def authorize(request: Request) -> None:
        if await bearer_or_operator(request, credentials, require_operator):
            return
        raise HTTPException(
            status_code=401,
            detail=UNAUTHORIZED,
            headers={**cors_headers(request), "WWW-Authenticate": "Bearer"},
        )

    async def transform(request: Request, response: Response, body: CodecPayloads, decode: bool) -> CodecPayloads:
        response.headers.update(cors_headers(request))
        try:
            payloads = json_format.ParseDict(body.model_dump(), Payloads())
        except json_format.ParseError as exc:
            raise HTTPException(
                status_code=400,
                detail=f"not a Temporal payload in protobuf JSON form: {exc}",
                headers=cors_headers(request),
            ) from exc
        try:
            if decode:
                result = await payload_codec.decode(payloads.payloads)
            else:
                result = await payload_codec.encode(payloads.payloads)
        except PayloadKeyError as exc:
            raise HTTPException(status_code=400, detail=str(exc), headers=cors_headers(request)) from exc
        return CodecPayloads(payloads=[CodecPayload.model_validate(json_format.MessageToDict(p)) for p in result])

    router = APIRouter(prefix="/codec", tags=["codec"])

    @router.post("/encode", dependencies=[Depends(authorize)], responses=errors(400, 401))
    async def encode(request: Request, response: Response, body: CodecPayloads) -> CodecPayloads:
        """Encrypt payloads (used by `temporal workflow start --codec-endpoint`)."""
        return await transform(request, response, body, decode=False)

    @router.post("/decode", dependencies=[Depends(authorize)], responses=errors(400, 401))
    async def decode(request: Request, response: Response, body: CodecPayloads) -> CodecPayloads:
        """Decrypt payloads for the Temporal UI / CLI."""
        return await transform(request, response, body, decode=True)

    @router.options("/encode", include_in_schema=False)
    @router.options("/decode", include_in_schema=False)
    async def preflight(request: Request) -> Response:
        # Browsers send the preflight without credentials; it reveals nothing.
        headers = cors_headers(request)
        if headers:
            headers |= {
                "Access-Control-Allow-Methods": "POST, OPTIONS",
                "Access-Control-Allow-Headers": _ALLOWED_HEADERS,
                "Access-Control-Max-Age": "600",
            }
        return Response(status_code=204, headers=headers)

    return router
