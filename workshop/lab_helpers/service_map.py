"""A class of traces as a service map: every service the pipeline's traces went through, and how
often each call went well, was refused (an error) or failed (a fault), from X-Ray's GetServiceGraph
(https://docs.aws.amazon.com/xray/latest/api/API_GetServiceGraph.html).

Lambda shows as two nodes of one name, as on AWS: the service (``AWS::Lambda``: the event taken
and handed over) and the function (``AWS::Lambda::Function``: the handler's run).
"""

from __future__ import annotations

import time
from typing import Any

from workshop.core import backend as backends
from workshop.core.backend import Backend
from workshop.lab_helpers.diagrams import Diagram, label

__all__ = ["service_map"]

_SHORT_TYPES = {
    "AWS::Lambda": "Lambda",
    "AWS::Lambda::Function": "function",
    "AWS::DynamoDB::Table": "DynamoDB table",
    "AWS::S3::Bucket": "S3 bucket",
    "AWS::SQS::Queue": "SQS queue",
    "AWS::SNS": "SNS",
    "client": "client",
    "emulator::EventSourceMapping": "event source mapping (emulator)",
}


def service_map(since: float | None = None, aws: Backend | None = None, prefix: str | None = None) -> Diagram:
    """The map of the traces that started since ``since`` (epoch seconds; the last hour when not
    given); ``prefix``: only the services whose names start with it (and the calls to them)."""
    aws = aws or backends.current()
    now = time.time()
    services = aws.client("xray").get_service_graph(StartTime=since or now - 3600, EndTime=now + 5)["Services"]
    return draw(services, prefix)


def draw(services: list[dict[str, Any]], prefix: str | None = None) -> Diagram:
    by_reference = {s["ReferenceId"]: s for s in services}
    shown = [s for s in services if not prefix or s["Name"].startswith(prefix) or s["Type"] == "client"]
    shown_ids = {s["ReferenceId"] for s in shown}
    lines, text = ["flowchart LR"], []
    for service in shown:
        kind = _SHORT_TYPES.get(service["Type"], service["Type"])
        counts = _counts(service["SummaryStatistics"])
        lines.append(f'    s{service["ReferenceId"]}["{label(service["Name"])}<br/>{label(kind)}<br/>{label(counts)}"]')
        text.append(f"{service['Name']} ({kind}): {counts}")
    for service in shown:
        for edge in service.get("Edges", []):
            if edge["ReferenceId"] not in shown_ids:
                continue
            counts = _counts(edge["SummaryStatistics"])
            arrow = "-.->" if edge.get("EdgeType") == "link" else "-->"
            lines.append(f'    s{service["ReferenceId"]} {arrow}|"{label(counts)}"| s{edge["ReferenceId"]}')
            text.append(f"  {service['Name']} → {by_reference[edge['ReferenceId']]['Name']}: {counts}")
    if not shown:
        text.append("(no traces in this time window)")
    return Diagram("\n".join(lines), "\n".join(text))


def _counts(statistics: dict[str, Any]) -> str:
    """``3 ok · 1 error · 1 fault``: what a node or edge saw."""
    parts = [f"{statistics.get('OkCount', 0)} ok"]
    errors = (statistics.get("ErrorStatistics") or {}).get("TotalCount", 0)
    faults = (statistics.get("FaultStatistics") or {}).get("TotalCount", 0)
    if errors:
        parts.append(f"{errors} error{'s' if errors > 1 else ''}")
    if faults:
        parts.append(f"{faults} fault{'s' if faults > 1 else ''}")
    return " · ".join(parts)
