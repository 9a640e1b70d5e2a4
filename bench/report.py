"""BENCHMARKS.md from one run's figures: the machine, then each figure beside its bound."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any

import psutil

FULL_COMMAND = "make bench BENCH_ARGS=--full"


def machine() -> dict[str, Any]:
    """What the figures depend on, and nothing that names the machine or a person."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    os_name = platform.platform(terse=True)
    release = Path("/etc/os-release")
    if release.exists():
        for line in release.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = f"{line.split('=', 1)[1].strip(chr(34))} (Linux {platform.release().split('-')[0]})"
    return {
        "cpu": model or platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "os": os_name,
    }


def _f(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _ratio(value: float | None, bound: float | None, lower_is_better: bool = False) -> str:
    if not value or not bound:
        return "—"
    return f"{(bound / value if lower_is_better else value / bound):.0%}"


def _before_after(run: dict[str, Any], name: str) -> str:
    """How a bound measured before and after its run came out (older results have one)."""
    if f"{name}_after" not in run:
        return ""
    return f" (the better of {_f(run[name + '_before'])} before the run and {_f(run[name + '_after'])} after it)"


def _snapshot_copy(run: dict[str, Any]) -> str:
    """The forked copy writing a snapshot, counted in the total (none ran where copies are not used)."""
    if not run["peak_snapshot_copy_rss_mb"]:
        return ""
    return f" and the copy writing a snapshot (at most {_f(run['peak_snapshot_copy_rss_mb'], 0)} MB)"


def _scores_bound(run: dict[str, Any]) -> str:
    """How a game-score run's bound was made."""
    after = run["after"]
    return (
        "bound: one shard, one batch at a time (its records read in process: no request, left out), the aggregator's "
        f"{_f(run['aggregator_calls_per_record'], 2)} UpdateItem/record at the mean cost of its first update, "
        f"a new player's ({_f(run['bound_first_update_item_per_s'])} calls/s, the better of "
        f"{_f(run['update_item_per_s'])} and {_f(after['update_item_per_s'])}), and its last, a player whose "
        f"set holds every id the run counted ({_f(run['bound_last_update_item_per_s'])} calls/s)"
    )


SECTIONS = ("emulator", "idle", "pipeline", "scores", "class", "fairness", "notebooks", "maketest")


def _measured_when(r: dict[str, Any]) -> list[str]:
    """One row per section: the run that measured it last (a re-measured section replaces its row)."""
    last = {section: (r["started"], r.get("load_before", [])) for section in SECTIONS if r.get(section)}
    for update in r.get("updates", []):
        for section in update["sections"]:
            last[section] = (update["started"], update.get("load_before", []))
    rows = ["| section | measured | load average before (1, 5, 15 min) |", "| --- | --- | --- |"]
    rows += [f"| {section} | {started} | {', '.join(map(str, load))} |" for section, (started, load) in last.items()]
    return rows


# What the kit holds itself to (a day on one laptop, a suite a contributor waits for): each figure
# of the targets table, read from this run's results, beside its target.
TARGETS = {
    "make_test_min": 10.0,
    "slowest_notebook_s": 15.0,
    "idle_growth_mb_per_hour": 10.0,
    "idle_rss_mb": 200.0,
    "idle_cpu_share": 0.05,
    "start_s": 0.4,
    "pipeline_ratio": 0.60,
    "scores_ratio": 0.80,
    "per_file_growth": 1.1,
}


def _target_row(figure: str, value: float | None, shown: str, target: str, met: bool | None) -> str:
    verdict = "—" if value is None else ("met" if met else "**not met**")
    return f"| {figure} | {shown if value is not None else 'not measured'} | {target} | {verdict} |"


def targets(r: dict[str, Any]) -> list[str]:
    """The figures the kit holds itself to, from this run (a section not measured says so)."""
    t = TARGETS
    rows = ["## Targets", "", "| figure | measured | target | |", "| --- | --- | --- | --- |"]
    m = r.get("maketest") or {}
    minutes = m["seconds"] / 60 if m.get("seconds") else None
    rows.append(
        _target_row(
            "`make test` on a clean clone",
            minutes,
            f"{_f(minutes)} min",
            f"≤ {t['make_test_min']:.0f} min",
            minutes is not None and minutes <= t["make_test_min"],
        )
    )
    n = r.get("notebooks") or []
    slowest = max(n, key=lambda x: x["seconds"]) if n else None
    value = slowest["seconds"] if slowest else None
    rows.append(
        _target_row(
            "slowest Run All (its private emulator included)",
            value,
            f"{_f(value)} s (`{slowest['notebook']}`)" if slowest else "",
            f"every notebook ≤ {t['slowest_notebook_s']:.0f} s",
            value is not None and value <= t["slowest_notebook_s"],
        )
    )
    i = r.get("idle") or {}
    if i:
        growth, rss, cpu = i["rss_growth_mb_per_hour"], i["rss_mb"], i["idle_cpu_share"]
        rows.append(
            _target_row(
                "idle emulator holding a class's leftovers",
                rss,
                f"{_f(rss, 0)} MB, growing {_f(growth, 1)} MB/h, {cpu:.1%} of a core",
                f"flat (≤ {t['idle_growth_mb_per_hour']:.0f} MB/h), ≤ {t['idle_rss_mb']:.0f} MB, "
                f"≤ {t['idle_cpu_share']:.0%} of a core",
                growth <= t["idle_growth_mb_per_hour"] and rss <= t["idle_rss_mb"] and cpu <= t["idle_cpu_share"],
            )
        )
    else:
        rows.append(_target_row("idle emulator holding a class's leftovers", None, "", "flat, ≤ 200 MB, ≤ 5%", None))
    e = r.get("emulator") or {}
    workers = e.get("workers")
    rows.append(
        _target_row(
            "warm Lambda workers",
            workers["uss_mb"] if workers else None,
            f"{_f(workers['uss_mb'], 0)} MB of a worker's own of {_f(workers['rss_mb'], 0)} MB resident "
            f"(the rest shared with its siblings); an idle worker reaped after {_f(workers['reaped_after_s'], 1)} s "
            f"with a {_f(workers['idle_seconds'], 0)}-second limit"
            if workers
            else "",
            "shared pages, reaped when idle",
            bool(workers) and workers["uss_mb"] < workers["rss_mb"] and workers["reaped_after_s"] is not None,
        )
    )
    start = e.get("start_to_first_answer_s")
    rows.append(
        _target_row(
            "emulator start to first answer",
            start,
            f"{_f(start, 2)} s",
            f"≤ {t['start_s']} s",
            start is not None and start <= t["start_s"],
        )
    )
    runs = (r.get("pipeline") or {}).get("runs") or []
    rows.append(
        _ratios_row(
            "ingest pipeline, files/s against its raw-call bound", runs, "files_per_s", "bound_files_per_s", "files"
        )
    )
    if len(runs) > 1:
        growth = runs[-1]["ms_per_file"] / runs[0]["ms_per_file"]
        rows.append(
            _target_row(
                f"per-file cost growth, {runs[0]['files']:,} → {runs[-1]['files']:,} files",
                growth,
                f"×{growth:.2f}",
                f"≤ ×{t['per_file_growth']}",
                growth <= t["per_file_growth"],
            )
        )
    scored = (r.get("scores") or {}).get("runs") or []
    rows.append(
        _ratios_row(
            "game scores against their bound", scored, "records_per_s", "serial_shard_bound_records_per_s", "records"
        )
    )
    return rows


def _ratios_row(figure: str, runs: list[dict[str, Any]], value: str, bound: str, size: str) -> str:
    """A rate's share of its bound at every size measured, against the lowest share allowed."""
    target = TARGETS["pipeline_ratio" if size == "files" else "scores_ratio"]
    ratios = [run[value] / run[bound] for run in runs]
    return _target_row(
        figure,
        min(ratios) if ratios else None,
        # one decimal: a share rounded to the target must not read as meeting it
        ", ".join(f"{ratio:.1%} at {run[size]:,} {size}" for ratio, run in zip(ratios, runs, strict=True)),
        f"≥ {target:.0%} at every size",
        bool(ratios) and min(ratios) >= target,
    )


def render(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [
        "# Benchmarks",
        "",
        "Produced by `make bench` (`bench/emulator_bench.py`), whose JSON is `bench/results.json`. The",
        f"committed sizes are `{FULL_COMMAND}` (1k and 10k files, 10k and 100k records, every notebook);",
        "plain `make bench` runs small sizes in a few minutes. One section can be measured again alone",
        "(`--update --sections ...`), keeping the others: the table below says when each was last measured.",
        "What the figures taught, and what changed because of them, follows the tables (`bench/FINDINGS.md`).",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        f"| CPU | {m['cpu']}, {m['cores']} cores |",
        f"| memory | {m['memory_gb']} GB |",
        f"| Python | {m['python']} |",
        f"| OS | {m['os']} |",
        f"| load average (1, 5, 15 min) | before {', '.join(map(str, r['load_before']))}; "
        f"after {', '.join(map(str, r['load_after']))} |",
        f"| run time | {r['total_seconds'] / 60:.1f} min |",
        "",
        "**Ratio** is the share of its bound a figure reaches: value ÷ bound for rates, bound ÷ value",
        "for durations. Every bound is measured in the same run, on the same emulator process.",
        "",
        "| figure | value | bound | ratio | notes |",
        "| --- | --- | --- | --- | --- |",
    ]
    at = lines.index("## Machine") - 1
    lines[at:at] = ["", *_measured_when(r)]
    row = lines.append
    e = r.get("emulator")
    if e:
        row(
            f"| emulator start to first answer | {_f(e['start_to_first_answer_s'], 2)} s | — | — | "
            f"`python -m workshop serve` started to `/_workshop/health` answering; median of {len(e['start_samples_s'])} |"
        )
        row(
            f"| plain API call p50 / p99 | {_f(e['api_call_p50_ms'], 2)} / {_f(e['api_call_p99_ms'], 2)} ms | — | — | "
            "GetFunctionConfiguration (Lambda's API, no code run), one client, one call after another: the floor of an invoke |"
        )
        row(
            f"| warm invoke p50 | {_f(e['warm_invoke_p50_ms'], 2)} ms | {_f(e['api_call_p50_ms'], 2)} ms | "
            f"{_ratio(e['warm_invoke_p50_ms'], e['api_call_p50_ms'], True)} | no-op handler, RequestResponse; "
            f"overhead over a plain call: **{_f(e['warm_invoke_overhead_p50_ms'], 2)} ms** |"
        )
        row(
            f"| warm invoke p99 | {_f(e['warm_invoke_p99_ms'], 2)} ms | {_f(e['api_call_p99_ms'], 2)} ms | "
            f"{_ratio(e['warm_invoke_p99_ms'], e['api_call_p99_ms'], True)} | overhead p99: "
            f"**{_f(e['warm_invoke_overhead_p99_ms'], 2)} ms** |"
        )
        row(
            f"| cold start (median of 7) | {_f(e['cold_start_median_ms'])} ms | {_f(e['bare_worker_start_ms'])} ms | "
            f"{_ratio(e['cold_start_median_ms'], e['bare_worker_start_ms'], True)} | invoke after a configuration "
            "update; bound: a bare `python` importing the worker bootstrap (a worker started from nothing; "
            "workers fork from a warm parent, so a cold start can beat it) |"
        )
    i = r.get("idle")
    if i:
        row(
            f"| idle emulator with a class's leftovers | {i['idle_cpu_share']:.0%} of a core | — | — | "
            f"{i['queues_with_mappings']} queues with mappings (a third FIFO), {i['alarms']} alarms, "
            f"{i['stream_mappings']} stream mappings, nobody calling; created in {_f(i['create_s'])} s; "
            f"resident {_f(i['rss_mb'], 0)} MB at most; idle, in use (a message to a tenth of the queues and an "
            f"item to a tenth of the tables every second), idle again, over {_f(i.get('window_s', 0) / 60)} min: "
            f"{_f(i.get('rss_first_idle_mb'), 0)} → {_f(i.get('rss_last_idle_mb'), 0)} MB from the first idle phase "
            f"to the last (what the use left: its logs, stream records and metrics, which AWS keeps too); "
            f"within an idle phase {_f(i['rss_growth_mb_per_hour'], 1)} MB/h; "
            f"a plain call meanwhile p50 {_f(i['list_queues_p50_ms'], 2)} ms; its saved state "
            f"{_f((i['snapshot_bytes'] or 0) / 2**20, 1)} MB, written in {_f((i['snapshot_seconds'] or 0) * 1000, 0)} ms |"
        )
    p = r.get("pipeline")
    if p:
        for run in p["runs"]:
            h = run["handlers"]
            row(
                f"| ingest pipeline, {run['files']:,} files ({run['records']:,} records) | "
                f"{_f(run['files_per_s'])} files/s | {_f(run['bound_files_per_s'])} files/s | "
                f"{_ratio(run['files_per_s'], run['bound_files_per_s'])} | upload start to every output present, "
                f"{_f(run['seconds'])} s; bound = raw {_f(run['raw_calls_per_s'])} calls/s{_before_after(run, 'raw_calls_per_s')} ÷ "
                f"{_f(run['calls_per_file'], 2)} calls/file; handlers busy: intake {_f(h['intake']['handler_seconds'])} s, "
                f"enqueuer {_f(h['enqueuer']['handler_seconds'])} s ({h['enqueuer']['invocations']} batches), "
                f"worker {_f(h['worker']['handler_seconds'])} s ({h['worker']['invocations']} batches) |"
            )
        if len(p["runs"]) > 1:
            a, b = p["runs"][0], p["runs"][-1]
            row(
                f"| per-file cost, {a['files']:,} → {b['files']:,} files | {_f(a['ms_per_file'], 2)} → "
                f"{_f(b['ms_per_file'], 2)} ms | — | ×{b['ms_per_file'] / a['ms_per_file']:.2f} | growth of the "
                f"end-to-end cost per file with {b['files'] // a['files']}× the files |"
            )
        traced = p.get("traced")
        if traced:
            untraced = traced["untraced_files_per_s"]  # the same size without tracing, in the same bench run
            row(
                f"| ingest pipeline traced, {traced['files']:,} files | {_f(traced['files_per_s'])} files/s | "
                f"{_f(untraced)} files/s untraced | {_ratio(traced['files_per_s'], untraced)} of it | active tracing "
                f"on the chain's three functions: {traced.get('segments', 0):,} segments recorded (each invocation's "
                f"two, its handler's calls within them) |"
            )
        big = max(p["runs"], key=lambda run: run["files"])
        row(
            f"| peak memory, {big['files']:,}-file run | {_f(big['peak_emulator_rss_mb'], 0)} MB emulator; "
            f"{_f(big['peak_total_rss_mb'], 0)} MB with its {big['peak_lambda_workers']} Lambda workers"
            f"{_snapshot_copy(big)} | — | — | "
            "resident set size sampled every 0.25 s (workers share library pages, so the sum overstates) |"
        )
    s = r.get("scores")
    if s:
        for run in s["runs"]:
            row(
                f"| game scores, {run['records']:,} records | {_f(run['records_per_s'])} records/s | "
                f"{_f(run['serial_shard_bound_records_per_s'])} records/s | "
                f"{_ratio(run['records_per_s'], run['serial_shard_bound_records_per_s'])} | {_scores_bound(run)}; "
                f"records enter at {_f(run['batch_write_items_per_s'], 0)} items/s (BatchWriteItem, "
                f"{_ratio(run['records_per_s'], run['batch_write_items_per_s'])} of it); handler busy "
                f"{_f(run['handler_seconds'])} of {_f(run['seconds'])} s; {run['games_counted']:,} games counted |"
            )
    c = r.get("class")
    if c:
        row(
            f"| setup of {c['participants']} participants | {_f(c['setup_s'])} s | — | — | "
            f"`setup_env.py --participants {c['participants']}` on a fresh emulator: {c['setup_said']} |"
        )
        row(
            f"| teardown of {c['participants']} participants | {_f(c['teardown_s'])} s | — | — | "
            f"`teardown_env.py --participants {c['participants']}`: {c['teardown_said']} |"
        )
    f = r.get("fairness")
    if f:
        slow, calm = f["with_slow"], f["without_slow"]
        others = f["participants"] - f["slow"]
        row(
            f"| class of {f['participants']} on one emulator, {f['slow']} of them with handlers sleeping "
            f"{_f(float(f['slow_seconds']), 0)} s: the other {others}'s upload to processed, p50 | "
            f"{_f(slow['others_p50_s'], 2)} s | {_f(calm['others_p50_s'], 2)} s | "
            f"{_ratio(slow['others_p50_s'], calm['others_p50_s'], True)} | bound: the same class on a fresh "
            f"emulator with no slow handler; {f['files']} uploads each, everyone at once, each participant's "
            "bucket notifying their own handler (invoked once before) |"
        )
        row(
            f"| the same, p99 | {_f(slow['others_p99_s'], 2)} s | {_f(calm['others_p99_s'], 2)} s | "
            f"{_ratio(slow['others_p99_s'], calm['others_p99_s'], True)} | {_f(slow.get('others_cold'))} / {_f(calm.get('others_cold'))} of the "
            f"{others * f['files']} uploads ran on a worker their function started for them (a cold start, as "
            f"Lambda scales out); the others' p99 {_f(slow.get('others_warm_p99_s'), 2)} / "
            f"{_f(calm.get('others_warm_p99_s'), 2)} s |"
        )
        row(
            f"| cost of that class's uploads, with / without the slow handlers | "
            f"{_f(slow['cpu_total_s'])} / {_f(calm['cpu_total_s'])} CPU s | — | — | the emulator's "
            f"{_f(slow['cpu_emulator_s'])} / {_f(calm['cpu_emulator_s'])} s, the rest its Lambda workers'; "
            f"peak memory {_f(slow['peak_total_rss_mb'], 0)} / {_f(calm['peak_total_rss_mb'], 0)} MB with "
            f"{slow['peak_lambda_workers']} / {calm['peak_lambda_workers']} workers (the emulator alone "
            f"{_f(slow['peak_emulator_rss_mb'], 0)} / {_f(calm['peak_emulator_rss_mb'], 0)} MB); every upload "
            f"processed in {_f(slow['seconds'])} / {_f(calm['seconds'])} s; the slow participants' own p50 "
            f"{_f(slow['slow_p50_s'])} s; resident set size sampled every 0.25 s (workers share library pages, "
            "so the sum overstates) |"
        )
    n = r.get("notebooks")
    if n:
        total = sum(x["seconds"] for x in n)
        for x in n:
            row(
                f"| Run All `{x['notebook']}` | {_f(x['seconds'])} s | — | — | {x['code_cells']} code cells"
                f"{'; FAILED: ' + x['error'] if x['error'] else ''}; includes its private emulator's start and setup |"
            )
        row(f"| Run All, every notebook | {_f(total / 60)} min | — | — | {len(n)} notebooks one after another |")
    t = r.get("maketest")
    if t:
        value = f"{_f(t['seconds'] / 60)} min" if t.get("seconds") else "—"
        row(f"| `make test` | {value} | — | — | {t['source']}{'; ' + t['summary'] if t['summary'] else ''} |")
    lines += ["", *targets(r)]
    missing = [name for name in SECTIONS if name not in r]
    if missing:
        lines += ["", f"Not measured in this run: {', '.join(missing)} (`{FULL_COMMAND}` measures every one)."]
    lines += ["", *bad_input_table()]
    notes = Path(__file__).with_name("FINDINGS.md")
    if notes.exists():
        lines += ["", notes.read_text().rstrip()]
    return "\n".join(lines) + "\n"


def bad_input_table() -> list[str]:
    """The bad inputs of tests/labs/test_faults.py and the outcome that test asserts for each: the
    table is made from the test's own cases, so it cannot say what the test does not check."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.labs.test_faults import BAD_INPUTS  # noqa: E402 - the cases live with their test

    lines = [
        "## Bad input and where it ends",
        "",
        "Each file below is uploaded to the capstone's incoming bucket; `make test` asserts where it "
        "ends and the reason it carries (`tests/labs/test_faults.py`). Nothing is lost: a rejected file "
        "is kept whole in the error bucket with its reason in the object's metadata, and raises an "
        "alarm. Also asserted there: a 50 MB file is refused before it is read (`too large: ...`), "
        "events without S3 records are answered with what was ignored, poison jobs are parked in "
        "the dead-letter queue at once with their reason.",
        "",
        "| input | example key | ends in | reason kept |",
        "| --- | --- | --- | --- |",
    ]
    for what, key, _, place, reason in BAD_INPUTS:
        lines.append(f"| {what} | `{key}` | {place} | {reason or '—'} |")
    return lines
