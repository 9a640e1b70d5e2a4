#!/usr/bin/env python3
"""Benchmark the workshop kit; every figure beside a bound measured in the same run.

    python bench/emulator_bench.py                 # make bench: small sizes, a few minutes
    python bench/emulator_bench.py --full          # 1k and 10k files, 10k and 100k records, every notebook
    python bench/emulator_bench.py --sections pipeline --files 1000
    python bench/emulator_bench.py --update --sections idle   # re-measure one section, keep the rest

Sections (``--sections``, default: all but notebooks; ``--full``: all):
  emulator   start to first answer, warm invoke p50/p99 beside a plain API call, cold start
             beside a bare worker process start, warm workers' own and shared memory, how soon
             an idle worker is reaped
  idle       an emulator holding a class's leftovers (90 mapped queues, 20 alarms, 30 stream
             mappings), idle, in use and idle again: its CPU share, its memory across the phases,
             a plain call's latency, its snapshot's size
  pipeline   files/s through the capstone ingest (S3 -> intake -> stream -> enqueuer -> FIFO ->
             worker -> output) beside the raw rate of the calls a file needs; peak memory
  scores     lab 5's game-score records/s through the stream mapping beside its bounds
  class      setup_env.py / teardown_env.py --participants 30
  fairness   a class of 40 on one emulator, 5 uploads each, 4 of them with 12-second handlers: the
             other 36's upload-to-processed p50/p99 beside the same class without them; CPU, memory
  notebooks  Run All of every notebook in notebooks/ and solutions/
  maketest   make test's time (from a CI timing file when there is one; --make-test runs it)

Writes the figures as JSON (``--json``) and the report (``--report``, BENCHMARKS.md), whose Targets
table puts each figure the kit holds itself to beside its target.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import fairness_bench
import idle_bench
import pipeline_bench
import psutil
import report
import scores_bench
import suite_bench
from harness import ROOT, Emulator, handler_seconds, load_average, median, percentile, timed_calls

from workshop.account import deploy, environment
from workshop.core.waiting import wait_for
from workshop.lab_helpers import journey

NOOP = "def handler(event, context):\n    return None\n"
ALL_SECTIONS = report.SECTIONS
DEFAULT_SECTIONS = tuple(section for section in ALL_SECTIONS if section != "notebooks")


START_SAMPLES = 7


def emulator_section(invokes: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    starts = []
    for _ in range(START_SAMPLES):  # start-up varies with the disk cache and the machine's load
        with Emulator() as emulator:
            starts.append(emulator.first_answer_s)
    results["start_to_first_answer_s"] = median(starts)
    results["start_samples_s"] = starts
    with Emulator() as emulator:
        aws = emulator.backend
        names = aws.names("bench")
        environment.provision(aws, names)
        lam = aws.client("lambda")
        arn = deploy.deploy_function(aws, names, "noop", {"app.py": NOOP})
        # The floor of an invoke: a Lambda API call of the same protocol and routing that runs no code.
        lam.get_function_configuration(FunctionName=arn)
        api_ms = timed_calls(lambda i: lam.get_function_configuration(FunctionName=arn), invokes)
        results["api_call_p50_ms"] = median(api_ms)
        results["api_call_p99_ms"] = percentile(api_ms, 0.99)
        started = time.perf_counter()
        lam.invoke(FunctionName=arn, Payload=b"{}")
        results["first_invoke_ms"] = (time.perf_counter() - started) * 1000
        invoke_ms = timed_calls(lambda i: lam.invoke(FunctionName=arn, Payload=b"{}"), invokes)
        results["warm_invoke_p50_ms"] = median(invoke_ms)
        results["warm_invoke_p99_ms"] = percentile(invoke_ms, 0.99)
        results["warm_invoke_overhead_p50_ms"] = results["warm_invoke_p50_ms"] - results["api_call_p50_ms"]
        results["warm_invoke_overhead_p99_ms"] = results["warm_invoke_p99_ms"] - results["api_call_p99_ms"]
        colds = []
        for i in range(7):  # an update replaces the execution environment: the next invoke is cold
            deploy.deploy_function(aws, names, "noop", {"app.py": NOOP}, environment={"ROUND": str(i)})
            wait_for(
                lambda: (
                    lam.get_function(FunctionName=arn)["Configuration"].get("LastUpdateStatus") in (None, "Successful")
                ),
                "the update",
                timeout=60,
            )
            started = time.perf_counter()
            lam.invoke(FunctionName=arn, Payload=b"{}")
            colds.append((time.perf_counter() - started) * 1000)
        results["cold_start_median_ms"] = median(colds)
        bare = []
        for _ in range(5):  # the floor of a cold start: a Python process importing the worker's bootstrap
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-c", "import workshop.emulator.functions.bootstrap"],
                cwd=ROOT,
                check=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            bare.append((time.perf_counter() - started) * 1000)
        results["bare_worker_start_ms"] = median(bare)
        results["workers"] = worker_memory(emulator, names)
    results["workers"]["reaped_after_s"], results["workers"]["idle_seconds"] = reaping(idle_seconds=2.0)
    return results


def _workers(emulator: Emulator) -> list[psutil.Process]:
    """The Lambda workers: the fork server's children (or the emulator's own, where workers are not forked)."""
    parent = psutil.Process(emulator.process.pid)
    server = [c for c in parent.children() if "fork_server" in " ".join(c.cmdline())]
    return (server[0] if server else parent).children()


def worker_memory(emulator: Emulator, names: Any, functions: int = 6) -> dict[str, Any]:
    """Resident and own (USS: pages no other process shares) memory of warm workers whose handler
    imported boto3 and made a client, as most handlers do."""
    aws, lam = emulator.backend, emulator.backend.client("lambda")
    source = "import boto3\ns3 = boto3.client('s3')\ndef handler(event, context):\n    return len(s3.list_buckets()['Buckets'])\n"
    for n in range(functions):
        arn = deploy.deploy_function(aws, names, f"warm{n}", {"app.py": source})
        lam.invoke(FunctionName=arn, Payload=b"{}")
    sizes = [w.memory_full_info() for w in _workers(emulator)]
    return {
        "count": len(sizes),
        "rss_mb": median([m.rss / 2**20 for m in sizes]),
        "uss_mb": median([m.uss / 2**20 for m in sizes]),
    }


def reaping(idle_seconds: float) -> tuple[float | None, float]:
    """How long after its last invocation an idle worker stops, on an emulator told to reap after ``idle_seconds``."""
    with Emulator(WORKSHOP_IDLE_WORKER_SECONDS=str(idle_seconds)) as emulator:
        aws = emulator.backend
        names = aws.names("reap")
        environment.provision(aws, names)
        arn = deploy.deploy_function(aws, names, "noop", {"app.py": NOOP})
        aws.client("lambda").invoke(FunctionName=arn, Payload=b"{}")
        invoked = time.perf_counter()
        while time.perf_counter() - invoked < idle_seconds * 10:
            if not _workers(emulator):
                return time.perf_counter() - invoked, idle_seconds
            time.sleep(0.1)
    return None, idle_seconds


def pipeline_section(sizes: list[int], raw_files: int) -> dict[str, Any]:
    runs = []
    for size in sizes:  # each size on a fresh emulator: a run does not pay for the one before
        with Emulator() as emulator:
            raw = pipeline_bench.raw_rate(emulator, raw_files)
            run = pipeline_bench.run(emulator, size)
            aws, names = emulator.backend, emulator.backend.names(pipeline_bench.PREFIX)
            busy = {}
            for purpose in ("intake", "enqueuer", "worker"):
                seconds, count = handler_seconds(aws, names.function(f"cap-orders-{purpose}"))
                busy[purpose] = {"handler_seconds": seconds, "invocations": count}
            # The bound again at the end of the run, on fresh resources of the same emulator.
            raw_after = pipeline_bench.raw_rate(emulator, raw_files, label="rawafter")
        run.update(raw)
        run.update(_best_of(raw["raw_calls_per_s"], raw_after["raw_calls_per_s"], "raw_calls_per_s"))
        run["bound_files_per_s"] = run["raw_calls_per_s"] / run["calls_per_file"]
        run["handlers"] = busy
        run["load_after"] = load_average()
        runs.append(run)
        print(f"  {size} files: {run['files_per_s']:.1f} files/s, bound {run['bound_files_per_s']:.1f}", flush=True)
    # The smallest size again with active tracing on the chain, on an emulator of its own: what
    # recording every invocation and handler call costs, beside the run without it.
    with Emulator() as emulator:
        traced = pipeline_bench.run(emulator, min(sizes), tracing=True)
        traced["segments"] = _segments_recorded(emulator, traced["seconds"])
    traced["untraced_files_per_s"] = next(run["files_per_s"] for run in runs if run["files"] == min(sizes))
    traced["load_after"] = load_average()
    print(f"  {traced['files']} files, traced: {traced['files_per_s']:.1f} files/s", flush=True)
    return {"runs": runs, "traced": traced}


def _segments_recorded(emulator: Emulator, seconds: float) -> int:
    """The segments the traced run left in the emulator's X-Ray (every trace of the last run)."""
    xray = emulator.backend.client("xray")
    now = time.time()
    window = {"StartTime": now - seconds - 60, "EndTime": now + 5}
    ids = [s["Id"] for s in xray.get_trace_summaries(**window)["TraceSummaries"]]
    return len(journey.segment_documents(xray, ids))


def _best_of(before: float, after: float, name: str) -> dict[str, float]:
    """A bound measured before and after its run; the bound is the better of the two. This
    machine's background load moves a rate by up to half within minutes: a figure beside one
    measurement alone could pass its bound merely because the bound met a busy minute."""
    return {name: max(before, after), f"{name}_before": before, f"{name}_after": after}


def scores_section(sizes: list[int]) -> dict[str, Any]:
    runs = []
    for size in sizes:
        with Emulator() as emulator:
            raw = scores_bench.raw_rates(emulator)
            run = scores_bench.run(emulator, size, str(size))
            names = emulator.backend.names(f"scores{size}")
            seconds, count = handler_seconds(emulator.backend, names.function("score-aggregator"))
            raw_after = scores_bench.raw_rates(emulator, label="rawafter")
            grown = scores_bench.grown_update_item_rate(emulator, names.table("GameScoresByUser"))
        run.update(raw)
        run.update(scores_bench.serial_shard_bound(raw, raw_after, grown))
        run["after"] = raw_after
        run["handler_seconds"], run["handler_invocations"] = seconds, count
        run["load_after"] = load_average()
        runs.append(run)
        print(
            f"  {size} records: {run['records_per_s']:.1f} records/s, serial-shard bound "
            f"{run['serial_shard_bound_records_per_s']:.1f}",
            flush=True,
        )
    return {"runs": runs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="the sizes of the committed report, every section")
    parser.add_argument("--sections", nargs="+", choices=ALL_SECTIONS)
    parser.add_argument("--files", type=int, nargs="+", help="pipeline sizes (default 100 500; --full 1000 10000)")
    parser.add_argument("--records", type=int, nargs="+", help="score records (default 2000; --full 10000 100000)")
    parser.add_argument("--raw-files", type=int, default=300, help="files' worth of calls replayed for the bound")
    parser.add_argument("--participants", type=int, default=30)
    parser.add_argument("--fair-participants", type=int, default=40, help="the fairness section's class size")
    parser.add_argument("--fair-slow", type=int, default=4, help="of them, how many have slow handlers")
    parser.add_argument("--fair-slow-seconds", type=float, default=12, help="how long a slow handler sleeps")
    parser.add_argument("--invokes", type=int, default=300)
    parser.add_argument("--notebooks", nargs="*", help="only notebooks whose path contains one of these")
    parser.add_argument("--make-test", action="store_true", help="run make test rather than read a CI timing")
    parser.add_argument("--ci-time", type=Path, default=Path("/tmp/ci.time"))
    parser.add_argument("--ci-log", type=Path, default=Path("/tmp/ci.log"))
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results.json")
    parser.add_argument("--report", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument(
        "--update",
        action="store_true",
        help="re-measure only the sections given and keep the others' figures from --json",
    )
    args = parser.parse_args()
    sections = args.sections or (ALL_SECTIONS if args.full else DEFAULT_SECTIONS)
    files = args.files or ([1000, 10000] if args.full else [100, 500])
    records = args.records or ([10000, 100000] if args.full else [2000])

    command = " ".join(["python", "bench/emulator_bench.py", *sys.argv[1:]])
    results: dict[str, Any] = {
        "command": command,
        "machine": report.machine(),
        "load_before": load_average(),
        "started": time.strftime("%Y-%m-%d %H:%M %Z"),
    }
    if args.update and args.json.exists():
        earlier = json.loads(args.json.read_text())
        updates = [
            *earlier.get("updates", []),
            {
                "command": command,
                "started": results["started"],
                "sections": list(sections),
                "load_before": results["load_before"],
            },
        ]
        results = {**earlier, "updates": updates}
    started = time.perf_counter()
    for section in sections:
        print(f"{section} ...", flush=True)
        section_started = time.perf_counter()
        if section == "emulator":
            results["emulator"] = emulator_section(args.invokes)
        elif section == "idle":
            results["idle"] = idle_bench.run()
        elif section == "pipeline":
            results["pipeline"] = pipeline_section(files, args.raw_files)
        elif section == "scores":
            results["scores"] = scores_section(records)
        elif section == "class":
            results["class"] = suite_bench.class_setup(args.participants)
        elif section == "fairness":
            results["fairness"] = fairness_bench.run(
                args.fair_participants, slow=args.fair_slow, slow_seconds=args.fair_slow_seconds
            )
        elif section == "notebooks":
            results["notebooks"] = suite_bench.notebooks(args.notebooks)
        elif section == "maketest":
            results["maketest"] = suite_bench.make_test(args.ci_log, args.ci_time, args.make_test)
        results.setdefault("section_seconds", {})[section] = time.perf_counter() - section_started
        results.setdefault("load_after_section", {})[section] = load_average()
    if args.update and results.get("updates"):
        results["updates"][-1].update(seconds=time.perf_counter() - started, load_after=load_average())
    else:
        results["total_seconds"] = time.perf_counter() - started
        results["load_after"] = load_average()
    args.json.write_text(json.dumps(results, indent=1, default=str) + "\n")
    text = report.render(results)
    args.report.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
