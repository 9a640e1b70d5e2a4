"""What a class's leftovers cost an emulator that is doing nothing.

A shared emulator (or a learner's, after a day of labs) holds dozens of queues with
mappings, alarms and stream mappings that sit idle. Here they are created on a private
emulator, then its CPU share and memory are sampled while nobody calls it, and a plain
call's latency is measured beside them. The state it saves (its snapshot) is read from its
stats: the bytes and seconds of the last one.
"""

from __future__ import annotations

import time
from typing import Any

import psutil
from harness import Emulator, median, timed_calls

from workshop.account import deploy, environment

NOOP = "def handler(event, context):\n    return None\n"


def _create(emulator: Emulator, queues: int, alarms: int, streams: int) -> float:
    aws = emulator.backend
    names = aws.names("idle")
    environment.provision(aws, names)
    sqs, lam, cloudwatch, ddb = (aws.client(s) for s in ("sqs", "lambda", "cloudwatch", "dynamodb"))
    function = deploy.deploy_function(aws, names, "noop", {"app.py": NOOP})
    started = time.perf_counter()
    for i in range(queues):
        fifo = i % 3 == 0  # a third FIFO, as the labs' mix
        name = f"idle-q{i}" + (".fifo" if fifo else "")
        url = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"} if fifo else {})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        lam.create_event_source_mapping(FunctionName=function, EventSourceArn=arn, BatchSize=10)
        if i < alarms:
            cloudwatch.put_metric_alarm(
                AlarmName=f"idle-a{i}",
                Namespace="AWS/SQS",
                MetricName="ApproximateNumberOfMessagesVisible",
                Dimensions=[{"Name": "QueueName", "Value": name}],
                Statistic="Maximum",
                Period=60,
                EvaluationPeriods=3,
                Threshold=5,
                ComparisonOperator="GreaterThanThreshold",
            )
    for i in range(streams):
        table = ddb.create_table(
            TableName=f"idle-t{i}",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        )
        lam.create_event_source_mapping(
            FunctionName=function,
            StartingPosition="LATEST",
            EventSourceArn=table["TableDescription"]["LatestStreamArn"],
        )
    return time.perf_counter() - started


def _cpu_share(process: psutil.Process, seconds: float) -> float:
    before, started = process.cpu_times(), time.perf_counter()
    time.sleep(seconds)
    after = process.cpu_times()
    return (after.user + after.system - before.user - before.system) / (time.perf_counter() - started)


def run(
    queues: int = 90, alarms: int = 20, streams: int = 30, settle_s: float = 10, sample_s: float = 30
) -> dict[str, Any]:
    with Emulator() as emulator:
        create_s = _create(emulator, queues, alarms, streams)
        process = psutil.Process(emulator.process.pid)
        time.sleep(settle_s)
        rss_before = process.memory_info().rss
        cpu = _cpu_share(process, sample_s)
        rss_after = process.memory_info().rss
        sqs = emulator.backend.client("sqs")
        latency = timed_calls(lambda i: sqs.list_queues(QueueNamePrefix="idle-q1"), 100)
        snapshots = emulator.stats().get("snapshots") or {}
    return {
        "queues_with_mappings": queues,
        "alarms": alarms,
        "stream_mappings": streams,
        "create_s": create_s,
        "idle_cpu_share": cpu,
        "rss_mb": rss_after / 2**20,
        "rss_growth_mb_per_hour": (rss_after - rss_before) / 2**20 * 3600 / sample_s,
        "list_queues_p50_ms": median(latency),
        "snapshot_bytes": snapshots.get("last_bytes"),
        "snapshot_seconds": snapshots.get("last_seconds"),
    }
