"""duban's client TLS settings against a frontend that requires client certificates (mTLS).

`temporal server start-dev` has no TLS options, so the frontend here is the session's
real dev server behind a TLS terminator that does what a production frontend with
`requireClientAuth: true` does: it presents a server certificate for `temporal`,
offers HTTP/2 (ALPN h2) and refuses any client without a certificate from our CA.
The certificates are throwaway ones from `workers.tls_certs` (the compose stack's generator).
"""

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from workers.settings import Settings, TemporalSettings
from workers.temporal import connect
from workers.tls_certs import CertificateAuthority, write_compose_set

pytestmark = pytest.mark.devserver


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


@contextlib.asynccontextmanager
async def mtls_frontend(upstream: str, certs: dict[str, Path]) -> AsyncIterator[int]:
    """A TLS listener requiring a client certificate, forwarding the decrypted gRPC stream to `upstream`."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(certs["ca.crt"]))
    context.load_cert_chain(certs["temporal.crt"], certs["temporal.key"])
    context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["h2"])
    host, port = upstream.rsplit(":", 1)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    async with server:
        yield server.sockets[0].getsockname()[1]


def tls_settings(settings: Settings, port: int, certs: dict[str, Path], **override: object) -> Settings:
    temporal = TemporalSettings(
        address=f"127.0.0.1:{port}",
        tls=True,
        tls_ca_cert=certs["ca.crt"],
        tls_client_cert=certs["client.crt"],
        tls_client_key=certs["client.key"],
        tls_server_name="temporal",
    )
    return settings.model_copy(update={"temporal": temporal.model_copy(update=override)})


@pytest.fixture
def certs(tmp_path: Path) -> dict[str, Path]:
    return write_compose_set(tmp_path / "certs")


async def can_list(settings: Settings) -> bool:
    try:
        client = await asyncio.wait_for(connect(settings), timeout=15)
        await client.count_workflows()
    except (RuntimeError, TimeoutError):
        return False
    return True


class TestClientMtls:
    async def test_the_client_certificate_from_settings_gets_through(
        self, settings: Settings, dev_server_env: WorkflowEnvironment, certs: dict[str, Path]
    ) -> None:
        """CA, client certificate and key and server name from settings: connected, and visibility answers."""
        upstream = dev_server_env.client.service_client.config.target_host
        async with mtls_frontend(upstream, certs) as port:
            client = await connect(tls_settings(settings, port, certs))
            assert (await client.count_workflows()).count >= 0
            assert await client.service_client.check_health()

    async def test_without_a_client_certificate_the_frontend_refuses(
        self, settings: Settings, dev_server_env: WorkflowEnvironment, certs: dict[str, Path]
    ) -> None:
        """TLS with the right CA but no client certificate does not get a connection."""
        upstream = dev_server_env.client.service_client.config.target_host
        async with mtls_frontend(upstream, certs) as port:
            assert not await can_list(tls_settings(settings, port, certs, tls_client_cert=None, tls_client_key=None))

    async def test_a_certificate_from_another_ca_is_refused_and_so_is_an_untrusted_frontend(
        self, settings: Settings, dev_server_env: WorkflowEnvironment, certs: dict[str, Path], tmp_path: Path
    ) -> None:
        """A client certificate the frontend's CA did not sign, or a frontend our CA did not sign: no connection."""
        stranger = CertificateAuthority("someone else")
        issued = stranger.issue("intruder", client=True)
        (tmp_path / "x.crt").write_bytes(issued.cert)
        (tmp_path / "x.key").write_bytes(issued.key)
        (tmp_path / "x-ca.crt").write_bytes(stranger.cert)
        upstream = dev_server_env.client.service_client.config.target_host
        async with mtls_frontend(upstream, certs) as port:
            wrong_client = tls_settings(settings, port, certs, tls_client_cert=tmp_path / "x.crt",
                                        tls_client_key=tmp_path / "x.key")  # fmt: skip
            assert not await can_list(wrong_client)
            wrong_ca = tls_settings(settings, port, certs, tls_ca_cert=tmp_path / "x-ca.crt")
            assert not await can_list(wrong_ca)
            # The control: the same frontend with the right settings answers.
            assert await can_list(tls_settings(settings, port, certs))

    def test_a_client_certificate_without_its_key_is_refused_in_settings(self, tmp_path: Path) -> None:
        """Half an mTLS configuration is a settings error at start, not a handshake failure later."""
        with pytest.raises(ValueError, match="TLS_CLIENT_KEY go together"):
            Settings(data_dir=tmp_path, temporal=TemporalSettings(tls_client_cert=tmp_path / "c.crt"))
