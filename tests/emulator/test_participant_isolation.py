"""On a class's shared emulator each participant reaches their own resources, and no one else's.

Served with ``--host 0.0.0.0`` as INSTRUCTOR.md's shared class is. Class setup's keys are issued
through IAM as ``setup_env.py --connect-host`` issues them; ana then tries, with her own key, every
way a participant was able to reach bob's work: listing it, reading, overwriting and deleting it,
replacing his function's code, wiring his queue or function to her resources, and writing his
progress. Each is refused with AWS's AccessDenied; bob's work is untouched; the instructor sees all.
"""

from __future__ import annotations

import io
import json
import time
import urllib.request
import zipfile

import pytest
from botocore.exceptions import ClientError

from tests.conftest import emulator_process
from tests.lambda_helpers import deploy_source, invoke, ready_names
from workshop.account import participant_keys
from workshop.core import backend as backends
from workshop.core.errors import error_code
from workshop.core.launcher import INSTRUCTOR_ACCESS_KEY
from workshop.core.naming import Names
from workshop.core.waiting import wait_for
from workshop.teaching import progress

HANDLER = """
import boto3
def handler(event, context):
    s3 = boto3.client("s3")
    try:
        return s3.get_object(Bucket=event["bucket"], Key=event["key"])["Body"].read().decode()
    except Exception as error:
        return "refused: " + type(error).__name__ + " " + str(error)
"""


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    state = tmp_path_factory.mktemp("class")
    with emulator_process(state, serve_args=("--host", "0.0.0.0")) as env:
        port = env["WORKSHOP_PORT"]
        url = f"http://127.0.0.1:{port}"
        token = (state / f"admin-token-{port}").read_text().strip()
        instructor = backends.Backend(backends.ENDPOINT, url, backends.LOCAL_REGION, (INSTRUCTOR_ACCESS_KEY, token))
        store = state / "class-keys.json"
        people = {}
        for prefix in ("ana", "bob", "ana-b"):
            key = participant_keys.issue(instructor, Names(prefix), store)
            people[prefix] = backends.Backend(backends.ENDPOINT, url, backends.LOCAL_REGION, key)
        bob = people["bob"]
        names = ready_names(bob, "bob")
        bob.client("s3").put_object(Bucket=names.bucket("incoming"), Key="secret.csv", Body=b"bob's data")
        bob.client("dynamodb").create_table(
            TableName="bob-scores",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        bob.client("dynamodb").put_item(TableName="bob-scores", Item={"id": {"S": "1"}, "score": {"N": "7"}})
        queue = bob.client("sqs").create_queue(QueueName="bob-jobs")["QueueUrl"]
        bob.client("sqs").send_message(QueueUrl=queue, MessageBody="bob's job")
        deploy_source(bob, names, "reader", HANDLER)
        ready_names(people["ana"], "ana")
        progress.ensure_table(instructor, "wk")
        yield {"url": url, "instructor": instructor, "queue": queue, "store": store, "state": state, **people}


def _denied(call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as refused:
        call(*args, **kwargs)
    code = error_code(refused.value)
    assert code in ("AccessDenied", "AccessDeniedException"), refused.value
    return str(refused.value)


def test_listings_show_only_the_callers_own_resources(room):
    ana = room["ana"]
    assert all(b["Name"].startswith("ana-") for b in ana.client("s3").list_buckets()["Buckets"])
    assert ana.client("s3").list_buckets()["Buckets"], "ana's own buckets are listed"
    assert "bob-scores" not in ana.client("dynamodb").list_tables()["TableNames"]
    assert not any("bob-" in url for url in ana.client("sqs").list_queues().get("QueueUrls", []))
    assert not any(f["FunctionName"].startswith("bob-") for f in ana.client("lambda").list_functions()["Functions"])
    everyone = {b["Name"] for b in room["instructor"].client("s3").list_buckets()["Buckets"]}
    assert any(n.startswith("bob-") for n in everyone) and any(n.startswith("ana-") for n in everyone)


def test_another_participants_data_cannot_be_read_changed_or_deleted(room):
    ana, bob = room["ana"], room["bob"]
    bucket = Names("bob").bucket("incoming")
    _denied(ana.client("s3").get_object, Bucket=bucket, Key="secret.csv")
    _denied(ana.client("s3").put_object, Bucket=bucket, Key="secret.csv", Body=b"ana was here")
    _denied(ana.client("s3").list_objects_v2, Bucket=bucket)
    _denied(ana.client("dynamodb").get_item, TableName="bob-scores", Key={"id": {"S": "1"}})
    _denied(ana.client("dynamodb").delete_table, TableName="bob-scores")
    _denied(ana.client("dynamodb").batch_get_item, RequestItems={"bob-scores": {"Keys": [{"id": {"S": "1"}}]}})
    _denied(ana.client("sqs").receive_message, QueueUrl=room["queue"])
    _denied(ana.client("sqs").delete_queue, QueueUrl=room["queue"])
    bob_jobs = "arn:aws:sqs:us-east-1:123456789012:bob-jobs"
    _denied(ana.client("sqs").start_message_move_task, SourceArn=bob_jobs)  # a redrive of bob's queue
    _denied(ana.client("sqs").list_message_move_tasks, SourceArn=bob_jobs)
    assert bob.client("s3").get_object(Bucket=bucket, Key="secret.csv")["Body"].read() == b"bob's data"
    assert bob.client("dynamodb").get_item(TableName="bob-scores", Key={"id": {"S": "1"}})["Item"]["score"] == {
        "N": "7"
    }
    assert bob.client("sqs").get_queue_attributes(QueueUrl=room["queue"], AttributeNames=["All"])


def test_a_longer_prefix_is_its_own_participant(room):
    """``ana-b`` is another participant: ``ana``'s prefix does not make ``ana-b-...`` hers."""
    names = ready_names(room["ana-b"], "ana-b")
    _denied(room["ana"].client("s3").list_objects_v2, Bucket=names.bucket("incoming"))


def test_another_participants_function_cannot_be_replaced_invoked_or_wired(room):
    ana = room["ana"]
    lam = ana.client("lambda")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("app.py", "def handler(event, context):\n    return 'ana was here'\n")
    _denied(lam.update_function_code, FunctionName="bob-reader", ZipFile=archive.getvalue())
    _denied(lam.invoke, FunctionName="bob-reader", Payload=b"{}")
    _denied(lam.delete_function, FunctionName="bob-reader")
    queue_arn = "arn:aws:sqs:us-east-1:123456789012:bob-jobs"
    deploy_source(ana, Names("ana"), "thief", "def handler(event, context):\n    return event\n")
    _denied(lam.create_event_source_mapping, FunctionName="ana-thief", EventSourceArn=queue_arn)
    _denied(
        ana.client("s3").put_bucket_notification_configuration,
        Bucket=Names("ana").bucket("incoming"),
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {
                    "LambdaFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:bob-reader",
                    "Events": ["s3:ObjectCreated:*"],
                }
            ]
        },
    )
    _, answer = invoke(room["bob"], "bob-reader", {"bucket": Names("bob").bucket("incoming"), "key": "secret.csv"})
    assert answer == "bob's data", "bob's function still runs bob's code"


def test_a_handler_reaches_only_its_owners_resources(room):
    """The least-privilege lesson holds locally: bob's handler cannot read ana's object."""
    ana, bob = room["ana"], room["bob"]
    ana.client("s3").put_object(Bucket=Names("ana").bucket("incoming"), Key="mine.csv", Body=b"ana's data")
    _, answer = invoke(bob, "bob-reader", {"bucket": Names("ana").bucket("incoming"), "key": "mine.csv"})
    assert answer.startswith("refused: ") and "AccessDenied" in answer and "ana-incoming" in answer, answer


def test_progress_is_written_by_its_participant_alone(room):
    ana = room["ana"]
    table = progress.table_name("wk")
    dynamodb = ana.client("dynamodb")
    own = {"participant": {"S": "ana"}, "exercise": {"S": "1.1"}}
    dynamodb.update_item(
        TableName=table,
        Key=own,
        UpdateExpression="SET outcome = :o",
        ExpressionAttributeValues={":o": {"S": "correct"}},
    )
    _denied(
        dynamodb.update_item,
        TableName=table,
        Key={"participant": {"S": "bob"}, "exercise": {"S": "1.1"}},
        UpdateExpression="SET outcome = :o",
        ExpressionAttributeValues={":o": {"S": "correct"}},
    )
    _denied(dynamodb.put_item, TableName=table, Item={"participant": {"S": "bob"}, "exercise": {"S": "9.9"}})
    _denied(dynamodb.scan, TableName=table)
    rows = room["instructor"].client("dynamodb").scan(TableName=table)["Items"]
    assert [r["participant"]["S"] for r in rows] == ["ana"]


def test_unknown_keys_and_wrong_signatures_are_refused(room):
    url = room["url"]
    stranger = backends.Backend(backends.ENDPOINT, url, backends.LOCAL_REGION)  # the fake "test" key
    with pytest.raises(ClientError) as refused:
        stranger.client("s3").list_buckets()
    assert error_code(refused.value) == "InvalidAccessKeyId"
    with pytest.raises(ClientError) as refused:
        stranger.client("dynamodb").list_tables()
    assert error_code(refused.value) == "InvalidClientTokenId"
    key_id, _ = room["ana"].signing_key
    forger = backends.Backend(backends.ENDPOINT, url, backends.LOCAL_REGION, (key_id, "guessed"))
    with pytest.raises(ClientError) as refused:
        forger.client("sqs").list_queues()
    assert error_code(refused.value) == "SignatureDoesNotMatch"
    unsigned = urllib.request.Request(f"{url}/", method="GET")
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(unsigned, timeout=10)
    assert answer.value.code == 403


def test_participants_cannot_make_or_read_keys(room):
    iam = room["ana"].client("iam")
    _denied(iam.create_access_key, UserName="bob-participant")
    _denied(iam.list_access_keys, UserName="bob-participant")
    _denied(iam.create_user, UserName="ana-admin")


def test_setup_again_prints_the_same_key_and_teardown_revokes_it(room):
    instructor = room["instructor"]
    first = participant_keys.issue(instructor, Names("cy"), room["store"])
    assert participant_keys.issue(instructor, Names("cy"), room["store"]) == first
    assert json.loads(room["store"].read_text())["cy"] == list(first)
    cy = backends.Backend(backends.ENDPOINT, room["url"], backends.LOCAL_REGION, first)
    cy.client("sqs").list_queues()
    assert participant_keys.forget(instructor, Names("cy"), room["store"])
    with pytest.raises(ClientError):
        cy.client("sqs").list_queues()
    assert "cy" not in json.loads(room["store"].read_text())


def test_another_participants_api_topic_and_key_are_out_of_reach(room):
    ana, bob = room["ana"], room["bob"]
    api = bob.client("apigateway").create_rest_api(name="bob-orders-api")["id"]
    topic = bob.client("sns").create_topic(Name="bob-alerts")["TopicArn"]
    key = bob.client("kms").create_key(Tags=[{"TagKey": "workshop:env", "TagValue": "bob"}])["KeyMetadata"]["KeyId"]
    assert all(item["name"].startswith("ana-") for item in ana.client("apigateway").get_rest_apis()["items"])
    _denied(ana.client("apigateway").delete_rest_api, restApiId=api)
    _denied(ana.client("apigateway").create_rest_api, name="bob-fake-api")
    _denied(ana.client("sns").publish, TopicArn=topic, Message="from ana")
    _denied(ana.client("sns").create_topic, Name="bob-other")
    _denied(ana.client("kms").encrypt, KeyId=key, Plaintext=b"x")
    _denied(ana.client("kms").create_alias, AliasName="alias/bob-mine", TargetKeyId=key)
    assert bob.client("apigateway").get_rest_api(restApiId=api)["name"] == "bob-orders-api"
    assert bob.client("kms").encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]


def test_another_participants_logs_and_alarms_are_out_of_reach(room):
    ana, bob = room["ana"], room["bob"]
    invoke(bob, "bob-reader", {"bucket": Names("bob").bucket("incoming"), "key": "secret.csv"})  # a log group
    bob.client("cloudwatch").put_metric_alarm(
        AlarmName="bob-backlog",
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": "bob-jobs"}],
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    _denied(ana.client("logs").filter_log_events, logGroupName="/aws/lambda/bob-reader")
    _denied(ana.client("logs").delete_log_group, logGroupName="/aws/lambda/bob-reader")
    groups = ana.client("logs").describe_log_groups()["logGroups"]
    assert not any("bob-" in g["logGroupName"] for g in groups)
    _denied(ana.client("cloudwatch").delete_alarms, AlarmNames=["bob-backlog"])
    assert not any(
        a["AlarmName"].startswith("bob-") for a in ana.client("cloudwatch").describe_alarms()["MetricAlarms"]
    )
    assert [a["AlarmName"] for a in bob.client("cloudwatch").describe_alarms()["MetricAlarms"]] == ["bob-backlog"]
    assert bob.client("logs").filter_log_events(logGroupName="/aws/lambda/bob-reader")["events"]


def test_a_partiql_statement_cannot_reach_around_the_table_name(room):
    _denied(room["ana"].client("dynamodb").execute_statement, Statement='SELECT * FROM "bob-scores"')


def test_another_participants_traces_are_out_of_reach(room):
    """X-Ray answers a participant with the segments of their own functions and their own
    sends; bob's traced invocation (and the read it made) is the instructor's and bob's to see."""
    ana, bob = room["ana"], room["bob"]
    deploy_source(bob, Names("bob"), "traced", HANDLER, TracingConfig={"Mode": "Active"})
    _, answer = invoke(bob, "bob-traced", {"bucket": Names("bob").bucket("incoming"), "key": "secret.csv"})
    assert answer == "bob's data"
    now = time.time()
    window = {"StartTime": now - 300, "EndTime": now + 60}
    bobs = wait_for(lambda: bob.client("xray").get_trace_summaries(**window)["TraceSummaries"], "bob's trace")
    trace_id = bobs[0]["Id"]
    (segment,) = [
        json.loads(s["Document"])
        for t in bob.client("xray").batch_get_traces(TraceIds=[trace_id])["Traces"]
        for s in t["Segments"]
        if json.loads(s["Document"])["origin"] == "AWS::Lambda::Function"
    ]
    assert [c["aws"]["operation"] for c in segment["subsegments"] if c.get("namespace") == "aws"] == ["GetObject"]

    xray = ana.client("xray")
    assert trace_id not in [s["Id"] for s in xray.get_trace_summaries(**window)["TraceSummaries"]]
    found = xray.batch_get_traces(TraceIds=[trace_id])
    assert found["Traces"] == [] and found["UnprocessedTraceIds"] == [trace_id]
    assert "bob-traced" not in [s["Name"] for s in xray.get_service_graph(**window)["Services"]]
    forged = {
        "name": "bob-traced",
        "id": "0123456789abcdef",
        "trace_id": trace_id,
        "start_time": now,
        "end_time": now + 1,
        "resource_arn": "arn:aws:lambda:us-east-1:123456789012:function:bob-traced",
    }
    _denied(xray.put_trace_segments, TraceSegmentDocuments=[json.dumps(forged)])
    assert trace_id in [
        s["Id"] for s in room["instructor"].client("xray").get_trace_summaries(**window)["TraceSummaries"]
    ]
