"""A class on one shared emulator: do a few slow handlers hold back everyone else's uploads?

Each participant (a prefix of their own, provisioned as ``setup_env.py`` does) has the
incoming bucket notify a handler of their own, which writes a marker with the time it
finished into their processed bucket. All participants then upload their files at once,
one after another each, as a class following the instructor does. A few of them have a
slow handler (it sleeps before writing its marker); the figure is the other participants'
time from the start of an upload to its marker, beside the same class on a fresh emulator
with no slow handler. Every handler is invoked once before (a learner tries theirs first),
so what is measured is waiting for a turn, not cold starts.

CPU seconds are the emulator's and its Lambda workers' (live and ended) over the uploads;
memory is the peak resident set, sampled, of the emulator and of it with its workers.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psutil
from harness import Emulator, median, percentile

from workshop.account import deploy, environment
from workshop.core.waiting import wait_for

HANDLER = """
import json, os, time
import boto3

s3 = boto3.client("s3")
SLOW_SECONDS = float(os.environ["SLOW_SECONDS"])
fresh = True  # no invocation yet: this worker was started for the one now (a cold start)


def handler(event, context):
    global fresh
    cold, fresh = fresh, False
    for record in event.get("Records", []):
        time.sleep(SLOW_SECONDS)
        key = record["s3"]["object"]["key"]
        marker = json.dumps({"at": time.time(), "cold": cold}).encode()
        s3.put_object(Bucket=os.environ["PROCESSED"], Key=key, Body=marker)
    return len(event.get("Records", []))
"""


def _setup(emulator: Emulator, prefix: str, slow_seconds: float) -> tuple[Any, str]:
    """One participant: base environment, their handler, their bucket's notification."""
    aws = emulator.backend
    names = aws.names(prefix)
    environment.provision(aws, names)
    incoming, processed = names.bucket(environment.INCOMING_BUCKET), names.bucket(environment.PROCESSED_BUCKET)
    arn = deploy.deploy_function(
        aws,
        names,
        "fair",
        {"app.py": HANDLER},
        environment={"PROCESSED": processed, "SLOW_SECONDS": str(slow_seconds)},
        timeout=int(slow_seconds) + 30,
    )
    lam = aws.client("lambda")
    lam.add_permission(
        FunctionName=arn,
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn=f"arn:aws:s3:::{incoming}",
    )
    aws.client("s3").put_bucket_notification_configuration(
        Bucket=incoming,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [{"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    lam.invoke(FunctionName=arn, Payload=b'{"Records": []}')  # tried once: a warm worker
    return names, names.function("fair")


def _cpu_seconds(process: psutil.Process) -> tuple[float, float]:
    """(the emulator's own, with its workers live and ended) CPU seconds so far."""
    times = process.cpu_times()
    own = times.user + times.system
    total = own + times.children_user + times.children_system
    for child in process.children(recursive=True):
        try:
            child_times = child.cpu_times()
            total += child_times.user + child_times.system
        except psutil.Error:
            pass
    return own, total


def run_class(participants: int, files: int, slow: int, slow_seconds: float) -> dict[str, Any]:
    """One class on a fresh emulator; the first ``slow`` participants' handlers sleep
    ``slow_seconds`` (none, for the class to compare with); the others are measured."""
    with Emulator() as emulator:
        aws = emulator.backend
        prefixes = [f"fair{n:02d}" for n in range(1, participants + 1)]
        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            setups = list(
                pool.map(lambda i: _setup(emulator, prefixes[i], slow_seconds if i < slow else 0), range(participants))
            )
        setup_s = time.perf_counter() - started
        clients = [aws.client("s3") for _ in range(participants)]
        uploaded: dict[tuple[int, str], float] = {}
        barrier = threading.Barrier(participants)

        def participant(i: int) -> None:
            names, _ = setups[i]
            barrier.wait()
            for n in range(files):
                key = f"upload-{n}.csv"
                uploaded[(i, key)] = time.time()
                clients[i].put_object(Bucket=names.bucket(environment.INCOMING_BUCKET), Key=key, Body=b"id\n1\n")

        process = psutil.Process(emulator.process.pid)
        with emulator.memory() as memory:
            cpu_before = _cpu_seconds(process)
            started = time.perf_counter()
            with ThreadPoolExecutor(participants) as pool:
                list(pool.map(participant, range(participants)))
            functions = [function for _, function in setups]
            wait_for(
                lambda: all(emulator.invocations(f) >= files + 1 for f in functions) and emulator.stats()["idle"],
                "every upload processed",
                timeout=600,
                max_interval=0.2,
            )
            seconds = time.perf_counter() - started
            cpu_after = _cpu_seconds(process)
        s3 = aws.client("s3")
        waits: list[list[tuple[float, bool]]] = []  # (seconds, on a worker started for it) per upload
        for i, (names, _) in enumerate(setups):
            bucket = names.bucket(environment.PROCESSED_BUCKET)
            markers = [
                json.loads(s3.get_object(Bucket=bucket, Key=f"upload-{n}.csv")["Body"].read()) for n in range(files)
            ]
            waits.append([(m["at"] - uploaded[(i, f"upload-{n}.csv")], m["cold"]) for n, m in enumerate(markers)])
    others = [w for waits_of in waits[slow:] for w, _ in waits_of]
    others_warm = [w for waits_of in waits[slow:] for w, cold in waits_of if not cold]
    slowed = [w for waits_of in waits[:slow] for w, _ in waits_of]
    return {
        "others_p50_s": median(others),
        "others_p99_s": percentile(others, 0.99),
        "others_max_s": max(others),
        # Uploads whose function started another worker for them: AWS scales out the same way,
        # with a cold start; the rest waited only for their turn.
        "others_cold": len(others) - len(others_warm),
        "others_warm_p99_s": percentile(others_warm, 0.99) if others_warm else None,
        "slow_p50_s": median(slowed) if slowed else None,
        "seconds": seconds,
        "setup_s": setup_s,
        "cpu_emulator_s": cpu_after[0] - cpu_before[0],
        "cpu_total_s": cpu_after[1] - cpu_before[1],
        "peak_emulator_rss_mb": memory.peak_emulator_mb,
        "peak_total_rss_mb": memory.peak_total_mb,
        "peak_lambda_workers": memory.peak_workers,
    }


def run(participants: int = 40, files: int = 5, slow: int = 4, slow_seconds: float = 12) -> dict[str, Any]:
    """The class with its slow handlers, then without them, each on a fresh emulator."""
    with_slow = run_class(participants, files, slow, slow_seconds)
    print(
        f"  with {slow} slow: the others' p50 {with_slow['others_p50_s']:.2f} s, p99 {with_slow['others_p99_s']:.2f} s",
        flush=True,
    )
    without = run_class(participants, files, slow, 0)
    print(f"  without: p50 {without['others_p50_s']:.2f} s, p99 {without['others_p99_s']:.2f} s", flush=True)
    return {
        "participants": participants,
        "files": files,
        "slow": slow,
        "slow_seconds": slow_seconds,
        "with_slow": with_slow,
        "without_slow": without,
    }
