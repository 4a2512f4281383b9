"""The words a lead shows people: stage, decision and state names as Decree 310 and office practice write them.

Stage names, decisions and track states keep their English codes wherever a
machine reads them (`duban lead show --json`, the `DubanStage` search
attribute, Update names, histories); everything a person reads — mail, console
and portal pages, the CLI's plain output — goes through these tables. Unknown
codes come back as they are, so an older history never breaks a page.
"""

from domain.lead_policies import default_policies
from schemas.calendar import RuleKind
from schemas.lead import Decision, StageName, TrackState

STAGE_ZH: dict[StageName, str] = {
    StageName.SIGN: "签收",
    StageName.DECIDE: "审查决定",
    StageName.FEEDBACK: "进展反馈",
    StageName.CLOSE: "办结",
    StageName.APPROVE: "移送审批",  # 第五条: 负责人批准或者不批准移送
    StageName.TRANSFER: "移送",  # 第五条: 批准后24小时内移送公安机关
    StageName.FILE: "立案审查",  # 第八条
    StageName.RECONSIDER_REQUEST: "提请复议",  # 第九条
    StageName.RECONSIDER: "复议决定",  # 第九条
    StageName.HANDOVER: "材料移交",  # 立案后移交涉案物品和材料
}

DECISION_ZH: dict[Decision, str] = {
    Decision.OPEN: "立案",
    Decision.DECLINE: "不予立案",
    Decision.TRANSFER: "转交其他机关",
    Decision.POLICE: "移送公安机关",
}

TRACK_STATE_ZH: dict[TrackState, str] = {
    TrackState.ACTIVE: "办理中",
    TrackState.CLOSED: "已办结",
    TrackState.DECLINED: "不予立案",
    TrackState.TRANSFERRED: "已转交其他机关",
    TrackState.NOT_APPROVED: "不批准移送",
    TrackState.NOT_FILED: "公安机关不予立案",
    TrackState.HANDED_OVER: "已立案，材料已移交",
}

# The `what` of a lead's timeline events (schemas.lead.LeadEvent).
EVENT_ZH: dict[str, str] = {
    "referred": "线索移送",
    "signed_for": "签收",
    "feedback": "进展反馈",
    "closed_track": "办结",
    "approved": "批准移送",
    "not_approved": "不批准移送",
    "transferred": "移送公安机关",
    "reconsideration_requested": "提请复议",
    "handed_over": "材料移交",
    "involved": "提前介入",
    "missed": "超期未办",
    "closed": "全部办结",
    "mail_failed": "邮件发送失败",
    "mail_refused": "邮件被拒收",
    "mail_no_address": "无邮箱地址",
    "portal_link": "发送专用链接",
    "deadline_moved": "时限调整",
    "extension_requested": "申请延期",
    "extension_granted": "批准延期",
    "extension_refused": "不予延期",
    "links_revoked": "撤销专用链接",
}

# The unit an extension is counted in: the stage limit's own.
LIMIT_UNIT_ZH: dict[RuleKind, str] = {
    RuleKind.DAYS: "日",
    RuleKind.WORKING_DAYS: "个工作日",
    RuleKind.HOURS: "小时",
    RuleKind.MINUTES: "分钟",
    RuleKind.MONTHS: "个月",
    RuleKind.FIXED: "日",
}


def stage_zh(code: str) -> str:
    """A stage code (or the lead's `closed` label) in Chinese; an unknown code as it is."""
    if code == "closed":
        return "已办结"
    if code == "involve":  # the stage field of an early-involvement notice
        return "提前介入"
    try:
        return STAGE_ZH[StageName(code)]
    except ValueError:
        return code


def decision_zh(code: str) -> str:
    try:
        return DECISION_ZH[Decision(code)]
    except ValueError:
        return code


def track_state_zh(code: str) -> str:
    try:
        return TRACK_STATE_ZH[TrackState(code)]
    except ValueError:
        return code


def event_zh(what: str) -> str:
    """A timeline event in Chinese: `decided:police` → 审查决定：移送公安机关, `escalation:2` → 第2级督办."""
    head, _, tail = what.partition(":")
    if head == "decided":
        return f"决定：{decision_zh(tail)}"
    if head == "escalation":
        return f"第{tail}级督办"
    if head == "track":
        return track_state_zh(tail)
    return EVENT_ZH.get(what, what)


# The built-in policies read as the decree names them; a plan's own policy keeps its name.
POLICY_ZH: dict[str, str] = {p.name: p.title for p in default_policies()}


def policy_zh(name: str) -> str:
    return POLICY_ZH.get(name, name)
