"""The kit emulator's own API (``/_workshop/...``), called as the participant, on any backend that is it.

The embedded backend is the kit's emulator; so is an ``AWS_ENDPOINT_URL`` that answers as it
(:meth:`workshop.core.backend.Backend.is_kit_emulator`), such as an instructor's shared one. Each
request names the participant (their prefix) and is signed with SigV4 under the backend's
credentials, as an AWS request is, so a shared emulator can keep a participant to their own
teaching switches and webhook channels.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from workshop.core import backend as backends
from workshop.core.errors import WorkshopError
from workshop.core.launcher import PARTICIPANT_HEADER

__all__ = ["SIGNING_NAME", "call", "missing", "url"]

SIGNING_NAME = "workshop"  # the service name in the signature's credential scope


def missing(feature: str) -> str | None:
    """One line saying why ``feature`` (e.g. "Teaching switches") is not here, None when it is."""
    backend = backends.current()
    if backend.is_kit_emulator():
        return None
    where = (
        "a real AWS account"
        if backend.kind == backends.AWS
        else f"{backend.endpoint_url} (AWS_ENDPOINT_URL), which is not the kit's emulator"
    )
    return f"{feature} exist only on the kit's own emulator, not on {where}."


def url(route: str) -> str:
    """The address of one of the kit's routes, ``route`` as in ``webhooks/<channel>``."""
    return f"{backends.current().endpoint_url}/_workshop/{route}"


def call(route: str, feature: str, method: str = "GET", body: dict[str, Any] | None = None) -> Any:
    """The JSON answer of a route; a refusal or an absent emulator is a one-line WorkshopError."""
    reason = missing(feature)
    if reason:
        raise WorkshopError(reason)
    backend = backends.current()
    data = None if body is None else json.dumps(body).encode()
    headers = {PARTICIPANT_HEADER: backend.names().prefix}
    if data is not None:
        headers["Content-Type"] = "application/json"
    signed = AWSRequest(method=method, url=url(route), data=data, headers=headers)
    SigV4Auth(backend.session().get_credentials(), SIGNING_NAME, backend.region).add_auth(signed)
    request = urllib.request.Request(signed.url, data=data, method=method, headers=dict(signed.headers.items()))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            said = json.loads(error.read() or b"{}").get("error")
        except ValueError:
            said = None
        raise WorkshopError(said or f"The kit's emulator answered {error.code} to {method} {route}.") from None
    except (urllib.error.URLError, OSError) as error:
        raise WorkshopError(f"Cannot reach the kit's emulator at {backend.endpoint_url}: {error}") from None
