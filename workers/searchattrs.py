"""The search attributes of design.md: ids and dates only, never names or content (they are not encrypted)."""

from temporalio.common import SearchAttributeKey

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
