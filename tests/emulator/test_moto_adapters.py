"""Fail loudly, in one place, when moto changes under the emulator.

Each check names a piece of moto that workshop/emulator/moto_adapters/ relies on; an
upgrade that moves or reshapes it fails here with the name of what to look at.
"""

import base64
import inspect
import json
import re
from pathlib import Path

import moto
import pytest
from moto.awslambda import models as lambda_models
from moto.cloudwatch import models as cloudwatch_models
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import table as dynamodb_tables
from moto.dynamodbstreams import models as streams_models
from moto.iam import models as iam_models
from moto.kms import models as kms_models
from moto.logs import models as logs_models
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.s3 import models as s3_models
from moto.s3 import notifications as s3_notifications
from moto.s3 import responses as s3_responses
from moto.sns import models as sns_models
from moto.sqs import models as sqs_models

from workshop.emulator.moto_adapters import dynamodb as moto_dynamodb
from workshop.emulator.moto_adapters import server as moto_server
from workshop.emulator.moto_adapters import sqs as moto_sqs
from workshop.emulator.moto_adapters import sqs_deletes as moto_sqs_deletes
from workshop.emulator.moto_adapters import state as moto_state


def test_installed_moto_is_the_pinned_one():
    assert moto_server.version_mismatch() is None, moto_server.version_mismatch()
    assert moto.__version__ == moto_server.PINNED_MOTO_VERSION


def test_requirements_pin_the_same_moto():
    requirements = (Path(__file__).parents[2] / "requirements.txt").read_text()
    pinned = re.search(r"^moto(\[[^\]]*\])?==(\S+)$", requirements, re.MULTILINE)
    assert pinned and pinned.group(2) == moto_server.PINNED_MOTO_VERSION


def _parameters(function):
    return list(inspect.signature(function).parameters)


@pytest.mark.parametrize(
    "owner, name, parameters",
    [
        (s3_notifications, "send_event", ["account_id", "event_name", "bucket", "key"]),
        (s3_models.Notification, "matches", ["self", "event_name", "key_name"]),
        (s3_models.S3Backend, "complete_multipart_upload", None),
        (s3_models.S3Backend, "delete_object", ["self", "bucket_name", "key_name", "version_id", "bypass"]),
        (
            sns_models.Subscription,
            "publish",
            [
                "self",
                "message",
                "message_id",
                "subject",
                "message_attributes",
                "group_id",
                "deduplication_id",
                "message_structure",
            ],
        ),
        (sns_models.Subscription, "_parse_message_structure", None),
        (lambda_models.LambdaFunction, "update_configuration", ["self", "config_updates"]),
        (lambda_models.LambdaFunction, "get_configuration", None),
        (lambda_models.LambdaBackend, "get_function", ["self", "function_name_or_arn", "qualifier"]),
        (lambda_models.LambdaBackend, "create_event_source_mapping", ["self", "spec"]),
        (lambda_models.LambdaBackend, "delete_function", ["self", "function_name", "qualifier"]),
        (lambda_models.LambdaBackend, "create_function", ["self", "spec"]),
        (lambda_models.LambdaBackend, "update_function_configuration", ["self", "function_name", "qualifier", "body"]),
        (lambda_models.LambdaFunction, "_set_function_code", ["self", "updated_spec"]),
        (lambda_models.LambdaBackend, "put_function_event_invoke_config", ["self", "function_name", "config"]),
        (lambda_models, "EventInvokeConfig", None),
        (lambda_models.EventSourceMapping, "get_configuration", ["self"]),
        (logs_models.LogsBackend, "ensure_log_group", None),
        (logs_models.LogsBackend, "create_log_stream", ["self", "log_group_name", "log_stream_name"]),
        (logs_models.LogsBackend, "put_log_events", ["self", "log_group_name", "log_stream_name", "log_events"]),
        (streams_models.ShardIterator, "get", ["self", "limit"]),
        (dynamodb_models.DynamoDBBackend, "update_item", None),
        (dynamodb_tables.Table, "put_item", None),
        (dynamodb_tables.StreamShard, "add", ["self", "old", "new"]),
        (DomainDispatcherApplication, "get_backend_for_host", ["self", "host"]),
        (iam_models.IAMBackend, "get_roles", ["self"]),
        (sqs_models.Queue, "add_message", ["self", "message"]),
        (sqs_models.SQSBackend, "send_message", None),
        (sqs_models.SQSBackend, "receive_message", None),
        (sqs_models.SQSBackend, "delete_message", ["self", "queue_name", "receipt_handle"]),
        (s3_models.FakeBucket, "get_permission", ["self", "action", "resource"]),
        (kms_models.KmsBackend, "any_id_to_key_id", ["self", "key_id"]),
        (kms_models.KmsBackend, "disable_key", ["self", "key_id"]),
        (
            cloudwatch_models.CloudWatchBackend,
            "set_alarm_state",
            ["self", "alarm_name", "reason", "reason_data", "state_value"],
        ),
        (cloudwatch_models.CloudWatchBackend, "put_metric_data", ["self", "namespace", "metric_data"]),
        (cloudwatch_models.CloudWatchBackend, "put_metric_alarm", None),
        (sqs_models.SQSBackend, "set_queue_attributes", ["self", "queue_name", "attributes"]),
        (sqs_models.SQSBackend, "create_queue", ["self", "name", "tags", "kwargs"]),
        (s3_models.S3Backend, "put_bucket_policy", ["self", "bucket_name", "policy"]),
        (s3_models.S3Backend, "put_bucket_encryption", ["self", "bucket_name", "encryption"]),
        (s3_responses.S3Response, "_notification_config_from_body", ["self"]),
        (s3_responses.S3Response, "subdomain_based_buckets", ["request"]),
        (lambda_models.LambdaBackend, "update_event_source_mapping", ["self", "uuid", "spec"]),
        (kms_models.KmsBackend, "put_key_policy", ["self", "key_id", "policy"]),
    ],
)
def test_the_internals_used_still_exist(owner, name, parameters):
    assert hasattr(owner, name), f"moto no longer has {owner.__name__}.{name}: revisit workshop/emulator/moto_adapters/"
    if parameters is not None:
        assert _parameters(getattr(owner, name)) == parameters, (
            f"moto changed the signature of {owner.__name__}.{name}: revisit workshop/emulator/moto_adapters/"
        )


def test_the_attributes_read_still_exist():
    source = inspect.getsource(lambda_models.LambdaFunction.__init__)
    for attribute in (
        "self.function_name",
        "self.handler",
        "self.run_time",
        "self.timeout",
        "self.memory_size",
        "self.environment_vars",
        "self.event_invoke_config",
        "self.logs_group_name",
        "self.role",
    ):
        assert attribute in source, f"LambdaFunction no longer sets {attribute}"
    assert "self._event_source_mappings" in inspect.getsource(lambda_models.LambdaBackend.__init__)
    assert "lambda_event_source_mappings" in inspect.getsource(sqs_models.Queue.__init__)
    assert "self.deduplication_id" in inspect.getsource(sqs_models.Message.__init__)
    assert "self.sent_timestamp" in inspect.getsource(sqs_models.Message.__init__)
    assert sqs_models.DEDUPLICATION_TIME_IN_SECONDS == 300
    assert "self.shard_iterators" in inspect.getsource(streams_models.DynamoDBStreamsBackend.__init__)
    assert "self.stream_shard" in inspect.getsource(dynamodb_tables.Table.__init__)
    assert "self.items" in inspect.getsource(dynamodb_tables.StreamShard.__init__)
    assert "self.tables" in inspect.getsource(dynamodb_models.DynamoDBBackend.__init__)
    assert "self.roles" in inspect.getsource(iam_models.IAMBackend.__init__)
    from moto.apigateway import models as apigateway_models

    assert "self.resources" in inspect.getsource(apigateway_models.RestAPI.__init__)
    assert "self.stages" in inspect.getsource(apigateway_models.RestAPI.__init__)
    assert "self.integration_type" in inspect.getsource(apigateway_models.Integration.__init__)
    assert hasattr(apigateway_models.Resource, "get_path") and hasattr(apigateway_models, "apigateway_backends")
    assert "self.deployment_id" in inspect.getsource(apigateway_models.Stage.__init__)
    assert "self.binaryMediaTypes" in inspect.getsource(apigateway_models.RestAPI.__init__)
    from moto.apigateway.responses import APIGatewayResponse

    assert _parameters(APIGatewayResponse.create_rest_api) == ["self"]
    assert "_filter_policy_matcher" in inspect.getsource(sns_models.Subscription.__init__)
    from moto.core.base_backend import BackendDict

    assert isinstance(BackendDict._instances, list), "persistence finds moto's backends through BackendDict._instances"
    assert isinstance(s3_models.s3_backends.bucket_accounts, dict)
    assert callable(moto_server.moto_wsgi_app())
    assert hasattr(moto_server.RequestHandler, "make_environ")


def test_dynamodb_sets_are_sized_and_read_without_wrapping_each_member(monkeypatch):
    """An item's size is computed on every write to it, a condition reads a set's values and
    UpdateItem copies the item to JSON twice: moto wrapped or visited each member of a set in
    Python for all three, so writes to an item with a growing set (lab 5's CountedRecords)
    slowed down with every member added."""
    from moto.dynamodb.models import dynamo_type

    for name in ("size", "cast_value"):  # put back after the test
        monkeypatch.setattr(dynamo_type.DynamoType, name, dynamo_type.DynamoType.__dict__[name])
    monkeypatch.setattr(dynamo_type.Item, "to_json", dynamo_type.Item.to_json)
    attributes = {
        "PlayerName": {"S": "ana"},
        "ids": {"SS": ["b", "a", "über"]},
        "scores": {"NS": ["1", "2.5"]},
        "blobs": {"BS": ["AAE="]},
        "nested": {"M": {"ids": {"SS": ["x"]}, "l": {"L": [{"NS": ["10"]}, {"S": "s"}]}}},
        "games": {"N": "3"},
    }
    item = dynamo_type.Item(dynamo_type.DynamoType({"S": "ana"}), None, attributes)
    moto_json = item.to_json()
    moto_size = dynamo_type.DynamoType.size
    values = [
        {"SS": ["a", "über", "rec-0001"]},
        {"NS": ["1", "2.50", "-3e2"]},
        {"BS": [b"\x00\x01", "AAE="]},
        {"M": {"ids": {"SS": ["x", "y"]}, "n": {"N": "7"}, "l": {"L": [{"NS": ["10"]}, {"S": "s"}]}}},
        {"S": "plain"},
        {"N": "42"},
        {"BOOL": True},
        {"NULL": True},
    ]
    expected = [(dynamo_type.DynamoType(v).size(), dynamo_type.DynamoType(v).cast_value) for v in values]
    moto_dynamodb._dynamodb_sets_without_wrapping_members()
    assert dynamo_type.DynamoType.size is not moto_size
    assert [(dynamo_type.DynamoType(v).size(), dynamo_type.DynamoType(v).cast_value) for v in values] == expected
    assert item.to_json() == moto_json and list(item.to_json()["Attributes"]) == list(attributes)
    assert item.to_json("Item")["Item"]["ids"]["SS"] is not item.attrs["ids"].value, "a copy, as moto's"
    assert dynamo_type.Item(dynamo_type.DynamoType({"S": "bo"}), None, {"n": {"N": "1"}}).to_json() == {
        "Attributes": {"n": {"N": "1"}}
    }

    members = {"SS": [f"rec-{n:05d}" for n in range(1000)]}
    wrapped = []
    original_init = dynamo_type.DynamoType.__init__
    monkeypatch.setattr(
        dynamo_type.DynamoType, "__init__", lambda self, value: wrapped.append(1) or original_init(self, value)
    )
    big = dynamo_type.DynamoType(members)
    wrapped.clear()
    assert big.size() == 9000 and len(big.cast_value) == 1000
    assert wrapped == [], f"{len(wrapped)} members wrapped to size or read a set"


def test_stream_records_are_answered_as_moto_would_answer_them():
    """GetRecords' body is dumped from moto's records directly, and the emulator's pollers read
    the records in process: both must be what moto's own serializer makes of them, for every
    attribute type, images old and new, and each event."""
    from types import SimpleNamespace

    from moto.core.responses import ActionContext, ActionResult
    from moto.core.serialize import get_serializer_class
    from moto.core.utils import get_service_model

    dynamodb = dynamodb_models.dynamodb_backends["123456789012"]["us-east-1"]  # where the readers look
    dynamodb.create_table(
        "records",
        schema=[{"AttributeName": "k", "KeyType": "HASH"}, {"AttributeName": "n", "KeyType": "RANGE"}],
        throughput=None,
        attr=[{"AttributeName": "k", "AttributeType": "S"}, {"AttributeName": "n", "AttributeType": "N"}],
        global_indexes=None,
        indexes=None,
        streams={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        billing_mode="PAY_PER_REQUEST",
        sse_specification=None,
        tags=None,
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    try:  # the table is the test process's moto's: removed whatever fails
        every_type = {
            "s": {"S": "über"},
            "num": {"N": "-2.50"},
            "b": {"B": b"\x00\x01"},  # as a request's base64 is stored: decoded
            "ss": {"SS": ["a", "b"]},
            "ns": {"NS": ["1", "2e3"]},
            "bs": {"BS": [b"\x01", b"\xff\xfe"]},
            "m": {"M": {"l": {"L": [{"N": "1"}, {"NULL": True}, {"BOOL": False}, {"S": ""}]}}},
        }
        for n in range(3):
            dynamodb.put_item("records", {"k": {"S": "player"}, "n": {"N": str(n)}, **every_type})
        dynamodb.put_item("records", {"k": {"S": "player"}, "n": {"N": "1"}, "s": {"S": "changed"}})
        dynamodb.delete_item("records", {"k": {"S": "player"}, "n": {"N": "2"}})
        streams = streams_models.DynamoDBStreamsBackend("us-east-1", "123456789012")
        table = dynamodb.get_table("records")
        iterator = streams_models.ShardIterator(streams, table.stream_shard, "TRIM_HORIZON")
        result = iterator.get(100)
        assert [r["eventName"] for r in result["Records"]] == ["INSERT", "INSERT", "INSERT", "MODIFY", "REMOVE"]

        service = get_service_model("dynamodbstreams")
        context = ActionContext(
            service,
            service.operation_model("GetRecords"),
            get_serializer_class("dynamodbstreams", "json"),
            SimpleNamespace(),
        )
        _, _, moto_body = ActionResult(result).execute_result(context)
        assert json.loads(moto_dynamodb.get_records_body(result)) == json.loads(moto_body)
        assert json.loads(moto_dynamodb.get_records_body({"Records": [], "NextShardIterator": "next"})) == {
            "Records": [],
            "NextShardIterator": "next",
        }

        stream_arn = table.describe(base_key="Table")["Table"]["LatestStreamArn"]
        first = table.stream_shard.starting_sequence_number
        assert moto_dynamodb.stream_shards(stream_arn) == {table.stream_shard.id: (first, first + 5)}
        read = moto_dynamodb.stream_records(stream_arn, table.stream_shard.id, first, 100)
        as_json = json.loads(json.dumps(read, default=lambda b: base64.b64encode(b).decode()))
        assert as_json == json.loads(moto_body)["Records"]
        later = moto_dynamodb.stream_records(stream_arn, table.stream_shard.id, first + 3, 1)
        assert [r["eventName"] for r in later] == ["MODIFY"]
        assert moto_dynamodb.stream_records(stream_arn, table.stream_shard.id, first + 5, 100) == []
        table.set_stream_specification({"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})  # a new stream
        assert moto_dynamodb.stream_length(stream_arn) is None and moto_dynamodb.stream_shards(stream_arn) == {}
        assert moto_dynamodb.stream_records(stream_arn, table.stream_shard.id, first, 100) == []
    finally:
        dynamodb.delete_table("records")


def test_sqs_settings_are_read_without_counting_every_message(monkeypatch):
    """SendMessage(Batch) and ReceiveMessage read one setting each; moto counted the whole queue for
    it (three passes per read), which made a backlog of jobs slow to add to and read from."""
    for owner, name in (
        (sqs_models.Queue, "attributes"),
        (sqs_models.SQSBackend, "send_message"),
        (sqs_models.SQSBackend, "send_message_batch"),
        (sqs_models.SQSBackend, "is_message_valid_based_on_retention_period"),
    ):
        monkeypatch.setattr(owner, name, owner.__dict__[name])  # put back after the test
    full = sqs_models.Queue.attributes.fget
    moto_sqs._sqs_settings_read_without_counting()
    backend = sqs_models.SQSBackend("us-east-1", "123456789012")
    queue = backend.create_queue(
        "jobs.fifo", FifoQueue="true", ContentBasedDeduplication="true", MessageRetentionPeriod="60"
    )
    backend.create_queue("plain")
    counted = []
    for name in (
        "approximate_number_of_messages",
        "approximate_number_of_messages_delayed",
        "approximate_number_of_messages_not_visible",
    ):
        monkeypatch.setattr(sqs_models.Queue, name, property(lambda self, n=name: counted.append(n) or 0))

    for body in ("a", "b", "a"):  # content-based deduplication still applies: the second "a" is dropped
        backend.send_message("jobs.fifo", body, group_id=f"g{body}")
    backend.send_message("plain", "x")
    entry = {"Id": "c", "MessageBody": "c", "MessageGroupId": "gc", "MessageAttributes": {}, "DelaySeconds": None}
    backend.send_message_batch("jobs.fifo", {"c": entry})  # the enqueuer's way: ten jobs a call
    received = backend.receive_message("jobs.fifo", 10, 0, 30)
    assert sorted(m.body for m in received) == ["a", "b", "c"]
    assert counted == [], "a send or a receive counted the queue's messages"

    # Everywhere else (GetQueueAttributes, metrics) the counts are moto's own, and the settings
    # read inside SendMessage are moto's attributes less the counts.
    assert queue.attributes == full(queue)
    assert "ApproximateNumberOfMessages" in queue.attributes
    moto_sqs._reading_sqs_settings.active = True
    try:
        plain = queue.attributes
    finally:
        moto_sqs._reading_sqs_settings.active = False
    assert plain == {k: v for k, v in full(queue).items() if k not in moto_sqs._COUNTED_SQS_ATTRIBUTES}
    assert plain["ContentBasedDeduplication"] == "true"

    old = received[0]  # a message past the queue's retention period is not handed out
    old.sent_timestamp -= 61_000
    assert not backend.is_message_valid_based_on_retention_period("jobs.fifo", old)
    assert backend.is_message_valid_based_on_retention_period("jobs.fifo", received[1])


def test_model_instances_are_freed_once_moto_lets_them_go(monkeypatch):
    """moto listed every model instance it made and never let one go: a long-lived emulator
    kept every message, object and metric datum it ever held. Deleted ones are now freed."""
    import gc
    import weakref

    from moto.core import common_models

    monkeypatch.setattr(common_models.BaseModel, "__new__", common_models.BaseModel.__dict__["__new__"])
    moto_state._track_no_model_instances()
    backend = sqs_models.SQSBackend("us-east-1", "123456789012")
    backend.create_queue("freed")
    backend.send_message("freed", "gone soon")
    sent = weakref.ref(backend.get_queue("freed")._messages[0])
    received = backend.receive_message("freed", 10, 0, 30)
    backend.delete_message("freed", received[0].receipt_handle)
    del received
    gc.collect()
    assert sent() is None, "a deleted message is still held somewhere"
    assert backend.get_queue("freed").approximate_number_of_messages == 0


def deliverable(queue_arn: str) -> bool | None:
    readiness = moto_sqs.queue_readiness(queue_arn)
    return None if readiness is None else readiness[0]


def test_only_deliverable_messages_count_as_work():
    """What lets an idle poller skip ReceiveMessage: visible, not delayed, and for FIFO not held
    behind a message of its group in flight; and how long it may sleep before time alone makes
    a message deliverable."""
    account, region = "123456789012", "us-east-1"
    backend = sqs_models.sqs_backends[account][region]
    arn = f"arn:aws:sqs:{region}:{account}:deliverable-check.fifo"
    backend.create_queue("deliverable-check.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    plain = f"arn:aws:sqs:{region}:{account}:deliverable-check"
    backend.create_queue("deliverable-check")
    try:
        assert deliverable(arn) is False
        assert deliverable(arn.replace("check.fifo", "none")) is None
        backend.send_message("deliverable-check.fifo", "a0", group_id="a")
        backend.send_message("deliverable-check.fifo", "a1", group_id="a")
        assert deliverable(arn) is True
        assert [m.body for m in backend.receive_message("deliverable-check.fifo", 1, 0, 30)] == ["a0"]
        assert deliverable(arn) is False, "a1 waits behind a0 in flight"
        backend.send_message("deliverable-check.fifo", "b0", group_id="b")
        assert deliverable(arn) is True
        backend.send_message("deliverable-check", "later", delay_seconds=60)
        assert deliverable(plain) is False, "a delayed message is not work yet"
        assert 59 < moto_sqs.queue_readiness(plain)[1] <= 60.01, "the poller may sleep until the delay ends"
        backend.send_message("deliverable-check", "now")
        backend.receive_message("deliverable-check", 10, 0, 30)
        assert deliverable(plain) is False, "in flight is not work"
        assert 29 < moto_sqs.queue_readiness(plain)[1] <= 30.01, "... until its visibility timeout ends"
    finally:
        backend.delete_queue("deliverable-check.fifo")
        backend.delete_queue("deliverable-check")


def test_only_active_queues_publish_metrics():
    """AWS publishes a queue's metrics up to six hours after its last action; an empty queue
    idle for longer publishes nothing (a queue with messages still does)."""
    account, region = moto_server.ACCOUNT_ID, "us-east-1"
    backend = sqs_models.sqs_backends[account][region]
    for name in ("metrics-idle", "metrics-backlog", "metrics-busy"):
        backend.create_queue(name).created_timestamp -= 100  # created long ago
    try:
        backend.send_message("metrics-backlog", "waiting")
        moto_sqs._sqs_last_action.pop((region, "metrics-backlog"), None)  # sent long ago
        moto_sqs._count(region, "metrics-busy", "NumberOfMessagesDeleted")  # as the hooked DeleteMessage counts

        published = {name for _, name, _ in moto_sqs.sqs_queue_metrics(active_within=10)}
        assert {"metrics-backlog", "metrics-busy"} <= published and "metrics-idle" not in published
        assert "metrics-idle" in {name for _, name, _ in moto_sqs.sqs_queue_metrics()}, "no window: every queue"
    finally:
        for name in ("metrics-idle", "metrics-backlog", "metrics-busy"):
            backend.delete_queue(name)


def test_sqs_reads_the_same_clock_without_datetime(monkeypatch):
    """moto's SQS read the clock through datetime for every message of a backlog, at each
    receive; the emulator gives it the same seconds from time.time()."""
    from moto.core import utils as moto_utils

    for name in ("unix_time", "unix_time_millis"):
        monkeypatch.setattr(sqs_models, name, getattr(sqs_models, name))  # put back after the test
    assert "unix_time_millis()" in inspect.getsource(sqs_models.Message.visible.fget), "moto reads it here"
    moto_sqs._sqs_clock_without_datetime()
    assert abs(sqs_models.unix_time_millis() - moto_utils.unix_time_millis()) < 50
    assert abs(sqs_models.unix_time() - moto_utils.unix_time()) < 0.05
    backend = sqs_models.SQSBackend("us-east-1", "123456789012")
    backend.create_queue("clock")
    backend.send_message("clock", "now")
    backend.send_message("clock", "later", delay_seconds=60)
    assert [m.body for m in backend.receive_message("clock", 10, 0, 30)] == ["now"]
    assert backend.get_queue("clock").approximate_number_of_messages_delayed == 1


def test_a_message_sent_while_two_deletes_run_is_kept(monkeypatch):
    """moto rebuilt a queue's message list in a delete without the queue's lock: with delete A
    still rebuilding from the old list, delete B put its list in place, a send went into B's
    list, and A, putting its own in place, dropped the message sent (and brought back B's).
    Delete A is slowed down here so that the three meet every time."""
    import threading
    import time

    monkeypatch.setattr(sqs_models.Queue, "delete_message", sqs_models.Queue.__dict__["delete_message"])  # put back
    moto_sqs_deletes.install()
    backend = sqs_models.SQSBackend("us-east-1", "123456789012")
    backend.create_queue("race")
    for body in ("a", "b", "c"):
        backend.send_message("race", body)
    handles = {m.body: m.receipt_handle for m in backend.receive_message("race", 10, 0, 30)}
    check, a_started, calls_in_a = sqs_models.Message.had_receipt_handle, threading.Event(), []

    def slow_in_a(message, receipt_handle):
        if threading.current_thread().name == "delete-a":
            calls_in_a.append(message)
            if len(calls_in_a) > 1:  # past moto's check that the handle exists: rebuilding the list
                a_started.set()
                time.sleep(0.05)
        return check(message, receipt_handle)

    monkeypatch.setattr(sqs_models.Message, "had_receipt_handle", slow_in_a)
    delete_a = threading.Thread(target=backend.delete_message, args=("race", handles["a"]), name="delete-a")
    delete_b = threading.Thread(target=backend.delete_message, args=("race", handles["b"]), name="delete-b")
    delete_a.start()
    a_started.wait(5)
    delete_b.start()
    time.sleep(0.02)  # b's delete done (or waiting for a's, with the lock)
    sender = threading.Thread(target=backend.send_message, args=("race", "sent meanwhile"))
    sender.start()
    for thread in (delete_a, delete_b, sender):
        thread.join(5)
    assert sorted(m.body for m in backend.get_queue("race")._messages) == ["c", "sent meanwhile"]


def test_the_published_backlog_counts_are_motos_own():
    """The metrics count the backlog with one reading of the clock, as moto's counts would."""
    account, region = moto_server.ACCOUNT_ID, "us-east-1"
    backend = sqs_models.sqs_backends[account][region]
    queue = backend.create_queue("metrics-counts")
    try:
        for n in range(5):
            backend.send_message("metrics-counts", f"job {n}")
        backend.send_message("metrics-counts", "later", delay_seconds=60)
        backend.receive_message("metrics-counts", 2, 0, 30)  # two in flight
        metrics = next(m for _, name, m in moto_sqs.sqs_queue_metrics() if name == "metrics-counts")
        assert (
            (
                metrics["ApproximateNumberOfMessagesVisible"],
                metrics["ApproximateNumberOfMessagesNotVisible"],
                metrics["ApproximateNumberOfMessagesDelayed"],
            )
            == (
                queue.approximate_number_of_messages,
                queue.approximate_number_of_messages_not_visible,
                queue.approximate_number_of_messages_delayed,
            )
            == (3, 2, 1)
        )
    finally:
        backend.delete_queue("metrics-counts")


def test_a_fifo_deduplication_id_is_remembered_after_its_message_is_deleted(backend, prefix):
    """AWS drops a send whose deduplication id it accepted in the last five minutes, even once
    that message was received and deleted: a retried send of a job already done is no job."""
    sqs = backend.client("sqs")
    url = sqs.create_queue(QueueName=f"{prefix}-dedup.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="job", MessageGroupId="g", MessageDeduplicationId="job-1")
    message = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    again = sqs.send_message(QueueUrl=url, MessageBody="job", MessageGroupId="g", MessageDeduplicationId="job-1")
    assert again["MessageId"], "accepted, as AWS answers"
    sqs.send_message(QueueUrl=url, MessageBody="other", MessageGroupId="g", MessageDeduplicationId="job-2")
    bodies = [
        m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    ]
    assert bodies == ["other"], "the retried send is not delivered; another id is"


def test_deduplication_ids_older_than_five_minutes_are_forgotten_as_sends_go_on(monkeypatch):
    """The ids a FIFO queue accepted are kept for the five-minute window and dropped from the
    oldest as later sends arrive, without a scan of every id at each send."""
    monkeypatch.setattr(sqs_models.Queue, "add_message", sqs_models.Queue.__dict__["add_message"])  # put back after
    clock = [1_000_000.0]
    monkeypatch.setattr(sqs_models, "unix_time_millis", lambda *args: clock[0])
    moto_sqs._fifo_deduplication_outlives_deletion()
    backend = sqs_models.SQSBackend("us-east-1", "123456789012")
    queue = backend.create_queue("window.fifo", FifoQueue="true")

    def send(dedup_id):
        backend.send_message("window.fifo", dedup_id, group_id="g", deduplication_id=dedup_id)

    for n in range(150):
        send(f"early-{n}")
    clock[0] += 6 * 60 * 1000  # six minutes on
    send("late")
    send("late-2")
    accepted = queue.__dict__["_workshop_deduplication"]
    assert list(accepted) == ["late", "late-2"], "every id of six minutes ago is forgotten, the new ones kept"
    before = len(queue._messages)
    send("early-0")  # outside the window: a new message
    send("late")  # inside it: dropped
    assert [m.body for m in queue._messages[before:]] == ["early-0"]


def test_two_conditional_claims_at_once_let_exactly_one_through(monkeypatch):
    """DynamoDB applies a conditional write atomically: of two PutItems with attribute_not_exists
    at the same moment, one succeeds. moto checks the condition, then writes; with the check
    slowed down so that two threads meet in it, both claims succeeded until item operations ran
    one at a time (an idempotency lesson processed a file twice in CI)."""
    import threading
    import time

    from moto.dynamodb.exceptions import ConditionalCheckFailed

    for name in moto_dynamodb._ITEM_OPERATIONS:  # put back after the test
        monkeypatch.setattr(dynamodb_models.DynamoDBBackend, name, dynamodb_models.DynamoDBBackend.__dict__[name])
    check = dynamodb_tables.get_filter_expression

    def slow_check(*args, **kwargs):
        time.sleep(0.05)  # what a busy machine's thread switch does, every time
        return check(*args, **kwargs)

    monkeypatch.setattr(dynamodb_tables, "get_filter_expression", slow_check)
    backend = dynamodb_models.dynamodb_backends["123456789012"]["us-east-1"]
    backend.create_table(
        "claims-at-once",
        schema=[{"AttributeName": "k", "KeyType": "HASH"}],
        throughput=None,
        attr=[{"AttributeName": "k", "AttributeType": "S"}],
        global_indexes=None,
        indexes=None,
        streams=None,
        billing_mode="PAY_PER_REQUEST",
        sse_specification=None,
        tags=[],
        deletion_protection_enabled=False,
        warm_throughput=None,
    )

    def claims(key: str) -> int:
        won = []

        def claim(n: int) -> None:
            try:
                backend.put_item(
                    "claims-at-once",
                    {"k": {"S": key}, "by": {"N": str(n)}},
                    condition_expression="attribute_not_exists(k)",
                )
                won.append(n)
            except ConditionalCheckFailed:
                pass

        threads = [threading.Thread(target=claim, args=(n,)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return len(won)

    try:
        assert claims("before") == 2, "moto alone: both claims pass the condition (the harness can fail)"
        moto_dynamodb._item_operations_one_at_a_time()
        assert claims("after") == 1
    finally:
        backend.delete_table("claims-at-once")


def test_an_accounts_backends_are_found_without_scanning_every_service(monkeypatch):
    """moto made sure of an account's backends on every lookup: its global lock and a search of
    every service's backends by ``==``, comparing whole backends, several times a request."""
    from moto.core.base_backend import BackendDict

    monkeypatch.setattr(BackendDict, "__getitem__", BackendDict.__dict__["__getitem__"])  # put back after
    moto_state._backends_found_without_a_scan()
    backends = sqs_models.sqs_backends["123456789012"]  # made and registered by moto the first time
    assert sqs_models.sqs_backends in BackendDict._instances

    def scan(*args):
        raise AssertionError("a known account's backends were looked for again")

    monkeypatch.setattr(BackendDict, "_create_account_specific_backend", scan)
    assert sqs_models.sqs_backends["123456789012"] is backends
    with pytest.raises(AssertionError, match="looked for again"):
        sqs_models.sqs_backends["210987654321"]  # a new account is still made by moto


def test_an_sqs_delete_finds_its_message_without_reading_the_whole_queue(monkeypatch):
    """moto found a receipt handle's message by listing every handle of every message, twice per
    delete: a DeleteMessageBatch cost grew with the backlog. A delete reads only its own message's
    handles now, and keeps moto's answers: an older handle of a message still deletes it, a second
    delete succeeds, a handle the queue never gave is refused."""
    monkeypatch.setattr(sqs_models.Queue, "delete_message", sqs_models.Queue.__dict__["delete_message"])
    monkeypatch.setattr(sqs_models.Message, "mark_received", sqs_models.Message.__dict__["mark_received"])
    moto_sqs_deletes.install()
    backend = sqs_models.SQSBackend("us-east-1", "123456789012")
    backend.create_queue("backlog")
    backend.create_queue("other")
    for number in range(200):
        backend.send_message("backlog", f"job {number}")
    backend.send_message("other", "elsewhere")
    first = backend.receive_message("backlog", 10, 0, 0)  # visible again at once: received again below
    again = {m.id: m.receipt_handle for m in backend.receive_message("backlog", 10, 0, 30)}
    foreign = backend.receive_message("other", 1, 0, 30)[0].receipt_handle
    assert set(again) == {m.id for m in first}

    handles_read = []
    handles = sqs_models.Message.all_receipt_handles
    monkeypatch.setattr(
        sqs_models.Message, "all_receipt_handles", property(lambda m: handles_read.append(m.id) or handles.fget(m))
    )
    old_handle = first[0].receipt_handle  # the first receive's handle, replaced by the second
    backend.delete_message("backlog", old_handle)
    backend.delete_message("backlog", again[first[1].id])
    backend.delete_message("backlog", again[first[1].id])  # deleted before: success again
    assert handles_read == [first[0].id, first[1].id], "a delete read other messages' handles"
    assert len(backend.get_queue("backlog")._messages) == 198
    with pytest.raises(sqs_models.ReceiptHandleIsInvalid):
        backend.delete_message("backlog", foreign)
    assert len(backend.get_queue("other")._messages) == 1


def test_moto_converts_each_name_once_and_the_cache_stays_bounded(monkeypatch):
    """Action and attribute names are converted by a bounded cache, with moto's own answers."""
    import importlib

    from moto.core import utils

    original = utils.camelcase_to_underscores
    modules = [importlib.import_module(name) for name in moto_server._MODULES_CONVERTING_NAMES]
    for module in modules:
        monkeypatch.setattr(module, "camelcase_to_underscores", original)
    moto_server._names_converted_once()
    converted = {module.camelcase_to_underscores for module in modules}
    assert len(converted) == 1 and converted != {original}
    convert = converted.pop()
    for name in ("SendMessage", "ContentBasedDeduplication", "KmsMasterKeyId", "DBInstanceIdentifier", "x"):
        assert convert(name) == original(name)
    assert convert.cache_info().maxsize == moto_server._NAME_CONVERSIONS


def test_moto_lists_a_handlers_actions_once_and_again_when_one_is_added(monkeypatch):
    from moto.core import responses

    monkeypatch.setattr(responses, "method_names_from_class", responses.method_names_from_class)
    original = responses.method_names_from_class

    class Handler(responses.BaseResponse):
        def send_message(self):
            return ""

    moto_server._actions_listed_once()
    listed = responses.method_names_from_class
    assert listed is not original
    assert listed(Handler) == original(Handler) and "send_message" in listed(Handler)
    assert listed(Handler) is listed(Handler), "listed once"
    Handler.start_message_move_task = lambda self: ""  # as sqs_redrive adds the redrive API
    assert "start_message_move_task" in listed(Handler)
