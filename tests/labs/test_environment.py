"""setup_env / teardown_env behaviour through the library, against the real emulator."""

import json

from workshop.account import deploy, environment, inventory
from workshop.core.naming import TAG_KEY, Names


def _kinds(found):
    return sorted((f.kind, f.name) for f in found)


def test_setup_creates_everything_then_is_a_no_op(backend, prefix):
    names = backend.names(prefix)
    first = environment.provision(backend, names)
    assert {o.status for o in first} == {environment.CREATED}
    assert len(first) == len(environment.BASE_RESOURCES)
    second = environment.provision(backend, names)
    assert {o.status for o in second} == {environment.EXISTS}

    found = _kinds(inventory.find(backend, names))
    assert found == sorted((r.kind, r.name(names)) for r in environment.BASE_RESOURCES)


# Actions that take no resource type, so that "*" is their only scope: an Active function's trace
# segments (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsx-ray.html)
WITHOUT_RESOURCES = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def test_execution_role_is_scoped_to_the_prefix(backend, prefix):
    names = backend.names(prefix)
    environment.provision(backend, names)
    iam = backend.client("iam")
    role = names.role(environment.EXECUTION_ROLE)
    trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    policy = iam.get_role_policy(RoleName=role, PolicyName=names.role(environment.EXECUTION_POLICY))
    document = policy["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    for statement in document["Statement"]:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for resource in resources:
            if set(statement["Action"]) <= WITHOUT_RESOURCES:
                assert resource == "*", statement
                continue
            assert resource == "*" and statement["Condition"] or f"{prefix}-*" in resource, statement
        assert "*" not in statement["Action"]


def test_setup_repairs_a_missing_resource_and_a_missing_tag(backend, prefix):
    names = backend.names(prefix)
    environment.provision(backend, names)
    backend.client("sqs").delete_queue(
        QueueUrl=backend.client("sqs").get_queue_url(QueueName=names.queue(environment.ALARM_INBOX_QUEUE))["QueueUrl"]
    )
    backend.client("s3").delete_bucket_tagging(Bucket=names.bucket(environment.ERROR_BUCKET))
    statuses = {o.name: o.status for o in environment.provision(backend, names)}
    assert statuses[names.queue(environment.ALARM_INBOX_QUEUE)] == environment.CREATED
    assert statuses[names.bucket(environment.ERROR_BUCKET)] == environment.UPDATED
    assert list(statuses.values()).count(environment.EXISTS) == len(statuses) - 2


def _add_learner_work(backend, names: Names) -> None:
    """What a learner builds in the labs: a versioned bucket, a table, a function, a key..."""
    tags = [{"Key": TAG_KEY, "Value": names.prefix}]
    s3 = backend.client("s3")
    bucket = names.bucket(environment.INCOMING_BUCKET)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"one", b"two"):
        s3.put_object(Bucket=bucket, Key="orders/2026 11/étude+1.csv", Body=body)
    s3.delete_object(Bucket=bucket, Key="orders/2026 11/étude+1.csv")  # leaves a delete marker
    s3.create_multipart_upload(Bucket=bucket, Key="big.bin")

    ddb = backend.client("dynamodb")
    ddb.create_table(
        TableName=names.table("documents-received"),
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        Tags=tags,
    )
    stream_arn = ddb.describe_table(TableName=names.table("documents-received"))["Table"]["LatestStreamArn"]

    role_arn = backend.client("iam").get_role(RoleName=names.role(environment.EXECUTION_ROLE))["Role"]["Arn"]
    lam = backend.client("lambda")
    lam.create_function(
        FunctionName=names.function("digester"),
        Runtime="python3.12",
        Role=role_arn,
        Handler="app.handler",
        Code={"ZipFile": _zip_of("def handler(e, c): return 1")},
        Tags={TAG_KEY: names.prefix},
    )
    lam.create_event_source_mapping(
        FunctionName=names.function("digester"), EventSourceArn=stream_arn, StartingPosition="LATEST"
    )
    logs = backend.client("logs")
    logs.create_log_group(logGroupName=names.log_group("digester"), tags={TAG_KEY: names.prefix})

    kms = backend.client("kms")
    key_id = kms.create_key(Tags=[{"TagKey": TAG_KEY, "TagValue": names.prefix}])["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=names.key_alias("vault"), TargetKeyId=key_id)

    backend.client("cloudwatch").put_metric_alarm(
        AlarmName=names.alarm("backlog"),
        MetricName="ApproximateNumberOfMessagesVisible",
        Namespace="AWS/SQS",
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=10,
        ComparisonOperator="GreaterThanThreshold",
        Tags=tags,
    )
    backend.client("apigateway").create_rest_api(name=names.api("orders"), tags={TAG_KEY: names.prefix})
    topic = backend.client("sns").create_topic(Name=names.topic(environment.ALARM_TOPIC))["TopicArn"]
    queue_url = backend.client("sqs").get_queue_url(QueueName=names.queue(environment.ALARM_INBOX_QUEUE))["QueueUrl"]
    queue_arn = backend.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    backend.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])


def _zip_of(source: str) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


def test_teardown_removes_everything_including_the_learners_work(backend, prefix):
    names = backend.names(prefix)
    environment.provision(backend, names)
    _add_learner_work(backend, names)
    found = inventory.find(backend, names)
    kinds = {f.kind for f in found}
    assert kinds == set(inventory.TEARDOWN_ORDER), f"not found: {set(inventory.TEARDOWN_ORDER) - kinds}"
    for resource in found:
        inventory.delete(backend, resource)
    assert inventory.find(backend, names) == []
    s3_names = [b["Name"] for b in backend.client("s3").list_buckets()["Buckets"]]
    assert not [b for b in s3_names if names.owns(b)]
    key_id = found[[f.kind for f in found].index("key")].identifier
    assert backend.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion"


def test_teardown_of_a_partial_environment_and_twice(backend, prefix):
    names = backend.names(prefix)
    environment.provision(backend, names)
    backend.client("s3").delete_bucket(Bucket=names.bucket(environment.PROCESSED_BUCKET))
    for resource in inventory.find(backend, names):
        inventory.delete(backend, resource)
    assert inventory.find(backend, names) == []
    for resource in inventory.find(backend, names):  # nothing left: a second run is a no-op
        inventory.delete(backend, resource)


def test_teardown_never_touches_decoys(backend, prefix):
    names = backend.names(prefix)
    environment.provision(backend, names)
    other = Names(f"{prefix}-x")  # a participant whose prefix starts with ours
    environment.provision(backend, other)
    s3, sqs, ddb = backend.client("s3"), backend.client("sqs"), backend.client("dynamodb")
    # The prefix in the name but no tag at all: somebody else's, whatever it is called.
    s3.create_bucket(Bucket=f"{prefix}-untagged")
    sqs.create_queue(QueueName=f"{prefix}-untagged")
    # The prefix in the name but the tag of another participant.
    s3.create_bucket(Bucket=f"{prefix}-foreign")
    s3.put_bucket_tagging(Bucket=f"{prefix}-foreign", Tagging={"TagSet": [{"Key": TAG_KEY, "Value": "other"}]})
    ddb.create_table(
        TableName=f"{prefix}-foreign",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        Tags=[{"Key": TAG_KEY, "Value": "other"}],
    )
    # Our tag but not our prefix in the name.
    s3.create_bucket(Bucket=f"z{prefix}-tagged-only")
    s3.put_bucket_tagging(Bucket=f"z{prefix}-tagged-only", Tagging={"TagSet": [{"Key": TAG_KEY, "Value": prefix}]})

    for resource in inventory.find(backend, names):
        inventory.delete(backend, resource)

    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert {f"{prefix}-untagged", f"{prefix}-foreign", f"z{prefix}-tagged-only"} <= buckets
    assert sqs.get_queue_url(QueueName=f"{prefix}-untagged")
    assert ddb.describe_table(TableName=f"{prefix}-foreign")
    other_found = _kinds(inventory.find(backend, other))
    assert other_found == sorted((r.kind, r.name(other)) for r in environment.BASE_RESOURCES)
    assert inventory.find(backend, names) == []


def test_teardown_removes_the_log_groups_lambda_made_for_the_participants_functions(backend, prefix):
    """Lambda creates /aws/lambda/<function> at the first invocation, untagged: teardown removes
    it with the tagged function it belongs to, and leaves the group of anyone else's function."""
    names = backend.names(prefix)
    environment.provision(backend, names)
    lam, logs = backend.client("lambda"), backend.client("logs")
    role = deploy.execution_role_arn(backend, names)
    code = {"ZipFile": _zip_of("def handler(event, context):\n    print('hello')\n")}
    mine, stray = names.function("learner-made"), f"{prefix}-stray"
    lam.create_function(
        FunctionName=mine, Runtime="python3.12", Role=role, Handler="app.handler", Code=code, Tags={TAG_KEY: prefix}
    )
    lam.create_function(FunctionName=stray, Runtime="python3.12", Role=role, Handler="app.handler", Code=code)
    for function in (mine, stray):
        lam.get_waiter("function_active_v2").wait(FunctionName=function)
        lam.invoke(FunctionName=function, Payload=b"{}")
    groups = {
        g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{prefix}-")["logGroups"]
    }
    assert {f"/aws/lambda/{mine}", f"/aws/lambda/{stray}"} <= groups
    assert not logs.list_tags_log_group(logGroupName=f"/aws/lambda/{mine}").get("tags")  # as Lambda makes it

    found = inventory.find(backend, names)
    assert ("log_group", f"/aws/lambda/{mine}") in {(f.kind, f.name) for f in found}
    for resource in found:
        inventory.delete(backend, resource)
    groups = {
        g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{prefix}-")["logGroups"]
    }
    assert f"/aws/lambda/{mine}" not in groups and f"/aws/lambda/{stray}" in groups
    lam.delete_function(FunctionName=stray)
    logs.delete_log_group(logGroupName=f"/aws/lambda/{stray}")
