"""A private CA and the certificates for mTLS to Temporal and TLS to PostgreSQL, for one host.

For the compose stack (deploy/compose/certs/) and for tests; a cluster takes its
certificates from cert-manager or the site's PKI instead (deploy/k8s/cert-manager/).

    .venv/bin/python -m workers.tls_certs deploy/compose/certs

writes `ca.crt` (+ `ca.key`, keep it offline), `temporal.crt/.key` (the frontend and
internode certificate: server and client use, names `temporal`, `localhost`,
127.0.0.1), `client.crt/.key` (duban's workers and console, the UI, admin-tools)
and `postgres.crt/.key` (name `postgresql`). Keys are written 0600.
"""

import argparse
import datetime as dt
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 825  # the longest validity browsers and most TLS stacks still accept for a leaf


@dataclass(frozen=True)
class Issued:
    cert: bytes  # PEM
    key: bytes  # PEM, PKCS#8, unencrypted


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "duban"), x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class CertificateAuthority:
    """A self-signed CA that issues leaf certificates for named hosts and clients."""

    def __init__(self, common_name: str = "duban private CA") -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(_name(common_name))
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=VALID_DAYS * 2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self._key, hashes.SHA256())
        )

    @property
    def cert(self) -> bytes:
        return self._cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key(self) -> bytes:
        return _pem_key(self._key)

    def issue(
        self, common_name: str, names: Sequence[str] = (), *, server: bool = False, client: bool = False
    ) -> Issued:
        """A leaf for `names` (DNS names or IP addresses), usable as a server and/or client certificate."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        usages = [ExtendedKeyUsageOID.SERVER_AUTH] if server else []
        usages += [ExtendedKeyUsageOID.CLIENT_AUTH] if client else []
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        )
        if names:
            alt: list[x509.GeneralName] = []
            for name in names:
                try:
                    alt.append(x509.IPAddress(ipaddress.ip_address(name)))
                except ValueError:
                    alt.append(x509.DNSName(name))
            builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        return Issued(cert=cert.public_bytes(serialization.Encoding.PEM), key=_pem_key(key))


def write_compose_set(folder: Path) -> dict[str, Path]:
    """The files deploy/compose/docker-compose.yml mounts, written into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = CertificateAuthority()
    leaves = {
        "temporal": ca.issue("temporal", ["temporal", "localhost", "127.0.0.1"], server=True, client=True),
        "client": ca.issue("duban", client=True),
        "postgres": ca.issue("postgresql", ["postgresql", "localhost"], server=True),
    }
    written = {"ca.crt": ca.cert, "ca.key": ca.key}
    for stem, issued in leaves.items():
        written[f"{stem}.crt"] = issued.cert
        written[f"{stem}.key"] = issued.key
    paths = {}
    for name, data in written.items():
        path = folder / name
        path.write_bytes(data)
        if name.endswith(".key"):
            os.chmod(path, 0o600)
        paths[name] = path
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a private CA and the compose stack's TLS certificates.")
    parser.add_argument("folder", type=Path, help="e.g. deploy/compose/certs")
    args = parser.parse_args(argv)
    for name, path in write_compose_set(args.folder).items():
        print(f"{name}\t{path}")


if __name__ == "__main__":
    main()
