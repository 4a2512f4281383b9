"""The Chinese words a reader sees for a cycle's codes (stage, phase, light, kind of report).

The codes stay in English where machines read them (search attributes, `--json`, the API); every page,
sheet and printed board says them with these words.
"""

import re

PHASE_ZH = {"pending": "未报送", "submitted": "已报送", "returned": "退回修改", "waived": "免报", "withdrawn": "已撤回"}
LIGHT_ZH = {
    "green": "已报送",
    "yellow": "即将到期",
    "red": "逾期",
    "grey": "免报",
    "blue": "未到期",
    "withdrawn": "已撤回",
}
STAGE_ZH = {"open": "报送中", "consolidating": "汇总中", "forwarded": "已上报", "closed": "已结束"}
KIND_ZH = {"summary": "工作总结", "work_update": "工作动态", "typical_case": "典型案例", "practice": "经验做法"}


def what_zh(what: str) -> str:
    """A timeline entry's key in words."""
    head = what.split(":", 1)[0]
    words = {
        "notice": "发出通知",
        "remind": "催办提醒",
        "overdue": "已逾期",
        "escalate": "督办升级",
        "reminder": "催办提醒",
        "escalation": "督办升级",
        "chase": "办公室催办",
        "submitted": "报送",
        "extension_requested": "申请延期",
        "extension_approved": "批准延期",
        "extension_refused": "不予延期",
        "returned": "退回修改",
        "waived": "免报",
        "deadline_moved": "截止时间调整",
        "links_revoked": "撤销报送链接",
        "added": "新增报送单位",
        "restored": "恢复报送",
        "withdrawn": "已撤回（不再报送）",
        "amended": "单位信息变更",
        "due": "截止",
        "opened": "开始报送",
        "forward": "上报汇总",
        "forwarded": "已上报",
        "closed": "结束",
        "forward_failed": "上报未成功",
        "rollup_failed": "汇总未成功",
        "rollup_incomplete": "汇总材料缺失",
        "mail_failed": "邮件未送达",
        "office_remind": "提醒办公室上报",
    }
    return words.get(head, what)


# A refusal as the cycle or the upload check words it (English, stable: scripts and --json read it) →
# what the unit's portal says first. Unlisted reasons are shown as they are.
_REASONS_ZH: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), words)
    for pattern, words in (
        (r"was exempted from this report", "本单位本期已免报，无需报送"),
        (r"cycle .* is (already )?closed", "本期报送已结束，不再受理"),
        (r"is still opening", "报送事项正在开启，请稍后再试"),
        (r"already has an extension request waiting", "已有延期申请等待办公室审批"),
        (r"has nothing outstanding", "本单位没有待报送事项"),
        (r"must be after the current due date", "希望延至的日期须晚于当前截止时间"),
        (r"cannot be used as a deadline", "该日期不能作为截止日期"),
        (r"is in the past", "日期已过"),
        (r"file type not accepted", "文件类型不受理（可上传 PDF、Word、Excel、WPS、OFD、图片、文本、压缩包）"),
        (r"the file is empty", "文件为空"),
        (r"is over the limit of", "文件超过大小上限"),
        (r"the content is not a \.", "文件内容与扩展名不符"),
        (r"not a text file", "不是文本文件"),
        (r"too many attachments", "附件过多"),
        (r"submission too large", "本次报送材料总大小超过上限"),
        (r"the most it may send", "本类材料报送次数已达上限，请联系办公室退回修改后再报"),
        (r"the cycle already holds", "本期材料总量已达上限，请联系办公室"),
        (r"stayed busy", "系统繁忙，请稍后再试"),
        (r"outside the send window", "现在不在发送时段（工作日工作时间），请在工作时间催办，或标为紧急"),
        (r"nobody to chase", "没有未报送的单位，无需催办"),
        (r"was withdrawn from this cycle", "本单位已撤出本期报送，无需报送"),
        (r"changed since the difference was shown", "本期单位已有变化，请重新查看差异后再确认"),
        (r"has passed: give new units", "本期截止时间已过，请按计划规则从今天起为新增单位计算截止时间"),
        (r"the plan's due date .* has passed", "计划规定的截止日期已过，不能再新增单位"),
    )
)


def zh_reason(reason: str) -> str:
    """A refusal for a Chinese reader: the Chinese words first, the original after them in brackets."""
    for pattern, words in _REASONS_ZH:
        if pattern.search(reason):
            return f"{words}（{reason}）"
    return reason
