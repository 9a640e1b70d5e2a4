#!/usr/bin/env python3
"""Benchmark the embedded emulator; every figure beside the raw API rate of the same run.

    python bench/emulator_bench.py [--files 500] [--records 2000] [--json out.json]

Measures: start to first answer; warm invoke latency (p50, p99) of a no-op handler beside
a plain API call's; cold start; S3 -> Lambda events per second beside PutObject calls per
second; DynamoDB stream -> Lambda records per second beside PutItem items per second.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workshop import deploy, environment  # noqa: E402
from workshop.backend import EMBEDDED, Backend  # noqa: E402
from workshop.emulator import launcher  # noqa: E402
from workshop.waiting import wait_for  # noqa: E402

NOOP = "def handler(event, context):\n    return None\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def stats(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/_workshop/stats", timeout=5) as response:
        return json.loads(response.read())


def timed_calls(call, count: int) -> list[float]:
    samples = []
    for i in range(count):
        started = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--invokes", type=int, default=300)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "WORKSHOP_PORT": str(port), "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "workshop", "serve", "--port", str(port), "--quiet"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results: dict[str, float | int] = {}
    try:
        wait_for(lambda: launcher.probe(url, timeout=0.2), "the emulator", timeout=30, interval=0.01, max_interval=0.01)
        results["start_to_first_answer_s"] = time.perf_counter() - started
        backend = Backend(EMBEDDED, url, "us-east-1")
        names = backend.names("bench")
        environment.provision(backend, names)
        lam, s3, ddb = backend.client("lambda"), backend.client("s3"), backend.client("dynamodb")

        # Raw API rates of this emulator, the bounds of everything below.
        bucket = names.bucket("processed")
        put_ms = timed_calls(lambda i: s3.put_object(Bucket=bucket, Key=f"raw/{i}", Body=b"x"), args.invokes)
        results["raw_put_object_per_s"] = 1000 / statistics.mean(put_ms)

        arn = deploy.deploy_function(backend, names, "noop", {"app.py": NOOP})
        sts = backend.client("sts")  # the cheapest round trip through the emulator: the floor of any call
        get_ms = timed_calls(lambda i: sts.get_caller_identity(), args.invokes)
        results["raw_api_call_p50_ms"] = statistics.median(get_ms)

        started = time.perf_counter()
        lam.invoke(FunctionName=arn, Payload=b"{}")
        results["first_invoke_cold_ms"] = (time.perf_counter() - started) * 1000
        invoke_ms = timed_calls(lambda i: lam.invoke(FunctionName=arn, Payload=b"{}"), args.invokes)
        results["warm_invoke_p50_ms"] = statistics.median(invoke_ms)
        results["warm_invoke_p99_ms"] = percentile(invoke_ms, 0.99)
        results["warm_invoke_overhead_p50_ms"] = results["warm_invoke_p50_ms"] - results["raw_api_call_p50_ms"]

        colds = []
        for i in range(5):  # a configuration update replaces the environment: the next invoke is cold
            deploy.deploy_function(backend, names, "noop", {"app.py": NOOP}, environment={"ROUND": str(i)})
            started = time.perf_counter()
            lam.invoke(FunctionName=arn, Payload=b"{}")
            colds.append((time.perf_counter() - started) * 1000)
        results["cold_start_median_ms"] = statistics.median(colds)

        # S3 -> Lambda: uploads from 4 threads, until every event has been handled.
        incoming = names.bucket("incoming")
        lam.add_permission(FunctionName=arn, StatementId="s3", Action="lambda:InvokeFunction",
                           Principal="s3.amazonaws.com")
        s3.put_bucket_notification_configuration(Bucket=incoming, NotificationConfiguration={
            "LambdaFunctionConfigurations": [{"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
        before = stats(url)["invocations"].get(names.function("noop"), {}).get("ok", 0)
        started = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: backend.client("s3").put_object(Bucket=incoming, Key=f"in/{i}.csv", Body=b"a"),
                          range(args.files)))
        wait_for(lambda: stats(url)["invocations"][names.function("noop")]["ok"] - before >= args.files,
                 "every S3 event handled", timeout=600, max_interval=0.05)
        results["s3_to_lambda_events_per_s"] = args.files / (time.perf_counter() - started)

        # DynamoDB stream -> Lambda through a mapping with BatchSize 100.
        table = names.table("bench-stream")
        ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
        stream_arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        uuid = lam.create_event_source_mapping(FunctionName=arn, EventSourceArn=stream_arn, BatchSize=100,
                                               StartingPosition="TRIM_HORIZON")["UUID"]
        started = time.perf_counter()
        for start in range(0, args.records, 25):
            ddb.batch_write_item(RequestItems={table: [
                {"PutRequest": {"Item": {"id": {"S": str(i)}, "score": {"N": str(i % 97)}}}}
                for i in range(start, min(start + 25, args.records))]})
        write_seconds = time.perf_counter() - started
        results["raw_batch_write_items_per_s"] = args.records / write_seconds
        wait_for(lambda: stats(url)["mappings"].get(uuid, {}).get("records", 0) >= args.records,
                 "every stream record handled", timeout=600, max_interval=0.05)
        results["stream_records_per_s"] = args.records / (time.perf_counter() - started)
    finally:
        server.terminate()
        server.wait(timeout=10)

    width = max(len(k) for k in results)
    for key, value in results.items():
        print(f"{key:<{width}}  {value:10.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
