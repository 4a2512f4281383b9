"""Every workflow the worker runs (and the Replayer replays)."""

from workflows.holiday_check import HolidayCheck
from workflows.lead_referral import LeadReferral
from workflows.reporting_cycle import ReportingCycle

WORKFLOWS: list[type] = [ReportingCycle, LeadReferral, HolidayCheck]
