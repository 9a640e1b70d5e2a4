"""The teaching switches kept per participant (workshop.emulator.scopes), without an emulator."""

import pytest

from workshop.core.launcher import PARTICIPANT_HEADER
from workshop.emulator.scopes import ScopedChaos, caller_scope
from workshop.emulator.settings import Chaos

OFF = {"duplicate_rate": 0.0, "failure_rate": 0.0, "delay_ms": 0, "seed": None, "failing": ["async", "stream", "sqs"]}


def _environ(prefix):
    return {"HTTP_" + PARTICIPANT_HEADER.upper().replace("-", "_"): prefix}


def test_the_caller_is_the_prefix_the_request_names_when_it_is_one():
    assert caller_scope(_environ("wkshp-ana")) == "wkshp-ana"
    assert caller_scope({}) is None
    for not_a_prefix in ("", "Ana", "-x", "a" * 21, "../etc"):
        assert caller_scope(_environ(not_a_prefix)) is None, not_a_prefix


def test_a_participants_switches_act_on_their_resources_only():
    switches = ScopedChaos(Chaos())
    assert switches.update({"failure_rate": 1.0}, "ana")["failure_rate"] == 1.0
    assert switches.view("ana")["failure_rate"] == 1.0
    assert switches.view("bob") == switches.view() == OFF
    assert switches.for_resource("ana-recorder").fail("async")
    assert not switches.for_resource("bob-recorder").fail("async")
    assert not switches.for_resource("anatomy-recorder").fail("async"), "a prefix owns '<prefix>-...' only"
    switches.update({"failure_rate": 0.0}, "ana-b")
    assert not switches.for_resource("ana-b-recorder").fail("async"), "the longest prefix owns a name"


def test_the_room_reaches_what_a_participant_did_not_set_for_themselves():
    switches = ScopedChaos(Chaos())
    switches.update({"failure_rate": 1.0}, "ana")
    switches.update({"duplicate_rate": 1.0, "failure_rate": 0.5})
    assert switches.view("ana")["duplicate_rate"] == 1.0 and switches.view("ana")["failure_rate"] == 1.0
    assert switches.view("bob")["failure_rate"] == 0.5
    assert switches.for_resource("ana-uploads").duplicate()


def test_a_refused_value_changes_nothing():
    switches = ScopedChaos(Chaos())
    with pytest.raises(ValueError, match="between 0 and 1"):
        switches.update({"duplicate_rate": 0.5, "failure_rate": 2}, "ana")
    assert switches.view("ana") == OFF
    switches.update({"delay_ms": 5}, "ana")
    with pytest.raises(ValueError, match="unknown chaos switches"):
        switches.update({"delay_ms": 9, "loss_rate": 0.1}, "ana")
    assert switches.view("ana")["delay_ms"] == 5
