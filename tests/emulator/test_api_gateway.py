"""A REST API with Lambda proxy integrations, called over plain HTTP."""

import json
import urllib.error
import urllib.request

import pytest

from tests.lambda_helpers import deploy_source, ready_names
from workshop.aws.xray import TraceHeader, new_segment_id
from workshop.core.waiting import wait_for

ECHO = """
import json
def handler(event, context):
    if event["path"].endswith("/broken"):
        return "not a proxy response"
    if event.get("queryStringParameters") and event["queryStringParameters"].get("fail"):
        raise RuntimeError("boom")
    return {"statusCode": 201, "headers": {"X-Order": "accepted"},
            "body": json.dumps({"method": event["httpMethod"], "resource": event["resource"],
                                "path": event["path"], "pathParameters": event["pathParameters"],
                                "query": event["queryStringParameters"], "body": event["body"],
                                "stage": event["requestContext"]["stage"],
                                "contentType": next(v for k, v in event["headers"].items()
                                                    if k.lower() == "content-type")})}
"""


@pytest.fixture
def api(backend, prefix):
    names = ready_names(backend, prefix)
    arn = deploy_source(backend, names, "orders-api", ECHO)
    apigw = backend.client("apigateway")
    api_id = apigw.create_rest_api(name=names.api("orders"))["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    orders = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="orders")["id"]
    order = apigw.create_resource(restApiId=api_id, parentId=orders, pathPart="{id}")["id"]
    proxy = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="{proxy+}")["id"]
    uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations"
    for resource, method in ((orders, "POST"), (order, "GET"), (proxy, "ANY")):
        apigw.put_method(restApiId=api_id, resourceId=resource, httpMethod=method, authorizationType="NONE")
        apigw.put_integration(
            restApiId=api_id,
            resourceId=resource,
            httpMethod=method,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=uri,
        )
    apigw.create_deployment(restApiId=api_id, stageName="dev")
    return f"{backend.endpoint_url}/restapis/{api_id}/dev/_user_request_"


def _call(url, method="GET", body=None):
    request = urllib.request.Request(
        url,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_proxy_event_and_response(api):
    status, headers, body = _call(f"{api}/orders?channel=web", "POST", {"sku": "A-1", "qty": 2})
    assert status == 201 and headers["X-Order"] == "accepted"
    assert body["method"] == "POST" and body["resource"] == "/orders" and body["path"] == "/orders"
    assert body["query"] == {"channel": "web"} and json.loads(body["body"]) == {"sku": "A-1", "qty": 2}
    assert body["stage"] == "dev" and body["contentType"] == "application/json"
    status, _, body = _call(f"{api}/orders/42")
    assert status == 201 and body["resource"] == "/orders/{id}" and body["pathParameters"] == {"id": "42"}
    status, _, body = _call(f"{api}/anything/else", "DELETE")
    assert body["resource"] == "/{proxy+}" and body["pathParameters"] == {"proxy": "anything/else"}


def test_api_gateway_errors(api):
    assert _call(f"{api}/orders?fail=1", "POST", {})[0:3:2] == (502, {"message": "Internal server error"})
    assert _call(f"{api}/broken")[0] == 502, "a malformed proxy response is a 502"
    assert _call(f"{api}/orders", "PATCH")[0] == 403, "no PATCH method on /orders"
    assert _call(api.replace("/dev/", "/prod/") + "/orders", "POST", {})[0] == 403, "no such stage"


def test_a_rest_api_passes_its_trace_on_to_an_active_function(api, backend, prefix):
    """A REST API continues the caller's trace, or starts one, and the function's segments join it:
    https://docs.aws.amazon.com/xray/latest/devguide/xray-services-apigateway.html"""
    lam = backend.client("lambda")
    lam.update_function_configuration(FunctionName=f"{prefix}-orders-api", TracingConfig={"Mode": "Active"})
    assert lam.get_function_configuration(FunctionName=f"{prefix}-orders-api")["TracingConfig"] == {"Mode": "Active"}
    sent = TraceHeader.start().under(new_segment_id())
    request = urllib.request.Request(
        f"{api}/orders/7", headers={"X-Amzn-Trace-Id": str(sent), "Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["X-Amzn-Trace-Id"] == str(sent)
    status, headers, _ = _call(f"{api}/orders/8")
    started = TraceHeader.parse(headers["X-Amzn-Trace-Id"])
    assert status == 201 and started is not None and started.root != sent.root
    traces = backend.client("xray")

    def lambda_segments(root):
        found = traces.batch_get_traces(TraceIds=[root])["Traces"]
        return [json.loads(s["Document"]) for t in found for s in t["Segments"] if '"AWS::Lambda"' in s["Document"]]

    (continued,) = wait_for(lambda: lambda_segments(sent.root), "the function's segment in the caller's trace")
    assert continued["parent_id"] == sent.parent
    (begun,) = wait_for(lambda: lambda_segments(started.root), "the function's segment in the trace API Gateway began")
    assert "parent_id" not in begun
