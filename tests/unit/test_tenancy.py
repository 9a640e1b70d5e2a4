"""What a shared emulator's gate reads off a request: whose resource a name or ARN is."""

from __future__ import annotations

import json

import pytest

from workshop.emulator.tenancy import Tenancy, filter_listing


@pytest.fixture
def tenancy():
    return Tenancy(
        prefixes=lambda: ["ana", "ana-b", "bob"],
        mapping_function=lambda region, uuid: {"m-1": "bob-consumer"}.get(uuid),
        key_owner=lambda region, key: {"k-1": "bob"}.get(key),
        api_name=lambda api_id: {"a1": "bob-api"}.get(api_id),
    )


@pytest.mark.parametrize(
    "name, owner",
    [
        ("ana-incoming", "ana"),
        ("ana-b-incoming", "ana-b"),  # the longest prefix: ana-b is another participant
        ("/aws/lambda/bob-reader", "bob"),
        ("alias/bob-key", "bob"),
        ("anna-incoming", None),
        ("ana", None),
    ],
)
def test_a_name_belongs_to_the_longest_prefix_it_starts_with(tenancy, name, owner):
    assert tenancy.owner(name) == owner


@pytest.mark.parametrize(
    "service, resource, names",
    [
        ("s3", "bob-incoming/orders/day.csv", ["bob-incoming"]),
        ("lambda", "function:bob-reader:$LATEST", ["bob-reader"]),
        ("lambda", "event-source-mapping:m-1", ["bob-consumer"]),
        ("sqs", "bob-jobs.fifo", ["bob-jobs.fifo"]),
        ("sns", "bob-alarm:5f1c", ["bob-alarm"]),
        ("dynamodb", "table/bob-scores/stream/2026-12-05T00:00:00.000", ["bob-scores"]),
        ("logs", "log-group:/aws/lambda/bob-reader:*", ["/aws/lambda/bob-reader"]),
        ("iam", "role/service/bob-lambda-exec", ["bob-lambda-exec"]),
        ("kms", "key/k-1", ["bob-key"]),
        ("kms", "alias/bob-key", ["alias/bob-key"]),
        ("cloudwatch", "alarm:bob-backlog", ["bob-backlog"]),
        ("execute-api", "a1/*/POST/jobs", ["bob-api"]),
    ],
)
def test_an_arn_names_its_resource(tenancy, service, resource, names):
    assert tenancy._arn_names(service, resource, "us-east-1") == names
    assert all(tenancy.owner(name) == "bob" for name in names)


def test_a_listing_keeps_the_callers_own():
    mine = lambda name: name.startswith("ana-")  # noqa: E731
    tables = json.loads(filter_listing("dynamodb", json.dumps({"TableNames": ["ana-t", "bob-t"]}).encode(), mine))
    assert tables == {"TableNames": ["ana-t"]}
    queues = {"QueueUrls": ["http://h/123456789012/ana-q", "http://h/123456789012/bob-q"]}
    assert json.loads(filter_listing("sqs", json.dumps(queues).encode(), mine))["QueueUrls"] == [queues["QueueUrls"][0]]
    buckets = (
        b'<?xml version="1.0"?><ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<Buckets><Bucket><Name>ana-in</Name></Bucket><Bucket><Name>bob-in</Name></Bucket></Buckets>"
        b"</ListAllMyBucketsResult>"
    )
    filtered = filter_listing("s3", buckets, mine)
    assert b"ana-in" in filtered and b"bob-in" not in filtered
    topics = (
        b'<ListTopicsResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><ListTopicsResult><Topics>'
        b"<member><TopicArn>arn:aws:sns:us-east-1:123456789012:ana-t</TopicArn></member>"
        b"<member><TopicArn>arn:aws:sns:us-east-1:123456789012:bob-t</TopicArn></member>"
        b"</Topics></ListTopicsResult></ListTopicsResponse>"
    )
    filtered = filter_listing("sns", topics, mine)
    assert b"ana-t" in filtered and b"bob-t" not in filtered
