"""The REST API proxy integration field by field against what real AWS recorded (recorded_aws.py).

Requests go over http.client, which sends header names exactly as written (urllib would
capitalize them), so the spelling API Gateway keeps can be seen.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
from urllib.parse import urlsplit

import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel

from tests.emulator.recorded_aws import (
    DEFAULT_CONTENT_TYPE,
    RECORDED_ERROR_TYPES,
    RECORDED_EVENT,
    RECORDED_RESPONSE_HEADERS,
    RECORDED_RESPONSES,
)
from tests.lambda_helpers import deploy_source, ready_names

# Echoes the event unless the request's body is a proxy response to answer with (as recorded).
HANDLER = """
import json
def handler(event, context):
    if event["httpMethod"] == "PUT":
        return json.loads(event["body"])
    return {"statusCode": 200, "body": json.dumps(event)}
"""


def _deploy_api(backend, names, purpose: str, **api_options):
    arn = deploy_source(backend, names, purpose, HANDLER)
    apigw = backend.client("apigateway")
    api_id = apigw.create_rest_api(name=names.api(purpose), tags=names.tag, **api_options)["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    proxy = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="{proxy+}")["id"]
    apigw.put_method(restApiId=api_id, resourceId=proxy, httpMethod="ANY", authorizationType="NONE")
    apigw.put_integration(
        restApiId=api_id,
        resourceId=proxy,
        httpMethod="ANY",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{backend.region}:lambda:path/2015-03-31/functions/{arn}/invocations",
    )
    deployment = apigw.create_deployment(restApiId=api_id, stageName="stage")["id"]
    return api_id, deployment


@pytest.fixture
def api(backend, prefix):
    names = ready_names(backend, prefix)
    return _deploy_api(backend, names, "fidelity")


def _request(backend, api_id, method, path, headers=(), body=None):
    """(status, headers as a list of pairs, body bytes)."""
    endpoint = urlsplit(backend.endpoint_url)
    connection = http.client.HTTPConnection(endpoint.hostname, endpoint.port, timeout=15)
    try:
        connection.putrequest(method, f"/restapis/{api_id}/stage/_user_request_{path}", skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


def _event(backend, api_id, method, path, headers=(), body=None):
    status, _, raw = _request(backend, api_id, method, path, headers, body)
    assert status == 200, raw
    event = json.loads(raw)
    APIGatewayProxyEventModel.model_validate(event)  # Powertools' model of the REST proxy event
    return event


def test_the_event_keeps_what_the_client_sent(backend, api):
    api_id, deployment = api
    path = "/proxy-value/api/user/test%2Balias@gmail.com/plus/test+alias@gmail.com"
    sent = [("User-Agent", "python-requests/testing"), ("tEsT-HEADeR", "aValUE"), ("authorization", "random-value")]
    event = _event(backend, api_id, "GET", path, sent)

    assert event["path"] == RECORDED_EVENT["path"]
    assert event["pathParameters"] == {"proxy": RECORDED_EVENT["pathParameters.proxy"]}
    assert event["requestContext"]["path"] == RECORDED_EVENT["requestContext.path"]
    assert sorted(event["requestContext"]) == RECORDED_EVENT["requestContext keys"]
    assert event["requestContext"]["deploymentId"] == deployment

    headers, multi = event["headers"], event["multiValueHeaders"]
    assert headers["tEsT-HEADeR"] == "aValUE" and "Test-Header" not in headers
    assert headers["Authorization"] == "random-value" and "authorization" not in headers
    for added in RECORDED_EVENT["headers API Gateway adds"]:
        assert multi[added] == [headers[added]]
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}", headers["X-Amzn-Trace-Id"])
    assert headers["X-Forwarded-For"] == event["requestContext"]["identity"]["sourceIp"]
    assert headers["X-Forwarded-Port"] == str(urlsplit(backend.endpoint_url).port)
    assert headers["X-Forwarded-Proto"] == "http"
    assert multi["tEsT-HEADeR"] == ["aValUE"] and set(multi) == set(headers)

    trailing = _event(backend, api_id, "GET", "/proxy-value/")
    assert trailing["path"] == RECORDED_EVENT["trailing slash"]["path"]
    assert trailing["pathParameters"]["proxy"] == RECORDED_EVENT["trailing slash"]["pathParameters.proxy"]

    query = "&".join(RECORDED_EVENT["query"])
    got = _event(backend, api_id, "GET", f"/proxy-value?{query}")["queryStringParameters"]
    assert sorted(got.values()) == sorted(RECORDED_EVENT["query"].values())


def test_hop_by_hop_headers_stay_with_api_gateway(backend, api):
    api_id, _ = api
    body = json.dumps({"sku": "A-1"}).encode()
    sent = [("Content-Type", "application/json"), ("Connection", "keep-alive")]
    event = _event(backend, api_id, "POST", "/orders", sent, body)
    for name in RECORDED_EVENT["headers not passed"]:
        assert name.lower() not in {k.lower() for k in event["headers"]}, name
        assert name.lower() not in {k.lower() for k in event["multiValueHeaders"]}, name
    assert event["headers"]["Content-Type"] == "application/json" and event["body"] == body.decode()


def _answer(backend, api_id, answer):
    status, headers, raw = _request(
        backend, api_id, "PUT", "/test", [("User-Agent", "python/test")], json.dumps(answer).encode()
    )
    joined: dict[str, str] = {}
    for name, value in headers:  # as requests' dict(response.headers) shows them: one name, values joined
        key = next((k for k in joined if k.lower() == name.lower()), name)
        joined[key] = f"{joined[key]}, {value}" if key in joined else value
    return status, joined, raw


@pytest.mark.parametrize("answer, status, expected", RECORDED_RESPONSES, ids=lambda v: json.dumps(v)[:60])
def test_the_response_mapping_as_recorded(backend, api, answer, status, expected):
    api_id, _ = api
    got_status, headers, raw = _answer(backend, api_id, answer)
    assert got_status == status, raw
    for name in RECORDED_RESPONSE_HEADERS:
        assert headers.get(name), f"{name} missing from {headers}"
    if status == 502:
        assert json.loads(raw) == {"message": "Internal server error"}
        assert headers["x-amzn-ErrorType"] == RECORDED_ERROR_TYPES[502]
        return
    assert headers["Content-Type"] == DEFAULT_CONTENT_TYPE
    for key, value in expected.items():
        if key == "body":
            assert raw.decode() == value
        else:
            assert headers.get(key) == value, (key, headers)


def test_a_pair_in_both_header_maps_is_sent_once(backend, api):
    # AWS's docs: if the same key-value pair is in both, only multiValueHeaders' values appear.
    api_id, _ = api
    answer = {"statusCode": 200, "multiValueHeaders": {"X-Tag": ["a", "b"]}, "headers": {"x-tag": "b"}}
    assert _answer(backend, api_id, answer)[1]["X-Tag"] == "a, b"


def test_a_base64_body_is_decoded_only_for_binary_media_types(backend, prefix):
    names = ready_names(backend, prefix)
    png = b"\x89PNG\r\n\x1a\n\x00\xff"
    answer = {
        "statusCode": 200,
        "headers": {"Content-Type": "image/png"},
        "body": base64.b64encode(png).decode(),
        "isBase64Encoded": True,
    }
    api_id, _ = _deploy_api(backend, names, "binary", binaryMediaTypes=["image/*"])
    body = json.dumps(answer).encode()
    assert _request(backend, api_id, "PUT", "/img", [("Accept", "image/png")], body)[2] == png
    # The first Accept type decides: text first is the base64 text.
    assert (
        _request(backend, api_id, "PUT", "/img", [("Accept", "text/html, image/png")], body)[2]
        == answer["body"].encode()
    )


def test_an_unknown_route_is_missing_authentication_token(backend, api):
    api_id, _ = api
    status, headers, raw = _request(backend, api_id, "GET", "/")  # no method on the root resource
    assert status == 403 and json.loads(raw) == {"message": "Missing Authentication Token"}
    assert dict(headers)["x-amzn-ErrorType"] == RECORDED_ERROR_TYPES[403]
