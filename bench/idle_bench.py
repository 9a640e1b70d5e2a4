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


def _phase(process: psutil.Process, seconds: float, samples: list[float]) -> float:
    """Sample the emulator's resident memory every second for ``seconds``; its CPU share over them,
    with its children that ended meanwhile (the forked copies that write its snapshots)."""

    def cpu(times: Any) -> float:
        return times.user + times.system + times.children_user + times.children_system

    before, started = process.cpu_times(), time.perf_counter()
    while time.perf_counter() - started < seconds:
        time.sleep(1.0)
        samples.append(process.memory_info().rss / 2**20)
    return (cpu(process.cpu_times()) - cpu(before)) / (time.perf_counter() - started)


def _use(emulator: Emulator, queues: int, streams: int, seconds: float) -> None:
    """A class at work on its leftovers: a message to a tenth of the queues and an item to a
    tenth of the stream tables every second, each invoking the mapped function."""
    aws = emulator.backend
    sqs, ddb = aws.client("sqs"), aws.client("dynamodb")
    urls = [
        sqs.get_queue_url(QueueName=f"idle-q{i}" + (".fifo" if i % 3 == 0 else ""))["QueueUrl"]
        for i in range(0, queues, 10)
    ]
    started, n = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        for url in urls:
            extra = {"MessageGroupId": "g", "MessageDeduplicationId": str(n)} if url.endswith(".fifo") else {}
            sqs.send_message(QueueUrl=url, MessageBody=str(n), **extra)
        for i in range(0, streams, 10):
            ddb.put_item(TableName=f"idle-t{i}", Item={"k": {"S": str(n)}})
        n += 1
        time.sleep(max(0.0, started + n - time.perf_counter()))


def run(
    queues: int = 90, alarms: int = 20, streams: int = 30, settle_s: float = 40, phase_s: float = 60
) -> dict[str, Any]:
    """Idle, in use, idle again, each ``phase_s``, after ``settle_s`` (past the 30 compressed
    minutes of metrics CloudWatch keeps, which fill up first). The growth is the resident
    memory's change within an idle phase, per hour (the larger of the two); what the use in
    between left behind is apart."""
    with Emulator() as emulator:
        create_s = _create(emulator, queues, alarms, streams)
        process = psutil.Process(emulator.process.pid)
        time.sleep(settle_s)
        first: list[float] = []
        cpu = _phase(process, phase_s, first)
        busy_started = time.perf_counter()
        _use(emulator, queues, streams, phase_s)
        busy_s = time.perf_counter() - busy_started
        last: list[float] = []
        cpu_after = _phase(process, phase_s, last)
        sqs = emulator.backend.client("sqs")
        latency = timed_calls(lambda i: sqs.list_queues(QueueNamePrefix="idle-q1"), 100)
        snapshots = emulator.stats().get("snapshots") or {}

    def idle_growth(samples: list[float]) -> float:  # MB an hour, from the phase's first half to its second
        half = len(samples) // 2
        return (median(samples[half:]) - median(samples[:half])) / (phase_s / 2 / 3600)

    return {
        "queues_with_mappings": queues,
        "alarms": alarms,
        "stream_mappings": streams,
        "create_s": create_s,
        "idle_cpu_share": max(cpu, cpu_after),
        "rss_mb": max(last),
        "rss_first_idle_mb": median(first),
        "rss_last_idle_mb": median(last),
        # while idle, before and after the use: what a day of leftovers costs by itself
        "rss_growth_mb_per_hour": max(idle_growth(first), idle_growth(last)),
        # what the use left behind: its logs, stream records and metrics, which AWS keeps too
        "rss_kept_by_use_mb": median(last) - median(first),
        "window_s": 2 * phase_s + busy_s,
        "list_queues_p50_ms": median(latency),
        "snapshot_bytes": snapshots.get("last_bytes"),
        "snapshot_seconds": snapshots.get("last_seconds"),
    }
