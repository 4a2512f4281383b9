"""Temporal clients and data converters, built from settings in one place.

Every client and worker of duban goes through `connect`, so every payload is
pydantic-encoded and encrypted before it leaves the process.
"""

import dataclasses

from temporalio.client import Client, TLSConfig
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from workers.codec import codec_from_settings
from workers.settings import Settings


def data_converter(settings: Settings) -> DataConverter:
    """pydantic for every payload, encrypted; failure messages and stack traces are encrypted too,
    since an error can quote the content it failed on."""
    codec = codec_from_settings(settings)
    if codec is None:
        return pydantic_data_converter
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def tls_config(settings: Settings) -> TLSConfig | bool:
    """TLS to the frontend from settings: off, on with the system's CAs, or with our CA and client certificate."""
    t = settings.temporal
    if not (t.tls or t.tls_ca_cert or t.tls_client_cert or t.tls_server_name):
        return False
    if not (t.tls_ca_cert or t.tls_client_cert or t.tls_server_name):
        return True
    return TLSConfig(
        server_root_ca_cert=t.tls_ca_cert.read_bytes() if t.tls_ca_cert else None,
        domain=t.tls_server_name,
        client_cert=t.tls_client_cert.read_bytes() if t.tls_client_cert else None,
        client_private_key=t.tls_client_key.read_bytes() if t.tls_client_key else None,
    )


async def connect(settings: Settings) -> Client:
    t = settings.temporal
    return await Client.connect(
        t.address,
        namespace=t.namespace,
        data_converter=data_converter(settings),
        tls=tls_config(settings),
        api_key=t.api_key.get_secret_value() if t.api_key else None,
    )
