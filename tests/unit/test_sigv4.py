"""The SigV4 credential scope, read from what botocore really sends: a header or a presigned URL."""

import re
from urllib.parse import urlsplit

from botocore.auth import S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from workshop.aws.sigv4 import CredentialScope, credential_scope

CREDENTIALS = Credentials("AKIDEXAMPLE", "secret")
HEADER = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240102/eu-west-1/s3/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=abc123"
)
QUERY = (
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20240102%2Fus-west-2%2Flambda"
    "%2Faws4_request&X-Amz-Date=20240102T030405Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=abc"
)


def test_the_authorization_header():
    assert credential_scope({"HTTP_AUTHORIZATION": HEADER}) == CredentialScope(
        access_key="AKIDEXAMPLE", date="20240102", region="eu-west-1", service="s3"
    )


def test_a_presigned_query():
    assert credential_scope({"QUERY_STRING": QUERY}) == CredentialScope(
        access_key="AKIDEXAMPLE", date="20240102", region="us-west-2", service="lambda"
    )


def test_a_presigned_query_with_lower_case_escapes_or_plain_slashes():
    for credential in (
        "AKID%2f20240102%2fap-south-1%2fsqs%2faws4_request",
        "AKID/20240102/ap-south-1/sqs/aws4_request",
    ):
        scope = credential_scope({"QUERY_STRING": f"X-Amz-Credential={credential}"})
        assert (scope.access_key, scope.region, scope.service) == ("AKID", "ap-south-1", "sqs")


def test_the_header_comes_first():
    assert credential_scope({"HTTP_AUTHORIZATION": HEADER, "QUERY_STRING": QUERY}).service == "s3"


def test_a_malformed_header_leaves_the_presigned_query():
    environ = {"HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=AKID/not-a-date", "QUERY_STRING": QUERY}
    assert credential_scope(environ).service == "lambda"


def test_no_scope_without_sigv4():
    assert credential_scope({}) is None
    assert credential_scope({"HTTP_AUTHORIZATION": "AWS AKIDEXAMPLE:c2lnbmF0dXJl"}) is None  # SigV2
    assert credential_scope({"QUERY_STRING": "prefix=a/b&X-Amz-Date=20240102T030405Z"}) is None
    assert credential_scope({"HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=AKID/20240102/us-east-1/s3"}) is None


def test_what_botocore_signs():
    request = AWSRequest(method="POST", url="http://127.0.0.1:4566/2015-03-31/functions/f/invocations", data=b"{}")
    SigV4Auth(CREDENTIALS, "lambda", "eu-central-1").add_auth(request)
    scope = credential_scope({"HTTP_AUTHORIZATION": request.headers["Authorization"]})
    assert (scope.access_key, scope.region, scope.service) == ("AKIDEXAMPLE", "eu-central-1", "lambda")
    assert re.fullmatch(r"\d{8}", scope.date)


def test_what_botocore_presigns():
    request = AWSRequest(method="GET", url="http://127.0.0.1:4566/bucket/key.txt")
    S3SigV4QueryAuth(CREDENTIALS, "s3", "ap-southeast-2", expires=60).add_auth(request)
    scope = credential_scope({"QUERY_STRING": urlsplit(request.url).query})
    assert (scope.access_key, scope.region, scope.service) == ("AKIDEXAMPLE", "ap-southeast-2", "s3")


def test_the_emulator_routes_and_regions_by_the_same_scope():
    from workshop.emulator import s3_guard
    from workshop.emulator.functions import invoke_api

    assert s3_guard.is_s3_request({"HTTP_AUTHORIZATION": HEADER})
    assert not s3_guard.is_s3_request({"QUERY_STRING": QUERY})  # presigned for Lambda
    assert s3_guard.is_s3_request({"QUERY_STRING": QUERY.replace("lambda", "s3")})
    assert invoke_api.request_region({"HTTP_AUTHORIZATION": HEADER}) == "eu-west-1"
    assert invoke_api.request_region({"QUERY_STRING": QUERY}) == "us-west-2"
    assert invoke_api.request_region({}) == "us-east-1"
