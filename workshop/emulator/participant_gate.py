"""The door of a shared emulator's AWS APIs: a signed request from a known caller, and a
participant's request reaching only that participant's resources.

On a laptop there is no gate (the emulator serves its one learner). The refusals are AWS's own:
an unknown key is ``InvalidClientTokenId`` (S3: ``InvalidAccessKeyId``), a wrong signature
``SignatureDoesNotMatch``, a resource of someone else's ``AccessDenied``:
https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

from workshop.aws import sigv4
from workshop.aws.errors import AwsError
from workshop.core.launcher import PARTICIPANT_HEADER
from workshop.emulator import xray_api
from workshop.emulator.identity import Caller, Identities
from workshop.emulator.tenancy import Tenancy, filter_listing

__all__ = ["ParticipantGate"]

_QUERY_PROTOCOL = ("sns", "iam", "sts")
_WSGI_PARTICIPANT = "HTTP_" + PARTICIPANT_HEADER.upper().replace("-", "_")
_S3_CODES = {"InvalidClientTokenId": "InvalidAccessKeyId", "MissingAuthenticationToken": "AccessDenied"}


class ParticipantGate:
    def __init__(self, identities: Identities, tenancy: Tenancy) -> None:
        self.identities = identities
        self.tenancy = tenancy

    def verify_participant(self, environ: dict[str, Any]) -> None:
        """A ``/_workshop/`` request acts for the participant it names only when that participant
        (or the instructor) signed it; otherwise the name is dropped, and the request is the
        room's, which the admin guard keeps for the instructor's token."""
        claimed = str(environ.get(_WSGI_PARTICIPANT, "")).strip()
        if not claimed:
            return
        caller = self.identities.identify(environ, _body(environ))
        if isinstance(caller, str) or caller.prefix not in (None, claimed):
            del environ[_WSGI_PARTICIPANT]

    def __call__(
        self, environ: dict[str, Any], start_response: Callable, inner: Callable[[dict[str, Any], Callable], Any]
    ) -> Iterable[bytes]:
        body = _body(environ)
        scope = sigv4.credential_scope(environ)
        service = scope.service if scope else ""
        caller = self.identities.identify(environ, body)
        if isinstance(caller, str):
            message = {
                "MissingAuthenticationToken": "Request is missing Authentication Token",
                "InvalidClientTokenId": "The security token included in the request is invalid.",
                "SignatureDoesNotMatch": "The request signature we calculated does not match the signature you provided.",
                "RequestTimeTooSkewed": "Signature expired: the request was signed more than 15 minutes ago.",
            }.get(caller, caller)
            return _refuse(
                service, _S3_CODES.get(caller, caller) if service == "s3" else caller, message, start_response
            )
        if caller.prefix is None:
            return inner(environ, start_response)
        # what X-Ray's API shows this caller: the segments of their own resources
        environ[xray_api.OWNS] = lambda name, prefix=caller.prefix: self.tenancy.owner(name) == prefix
        environ[xray_api.PARTICIPANT] = caller.prefix
        decision = self.tenancy.judge(caller.prefix, service, environ, body)
        if decision.refusal:
            return _refuse(
                service,
                "AccessDenied" if service in ("s3", *_QUERY_PROTOCOL) else "AccessDeniedException",
                f"Access denied: {decision.refusal}",
                start_response,
            )
        if decision.listing:
            return self._filtered(caller, decision.listing, environ, start_response, inner)
        return inner(environ, start_response)

    def _filtered(
        self, caller: Caller, service: str, environ: dict[str, Any], start_response: Callable, inner: Callable
    ) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            captured.update(status=status, headers=headers)
            return lambda data: None

        answer = b"".join(inner(environ, capture))
        if captured["status"].startswith("200"):
            answer = filter_listing(service, answer, lambda name: self.tenancy.owner(name) == caller.prefix)
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        start_response(captured["status"], [*headers, ("Content-Length", str(len(answer)))])
        return [answer]


def _body(environ: dict[str, Any]) -> bytes:
    """The request's body, read here once; the routes after read it again."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _refuse(service: str, code: str, message: str, start_response: Callable) -> list[bytes]:
    if service == "s3":
        return AwsError(code, message, 403).xml_response(start_response)
    if service in _QUERY_PROTOCOL:
        return AwsError(code, message, 403).query_response(start_response)
    # the JSON protocol names the error in the body's __type (rest-json, in the header as well)
    return AwsError(code, message, 403, fields={"__type": code}).json_response(start_response)
