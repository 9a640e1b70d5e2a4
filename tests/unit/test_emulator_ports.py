"""EmulatorService provides every member of every port its parts declare, with calls that fit."""

import inspect

import pytest

from workshop.emulator.ports import AdminService, AlarmService, GatewayService, InvokeApiService, PollerService
from workshop.emulator.service import EmulatorService

PORTS = [AdminService, AlarmService, GatewayService, InvokeApiService, PollerService]


def members(port):
    """(data members, methods) a Protocol declares, its own and its bases'."""
    data, methods = set(), {}
    for cls in reversed(port.__mro__):
        if not getattr(cls, "_is_protocol", False) or cls.__module__ == "typing":
            continue
        data |= set(getattr(cls, "__annotations__", {}))
        methods |= {
            name: value for name, value in vars(cls).items() if inspect.isfunction(value) and not name.startswith("_")
        }
    return data, methods


@pytest.fixture(scope="module")
def service():
    emulator = EmulatorService("http://127.0.0.1:9")
    yield emulator
    emulator.shutdown()


@pytest.mark.parametrize("port", PORTS, ids=lambda port: port.__name__)
def test_every_port_declares_something(port):
    data, methods = members(port)
    assert data or methods


@pytest.mark.parametrize("port", PORTS, ids=lambda port: port.__name__)
def test_the_service_provides_every_member(service, port):
    data, methods = members(port)
    missing = [name for name in data | set(methods) if not hasattr(service, name)]
    assert not missing, f"EmulatorService lacks {missing} of {port.__name__}"
    assert isinstance(service, port)


POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@pytest.mark.parametrize("port", PORTS, ids=lambda port: port.__name__)
def test_the_service_accepts_every_call_a_port_allows(port):
    """The port's positional parameters lead the method's, in order; its keyword ones are the
    method's too; a default in the port is the method's default; the method's others have one."""
    for name, declared in members(port)[1].items():
        wanted = list(inspect.signature(declared).parameters.values())[1:]
        actual = list(inspect.signature(getattr(EmulatorService, name)).parameters.values())[1:]
        by_name = {p.name: p for p in actual}
        where = f"{port.__name__}.{name} vs EmulatorService.{name}"
        positional = [p.name for p in wanted if p.kind in POSITIONAL]
        assert [p.name for p in actual[: len(positional)] if p.kind in POSITIONAL] == positional, where
        for parameter in wanted:
            assert parameter.name in by_name, f"{where}: no {parameter.name}"
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY:
                assert by_name[parameter.name].kind in (
                    inspect.Parameter.POSITIONAL_OR_KEYWORD,
                    inspect.Parameter.KEYWORD_ONLY,
                ), f"{where}: {parameter.name}"
            if parameter.default is not inspect.Parameter.empty:
                assert by_name[parameter.name].default == parameter.default, f"{where}: {parameter.name}'s default"
        others = [
            p.name for p in actual if p.name not in {w.name for w in wanted} and p.default is inspect.Parameter.empty
        ]
        assert not others, f"{where}: {others} would be missing from the port's calls"
