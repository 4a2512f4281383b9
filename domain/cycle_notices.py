"""Who is told what by a reporting cycle: notifications built from the cycle's data, as pure code.

Keys are (cycle, step, unit, recipient): stable across retries, restarts and
continue-as-new, so the mail activity can refuse to send one twice.
"""

import datetime as dt
from collections import Counter
from collections.abc import Iterable

from schemas.calendar import Due
from schemas.cycle import CycleSpec, CycleState, CycleUnit, UnitState
from schemas.notify import MessageContext, Notification, Template, UnitLine
from schemas.people import Person
from schemas.plan import Recipient
from schemas.rollup import RollupPackage


def _address(person: Person) -> str:
    return person.email or person.webhook or person.name


def unit_by_id(spec: CycleSpec, unit_id: str) -> CycleUnit:
    return spec.unit(unit_id)


def base_context(spec: CycleSpec) -> MessageContext:
    return MessageContext(
        document=spec.document,
        contact=spec.contact,
        office_name=spec.office.name,
        campaign_id=spec.campaign_id,
        cycle_id=spec.cycle_id,
        period=spec.period,
        obligation_title=spec.obligation.title,
    )


def unit_context(spec: CycleSpec, unit: CycleUnit, due: Due, **extra: object) -> MessageContext:
    return base_context(spec).model_copy(
        update={
            "unit_id": unit.id,
            "unit_name": unit.name,
            "due": due,
            "work_areas": unit.work_areas,
            "portal_link": True,
            **extra,
        }
    )


def recipients(
    spec: CycleSpec, role: Recipient, unit: CycleUnit | None, withdrawn: frozenset[str] = frozenset()
) -> list[Person]:
    """Who a role names; "all units" leaves out the units withdrawn from the cycle (no longer in it)."""
    if role is Recipient.UNIT_CONTACT:
        return list(unit.contacts) if unit else []
    if role is Recipient.UNIT_LEADER:
        return [unit.leader] if unit and unit.leader else []
    if role is Recipient.OFFICE:
        return list(spec.office.staff) or (
            [Person(name=spec.office.name, email=spec.office.email)] if spec.office.email else []
        )
    if role is Recipient.LEADERSHIP:
        return list(spec.leadership)
    return [c for u in spec.units if u.id not in withdrawn for c in u.contacts]


def to_people(
    spec: CycleSpec,
    key_stem: str,
    people: Iterable[Person],
    template: Template,
    context: MessageContext,
    role: str,
    invite: bool = False,
) -> list[Notification]:
    seen: set[str] = set()
    out: list[Notification] = []
    for person in people:
        address = _address(person)
        if address in seen:
            continue
        seen.add(address)
        out.append(
            Notification(
                key=f"{spec.cycle_id}/{key_stem}/{role}/{address}",
                template=template,
                locale=spec.locale,
                to=person,
                role=role,
                context=context,
                invite=invite,
            )
        )
    return out


def unit_message(
    spec: CycleSpec, unit_state: UnitState, step: str, template: Template, invite: bool = False, **extra: object
) -> list[Notification]:
    """A message to a unit's contacts about its own deadline (with its portal link)."""
    unit = unit_by_id(spec, unit_state.unit_id)
    context = unit_context(spec, unit, unit_state.due, **extra)
    stem = f"{step}@{unit_state.due_version}/{unit.id}"
    return to_people(spec, stem, unit.contacts, template, context, Recipient.UNIT_CONTACT.value, invite)


def extension_request_message(
    spec: CycleSpec, unit_state: UnitState, step: str, reason: str, wanted: dt.date
) -> list[Notification]:
    """延期申请 to the office at once: which unit, until when, why, and its deadline as it stands."""
    unit = unit_by_id(spec, unit_state.unit_id)
    context = base_context(spec).model_copy(
        update={"unit_id": unit.id, "unit_name": unit.name, "due": unit_state.due, "reason": reason, "wanted": wanted}
    )
    stem = f"{step}@{unit_state.due_version}/{unit.id}"
    office = recipients(spec, Recipient.OFFICE, None)
    return to_people(spec, stem, office, Template.EXTENSION_REQUESTED, context, Recipient.OFFICE.value)


def late_line(spec: CycleSpec, unit_state: UnitState, days_late: int) -> UnitLine:
    unit = unit_by_id(spec, unit_state.unit_id)
    return UnitLine(unit_id=unit.id, unit_name=unit.name, due=unit_state.due, status="overdue", days_late=days_late)


def _date_only(lines: list[UnitLine]) -> list[UnitLine]:
    # A list line prints the date only: without the rule's wording a 1,000-line list stays ~150 KB.
    # Units sharing a deadline share its date-only copy (one copy, not one per line).
    dates: dict[tuple[object, ...], Due] = {}
    out = []
    for line in lines:
        if line.due is None:
            out.append(line)
            continue
        key = (line.due.at, line.due.tz, line.due.provisional)
        if key not in dates:
            dates[key] = line.due.model_copy(update={"rule": "", "rule_zh": ""})
        out.append(line.model_copy(update={"due": dates[key]}))
    return out


def share_lists(
    messages: list[Notification], repeated_only: bool = False
) -> tuple[list[Notification], dict[str, MessageContext]]:
    """Messages that carry a list of units and share one context: the context once, the messages by name.

    A bulletin to every unit of a 1,000-unit office is then one 1,000-line list and 1,000 short
    notifications, not 1,000 copies of the list (which once grew a cycle's history past 50 MB).
    The shared lines keep each unit's date, not the rule's wording. (Only here, behind the cycle's
    `lists-once` patch: shorter lines change where a large outbox splits into batches, so running
    histories that sent full lines must keep them.)

    `repeated_only`: a one-line list that only one message carries (a unit leader's escalation names
    their own unit) stays in its message: sharing it saves nothing and cost two copies per message,
    most of a 1,000-unit escalation instant's time (behind the cycle's `instant-order` patch).
    """
    shared: dict[str, MessageContext] = {}
    names: dict[int, str] = {}
    out: list[Notification] = []
    uses = Counter(id(n.context) for n in messages) if repeated_only else None
    for n in messages:
        lines = len(n.context.late_units) + len(n.context.missing_units)
        if not lines or (uses is not None and uses[id(n.context)] < 2 and lines < 2):
            out.append(n)
            continue
        name = names.setdefault(id(n.context), f"list:{n.key}")
        if name not in shared:
            shared[name] = n.context.model_copy(
                update={
                    "late_units": _date_only(n.context.late_units),
                    "missing_units": _date_only(n.context.missing_units),
                }
            )
        out.append(n.model_copy(update={"context": MessageContext(), "shared": name}))
    return out, shared


def escalation_messages(
    spec: CycleSpec,
    step: str,
    index: int,
    late: list[tuple[UnitState, int]],
    version_tag: str,
    withdrawn: frozenset[str] = frozenset(),
) -> list[Notification]:
    """One escalation rung at one instant: per-unit messages to unit roles, one per person otherwise.

    Leaders of several late units at the same instant get one message each here; the mail
    activity merges a person's messages of one batch into a digest.
    """
    esc = spec.obligation.escalations[index]
    level = index + 1
    out: list[Notification] = []
    lines = [late_line(spec, u, d) for u, d in late]
    if esc.webhooks:
        # A group robot gets one message per rung listing every late unit, like a bulletin.
        template = Template.BULLETIN if esc.bulletin else Template.ESCALATION
        context = base_context(spec).model_copy(update={"late_units": lines, "escalation_level": level})
        robots = [Person(name=hook, webhook=hook) for hook in esc.webhooks]
        out += to_people(spec, f"{step}/{version_tag}", robots, template, context, "webhook")
    for role in esc.recipients:
        if esc.bulletin or role in (Recipient.LEADERSHIP, Recipient.OFFICE, Recipient.ALL_UNITS):
            template = Template.BULLETIN if esc.bulletin else Template.ESCALATION
            context = base_context(spec).model_copy(update={"late_units": lines, "escalation_level": level})
            people = recipients(spec, role, None, withdrawn)
            out += to_people(spec, f"{step}/{version_tag}", people, template, context, role.value)
            continue
        for unit_state, days in late:
            unit = unit_by_id(spec, unit_state.unit_id)
            line = late_line(spec, unit_state, days)
            context = unit_context(spec, unit, unit_state.due, late_units=[line], escalation_level=level)
            context.portal_link = role is Recipient.UNIT_CONTACT
            stem = f"{step}@{unit_state.due_version}/{unit.id}"
            out += to_people(spec, stem, recipients(spec, role, unit), Template.ESCALATION, context, role.value)
    return out


def office_message(
    spec: CycleSpec, state: CycleState, step: str, template: Template, **extra: object
) -> list[Notification]:
    context = base_context(spec).model_copy(update={"due": state.upward_due, **extra})
    return to_people(spec, step, recipients(spec, Recipient.OFFICE, None), template, context, "office")


def rollup_message(spec: CycleSpec, state: CycleState, package: RollupPackage) -> list[Notification]:
    """The consolidated package by mail, when the upper office does not run its cycle here."""
    upper = spec.upper_office
    if upper is None or not upper.email:
        return []
    missing = [late_line(spec, state.units[u], 0) for u in package.missing]
    context = base_context(spec).model_copy(update={"due": state.upward_due, "missing_units": missing})
    person = Person(name=upper.name, email=upper.email)
    out = to_people(spec, f"rollup/{package.package.sha256[:12]}", [person], Template.ROLLUP, context, "upper_office")
    attachments = [package.package] + ([package.summary] if package.summary else [])
    return [n.model_copy(update={"attachments": attachments}) for n in out]
