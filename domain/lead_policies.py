"""The two referral policies duban ships: the one source (`duban lead policies` prints them as a plan block).

- `between-agencies`: leads between administrative agencies (customs → market
  regulation, …). No statute fixes these limits; these are common office
  practice and every number is editable in the plan.
- `decree-310`: 《行政执法机关移送涉嫌犯罪案件的规定》 (State Council Decree No. 310,
  2001, revised 2020): a suspected crime goes from an administrative agency to
  the police. "3 days" are counted as the Civil Code counts days (start day not
  counted, a last day on a rest day rolls to the next working day); "24 hours"
  is an exact duration.
"""

from schemas.calendar import DueRule, LadderStep, RuleKind, StepUnit
from schemas.lead import Actor, LeadEscalation, LeadRecipient, ReferralPolicy, ReferralStageSpec, StageName

BETWEEN_AGENCIES = "between-agencies"
DECREE_310 = "decree-310"

R = LeadRecipient


def _wd(n: int) -> DueRule:
    return DueRule(kind=RuleKind.WORKING_DAYS, n=n)


def _days(n: int) -> DueRule:
    return DueRule(kind=RuleKind.DAYS, n=n)


def _step(key: str, offset: int, unit: StepUnit = StepUnit.WORKING_DAYS, urgent: bool = False) -> LadderStep:
    return LadderStep(key=key, offset=offset, unit=unit, urgent=urgent)


def _esc(key: str, offset: int, *recipients: LeadRecipient, unit: StepUnit = StepUnit.WORKING_DAYS) -> LeadEscalation:
    return LeadEscalation(step=_step(key, offset, unit), recipients=list(recipients))


def between_agencies() -> ReferralPolicy:
    return ReferralPolicy(
        name=BETWEEN_AGENCIES,
        title="行政机关之间线索通报",
        police_policy=DECREE_310,
        stages=[
            ReferralStageSpec(
                name=StageName.SIGN,
                title="签收",
                actor=Actor.RECEIVER,
                limit=_wd(1),
                reminders=[_step("due-day", 0)],
                escalations=[
                    _esc("e1", 0, R.ACTOR, R.ACTOR_LEADER, R.REFERRER),
                    _esc("e2", 2, R.LEADERSHIP, R.OFFICE),
                ],
            ),
            ReferralStageSpec(
                name=StageName.DECIDE,
                title="研判处理",
                actor=Actor.RECEIVER,
                limit=_wd(5),
                reminders=[_step("r1", 1)],
                escalations=[
                    _esc("e1", 0, R.ACTOR, R.ACTOR_LEADER, R.REFERRER),
                    _esc("e2", 3, R.LEADERSHIP, R.OFFICE),
                ],
            ),
            ReferralStageSpec(
                name=StageName.FEEDBACK,
                title="进展反馈",
                actor=Actor.RECEIVER,
                limit=_wd(10),
                reminders=[_step("r1", 1)],
                escalations=[_esc("e1", 0, R.ACTOR, R.ACTOR_LEADER, R.REFERRER)],
            ),
            ReferralStageSpec(
                name=StageName.CLOSE,
                title="办结",
                actor=Actor.RECEIVER,
                limit=_days(60),
                reminders=[_step("r10", 10, StepUnit.DAYS), _step("r3", 3, StepUnit.DAYS)],
                escalations=[
                    _esc("e1", 0, R.ACTOR, R.ACTOR_LEADER, R.REFERRER, R.OFFICE),
                    _esc("e2", 5, R.LEADERSHIP),
                ],
            ),
            ReferralStageSpec(
                name=StageName.RECONSIDER_REQUEST,
                title="申请复议",
                actor=Actor.REFERRER,
                limit=_wd(5),
                optional=True,
                reminders=[_step("r1", 1)],
            ),
            ReferralStageSpec(
                name=StageName.RECONSIDER,
                title="复议决定",
                actor=Actor.RECEIVER,
                limit=_wd(5),
                reminders=[_step("r1", 1)],
                escalations=[
                    _esc("e1", 0, R.ACTOR, R.ACTOR_LEADER, R.REFERRER),
                    _esc("e2", 3, R.LEADERSHIP, R.OFFICE),
                ],
            ),
        ],
    )


def decree_310() -> ReferralPolicy:
    return ReferralPolicy(
        name=DECREE_310,
        title="涉嫌犯罪案件移送 (国务院令第310号)",
        stages=[
            ReferralStageSpec(
                name=StageName.APPROVE,
                title="负责人审批 (第五条, 3日)",
                actor=Actor.AGENCY,
                limit=_days(3),
                reminders=[_step("r1", 1, StepUnit.DAYS)],
                escalations=[
                    _esc("e1", 0, R.ACTOR, R.ACTOR_LEADER, R.OFFICE),
                    _esc("e2", 1, R.LEADERSHIP),
                ],
            ),
            ReferralStageSpec(
                name=StageName.TRANSFER,
                title="移送公安机关 (第五条, 24小时)",
                actor=Actor.AGENCY,
                limit=DueRule(kind=RuleKind.HOURS, n=24),
                reminders=[_step("r4h", 4, StepUnit.HOURS, urgent=True)],
                escalations=[
                    LeadEscalation(
                        step=_step("e1", 0, StepUnit.HOURS, urgent=True),
                        recipients=[R.ACTOR, R.ACTOR_LEADER, R.OFFICE],
                    ),
                    _esc("e2", 1, R.LEADERSHIP),
                ],
            ),
            ReferralStageSpec(
                name=StageName.FILE,
                title="立案审查 (第八条, 3日)",
                actor=Actor.POLICE,
                limit=_days(3),
                reminders=[_step("r1", 1, StepUnit.DAYS)],
                escalations=[
                    _esc("e1", 0, R.ACTOR, R.ACTOR_LEADER, R.AGENCY, R.OFFICE),
                    _esc("e2", 1, R.LEADERSHIP),
                ],
            ),
            ReferralStageSpec(
                name=StageName.RECONSIDER_REQUEST,
                title="提请复议 (第九条, 3日)",
                actor=Actor.AGENCY,
                limit=_days(3),
                optional=True,
                reminders=[_step("r1", 1, StepUnit.DAYS)],
            ),
            ReferralStageSpec(
                name=StageName.RECONSIDER,
                title="复议决定 (第九条, 3日)",
                actor=Actor.POLICE,
                limit=_days(3),
                reminders=[_step("r1", 1, StepUnit.DAYS)],
                escalations=[
                    _esc("e1", 0, R.ACTOR, R.ACTOR_LEADER, R.AGENCY, R.OFFICE),
                    _esc("e2", 1, R.LEADERSHIP),
                ],
            ),
            ReferralStageSpec(
                name=StageName.HANDOVER,
                title="移交涉案物品和材料 (立案后3日)",
                actor=Actor.AGENCY,
                limit=_days(3),
                reminders=[_step("r1", 1, StepUnit.DAYS)],
                escalations=[
                    _esc("e1", 0, R.ACTOR, R.ACTOR_LEADER, R.OFFICE),
                    _esc("e2", 1, R.LEADERSHIP),
                ],
            ),
        ],
    )


def default_policies() -> list[ReferralPolicy]:
    """Fresh copies of the shipped policies (callers may edit them)."""
    return [between_agencies(), decree_310()]


def policies_for(plan_policies: list[ReferralPolicy]) -> dict[str, ReferralPolicy]:
    """The plan's policies by name, with the shipped defaults filling names the plan does not define."""
    found = {p.name: p for p in default_policies()}
    found.update({p.name: p for p in plan_policies})
    return found
