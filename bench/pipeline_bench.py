"""Files per second through the capstone's whole ingest pipeline, beside the bound of the same run.

One channel (``orders``) of :mod:`workshop.lab_helpers.capstone`, as lab 9 deploys it::

    upload --S3--> intake --> cap-records (stream) --filter--> enqueuer --> orders-jobs.fifo
        --mapping--> worker --> cap-output/orders/<id>.json

Every file is good (no duplicates, no malformed ones), so each takes the whole path. The
figure is end to end: from the first upload to the last record's output object present.

The bound is the emulator's own API rate for the very calls a file needs, replayed directly
with boto3 from as many threads as the pipeline has Lambda environments, against resources
of the same kinds (a stream-enabled table, a FIFO queue), divided by the calls per file. The
mappings' pollers make no HTTP request (the emulator's pollers read the stream and work the
queue in process): their reads are left out, which makes the bound optimistic.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from harness import Emulator, concurrent_rate

from workshop.account import environment
from workshop.core.waiting import wait_for
from workshop.lab_helpers import capstone, orders

PREFIX = "bench"
UPLOAD_THREADS = 4


def records_of(made: orders.OrderFile) -> int:
    if made.key.endswith(".json"):
        return len(json.loads(made.body)["orders"])
    return len(list(csv.DictReader(io.StringIO(made.body.decode()))))


def calls_per_file(records: int) -> dict[str, float]:
    """The AWS API calls one good file of ``records`` records costs, by who makes them."""
    return {
        "upload PutObject": 1,
        "intake GetObject, PutItem (claim), UpdateItem, CopyObject, DeleteObject": 5,
        "intake BatchWriteItem": math.ceil(records / 25),
        "enqueuer SendMessageBatch (per 10 records)": records / 10,
        "worker PutObject (one per record)": records,
        # The mappings' pollers read the stream and work the queue in process: no HTTP request
        # (until 2026-12-06 they called GetRecords, ReceiveMessage and DeleteMessageBatch, one of
        # each per 100, 10 and 10 records).
    }


def setup(emulator: Emulator, tracing: bool = False) -> tuple[Any, Any]:
    aws = emulator.backend
    names = aws.names(PREFIX)
    environment.provision(aws, names)
    capstone.provision(aws, names)
    capstone.deploy(aws, names, [capstone.ORDERS], tracing=tracing)
    return aws, names


def run(
    emulator: Emulator, count: int, *, first_order_id: int = 0, run_id: str = "", tracing: bool = False
) -> dict[str, Any]:
    """Upload ``count`` good files and wait until every record's output exists; ``tracing``: the
    chain's functions with active tracing (every invocation and handler call recorded)."""
    aws, names = setup(emulator, tracing)
    files = orders.generate(
        count, seed=11, malformed=0, duplicates=0, first_order_id=first_order_id, prefix=f"orders/{run_id}"
    )
    total_records = sum(records_of(f) for f in files)
    worker = names.function(capstone.ORDERS.purpose("worker"))
    s3_out, incoming = aws.client("s3"), names.bucket(capstone.INCOMING)
    output_bucket = names.bucket(capstone.OUTPUT)
    before_outputs = _count_objects(s3_out, output_bucket)
    worker_mapping = aws.client("lambda").list_event_source_mappings(FunctionName=worker)["EventSourceMappings"][0][
        "UUID"
    ]
    before_records = _mapping_records(emulator.stats(), worker_mapping)
    clients = [aws.client("s3") for _ in range(UPLOAD_THREADS)]  # boto3 clients are thread-safe; one each is cheaper

    with emulator.memory() as memory:
        started = time.perf_counter()
        with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
            list(
                pool.map(
                    lambda i: clients[i % UPLOAD_THREADS].put_object(
                        Bucket=incoming, Key=files[i].key, Body=files[i].body, ContentType=files[i].content_type
                    ),
                    range(count),
                )
            )
        uploaded = time.perf_counter() - started
        # Cheap first (the emulator's counters, one request a poll), then the real thing (the outputs listed).
        wait_for(
            lambda: (
                _mapping_records(stats := emulator.stats(), worker_mapping) - before_records >= total_records
                and stats["idle"]
            ),
            "every job handed to the worker",
            timeout=3600,
            max_interval=0.1,
        )
        wait_for(
            lambda: _count_objects(s3_out, output_bucket) - before_outputs >= total_records,
            "every output object",
            timeout=600,
            max_interval=0.2,
        )
        seconds = time.perf_counter() - started
    calls = calls_per_file(total_records / count)
    return {
        "files": count,
        "records": total_records,
        "seconds": seconds,
        "upload_seconds": uploaded,
        "files_per_s": count / seconds,
        "ms_per_file": seconds * 1000 / count,
        "calls_per_file": sum(calls.values()),
        "calls_breakdown": calls,
        "invocations": {
            p: emulator.invocations(names.function(capstone.ORDERS.purpose(p)))
            for p in ("intake", "enqueuer", "worker")
        },
        "peak_emulator_rss_mb": memory.peak_emulator_mb,
        "peak_total_rss_mb": memory.peak_total_mb,
        "peak_lambda_workers": memory.peak_workers,
        "peak_snapshot_copy_rss_mb": memory.peak_snapshot_copy_mb,
        "worker_function": worker,
        "tracing": tracing,
    }


def _mapping_records(stats: dict[str, Any], mapping: str) -> int:
    """Records the mapping has handed to its function, from the emulator's stats."""
    return stats["mappings"].get(mapping, {}).get("records", 0)


def _count_objects(s3: Any, bucket: str) -> int:
    return sum(page.get("KeyCount", 0) for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket))


def raw_rate(emulator: Emulator, files: int, threads: int = 12, label: str = "raw") -> dict[str, Any]:
    """The calls of ``files`` files (3 records each) replayed directly, ``threads`` at a time,
    on resources of their own (named by ``label``, so a second measurement needs another)."""
    aws = emulator.backend
    names = aws.names(label)
    s3, ddb, sqs = aws.client("s3"), aws.client("dynamodb"), aws.client("sqs")
    buckets = {p: names.bucket(f"raw-{p}") for p in ("in", "archive", "out")}
    for bucket in buckets.values():
        s3.create_bucket(Bucket=bucket)
    documents, records = names.table("raw-documents"), names.table("raw-records")
    for table, key, extra in (
        (documents, "ContentHash", {}),
        (records, "RecordKey", {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}}),
    ):
        ddb.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            **extra,
        )
    queue = sqs.create_queue(QueueName=names.queue("raw-jobs", fifo=True), Attributes={"FifoQueue": "true"})["QueueUrl"]
    body = orders.sample_csv()
    per_thread = [(aws.client("s3"), aws.client("dynamodb"), aws.client("sqs")) for _ in range(threads)]

    def one_file(i: int) -> int:
        s3, ddb, sqs = per_thread[i % threads]
        key = f"orders/batch-{i:05d}.csv"
        s3.put_object(Bucket=buckets["in"], Key=key, Body=body, ContentType="text/csv")
        s3.get_object(Bucket=buckets["in"], Key=key)["Body"].read()
        ddb.put_item(
            TableName=documents,
            Item={"ContentHash": {"S": f"h{i}"}, "Key": {"S": key}, "Status": {"S": "started"}},
            ConditionExpression="attribute_not_exists(ContentHash)",
        )
        ddb.batch_write_item(
            RequestItems={
                records: [
                    {
                        "PutRequest": {
                            "Item": {
                                "RecordKey": {"S": f"orders#{i}-{n}"},
                                "customer": {"S": "ana"},
                                "product": {"S": "mug"},
                                "quantity": {"S": "2"},
                                "unit_price": {"S": "8.50"},
                                "SourceFile": {"S": key},
                            }
                        }
                    }
                    for n in range(3)
                ]
            }
        )
        ddb.update_item(
            TableName=documents,
            Key={"ContentHash": {"S": f"h{i}"}},
            UpdateExpression="SET #s = :d",
            ExpressionAttributeNames={"#s": "Status"},
            ExpressionAttributeValues={":d": {"S": "done"}},
        )
        s3.copy_object(
            CopySource={"Bucket": buckets["in"], "Key": key},
            Bucket=buckets["archive"],
            Key=key,
            Metadata={"records": "3"},
            MetadataDirective="REPLACE",
        )
        s3.delete_object(Bucket=buckets["in"], Key=key)
        for n in range(3):
            s3.put_object(
                Bucket=buckets["out"],
                Key=f"orders/{i}-{n}.json",
                Body=b'{"record": {}}',
                ContentType="application/json",
            )
        calls = 10
        if i % 3 == 0:  # per 10 records (one per ~3 files): a batch sent
            sqs.send_message_batch(
                QueueUrl=queue,
                Entries=[
                    {
                        "Id": str(n),
                        "MessageBody": json.dumps({"RecordKey": f"orders#{i}-{n}"}),
                        "MessageGroupId": f"g{(i + n) % 8}",
                        "MessageDeduplicationId": f"orders#{i}-{n}",
                    }
                    for n in range(10)
                ],
            )
            calls += 1
        return calls

    one_file(-1)  # warm the clients
    rate, calls, seconds = concurrent_rate(one_file, files, threads)
    return {
        "raw_calls_per_s": rate,
        "raw_calls": calls,
        "raw_seconds": seconds,
        "raw_threads": threads,
        "raw_files": files,
    }
