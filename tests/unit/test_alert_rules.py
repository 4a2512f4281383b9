"""deploy/monitoring/duban-alerts.yaml: a valid rule file, PromQL that parses, metric names the worker exports.

promtool is not installable from PyPI; the rule-file structure is checked here the way
`promtool check rules` checks it (groups, unique names, durations, templates), and each
expression is parsed by promql-parser (the Rust PromQL parser's Python binding).
"""

import re
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from activities.mail import REFUSALS_METRIC

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "deploy" / "monitoring" / "duban-alerts.yaml"
GUIDE = REPO / "docs" / "operations.md"

# The gauges duban's worker exports, read from the code that creates them (workers/gauges.py,
# workers/health.py), plus the mail activity's counter: a renamed gauge breaks this test.
DUBAN_METRICS = {
    *re.findall(
        r'create_gauge(?:_float)?\(\s*"(duban_\w+)"',
        (REPO / "workers" / "gauges.py").read_text(encoding="utf-8")
        + (REPO / "workers" / "health.py").read_text(encoding="utf-8"),
    ),
    REFUSALS_METRIC,
}
# Temporal SDK (core) metric names, as the SDK's Prometheus exporter names them; histograms
# add _bucket/_sum/_count.
SDK_METRICS = {
    "temporal_workflow_task_execution_failed",
    "temporal_workflow_task_schedule_to_start_latency",
    "temporal_activity_schedule_to_start_latency",
    "temporal_activity_execution_failed",
}
# Temporal server metrics (common/metrics/defs.go).
SERVER_METRICS = {"persistence_errors", "persistence_requests"}
DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")
SEVERITIES = {"critical", "warning", "info"}


def load(text: str) -> dict[str, Any]:
    doc = yaml.safe_load(text)
    assert isinstance(doc, dict)
    return doc


def metric_names(node: Any) -> set[str]:
    """Every metric a PromQL expression selects, from the parsed tree."""
    names: set[str] = set()
    if type(node).__name__ == "VectorSelector" and node.name:
        names.add(node.name)
    for attr in ("lhs", "rhs", "expr", "args", "param", "vector_selector"):
        child = getattr(node, attr, None)
        for item in child if isinstance(child, list) else [child]:
            if item is not None and not isinstance(item, (int, float, str)):
                names |= metric_names(item)
    return names


def base_name(name: str) -> str:
    return re.sub(r"_(bucket|sum|count)$", "", name)


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    found = set()
    for heading in re.findall(r"^#+ (.+)$", markdown, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        found.add(slug)
    return found


def rule_problems(doc: dict[str, Any], guide: str) -> list[str]:
    """What `promtool check rules` would reject, plus our own conventions (severity, runbook, known metrics)."""
    problems: list[str] = []
    groups = doc.get("groups")
    if not isinstance(groups, list) or not groups:
        return ["no groups"]
    group_names = [g.get("name") for g in groups]
    if len(set(group_names)) != len(group_names):
        problems.append(f"duplicate group names: {group_names}")
    known = DUBAN_METRICS | SDK_METRICS | SERVER_METRICS
    sections = anchors(guide)
    seen: set[str] = set()
    for group in groups:
        for rule in group.get("rules") or []:
            name = rule.get("alert") or rule.get("record")
            where = f"{group.get('name')}/{name}"
            if not name or ("alert" in rule) == ("record" in rule):
                problems.append(f"{where}: a rule is either an alert or a record")
                continue
            if name in seen:
                problems.append(f"{where}: alert name used twice")
            seen.add(name)
            unknown_keys = set(rule) - {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"}
            if unknown_keys:
                problems.append(f"{where}: unknown fields {sorted(unknown_keys)}")
            try:
                tree = promql_parser.parse(rule.get("expr", ""))
            except ValueError as error:
                problems.append(f"{where}: PromQL does not parse: {error}")
                continue
            for metric in metric_names(tree):
                if base_name(metric) not in known and metric not in known:
                    problems.append(f"{where}: unknown metric {metric}")
            if "for" in rule and not DURATION.match(str(rule["for"])):
                problems.append(f"{where}: bad duration {rule['for']!r}")
            labels = rule.get("labels") or {}
            if labels.get("severity") not in SEVERITIES:
                problems.append(f"{where}: severity must be one of {sorted(SEVERITIES)}")
            annotations = rule.get("annotations") or {}
            if "summary" not in annotations:
                problems.append(f"{where}: no summary")
            for key, text in annotations.items():
                # Go templates: every action opened is closed, none empty.
                actions = re.findall(r"{{(.*?)}}", text)
                if (
                    text.count("{{") != text.count("}}")
                    or len(actions) != text.count("{{")
                    or not all(a.strip() for a in actions)
                ):
                    problems.append(f"{where}: annotation {key} template is not balanced")
            runbook = str(annotations.get("runbook", ""))
            page, _, anchor = runbook.partition("#")
            if page != "docs/operations.md" or anchor not in sections:
                problems.append(f"{where}: runbook {runbook!r} is not a section of docs/operations.md")
    return problems


class TestAlertRules:
    def test_the_committed_rules_pass(self) -> None:
        """Every group and rule is well formed, parses as PromQL, uses known metrics, links a runbook section."""
        doc = load(RULES.read_text(encoding="utf-8"))
        assert rule_problems(doc, GUIDE.read_text(encoding="utf-8")) == []

    def test_they_cover_what_the_issue_asks_for(self) -> None:
        """Workflow-task failures, stuck cycles, schedule-to-start, unsent mail age, auth refusals, persistence."""
        doc = load(RULES.read_text(encoding="utf-8"))
        exprs = " ".join(r["expr"] for g in doc["groups"] for r in g["rules"])
        for metric in [
            "temporal_workflow_task_execution_failed",
            "duban_cycles_failing_workflow_task",
            "temporal_workflow_task_schedule_to_start_latency",
            "duban_oldest_unsent_message_age_seconds",
            "SmtpAuthRefused",
            "persistence_errors",
        ]:
            assert metric in exprs, metric

    @pytest.mark.parametrize(
        ("change", "expected"),
        [
            (lambda t: t.replace("[10m])) > 0", "[10m]) > 0", 1), "does not parse"),
            (
                lambda t: t.replace("duban_oldest_unsent_message_age_seconds", "duban_oldest_unsent_age"),
                "unknown metric",
            ),
            (lambda t: t.replace("for: 10m", "for: ten minutes", 1), "bad duration"),
            (lambda t: t.replace("severity: critical", "severity: urgent", 1), "severity"),
            (lambda t: t.replace("#a-stuck-cycle", "#no-such-section", 1), "runbook"),
            (lambda t: t.replace("alert: DubanActivityBacklog", "alert: DubanWorkflowTaskBacklog"), "used twice"),
            (lambda t: t.replace("{{ $labels.type }}", "{{ $labels.type }", 1), "template"),
        ],
        ids=["promql", "metric", "duration", "severity", "runbook", "duplicate", "template"],
    )
    def test_a_broken_rule_file_is_caught(self, change: Any, expected: str) -> None:
        """Each kind of break is reported."""
        doc = load(change(RULES.read_text(encoding="utf-8")))
        problems = rule_problems(doc, GUIDE.read_text(encoding="utf-8"))
        assert any(expected in p for p in problems), problems
