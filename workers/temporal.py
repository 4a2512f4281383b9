"""Temporal clients and data converters, built from settings in one place.

Every client and worker of duban goes through `connect`, so every payload is
pydantic-encoded and, when keys are configured, encrypted before it leaves
the process.
"""

import dataclasses

from temporalio.client import Client, TLSConfig
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from workers.codec import codec_from_settings
from workers.settings import Settings

# The search attributes of design.md, registered by `duban dev` and by deploy/.
CAMPAIGN = SearchAttributeKey.for_keyword("DubanCampaign")
OFFICE = SearchAttributeKey.for_keyword("DubanOffice")
PERIOD = SearchAttributeKey.for_keyword("DubanPeriod")
DUE_AT = SearchAttributeKey.for_datetime("DubanDueAt")
STAGE = SearchAttributeKey.for_keyword("DubanStage")
PENDING_UNITS = SearchAttributeKey.for_keyword_list("DubanPendingUnits")
OVERDUE_UNITS = SearchAttributeKey.for_keyword_list("DubanOverdueUnits")
ESCALATION_LEVEL = SearchAttributeKey.for_int("DubanEscalationLevel")
UNITS = SearchAttributeKey.for_keyword_list("DubanUnits")

SEARCH_ATTRIBUTES: dict[str, str] = {
    "DubanCampaign": "Keyword",
    "DubanOffice": "Keyword",
    "DubanPeriod": "Keyword",
    "DubanDueAt": "Datetime",
    "DubanStage": "Keyword",
    "DubanPendingUnits": "KeywordList",
    "DubanOverdueUnits": "KeywordList",
    "DubanEscalationLevel": "Int",
    "DubanUnits": "KeywordList",
}


def data_converter(settings: Settings) -> DataConverter:
    """pydantic for every payload, plus the encrypting codec when keys are configured."""
    codec = codec_from_settings(settings)
    if codec is None:
        return pydantic_data_converter
    return dataclasses.replace(pydantic_data_converter, payload_codec=codec)


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
