"""What each part of the emulator needs from its EmulatorService, one typing.Protocol per part.

Each port names exactly the members its part uses, so a part can be read (and tested) on its
own; :class:`workshop.emulator.service.EmulatorService` provides them all, which
``tests/unit/test_emulator_ports.py`` checks member by member.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from workshop.core.backend import Backend
from workshop.emulator.functions.models import FunctionSpec, Invocation
from workshop.emulator.functions.source_bells import SourceBells
from workshop.emulator.scopes import ScopedChaos
from workshop.emulator.settings import Settings
from workshop.emulator.tracing import Tracing
from workshop.emulator.webhooks import WebhookInbox
from workshop.emulator.xray_store import TraceStore

__all__ = ["AdminService", "AlarmService", "GatewayService", "InvokeApiService", "PollerService"]


@runtime_checkable
class GatewayService(Protocol):
    """What API Gateway (:mod:`workshop.emulator.api_gateway`) needs."""

    account_id: str  # the proxy event's requestContext.accountId

    def resolve(self, region: str, name: str) -> FunctionSpec:
        """The integration's function by name or ARN; LookupError when there is none."""

    def invoke(self, spec: FunctionSpec, payload: bytes, *, trace: str | None = None) -> Invocation:
        """Run it once with the proxy event (under the request's trace) and wait for its answer."""


@runtime_checkable
class InvokeApiService(Protocol):
    """What the Invoke API (:mod:`workshop.emulator.functions.invoke_api`) needs."""

    account_id: str  # for the ARN of a function that is not there

    def resolve(self, region: str, name: str, qualifier: str | None = None) -> FunctionSpec:
        """The function by name or ARN and qualifier; LookupError when there is none."""

    def invoke(
        self, spec: FunctionSpec, payload: bytes, *, client_context: Any = None, trace: str | None = None
    ) -> Invocation:
        """Run it once and wait for its answer (RequestResponse), under the caller's trace header."""

    def submit(self, region: str, function: str, payload: bytes, trace: str | None = None) -> str:
        """Queue an Event invocation (with the caller's trace header); its request id."""


@runtime_checkable
class AdminService(InvokeApiService, GatewayService, Protocol):
    """What the application (:mod:`workshop.emulator.app`) needs: its front doors' needs, and
    its admin routes' (counters, teaching switches, webhook inbox)."""

    chaos: ScopedChaos
    webhooks: WebhookInbox
    traces: TraceStore  # X-Ray's API answers from it
    tracing: Tracing  # records the calls a traced handler makes

    def stats(self) -> dict[str, Any]:
        """Invocations, idleness, mappings, snapshots (``GET /_workshop/stats``)."""


@runtime_checkable
class AlarmService(Protocol):
    """What CloudWatch (:mod:`workshop.emulator.cloudwatch`) needs."""

    def backend(self, region: str) -> Backend:
        """Clients of the emulator itself: an alarm's actions publish to SNS through them."""


@runtime_checkable
class PollerService(Protocol):
    """What the event-source mappings' pollers (:mod:`workshop.emulator.functions.pollers`) need."""

    settings: Settings  # the per-function concurrency, the time scale
    chaos: ScopedChaos  # the duplicate switch, of the source's owner
    bells: SourceBells  # an idle poller sleeps until its source's bell rings
    tracing: Tracing  # a stream record the filter dropped is told in its writer's trace

    def resolve(self, region: str, name: str) -> FunctionSpec:
        """The mapping's function by name or ARN; LookupError when there is none."""

    def invoke(
        self,
        spec: FunctionSpec,
        payload: bytes,
        *,
        retried_by: str | None = None,
        notes: dict[str, Any] | None = None,
        links: list[str] | None = None,
    ) -> Invocation:
        """Run it once with a batch; ``retried_by`` (sqs or stream) for the failure switch;
        ``notes`` and ``links`` for its trace."""

    def send_to_target(self, arn: str, body: str, attributes: dict[str, Any]) -> None:
        """A stream batch given up on, to the mapping's OnFailure destination."""
