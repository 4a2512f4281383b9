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

# A cycle lists its pending and overdue units in one search attribute each. Temporal's default limit
# on one value (2 KiB) holds only about 150 unit ids; past it the server refuses the upsert and the
# cycle cannot go on. duban's servers raise the limits (`duban dev` passes these; production sets them
# in deploy/compose/dynamicconfig and deploy/k8s/temporal/values.yaml), and `plan check` keeps an
# office's unit ids within the value limit.
VALUE_LIMIT = 64 * 1024
# After this many workflow task failures (or timeouts) in a row the server marks the workflow in
# the TemporalReportedProblems search attribute, which the stuck-cycle alert and runbook look for
# (docs/operations.md). Self-hosted servers leave it off unless set.
REPORTED_PROBLEMS_AFTER = 3
# Temporal refuses every Update to a workflow run past 2,000 of them (its default), until the run
# continues as new. A cycle continues as new on a turn of its loop with nothing else to do, and a
# deadline-day burst arrives while the loop is busy sending: at 1,000 units the worst path sends
# 2,400 Updates into one run (`python -m bench.worst_path`), and every call after the 2,000th was
# refused. The plan check's caps bound what one run can take (reports per unit and kind, units).
MAX_UPDATES_PER_RUN = 10_000
SERVER_LIMITS: dict[str, int] = {
    "history.maxTotalUpdates": MAX_UPDATES_PER_RUN,
    "frontend.searchAttributesSizeOfValueLimit": VALUE_LIMIT,
    "frontend.searchAttributesTotalSizeLimit": 4 * VALUE_LIMIT,
    "system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute": REPORTED_PROBLEMS_AFTER,
}
