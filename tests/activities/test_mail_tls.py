"""STARTTLS, implicit TLS and login against a real aiosmtpd with a throwaway self-signed certificate."""

import ipaddress
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr
from temporalio.exceptions import ApplicationError
from temporalio.runtime import MetricBuffer, Runtime, TelemetryConfig
from temporalio.testing import ActivityEnvironment

from activities.mail import REFUSALS_METRIC, MailActivities
from activities.sent_ledger import SentLedger
from schemas.notify import DeliveryStatus
from tests.activities.conftest import free_port
from tests.activities.mail_helpers import batch, note
from tests.blobstores import local_store
from workers.dev.smtp_sink import SmtpSink
from workers.settings import SmtpSettings


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, valid for a day."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def trust(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the client trust the throwaway certificate (OpenSSL reads SSL_CERT_FILE for its defaults)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))


def only_zhang(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"zhang", b"right")
    # handled=False: let aiosmtpd send the 535 itself (its default assumes we already answered).
    return AuthResult(success=ok, handled=False)


def start(sink: SmtpSink) -> Iterator[SmtpSink]:
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def starttls_sink(tmp_path: Path, server_tls: ssl.SSLContext) -> Iterator[SmtpSink]:
    sink = SmtpSink(
        "127.0.0.1",
        free_port(),
        tmp_path / "mail",
        tls_context=server_tls,
        require_starttls=True,
        authenticator=only_zhang,
    )
    yield from start(sink)


@pytest.fixture
def implicit_tls_sink(tmp_path: Path, server_tls: ssl.SSLContext) -> Iterator[SmtpSink]:
    yield from start(SmtpSink("127.0.0.1", free_port(), tmp_path / "mail", ssl_context=server_tls))


def mailer(tmp_path: Path, **smtp: Any) -> MailActivities:
    return MailActivities(
        SmtpSettings(host="127.0.0.1", timeout_seconds=5.0, **smtp),
        SentLedger(tmp_path / "ledger.sqlite"),
        local_store(tmp_path / "blobs"),
        None,
    )


async def test_starttls_and_login(tmp_path: Path, starttls_sink: SmtpSink, trust: None) -> None:
    """STARTTLS then AUTH with the right password delivers."""
    m = mailer(tmp_path, port=starttls_sink.port, starttls=True, username="zhang", password=SecretStr("right"))
    result = await ActivityEnvironment().run(m.send_batch, batch(note("k/1")))
    assert [d.status for d in result.deliveries] == [DeliveryStatus.SENT]
    assert len(starttls_sink.messages()) == 1


async def test_wrong_password_is_not_retried(tmp_path: Path, starttls_sink: SmtpSink, trust: None) -> None:
    """535 on AUTH → non-retryable SmtpAuthRefused, nothing sent or recorded."""
    m = mailer(tmp_path, port=starttls_sink.port, starttls=True, username="zhang", password=SecretStr("wrong"))
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(m.send_batch, batch(note("k/1")))
    assert caught.value.non_retryable
    assert caught.value.type == "SmtpAuthRefused"
    assert starttls_sink.messages() == []
    assert m.ledger.sent_keys(["k/1"]) == set()


async def test_untrusted_certificate_is_not_retried(tmp_path: Path, starttls_sink: SmtpSink) -> None:
    """A certificate the client does not trust is a configuration problem, not an outage."""
    m = mailer(tmp_path, port=starttls_sink.port, starttls=True, username="zhang", password=SecretStr("right"))
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(m.send_batch, batch(note("k/1")))
    assert caught.value.non_retryable
    assert caught.value.type == "SmtpTlsRefused"


async def test_implicit_tls(tmp_path: Path, implicit_tls_sink: SmtpSink, trust: None) -> None:
    """Implicit TLS (port-465 style) delivers."""
    m = mailer(tmp_path, port=implicit_tls_sink.port, implicit_tls=True)
    result = await ActivityEnvironment().run(m.send_batch, batch(note("k/1")))
    assert [d.status for d in result.deliveries] == [DeliveryStatus.SENT]


async def test_starttls_required_but_not_offered(tmp_path: Path, sink: SmtpSink) -> None:
    """Settings demand STARTTLS, the server has none: non-retryable SmtpMisconfigured."""
    m = mailer(tmp_path, port=sink.port, starttls=True)
    with pytest.raises(ApplicationError) as caught:
        await ActivityEnvironment().run(m.send_batch, batch(note("k/1")))
    assert caught.value.non_retryable
    assert caught.value.type == "SmtpMisconfigured"


async def test_a_refused_login_is_counted_for_the_alert(tmp_path: Path, starttls_sink: SmtpSink, trust: None) -> None:
    """SmtpAuthRefused adds 1 to duban_mail_refusals{type="SmtpAuthRefused"}, the metric the alert rules watch."""
    buffer = MetricBuffer(100)
    runtime = Runtime(telemetry=TelemetryConfig(metrics=buffer))
    env = ActivityEnvironment()
    env.metric_meter = runtime.metric_meter
    m = mailer(tmp_path, port=starttls_sink.port, starttls=True, username="zhang", password=SecretStr("wrong"))
    with pytest.raises(ApplicationError):
        await env.run(m.send_batch, batch(note("k/1")))
    counted = [(u.metric.name, u.attributes.get("type"), u.value) for u in buffer.retrieve_updates()]
    assert counted == [(REFUSALS_METRIC, "SmtpAuthRefused", 1)]
