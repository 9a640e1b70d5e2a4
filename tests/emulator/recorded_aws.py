"""What real AWS answered, as facts the fidelity tests hold the emulator to, each with its source.

Recordings are responses captured from real AWS accounts and published (LocalStack's
``*.snapshot.json`` files record AWS's answers to a test's requests, ``recorded-content``); only
the facts are kept here, never the files. Documentation is cited where AWS states the rule.
"""

from __future__ import annotations

# --- API Gateway REST API, Lambda proxy integration -------------------------------------------

PROXY_DOC = "https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html"
BINARY_DOC = "https://docs.aws.amazon.com/apigateway/latest/developerguide/lambda-proxy-binary-media.html"
PROXY_RECORDING = (
    "https://github.com/localstack/localstack/blob/master/tests/aws/services/apigateway/"
    "test_apigateway_lambda.snapshot.json"  # test_lambda_aws_proxy_integration, recorded 02-08-2024
)
PROXY_RESPONSE_RECORDING = PROXY_RECORDING  # test_aws_proxy_response_payload_format_validation, 15-11-2024

# The event, for GET <stage>/proxy-value/api/user/test%2Balias@gmail.com/plus/test+alias@gmail.com
# sent with headers {"User-Agent": ..., "tEsT-HEADeR": "aValUE", "authorization": "random-value"}.
RECORDED_EVENT = {
    "header names kept as sent": {"tEsT-HEADeR": "aValUE"},
    "header names title-cased by API Gateway": {"authorization": "Authorization"},
    "headers API Gateway adds": ["X-Amzn-Trace-Id", "X-Forwarded-For", "X-Forwarded-Port", "X-Forwarded-Proto"],
    # A POST's body arrived without Content-Length and Connection among the headers.
    "headers not passed": ["Connection", "Content-Length"],
    "path": "/proxy-value/api/user/test%2Balias@gmail.com/plus/test+alias@gmail.com",
    "pathParameters.proxy": "proxy-value/api/user/test%2Balias@gmail.com/plus/test+alias@gmail.com",
    "requestContext.path": "/stage/proxy-value/api/user/test%2Balias@gmail.com/plus/test+alias@gmail.com",
    "requestContext keys": [
        "accountId",
        "apiId",
        "deploymentId",
        "domainName",
        "domainPrefix",
        "extendedRequestId",
        "httpMethod",
        "identity",
        "path",
        "protocol",
        "requestId",
        "requestTime",
        "requestTimeEpoch",
        "resourceId",
        "resourcePath",
        "stage",
    ],  # fmt: skip
    # GET <stage>/proxy-value/ : the path keeps its trailing slash, the greedy parameter does not.
    "trailing slash": {"path": "/proxy-value/", "pathParameters.proxy": "proxy-value"},
    # The query's + is a space and %2B a +, in both query parameter maps.
    "query": {
        "email=test%2Balias@gmail.com": "test+alias@gmail.com",
        "plus=test+alias@gmail.com": "test alias@gmail.com",
    },
}

# The function's answer -> what the client got (status, and body or headers), API without binary media types.
RECORDED_RESPONSES = [
    ({"statusCode": 200}, 200, {"body": ""}),
    ({"statusCode": 200, "headers": {"test-header": "value", "header-bool": True}}, 200, {"header-bool": "true"}),
    ({"statusCode": 200, "headers": None}, 200, {}),
    ({"statusCode": 200, "wrongValue": "value"}, 502, {"body": {"message": "Internal server error"}}),
    ({"statusCode": 200, "body": "dGVzdC1kYXRh", "isBase64Encoded": True}, 200, {"body": "dGVzdC1kYXRh"}),
    ({"statusCode": 200, "body": "dGVzdC1kYXRh"}, 200, {"body": "dGVzdC1kYXRh"}),
    (
        {"statusCode": 200, "multiValueHeaders": {"test-multi": ["value1", "value2"]}},
        200,
        {"test-multi": "value1, value2"},
    ),
    (
        {
            "statusCode": 200,
            "multiValueHeaders": {"test-multi": ["value-multi"]},
            "headers": {"test-multi": "value-solo"},
        },
        200,
        {"test-multi": "value-multi, value-solo"},
    ),
    (
        {
            "statusCode": 200,
            "multiValueHeaders": {"tesT-Multi": ["value-multi"]},
            "headers": {"test-multi": "value-solo"},
        },
        200,
        {"tesT-Multi": "value-multi, value-solo"},  # multiValueHeaders' spelling wins
    ),
    ({"statusCode": 200, "multiValueHeaders": {"test-multi-invalid": "value1"}}, 502, {}),
    ({"statusCode": "test"}, 502, {}),
    ({"statusCode": "201"}, 201, {"body": ""}),
    ("justAString", 502, {}),
    ({"headers": {"test-header": "value"}}, 200, {"body": ""}),
]
# Every recorded response, 200 or 502, carried these; the function's Content-Type defaults to JSON.
RECORDED_RESPONSE_HEADERS = ["x-amzn-RequestId", "x-amz-apigw-id", "X-Amzn-Trace-Id"]
DEFAULT_CONTENT_TYPE = "application/json"
# PROXY_DOC: "If you specify values for both headers and multiValueHeaders, API Gateway merges them
# into a single list. If the same key-value pair is specified in both, only the values from
# multiValueHeaders will appear in the merged list."
# BINARY_DOC: a base64 body is returned as binary only when the API's binary media types are
# configured; "API Gateway uses the first Accept header from clients to determine if a response
# should return binary media".

# --- DynamoDB stream records: SizeBytes ---------------------------------------------------------

ITEM_SIZE_DOC = "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html"
# (Keys, NewImage, OldImage) -> SizeBytes, as real stream records carried them.
RECORDED_SIZE_BYTES = [
    # https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html (the sample event's three records)
    ({"Id": {"N": "101"}}, {"Message": {"S": "New item!"}, "Id": {"N": "101"}}, None, 26),
    (
        {"Id": {"N": "101"}},
        {"Message": {"S": "This item has changed"}, "Id": {"N": "101"}},
        {"Message": {"S": "New item!"}, "Id": {"N": "101"}},
        59,
    ),
    ({"Id": {"N": "101"}}, None, {"Message": {"S": "This item has changed"}, "Id": {"N": "101"}}, 38),
    # https://app.unpkg.com/@incdevco/framework@1.4.3/files/lambda/dynamodb-stream/example-event.json
    (
        {"id": {"S": "1"}},
        {"id": {"S": "1"}, "key": {"S": "updated"}},
        {"id": {"S": "1"}, "key": {"S": "value"}},
        27,
    ),
    ({"id": {"S": "2"}}, {"id": {"S": "2"}, "key": {"S": "original"}}, None, 17),
    # https://pastebin.com/Anu9nCzN (a GetRecords answer, composite key)
    (
        {"ID": {"S": "2"}, "Title": {"S": "aaa"}},
        {"ID": {"S": "2"}, "Title": {"S": "aaa"}},
        None,
        22,
    ),
]

# --- SNS raw message delivery to SQS ------------------------------------------------------------

RAW_DELIVERY_DOC = "https://docs.aws.amazon.com/sns/latest/dg/sns-large-payload-raw-message-delivery.html"
SNS_ATTRIBUTES_DOC = "https://docs.aws.amazon.com/sns/latest/dg/SNSMessageAttributes.html"
# https://github.com/localstack/localstack/blob/master/tests/aws/services/sns/test_sns.snapshot.json
# (TestSNSSubscriptionSQS::test_attribute_raw_subscribe, recorded 24-08-2023): published as Binary
# b"\x02\x03\x04", received from the queue as the same three bytes.
RECORDED_RAW_BINARY = {"published": b"\x02\x03\x04", "received": b"\x02\x03\x04", "DataType": "Binary"}
# SNS_ATTRIBUTES_DOC: more than 10 attributes towards a raw-delivery SQS subscription: discarded.
RAW_DELIVERY_MAX_ATTRIBUTES = 10

# --- CloudWatch alarm notification --------------------------------------------------------------

ALARM_MESSAGE_DOC = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html"
# https://github.com/localstack/localstack/blob/master/tests/aws/services/cloudwatch/test_cloudwatch.snapshot.json
# (TestCloudwatch::test_breaching_alarm_actions[query], recorded 19-09-2025): an alarm put without
# DatapointsToAlarm (EvaluationPeriods=2, TreatMissingData=breaching, no data) published this Trigger.
RECORDED_ALARM_TRIGGER_KEYS = [
    "ComparisonOperator", "Dimensions", "EvaluateLowSampleCountPercentile", "EvaluationPeriods", "MetricName",
    "Namespace", "Period", "Statistic", "StatisticType", "Threshold", "TreatMissingData", "Unit",
]  # fmt: skip
RECORDED_ALARM_REASON = (
    "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as [Breaching]."
)
# Its StateReasonData carried these keys besides evaluatedDatapoints (one {timestamp} per period).
RECORDED_STATE_REASON_DATA_KEYS = [
    "period",
    "queryDate",
    "recentDatapoints",
    "statistic",
    "threshold",
    "unit",
    "version",
]

# --- A handler's error in the function's log ----------------------------------------------------

# https://github.com/localstack/localstack/blob/master/tests/aws/services/lambda_/test_lambda_destinations.snapshot.json
# (log_result, recorded 25-11-2025) and .../test_lambda.snapshot.json (log_events): LogResult's lines
# and the one CloudWatch event for `raise Exception(...)` on line 55 of handler.py.
RECORDED_ERROR_LOG_LINES = [
    "[ERROR] Exception: Test exception (this is intentional)",
    "Traceback (most recent call last):",
    '\u00a0\u00a0File "/var/task/handler.py", line 55, in handler',
    '\u00a0\u00a0\u00a0\u00a0raise Exception("Test exception (this is intentional)")',
]
RECORDED_ERROR_LOG_EVENT = (
    "[ERROR] CustomException: some error occurred\nTraceback (most recent call last):\n"
    '\u00a0\u00a0File "/var/task/handler.py", line 6, in handler\n'
    '\u00a0\u00a0\u00a0\u00a0raise CustomException("some error occurred")'
)
# The rule behind both, in Python's runtime interface client (awslambdaric/bootstrap.py, log_error):
# each stack line's leading spaces become U+00A0, and the lines are one event joined by "\n".
RUNTIME_CLIENT = "https://github.com/aws/aws-lambda-python-runtime-interface-client/blob/main/awslambdaric/bootstrap.py"
# x-amzn-ErrorType of API Gateway's own errors, recorded in
# https://github.com/localstack/localstack/blob/master/tests/aws/services/apigateway/test_apigateway_common.snapshot.json
# (test_routing_not_found: an unknown path and a wrong method) and test_apigateway_integrations.snapshot.json (502s).
RECORDED_ERROR_TYPES = {403: "MissingAuthenticationTokenException", 502: "InternalServerErrorException"}
