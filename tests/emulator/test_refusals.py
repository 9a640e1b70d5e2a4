"""A refused call changes nothing, as on AWS: each call the labs make, refused with AWS's error,
leaves the resource exactly as it was (and a refused create leaves no resource).

Arguments the SDK itself would refuse (a BatchSize of 0) are sent with botocore's parameter
validation off, as another SDK or a hand-written request would send them.
"""

import json

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.emulator.test_event_delivery import queue
from tests.lambda_helpers import deploy_source, ready_names
from workshop.aws import refusals

HANDLER = "def handler(event, context):\n    return {}\n"


@pytest.fixture
def names(backend, prefix):
    return ready_names(backend, prefix)


def _unchecked(backend, service):
    """A client that sends what it is given, so the emulator is the one to refuse it."""
    return backend.session().client(
        service,
        endpoint_url=backend.endpoint_url,
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
    )


def _refused(call):
    with pytest.raises(ClientError) as error:
        call()
    return error.value.response["Error"]["Code"], error.value.response["Error"]["Message"]


# ---- SQS -----------------------------------------------------------------------------------


def _queue_settings(sqs, url):
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return {k: v for k, v in attributes.items() if not k.startswith("Approximate")}


@pytest.mark.parametrize(
    "attributes, code, reason",
    [
        ({"RedrivePolicy": "url"}, "InvalidParameterValue", "Invalid value for deadLetterTargetArn."),
        ({"RedrivePolicy": "missing"}, "InvalidParameterValue", "Dead letter target does not exist."),
        ({"RedrivePolicy": 0}, "InvalidParameterValue", "Invalid value for maxReceiveCount: 0"),
        ({"RedrivePolicy": 1001}, "InvalidParameterValue", "valid values are from 1 to 1000 both inclusive"),
        ({"VisibilityTimeout": "60", "DelaySeconds": "901"}, "InvalidAttributeValue", "DelaySeconds"),
        (
            {"VisibilityTimeout": "60", "MessageRetentionPeriod": "59"},
            "InvalidAttributeValue",
            "MessageRetentionPeriod",
        ),
        ({"VisibilityTimeout": "43201"}, "InvalidAttributeValue", "VisibilityTimeout"),
        ({"VisibilityTimeout": "60", "ReceiveMessageWaitTimeSeconds": "21"}, "InvalidAttributeValue", "ReceiveMessage"),
        ({"VisibilityTimeout": "60", "Policy": "{not json"}, "InvalidAttributeValue", "Policy"),
        (
            {"VisibilityTimeout": "60", "NoSuchAttribute": "1"},
            "InvalidAttributeName",
            "Unknown Attribute NoSuchAttribute",
        ),
        ({"VisibilityTimeout": "60", "FifoQueue": "true"}, "InvalidAttributeValue", "Modifying queue type"),
    ],
)
def test_set_queue_attributes_applies_nothing_of_a_refused_request(backend, names, attributes, code, reason):
    sqs = backend.client("sqs")
    url, _ = queue(backend, names, "jobs")
    dlq_url, dlq_arn = queue(backend, names, "jobs-dlq")
    redrive = attributes.get("RedrivePolicy")
    if redrive is not None:
        target = {"url": dlq_url, "missing": dlq_arn + "-gone"}.get(redrive, dlq_arn)
        count = redrive if isinstance(redrive, int) else 3
        attributes = {
            "VisibilityTimeout": "60",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": target, "maxReceiveCount": count}),
        }
    before = _queue_settings(sqs, url)
    found_code, message = _refused(lambda: sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes))
    assert found_code == code and reason in message
    assert _queue_settings(sqs, url) == before, "a refused SetQueueAttributes changed the queue"
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "VisibilityTimeout": "60",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}),
        },
    )  # the valid request is accepted whole
    after = _queue_settings(sqs, url)
    assert after["VisibilityTimeout"] == "60" and json.loads(after["RedrivePolicy"])["deadLetterTargetArn"] == dlq_arn


def test_a_fifo_queue_refuses_a_standard_dead_letter_queue(backend, names):
    sqs = backend.client("sqs")
    fifo = sqs.create_queue(QueueName=names.queue("jobs", fifo=True), Attributes={"FifoQueue": "true"})["QueueUrl"]
    _, standard_arn = queue(backend, names, "jobs-dlq")
    before = _queue_settings(sqs, fifo)
    code, message = _refused(
        lambda: sqs.set_queue_attributes(
            QueueUrl=fifo,
            Attributes={
                "ContentBasedDeduplication": "true",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": standard_arn, "maxReceiveCount": 3}),
            },
        )
    )
    assert code == "InvalidParameterValue" and "same type of queue" in message
    assert _queue_settings(sqs, fifo) == before


@pytest.mark.parametrize(
    "attributes, code",
    [
        ({"DelaySeconds": "901"}, "InvalidAttributeValue"),
        ({"VisibilityTimeout": "soon"}, "InvalidAttributeValue"),
        ({"MaximumMessageSize": "100"}, "InvalidAttributeValue"),
        ({"ContentBasedDeduplication": "true"}, "InvalidAttributeName"),  # a FIFO-only attribute
        (
            {
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": "https://sqs.example/123456789012/dlq", "maxReceiveCount": 3}
                )
            },
            "InvalidParameterValue",
        ),
    ],
)
def test_create_queue_with_invalid_attributes_creates_no_queue(backend, names, attributes, code):
    sqs = backend.client("sqs")
    assert _refused(lambda: sqs.create_queue(QueueName=names.queue("half"), Attributes=attributes))[0] == code
    assert not sqs.list_queues(QueueNamePrefix=names.queue("half")).get("QueueUrls")


# ---- S3 ------------------------------------------------------------------------------------


def _deny_deletes(bucket):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:DeleteObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                }
            ],
        }
    )


@pytest.mark.parametrize(
    "statement, message",
    [
        (None, "Policies must be valid JSON and the first byte must be '{'"),
        ({}, "Missing required field Statement"),
        ({"Effect": "Maybe", "Principal": "*", "Action": "s3:GetObject"}, "Invalid effect: Maybe"),
        ({"Effect": "Allow", "Action": "s3:GetObject"}, "Missing required field Principal"),
        (
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::someone-else/*"},
            "Policy has invalid resource",
        ),
    ],
)
def test_a_malformed_bucket_policy_leaves_the_old_one(backend, names, statement, message):
    s3, bucket = backend.client("s3"), names.bucket("incoming")
    s3.put_bucket_policy(Bucket=bucket, Policy=_deny_deletes(bucket))
    if statement is None:
        policy = "{not json"
    elif not statement:
        policy = json.dumps({"Version": "2012-10-17"})
    else:
        statement.setdefault("Resource", f"arn:aws:s3:::{bucket}/*")
        policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    assert _refused(lambda: s3.put_bucket_policy(Bucket=bucket, Policy=policy)) == ("MalformedPolicy", message)
    assert s3.get_bucket_policy(Bucket=bucket)["Policy"] == _deny_deletes(bucket)
    s3.put_object(Bucket=bucket, Key="still-usable.txt", Body=b"x")  # the stored policy is still the readable one


def _notifications(s3, bucket):
    return {k: v for k, v in s3.get_bucket_notification_configuration(Bucket=bucket).items() if k != "ResponseMetadata"}


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing queue", "Unable to validate the following destination configurations"),
        ("missing topic", "Unable to validate the following destination configurations"),
        ("missing function", "Unable to validate the following destination configurations"),
        ("bad filter name", "filter rule name must be either prefix or suffix"),
        ("two prefixes", "Cannot specify more than one prefix rule in a filter."),
        ("overlapping", "Configuration is ambiguously defined."),
    ],
)
def test_a_refused_notification_configuration_leaves_the_old_one(backend, names, case, message):
    s3, bucket = backend.client("s3"), names.bucket("incoming")
    url, queue_arn = queue(backend, names, "uploads")
    good = {
        "Id": "uploads",
        "QueueArn": queue_arn,
        "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "orders/"}]}},
    }
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [good]})
    before = _notifications(s3, bucket)
    region_account = queue_arn.split(":")[3:5]
    configuration = {
        "missing queue": {"QueueConfigurations": [{**good, "QueueArn": queue_arn + "-gone", "Id": "x"}]},
        "missing topic": {
            "QueueConfigurations": [good],
            "TopicConfigurations": [
                {
                    "TopicArn": f"arn:aws:sns:{':'.join(region_account)}:{names.topic('gone')}",
                    "Events": ["s3:ObjectRemoved:*"],
                }
            ],
        },
        "missing function": {
            "LambdaFunctionConfigurations": [
                {
                    "LambdaFunctionArn": f"arn:aws:lambda:{':'.join(region_account)}:function:{names.function('gone')}",
                    "Events": ["s3:ObjectCreated:*"],
                }
            ]
        },
        "bad filter name": {
            "QueueConfigurations": [
                {**good, "Filter": {"Key": {"FilterRules": [{"Name": "extension", "Value": ".csv"}]}}}
            ]
        },
        "two prefixes": {
            "QueueConfigurations": [
                {
                    **good,
                    "Filter": {
                        "Key": {"FilterRules": [{"Name": "prefix", "Value": "a/"}, {"Name": "prefix", "Value": "b/"}]}
                    },
                }
            ]
        },
        "overlapping": {
            "QueueConfigurations": [
                good,
                {
                    **good,
                    "Id": "all-puts",
                    "Events": ["s3:ObjectCreated:Put"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "orders/2026/"}]}},
                },
            ]
        },
    }[case]
    code, found = _refused(
        lambda: s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=configuration)
    )
    assert code == "InvalidArgument" and found.startswith(message)
    assert _notifications(s3, bucket) == before, "a refused configuration replaced the bucket's"


def test_notification_rules_that_cannot_overlap_are_accepted(backend, names):
    s3, bucket = backend.client("s3"), names.bucket("incoming")
    _, created_arn = queue(backend, names, "created")
    _, removed_arn = queue(backend, names, "removed")
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": created_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "orders/"}]}},
                },
                {
                    "QueueArn": created_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "returns/"}]}},
                },
                {"QueueArn": removed_arn, "Events": ["s3:ObjectRemoved:*"]},
            ]
        },
    )
    assert len(_notifications(s3, bucket)["QueueConfigurations"]) == 3


@pytest.mark.parametrize(
    "default, code",
    [
        ({"SSEAlgorithm": "AES257"}, "MalformedXML"),
        ({"SSEAlgorithm": "AES256", "KMSMasterKeyID": "alias/aws/s3"}, "InvalidArgument"),
        ({"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": ""}, "InvalidArgument"),
    ],
)
def test_refused_default_encryption_leaves_the_old_one(backend, names, default, code):
    s3, kms, bucket = backend.client("s3"), backend.client("kms"), names.bucket("processed")
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}}]
        },
    )
    before = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert (
        _refused(
            lambda: _unchecked(backend, "s3").put_bucket_encryption(
                Bucket=bucket,
                ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": default}]},
            )
        )[0]
        == code
    )
    assert s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"] == before


def test_default_encryption_with_an_unknown_key_is_stored_and_uploads_are_refused(backend, names):
    """S3 does not look the key up when the default is set (AWS accepts it); the uploads that
    would use it are refused (tests/emulator/test_kms_and_policies.py covers those errors)."""
    s3, bucket = backend.client("s3"), names.bucket("processed")
    unknown = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": unknown}}]
        },
    )
    assert _refused(lambda: s3.put_object(Bucket=bucket, Key="a", Body=b"x"))[0] == "KMS.NotFoundException"


# ---- Lambda event-source mappings ----------------------------------------------------------


def _mappings(backend, function):
    listed = backend.client("lambda").list_event_source_mappings(FunctionName=function)["EventSourceMappings"]
    keep = (
        "UUID",
        "BatchSize",
        "MaximumBatchingWindowInSeconds",
        "FilterCriteria",
        "FunctionArn",
        "FunctionResponseTypes",
        "ScalingConfig",
    )
    return [{k: m.get(k) for k in keep} for m in listed]


@pytest.mark.parametrize(
    "options, code",
    [
        ({"BatchSize": 0}, "ValidationException"),
        ({"BatchSize": 10001}, "ValidationException"),
        ({"BatchSize": 50}, "InvalidParameterValueException"),  # above 10 needs a batching window
        ({"MaximumBatchingWindowInSeconds": 301}, "ValidationException"),
        ({"FilterCriteria": {"Filters": [{"Pattern": "{not json"}]}}, "InvalidParameterValueException"),
        ({"FunctionResponseTypes": ["ReportEverything"]}, "ValidationException"),
        ({"StartingPosition": "LATEST"}, "InvalidParameterValueException"),  # not for a queue
        ({"ScalingConfig": {"MaximumConcurrency": 1}}, "ValidationException"),
        ({"EventSourceArn": None}, "InvalidParameterValueException"),
    ],
)
def test_a_refused_mapping_is_not_created(backend, names, options, code):
    function = deploy_source(backend, names, "worker", HANDLER)
    _, arn = queue(backend, names, "jobs")
    request = {"FunctionName": function, "EventSourceArn": arn, **options}
    request = {k: v for k, v in request.items() if v is not None}
    assert _refused(lambda: _unchecked(backend, "lambda").create_event_source_mapping(**request))[0] == code
    assert _mappings(backend, function) == []


def test_a_fifo_queue_mapping_takes_batches_of_ten_at_most(backend, names):
    function = deploy_source(backend, names, "worker", HANDLER)
    url = backend.client("sqs").create_queue(
        QueueName=names.queue("jobs", fifo=True), Attributes={"FifoQueue": "true"}
    )["QueueUrl"]
    arn = backend.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    lam = backend.client("lambda")
    code, _ = _refused(
        lambda: lam.create_event_source_mapping(
            FunctionName=function, EventSourceArn=arn, BatchSize=11, MaximumBatchingWindowInSeconds=1
        )
    )
    assert code == "InvalidParameterValueException" and _mappings(backend, function) == []


def test_a_stream_mapping_needs_a_starting_position(backend, names):
    function = deploy_source(backend, names, "worker", HANDLER)
    table = backend.client("dynamodb").create_table(
        TableName=names.table("scores"),
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    stream_arn = table["TableDescription"]["LatestStreamArn"]
    lam = _unchecked(backend, "lambda")
    assert (
        _refused(lambda: lam.create_event_source_mapping(FunctionName=function, EventSourceArn=stream_arn))[0]
        == "InvalidParameterValueException"
    )
    assert (
        _refused(
            lambda: lam.create_event_source_mapping(
                FunctionName=function, EventSourceArn=stream_arn, StartingPosition="LATEST", MaximumRetryAttempts=-2
            )
        )[0]
        == "ValidationException"
    )
    assert _mappings(backend, function) == []


@pytest.mark.parametrize(
    "change",
    [
        {"BatchSize": 0},
        {"BatchSize": 20},  # the mapping has no batching window
        {"BatchSize": 8, "MaximumBatchingWindowInSeconds": 301},
        {"BatchSize": 8, "FilterCriteria": {"Filters": [{"Pattern": "[]"}]}},
        {"BatchSize": 8, "FunctionResponseTypes": ["ReportEverything"]},
        {"BatchSize": 8, "FunctionName": "no-such-function"},  # moto stored the BatchSize, then failed
    ],
)
def test_a_refused_mapping_update_changes_nothing(backend, names, change):
    function = deploy_source(backend, names, "worker", HANDLER)
    _, arn = queue(backend, names, "jobs")
    lam = backend.client("lambda")
    uuid = lam.create_event_source_mapping(
        FunctionName=function, EventSourceArn=arn, BatchSize=5, FunctionResponseTypes=["ReportBatchItemFailures"]
    )["UUID"]
    before = _mappings(backend, function)
    _refused(lambda: _unchecked(backend, "lambda").update_event_source_mapping(UUID=uuid, **change))
    assert _mappings(backend, function) == before


def test_updating_an_unknown_mapping_is_not_found(backend):
    code, message = _refused(
        lambda: backend.client("lambda").update_event_source_mapping(
            UUID="00000000-0000-0000-0000-000000000000", BatchSize=3
        )
    )
    assert (code, message) == ("ResourceNotFoundException", "The resource you requested does not exist.")


# ---- KMS -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "policy",
    [
        "{not json",
        json.dumps({"Version": "2012-10-17"}),
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Perhaps", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}],
            }
        ),
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}),
    ],
)
def test_a_malformed_key_policy_leaves_the_old_one(backend, policy):
    kms = backend.client("kms")
    key = kms.create_key(Description="refusals")["KeyMetadata"]["KeyId"]
    before = kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"]
    assert (
        _refused(lambda: kms.put_key_policy(KeyId=key, PolicyName="default", Policy=policy))[0]
        == "MalformedPolicyDocumentException"
    )
    assert kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"] == before


# ---- CloudWatch ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, code",
    [
        ({"Period": 45}, "InvalidParameterValue"),
        ({"ComparisonOperator": "Bigger"}, "ValidationError"),
        ({"Statistic": "Median"}, "ValidationError"),
        ({"ExtendedStatistic": "p99"}, "InvalidParameterCombination"),  # with Statistic
        ({"EvaluationPeriods": 2, "DatapointsToAlarm": 3}, "ValidationError"),
        ({"TreatMissingData": "sometimes"}, "ValidationError"),
        ({"AlarmActions": ["not-an-arn"]}, "ValidationError"),
        ({"EvaluationPeriods": 1441}, "ValidationError"),  # 1441 minutes: more than a day
    ],
)
def test_a_refused_alarm_leaves_the_existing_one(backend, names, change, code):
    cloudwatch = backend.client("cloudwatch")
    alarm = {
        "AlarmName": names.alarm("backlog"),
        "Namespace": "AWS/SQS",
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions": [{"Name": "QueueName", "Value": names.queue("jobs")}],
        "Statistic": "Maximum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 5,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
    }
    cloudwatch.put_metric_alarm(**alarm)
    before = cloudwatch.describe_alarms(AlarmNames=[alarm["AlarmName"]])["MetricAlarms"]
    refused = {**alarm, **change, "Threshold": 9}
    assert _refused(lambda: _unchecked(backend, "cloudwatch").put_metric_alarm(**refused))[0] == code
    assert cloudwatch.describe_alarms(AlarmNames=[alarm["AlarmName"]])["MetricAlarms"] == before


# ---- the rules on their own ----------------------------------------------------------------


def test_sqs_rules_judge_the_whole_request():
    def no_queue(arn):
        return None

    refusal = refusals.sqs_attributes(
        {"VisibilityTimeout": "60", "DelaySeconds": "-1"}, fifo=False, creating=False, dead_letter_queue_fifo=no_queue
    )
    assert refusal == refusals.Refusal("InvalidAttributeValue", "Invalid value for the parameter DelaySeconds.")
    assert (
        refusals.sqs_attributes({"RedrivePolicy": "{}"}, fifo=False, creating=False, dead_letter_queue_fifo=no_queue)
        is None
    ), "{} removes the redrive policy"
    assert (
        refusals.sqs_attributes(
            {"SqsManagedSseEnabled": "TRUE", "Policy": ""}, fifo=False, creating=True, dead_letter_queue_fifo=no_queue
        )
        is None
    )
