"""moto's server as the emulator runs it: the release it is written for, the account it serves,
its WSGI application and request handler, and which service a host's requests go to."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import moto
from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

PINNED_MOTO_VERSION = "5.2.5"
ACCOUNT_ID = DEFAULT_ACCOUNT_ID

# The environ key of the request's headers as sent: (name, value) pairs, spelling and order kept.
RAW_HEADERS = "workshop.raw_headers"


class RequestHandler(MotoRequestHandler):
    """moto's handler, which preserves header spellings S3 metadata needs (underscores), also
    keeping every header as sent: WSGI upper-cases names, and API Gateway hands a function
    the names as the client spelled them."""

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        environ[RAW_HEADERS] = list(self.headers.items())
        return environ


# moto turns an action's or attribute's name into a Python name (``SendMessage`` ->
# ``send_message``) a character at a time, on every request and, in SQS, twenty times per message
# sent: 5% of the emulator's busy time in the ingest pipeline. The answer depends on the name
# alone; the bound keeps names a caller makes up from growing it.
_NAME_CONVERSIONS = 4096
_MODULES_CONVERTING_NAMES = ("moto.core.utils", "moto.core.responses", "moto.sqs.models", "moto.sns.responses")


def _names_converted_once() -> None:
    import functools
    import importlib

    from moto.core import utils

    original = utils.camelcase_to_underscores
    convert = functools.lru_cache(maxsize=_NAME_CONVERSIONS)(original)
    for name in _MODULES_CONVERTING_NAMES:
        module = importlib.import_module(name)
        # (a module first imported just now took the cached one from moto.core.utils)
        assert module.camelcase_to_underscores in (original, convert), f"{name} converts names its own way"
        module.camelcase_to_underscores = convert


def _actions_listed_once() -> None:
    """moto lists a service's handler methods (``inspect.getmembers``, every attribute of the
    class and its bases) on every request, to see whether the action is one of them: 2% of the
    emulator's busy time in the ingest pipeline. The list changes only when a method is added to
    the class (the redrive API is, before the first request), which the key notices."""
    from moto.core import responses

    original = responses.method_names_from_class
    listed: dict[tuple[type, int], list[str]] = {}

    def method_names_from_class(clazz: type) -> list[str]:
        key = (clazz, len(vars(clazz)))
        if key not in listed:
            listed[key] = original(clazz)
        return listed[key]

    responses.method_names_from_class = method_names_from_class


def version_mismatch() -> str | None:
    """A message when the installed moto is not the one these internals were written for."""
    if moto.__version__ != PINNED_MOTO_VERSION:
        return (
            f"moto {moto.__version__} is installed but the emulator is written for moto "
            f"{PINNED_MOTO_VERSION}; reinstall with 'pip install -r requirements.txt'."
        )
    return None


_before_first_use: dict[str, list[Callable[[], None]]] = {}
_first_use = threading.Lock()


def before_first_use(service: str, patch: Callable[[], None]) -> None:
    """Apply ``patch`` when the first request for ``service`` reaches moto, rather than at start:
    a patch imports its service's moto modules, and some cost seconds (API Gateway's OpenAPI
    validator) that an emulator nobody asks for that service never needs to pay."""
    _before_first_use.setdefault(service, []).append(patch)


_request = threading.local()


def request_trace_header() -> str | None:
    """The ``X-Amzn-Trace-Id`` of the request moto is handling on this thread: the services that
    propagate it (S3's notifications, SNS, SQS's AWSTraceHeader) take it from here."""
    return getattr(_request, "trace", None)


def moto_wsgi_app() -> Any:
    """moto's WSGI application, routing each request to the service its signature names."""

    def create_app(service: str) -> Any:
        with _first_use:
            for patch in _before_first_use.pop(service, []):
                patch()
        return create_backend_app(service)

    dispatcher = DomainDispatcherApplication(create_app)

    def app(environ: dict[str, Any], start_response: Callable) -> Any:
        _request.trace = environ.get("HTTP_X_AMZN_TRACE_ID")
        try:
            return dispatcher(environ, start_response)  # moto answers within the call
        finally:
            _request.trace = None

    return app


def _remember_the_service_of_each_host() -> None:
    """moto finds the service of every request anew, listing its package folder on disk (a
    few hundred isdir calls) before matching URL patterns: a quarter of a DynamoDB call's
    time. The answer for a host never changes, so it is looked up once."""
    original = DomainDispatcherApplication.get_backend_for_host
    known: dict[str | None, Any] = {}

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        if host not in known:
            known[host] = original(self, host)
        return known[host]

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host
