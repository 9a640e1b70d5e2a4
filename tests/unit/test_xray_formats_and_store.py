"""X-Ray's trace header as AWS writes it, and the emulator's trace store: bounded, windowed, and
answering each caller with the segments they may see."""

from __future__ import annotations

import pytest

from workshop.aws.xray import TraceHeader, new_segment_id, new_trace_id
from workshop.emulator.xray_store import BadSegment, TraceStore


def test_a_header_reads_and_writes_as_aws_documents_it():
    text = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    header = TraceHeader.parse(text)
    assert header == TraceHeader("1-5759e988-bd862e3fe1be46a994272793", "53995c3f42cd8ad8", True)
    assert str(header) == text
    assert TraceHeader.parse("Root=1-5759e988-bd862e3fe1be46a994272793").sampled is None, "no decision yet"
    assert TraceHeader.parse("Root=oops;Sampled=1") is None, "no well-formed Root: a new trace"
    assert TraceHeader.parse(None) is None
    assert str(header.under("0123456789abcdef")).count("Parent=0123456789abcdef") == 1


def test_ids_have_xrays_shapes():
    assert new_trace_id(0x5759E988).startswith("1-5759e988-") and len(new_trace_id()) == 35
    assert len(new_segment_id()) == 16 and int(new_segment_id(), 16) >= 0


def segment(trace_id, start, **more):
    return {
        "name": "s",
        "id": new_segment_id(),
        "trace_id": trace_id,
        "start_time": start,
        "end_time": start + 1,
        **more,
    }


def test_the_store_keeps_the_newest_traces_and_refuses_what_xray_refuses():
    store = TraceStore(max_traces=3)
    ids = [new_trace_id() for _ in range(4)]
    for number, trace_id in enumerate(ids):
        store.put(segment(trace_id, 1000.0 + number))
    found, missing = store.traces(ids)
    assert [t["Id"] for t in found] == ids[1:] and missing == ids[:1]
    with pytest.raises(BadSegment) as bad:
        store.put({"name": "s", "id": new_segment_id(), "trace_id": ids[1], "start_time": 1.0})
    assert bad.value.code == "MissingParam"
    with pytest.raises(BadSegment) as bad:
        store.put(segment("not-a-trace", 1.0))
    assert bad.value.code == "InvalidTraceId"


def test_summaries_keep_to_their_window_and_a_caller_sees_their_own():
    store = TraceStore()
    early, late = new_trace_id(), new_trace_id()
    store.put(segment(early, 1000.0), owner="ana-fn")
    parent = segment(late, 5000.0)
    store.put(parent, owner="ana-fn")
    store.put(segment(late, 5000.5, type="subsegment", parent_id=parent["id"], name="DynamoDB"), owner="bob-fn")
    everything = lambda segments: True  # noqa: E731
    summaries, processed = store.summaries(4000.0, 6000.0, everything)
    assert [s["Id"] for s in summaries] == [late] and processed == 1
    (trace,), _ = store.traces([late])
    assert [s["name"] for s in trace["Segments"][0]["Document"]["subsegments"]] == ["DynamoDB"]
    (trace,), _ = store.traces([late], visible=lambda owner: owner == "ana-fn")
    assert "subsegments" not in trace["Segments"][0]["Document"], "bob's subsegment is not ana's to see"
