"""workshop.lab_helpers.http_api: one invoke URL form per backend, and a POST that returns error statuses."""

import json

from tests.lambda_helpers import deploy_source, ready_names
from workshop.core import backend as backends
from workshop.lab_helpers.http_api import invoke_url, post_json

ANSWER = """
import json
def handler(event, context):
    body = json.loads(event["body"] or "null")
    status = 400 if body is None or body == "bad" else 202
    return {"statusCode": status, "body": json.dumps({"got": body})}
"""


def test_invoke_url_per_backend():
    real = backends.Backend(backends.AWS, None, "eu-west-1")
    assert invoke_url(real, "a1b2c3", "live") == "https://a1b2c3.execute-api.eu-west-1.amazonaws.com/live"
    local = backends.Backend(backends.EMBEDDED, "http://127.0.0.1:4566", "us-east-1")
    assert invoke_url(local, "a1b2c3", "live") == "http://127.0.0.1:4566/restapis/a1b2c3/live/_user_request_"


def test_post_json_reaches_a_deployed_stage(backend, prefix):
    names = ready_names(backend, prefix)
    arn = deploy_source(backend, names, "answer", ANSWER)
    apigw = backend.client("apigateway")
    api_id = apigw.create_rest_api(name=names.api("answer"), tags=names.tag)["id"]
    root = next(r["id"] for r in apigw.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    resource = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="jobs")["id"]
    apigw.put_method(restApiId=api_id, resourceId=resource, httpMethod="POST", authorizationType="NONE")
    apigw.put_integration(
        restApiId=api_id,
        resourceId=resource,
        httpMethod="POST",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{backend.region}:lambda:path/2015-03-31/functions/{arn}/invocations",
    )
    apigw.create_deployment(restApiId=api_id, stageName="live")
    url = invoke_url(backend, api_id, "live") + "/jobs"
    assert post_json(url, {"pages": 3}) == (202, {"got": {"pages": 3}})
    assert post_json(url, json.dumps("bad")) == (400, {"got": "bad"})
    assert post_json(url.replace("/jobs", "/nowhere"), {})[0] == 403
