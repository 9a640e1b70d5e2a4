"""A journey's segments drawn as a mermaid sequence diagram, with the same story in numbered lines.

Each invocation is a block of its own (its event, the calls its handler made with what each
answered, how it ended), the blocks in the order the events came, so two runs of one function at
once do not interleave. Who sent an event is read from the segment it hangs under (the call that
caused it); a trace AWS keeps apart (an SQS consumer's, linked; a stream consumer's, which the
emulator ties to its write) is drawn from the queue or stream it came through. What only the
emulator knows is said as its own (``emulator: ...``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from workshop.aws import xray
from workshop.core.naming import Names
from workshop.lab_helpers.diagrams import Diagram, label

__all__ = ["AWS_NOTES", "NOTEBOOK", "draw"]

NOTEBOOK = "notebook"
# AWS's own limits on what the diagram may say: https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html
AWS_NOTES = (
    "On AWS: a handler's own calls appear only when it is instrumented (X-Ray SDK, Powertools' Tracer); "
    "an SQS consumer's trace is linked to the sender's, not continued; a stream consumer's starts anew; "
    "Lambda records the first request each second and 5% of the rest.",
)
# Calls after which a function's event may come: the services that deliver to Lambda.
_DELIVERING = {"PutObject", "CopyObject", "Publish", "Invoke"}
_SENDS = {"SendMessage", "SendMessageBatch"}


@dataclass(frozen=True)
class _Step:
    at: float
    source: str
    target: str
    message: str
    arrow: str = "->>"  # mermaid: ->> a call, -) an event delivered, -x a refusal
    note: str | None = None  # said over the target after the step


def draw(segments: list[dict[str, Any]], on_aws: bool = False, names: Names | None = None) -> Diagram:
    """The sequence diagram of these segments (of one trace and those it caused): each invocation
    a block of its own (its event, its calls, how it ended), the blocks in the order the events
    came, so two runs of one function at once do not interleave."""
    by_id = {e["id"]: e for s in segments for e in xray.entities(s)}
    owner = {e["id"]: s for s in segments for e in xray.entities(s)}
    runs = {s["parent_id"]: s for s in segments if s.get("origin") == "AWS::Lambda::Function" and s.get("parent_id")}
    blocks: list[tuple[float, bool, list[_Step]]] = []  # (when, an invocation's, steps)
    invocations: dict[str, int] = {}
    for segment in sorted(segments, key=lambda s: s["start_time"]):
        origin = segment.get("origin")
        if origin == "AWS::Lambda":
            number = invocations[segment["name"]] = invocations.get(segment["name"], 0) + 1
            steps = [_delivery(segment, by_id, owner, segments, number)]
            run = runs.get(segment["id"])
            steps += _handler(run, number) if run else []
            blocks.append((segment["start_time"], True, steps))
        elif origin == "emulator::EventSourceMapping":
            table = (segment.get("annotations") or {}).get("emulator_source")
            source = f"stream of DynamoDB {table}" if table else "DynamoDB stream"
            event = segment.get("annotations", {}).get("emulator_filtered", "record")
            dropped = _Step(
                segment["start_time"], source, _function(segment["name"]), f"{event} filtered out (emulator)", "-x"
            )
            blocks.append((segment["start_time"], False, [dropped]))
        elif origin == "emulator::SQS::DeadLetterQueue":
            sent = _latest_call(by_id.get(segment.get("parent_id") or ""), segment["start_time"], _SENDS)
            receives = segment.get("annotations", {}).get("emulator_dead_lettered", "its")
            moved = _Step(
                segment["start_time"],
                _resource(sent) if sent else "SQS",
                f"SQS {segment['name']}",
                f"moved to the dead-letter queue after {receives} receives (emulator)",
                "-)",
            )
            blocks.append((segment["start_time"], False, [moved]))
        elif not origin:
            blocks += [(c["start_time"], False, [_call(segment.get("name", NOTEBOOK), c)]) for c in _calls(segment)]
    blocks.sort(key=lambda block: block[0])
    participants: list[str] = []
    for _, _, steps in blocks:
        for step in steps:
            participants += [name for name in (step.source, step.target) if name not in participants]
    ids = {name: f"p{number}" for number, name in enumerate(participants, 1)}  # the same in every run
    # Narrow enough to read in a notebook's width: the participants not repeated at the bottom, long
    # messages wrapped, keys cut to their last part, and the boxes name resources without the
    # participant's prefix (the text below keeps every name and key whole).
    lines = [
        '%%{init: {"sequence": {"mirrorActors": false, "wrap": true, "actorMargin": 30, "width": 150}}}%%',
        "sequenceDiagram",
        "    autonumber",
    ]
    if names is not None:
        lines.append(f"    title {label(names.prefix)}-… resources: their names below without the prefix")
    lines += [f"    participant {ids[p]} as {label(_short(p, names))}" for p in participants]
    text: list[str] = []
    for _, invocation, steps in blocks:
        lines += ["    rect rgba(128, 128, 128, 0.08)"] if invocation else []
        for step in steps:
            lines.append(f"    {ids[step.source]}{step.arrow}{ids[step.target]}: {label(_brief(step.message))}")
            text.append(f"{len(text) + 1}. {step.source} → {step.target}: {step.message}")
            if step.note:
                lines.append(f"    Note over {ids[step.target]}: {label(step.note)}")
                text[-1] += f"\n   {step.note}"
        lines += ["    end"] if invocation else []
    if not blocks:
        text.append("(nothing recorded in this trace yet)")
    return Diagram("\n".join(lines), "\n".join(text), AWS_NOTES if on_aws else ())


def _brief(message: str) -> str:
    """A message with each object key cut to its last part: ``PutObject …/batch-00001.csv ✓``."""
    return re.sub(r"\S+/(\S+)", r"…/\1", message)


def _short(participant: str, names: Names | None) -> str:
    """``λ learner-cap-orders-intake`` as ``λ cap-orders-intake``: the participant's own prefix
    (and on AWS the buckets' account and region) said once, in the title, not in every box."""
    if names is None:
        return participant
    kind, _, resource = participant.rpartition(" ")
    resource = resource.removeprefix(f"{names.prefix}-")
    if names.bucket_suffix:
        resource = resource.removesuffix(names.bucket_suffix)
    return f"{kind} {resource}".strip()


def _calls(segment: dict[str, Any]) -> list[dict[str, Any]]:
    """The segment's calls out: AWS SDK calls, and HTTP calls to other services."""
    return [s for s in segment.get("subsegments", []) if s.get("namespace") in ("aws", "remote")]


def _function(name: str) -> str:
    return f"λ {name}"


def _resource(call: dict[str, Any]) -> str:
    """The participant a call went to: the service and the resource it named."""
    if call.get("namespace") == "remote":
        return call["name"]
    fields = call.get("aws") or {}
    named = (
        fields.get("table_name")
        or fields.get("bucket_name")
        or (fields.get("queue_url") or "").rsplit("/", 1)[-1]
        or (fields.get("topic_arn") or "").rsplit(":", 1)[-1]
        or fields.get("function_name")
    )
    if call["name"] == "Lambda" and named:
        return _function(named)
    return f"{call['name']} {named}" if named else call["name"]


def _call(caller: str, call: dict[str, Any]) -> _Step:
    if call.get("namespace") == "remote":
        request, status = call["http"]["request"], call["http"]["response"]["status"]
        failed = call.get("error") or call.get("fault")
        return _Step(
            call["start_time"],
            caller,
            call["name"],
            f"{request['method']} {request['url']} → {status}",
            "-x" if failed else "->>",
        )
    fields = call.get("aws") or {}
    operation = fields.get("operation") or call["name"]
    what = f"{operation} {fields['key']}" if fields.get("key") else operation
    if call.get("error") or call.get("fault") or call.get("throttle"):
        refusal = ((call.get("cause") or {}).get("exceptions") or [{}])[0].get("type") or "refused"
        return _Step(call["start_time"], caller, _resource(call), f"{what} ✗ {refusal}", "-x")
    return _Step(call["start_time"], caller, _resource(call), f"{what} ✓")


def _handler(segment: dict[str, Any], number: int) -> list[_Step]:
    """The handler's calls, then how its run ended."""
    me = _function(segment["name"])
    steps = [_call(me, call) for call in _calls(segment)]
    duration = f"{(segment['end_time'] - segment['start_time']) * 1000:.0f} ms"
    init = next((s for s in segment.get("subsegments", []) if s["name"] in ("Init", "Initialization")), None)
    cold = f", cold start {(init['end_time'] - init['start_time']) * 1000:.0f} ms" if init else ""
    if segment.get("fault") or segment.get("error"):
        exception = ((segment.get("cause") or {}).get("exceptions") or [{}])[0]
        outcome = f"failed: {exception.get('type', 'error')} {exception.get('message', '')}".strip()
    else:
        outcome = "returned"
    steps.append(_Step(segment["end_time"], me, me, f"invocation {number} {outcome} after {duration}{cold}", "-->>"))
    return steps


def _delivery(segment: dict[str, Any], by_id: dict, owner: dict, segments: list[dict[str, Any]], number: int) -> _Step:
    """The event that started an invocation: who delivered it, and what the emulator knows of it."""
    target = _function(segment["name"])
    source = _cause(segment, by_id, owner)
    notes = segment.get("annotations") or {}
    message = f"event → invocation {number}"
    if segment.get("links"):
        source = source or _linked_queue(segment, segments) or "SQS"
        message = f"messages → invocation {number} (a trace of its own, linked to the sender's)"
    elif notes.get("emulator_caused_by"):
        table = notes.get("emulator_source")
        source = source or (f"stream of DynamoDB {table}" if table else "DynamoDB stream")
        message = f"stream records → invocation {number} (a new trace: AWS links none)"
    said = [
        f"emulator: {value}" if key == "emulator_delivery" else f"emulator: attempt {value}"
        for key, value in notes.items()
        if key in ("emulator_delivery", "emulator_attempt")
    ]
    if notes.get("emulator_injected_failure"):
        said.append("emulator: reported failed by the teaching switch")
    return _Step(segment["start_time"], source or "caller", target, message, "-)", "; ".join(said) or None)


def _cause(segment: dict[str, Any], by_id: dict, owner: dict) -> str | None:
    """Who sent the event: the resource of the call it hangs under, or of the caller's latest
    delivering call before it (a handler's header names its function segment, not the call)."""
    parent = by_id.get(segment.get("parent_id") or "")
    if parent is None:
        return None
    if parent.get("namespace") in ("aws", "remote"):
        return _resource(parent)
    delivered_by = _latest_call(parent, segment["start_time"], _DELIVERING, http=True)
    if delivered_by:
        return _resource(delivered_by)
    holder = owner.get(parent["id"], parent)
    return _function(holder["name"]) if holder.get("origin") else holder.get("name", NOTEBOOK)


def _latest_call(
    caller: dict[str, Any] | None, before: float, operations: set[str], http: bool = False
) -> dict[str, Any] | None:
    """The caller's last call of one of ``operations`` (or an HTTP call, with ``http``) started by ``before``."""
    earlier = [
        c
        for c in _calls(caller or {})
        if c["start_time"] <= before and (_operation(c) in operations or (http and c.get("namespace") == "remote"))
    ]
    return max(earlier, key=lambda c: c["start_time"]) if earlier else None


def _operation(call: dict[str, Any]) -> str:
    return str((call.get("aws") or {}).get("operation") or "")


def _linked_queue(segment: dict[str, Any], segments: list[dict[str, Any]]) -> str | None:
    """The queue a linked trace's messages were sent to, from the sender's SendMessage."""
    linked = {link["trace_id"] for link in segment.get("links", [])}
    sends = [
        c
        for s in segments
        if s["trace_id"] in linked
        for e in xray.entities(s)
        for c in _calls(e)
        if _operation(c) in _SENDS
    ]
    return _resource(sends[-1]) if sends else None
