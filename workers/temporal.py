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


async def connect(settings: Settings) -> Client:
    t = settings.temporal
    tls: TLSConfig | bool = t.tls
    if t.tls_client_cert or t.tls_ca_cert:
        tls = TLSConfig(
            server_root_ca_cert=t.tls_ca_cert.read_bytes() if t.tls_ca_cert else None,
            client_cert=t.tls_client_cert.read_bytes() if t.tls_client_cert else None,
            client_private_key=t.tls_client_key.read_bytes() if t.tls_client_key else None,
        )
    return await Client.connect(
        t.address,
        namespace=t.namespace,
        data_converter=data_converter(settings),
        tls=tls,
        api_key=t.api_key.get_secret_value() if t.api_key else None,
    )
