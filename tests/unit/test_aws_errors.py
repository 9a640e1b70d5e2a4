"""AwsError answers as AWS does: rest-json with x-amzn-ErrorType, S3's XML, one table of reasons."""

import json
import re
from http import HTTPStatus

import pytest

from workshop.aws.errors import AwsError, status_line


class StartResponse:
    def __call__(self, status, headers, exc_info=None):
        self.status, self.headers = status, headers
        return lambda data: None


@pytest.mark.parametrize(
    "status, line",
    [
        (200, "200 OK"),
        (202, "202 Accepted"),
        (204, "204 No Content"),
        (400, "400 Bad Request"),
        (403, "403 Forbidden"),
        (404, "404 Not Found"),
        (418, "418 I'm a Teapot"),
        (500, "500 Internal Server Error"),
        (502, "502 Bad Gateway"),
    ],
)
def test_status_lines_carry_the_standard_reason(status, line):
    assert status_line(status) == line


def test_a_status_the_standard_does_not_name_keeps_an_empty_reason():
    assert status_line(299) == "299 "


def test_413_follows_the_running_python():
    # "Request Entity Too Large" up to Python 3.12, "Content Too Large" (RFC 9110) from 3.13
    assert status_line(413) == f"413 {HTTPStatus(413).phrase}"


def test_lambda_error_as_rest_json():
    error = AwsError(
        "ResourceNotFoundException",
        "Function not found: arn:aws:lambda:us-east-1:1:function:f",
        404,
        fields={"Type": "User"},
    )
    start = StartResponse()
    body = error.json_response(start)
    expected = b'{"Type": "User", "message": "Function not found: arn:aws:lambda:us-east-1:1:function:f"}'
    assert body == [expected]
    assert start.status == "404 Not Found"
    assert start.headers == [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(expected))),
        ("x-amzn-ErrorType", "ResourceNotFoundException"),
    ]


def test_json_body_without_fields_and_with_the_emulators_note():
    assert (
        AwsError("ForbiddenException", "Missing Authentication Token", 403).json_body()
        == b'{"message": "Missing Authentication Token"}'
    )
    noted = AwsError("", "Internal server error", 500, emulator_note="only AWS_PROXY is emulated")
    assert noted.json_body() == b'{"message": "Internal server error", "emulator": "only AWS_PROXY is emulated"}'
    start = StartResponse()
    noted.json_response(start)
    assert start.status == "500 Internal Server Error"
    assert ("x-amzn-ErrorType", "") in start.headers


def test_json_body_escapes_as_json_does():
    body = AwsError("InvalidParameterValueException", 'Value "a\nb" is invalid').json_body()
    assert body == b'{"message": "Value \\"a\\nb\\" is invalid"}'
    assert json.loads(body) == {"message": 'Value "a\nb" is invalid'}


def test_s3_error_as_xml():
    body = AwsError("KMS.NotFoundException", "Invalid keyId 'alias/nope'").xml_body("0123456789ABCDEF", "f" * 32)
    assert body == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>KMS.NotFoundException</Code>'
        b"<Message>Invalid keyId 'alias/nope'</Message><RequestId>0123456789ABCDEF</RequestId>"
        b"<HostId>ffffffffffffffffffffffffffffffff</HostId></Error>"
    )


def test_xml_fields_follow_the_message_and_text_is_escaped():
    error = AwsError("NoSuchBucket", "The specified bucket does not exist", 404, fields={"BucketName": "a&b<c>"})
    assert error.xml_body("R", "H") == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchBucket</Code>'
        b"<Message>The specified bucket does not exist</Message><BucketName>a&amp;b&lt;c&gt;</BucketName>"
        b"<RequestId>R</RequestId><HostId>H</HostId></Error>"
    )


def test_xml_response_names_its_request_id_in_body_and_header():
    start = StartResponse()
    [body] = AwsError("AccessDenied", "Access Denied", 403).xml_response(start)
    assert start.status == "403 Forbidden"
    headers = dict(start.headers)
    assert list(headers) == ["Content-Type", "Content-Length", "x-amz-request-id"]
    assert headers["Content-Type"] == "application/xml" and headers["Content-Length"] == str(len(body))
    request_id = headers["x-amz-request-id"]
    assert re.fullmatch(r"[0-9A-F]{16}", request_id)
    assert re.fullmatch(
        rb'<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>AccessDenied</Code><Message>Access Denied'
        rb"</Message><RequestId>" + request_id.encode() + rb"</RequestId><HostId>[0-9a-f]{32}</HostId></Error>",
        body,
    )


def test_xml_response_keeps_a_given_request_id():
    start = StartResponse()
    [body] = AwsError("AccessDenied", "Access Denied", 403).xml_response(start, request_id="ABC")
    assert dict(start.headers)["x-amz-request-id"] == "ABC" and b"<RequestId>ABC</RequestId>" in body


def test_an_aws_error_is_an_exception_that_knows_its_parts():
    with pytest.raises(AwsError) as caught:
        raise AwsError("ValidationException", "1 validation error detected", fields={"Type": "User"})
    error = caught.value
    assert (error.code, error.message, error.status, error.fields) == (
        "ValidationException",
        "1 validation error detected",
        400,
        {"Type": "User"},
    )
    assert str(error) == "ValidationException: 1 validation error detected"
    assert str(AwsError("", "Internal server error", 502)) == "Internal server error"
