"""One AWS error: its code, HTTP status and message, answered as AWS's JSON or S3's XML."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any
from xml.sax.saxutils import escape

__all__ = ["AwsError", "status_line"]


def status_line(status: int) -> str:
    """A WSGI status line with the standard's reason phrase, ``"404 Not Found"``; a status the
    standard does not name keeps an empty reason (``"299 "``)."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"{status} {phrase}"


class AwsError(Exception):
    """An error as an AWS service answers it.

    ``fields`` are the extra members some services add (Lambda's ``{"Type": "User"}``, S3's
    ``BucketName``): in JSON before the message, in XML after it, as AWS places them.
    ``emulator_note`` is the emulator's own word, never AWS's: what it does not emulate
    (JSON ``"emulator"``, XML ``<Emulator>``)."""

    def __init__(
        self,
        code: str,
        message: str,
        status: int = 400,
        *,
        fields: Mapping[str, Any] | None = None,
        emulator_note: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code
        self.message = message
        self.status = status
        self.fields = dict(fields or {})
        self.emulator_note = emulator_note

    # ---- bodies --------------------------------------------------------------------

    def json_body(self) -> bytes:
        """The rest-json body, ``{"Type": "User", "message": "..."}``; the code travels in the
        ``x-amzn-ErrorType`` header (see :meth:`json_response`)."""
        body: dict[str, Any] = {**self.fields, "message": self.message}
        if self.emulator_note is not None:
            body["emulator"] = self.emulator_note
        return json.dumps(body).encode()

    def xml_body(self, request_id: str, host_id: str) -> bytes:
        """S3's error document: Code, Message, the extra fields, RequestId, HostId."""
        members = [("Code", self.code), ("Message", self.message), *self.fields.items()]
        if self.emulator_note is not None:
            members.append(("Emulator", self.emulator_note))
        members += [("RequestId", request_id), ("HostId", host_id)]
        inner = "".join(f"<{name}>{escape(str(value))}</{name}>" for name, value in members)
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{inner}</Error>'.encode()

    # ---- WSGI responses ------------------------------------------------------------

    def json_response(self, start_response: Callable[..., Any]) -> list[bytes]:
        """Answer the request with :meth:`json_body` and the code in ``x-amzn-ErrorType``."""
        body = self.json_body()
        start_response(
            status_line(self.status),
            [("Content-Type", "application/json"), ("Content-Length", str(len(body))), ("x-amzn-ErrorType", self.code)],
        )
        return [body]

    def query_response(self, start_response: Callable[..., Any]) -> list[bytes]:
        """Answer in the query protocol's error document (SNS, IAM, STS):
        ``<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>``."""
        error = f"<Type>Sender</Type><Code>{escape(self.code)}</Code><Message>{escape(self.message)}</Message>"
        body = f"<ErrorResponse><Error>{error}</Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>".encode()
        start_response(status_line(self.status), [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
        return [body]

    def xml_response(self, start_response: Callable[..., Any], request_id: str | None = None) -> list[bytes]:
        """Answer the request with S3's :meth:`xml_body`, its request id also in ``x-amz-request-id``."""
        request_id = request_id or uuid.uuid4().hex[:16].upper()
        body = self.xml_body(request_id, uuid.uuid4().hex)
        start_response(
            status_line(self.status),
            [("Content-Type", "application/xml"), ("Content-Length", str(len(body))), ("x-amz-request-id", request_id)],
        )
        return [body]
