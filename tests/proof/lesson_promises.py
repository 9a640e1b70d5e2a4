"""What each lesson promises, asserted in the notebook's own kernel after it ran under chaos.

tests/proof/test_lessons_under_chaos.py runs a notebook with duplicate deliveries or injected
failures, then one more cell: ``lesson_promises.<promise>(globals())``. Each function below
reads the notebook's own variables (the files it uploaded, the totals it expected, the jobs it
took) and the backend's state, waits until the emulator has nothing left to deliver, and
asserts the outcome the lesson's text promises: nothing counted twice, nothing lost, no false
alarm. A failed assertion says what differs.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from typing import Any

from workshop.core import backend as backends
from workshop.lab_helpers import capstone, orders


def _admin(route: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{backends.current().endpoint_url}/_workshop/{route}", timeout=10) as response:
        return json.loads(response.read())


def settle(quiet: float = 1.5, timeout: float = 120) -> None:
    """Until the emulator has had nothing to deliver or invoke for ``quiet`` seconds: a late
    duplicate or retry has had its chance to count something twice."""
    deadline, calm_since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        if _admin("idle")["idle"]:
            calm_since = calm_since or time.monotonic()
            if time.monotonic() - calm_since >= quiet:
                return
        else:
            calm_since = None
        time.sleep(0.1)
    raise AssertionError(f"the emulator was still busy after {timeout} s")


def _need(ns: dict[str, Any], *names: str) -> list[Any]:
    """The notebook's variables a promise reads; a clear failure when its demo did not run."""
    missing = [name for name in names if name not in ns]
    assert not missing, f"the lesson's demonstration did not run (no {', '.join(missing)} in the notebook)"
    return [ns[name] for name in names]


def _eventually(condition: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found or time.monotonic() > deadline:
            assert found, f"{what}: not within {timeout} s"
            return found
        time.sleep(0.2)


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message visible in a queue now, deleted as read."""
    messages = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
    ).get("Messages", []):
        for message in batch:
            messages.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return messages


# ---- lab 4: the ingest pipeline fans out ---------------------------------------------------


def fan_out(ns: dict[str, Any]) -> str:
    """Each good file becomes one summary (no file rejected as its own duplicate, no alarm about
    it); each summary reaches the audit queue, and the EU queue gets exactly the EU ones."""
    aws, names, batch, s3 = _need(ns, "aws", "names", "batch", "s3")
    keys = [item.key for item in batch]
    settle()
    error_keys = {
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=names.bucket("error"))
        for o in page.get("Contents", [])
    }
    falsely_rejected = sorted(set(keys) & error_keys)
    assert not falsely_rejected, f"good files rejected under redelivery: {falsely_rejected}"
    summaries = {
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=names.bucket("processed"), Prefix="summaries/")
        for o in page.get("Contents", [])
    }
    missing = [k for k in keys if f"summaries/{k}.json" not in summaries]
    assert not missing, f"files without a summary: {missing}"
    audited = set(ns["mine"](ns["audit"] + ns["read_all"](ns["audit_url"])))
    eu = set(ns["mine"](ns["eu"] + ns["read_all"](ns["eu_url"])))
    assert len(audited) == len(keys), f"{len(keys)} summaries, {len(audited)} audited: {sorted(audited)}"
    assert len(eu) == sum("/eu/" in k for k in keys) and all("/eu/" in k for k in eu), f"EU queue: {sorted(eu)}"
    return f"{len(keys)} files, {len(keys)} summaries, none rejected; audit {len(audited)}, EU {len(eu)}"


# ---- lab 5: game scores from a stream --------------------------------------------------------


def game_scores(ns: dict[str, Any]) -> str:
    """The last season's totals equal pandas' groupby of its records, after every retried or
    redelivered batch had its chance to count a game twice."""
    expected, totals_of = _need(ns, "expected", "totals_of")
    settle()
    counted = totals_of(expected.index)
    assert counted.equals(expected), (
        f"totals differ from the records:\n{(counted - expected)[(counted != expected).any(axis=1)]}"
    )
    return f"{int(expected['GamesPlayed'].sum())} games, {len(expected)} players: totals exact"


# ---- lab and walkthrough 6: one job per precise change ---------------------------------------


def _no_more_jobs(sqs: Any, url: str, owners: set[str], field: str) -> list[dict[str, Any]]:
    settle()
    late = [json.loads(m["Body"]) for m in _drain(sqs, url)]
    return [job for job in late if job.get(field) in owners]


def placement_jobs(ns: dict[str, Any]) -> str:
    """One job per player, with the player's first ten scores, and no second one later."""
    players, jobs = _need(ns, "players", "jobs")
    assert sorted(jobs.index) == sorted(players), f"one job per player expected, got {Counter(jobs.index)}"
    for n, player in enumerate(players):
        assert list(jobs.loc[player, "placement_games"]) == [100 + 10 * game + n for game in range(10)], player
    late = _no_more_jobs(ns["sqs"], ns["queue_url"], set(players), "player")
    assert not late, f"a second job was queued: {late}"
    return f"{len(players)} players, {len(jobs)} jobs, none late"


def loyalty_jobs(ns: dict[str, Any]) -> str:
    """The last season: one voucher job per customer, on the tenth order, and no second one."""
    (jobs,) = _need(ns, "jobs")
    customers = sorted({job["customer"] for job in jobs})
    assert len(jobs) == len(customers) == 3, f"one job per customer expected: {jobs}"
    assert all(job["tenth_order"] == f"{job['customer']}-order-10" for job in jobs), jobs
    late = _no_more_jobs(ns["sqs"], ns["queue_url"], set(customers), "customer")
    assert not late, f"a second job was queued: {late}"
    return f"{len(customers)} customers, {len(jobs)} jobs, none late"


# ---- lab and walkthrough 7: the dead-letter queue holds the poison job only -------------------


def _done_jobs(lines: list[str]) -> set[str]:
    return {line.split()[1].rstrip(":") for line in lines if line.startswith("done ")}


def poison_job(ns: dict[str, Any]) -> str:
    """Every good job done, the poison job and nothing else in the dead-letter queue, the jobs
    queue empty (the lab's cells read the dead-letter queue, deleting what they read)."""
    good, poison, dead = _need(ns, "good", "poison", "dead")
    settle()
    dead = dead + [json.loads(m["Body"]) for m in _drain(ns["sqs"], ns["dlq_url"])]
    assert [job["job_id"] for job in dead] == [poison], f"the dead-letter queue holds {dead}"
    done = _eventually(
        lambda: set(good) <= (jobs := _done_jobs(ns["consumer_log"]("done", ns["since"]))) and jobs,
        "every good job done",
    )
    assert poison not in done
    assert len(ns["done"]) == len(good), f"the lab says {len(ns['done'])} jobs done, for {len(good)} good jobs"
    _assert_empty(ns["sqs"], ns["jobs_url"])
    return f"{len(good)} good jobs done, only the poison job dead-lettered"


def redriven_poison_job(ns: dict[str, Any]) -> str:
    """The walkthrough: the poison job alone went to the dead-letter queue, came back fixed and
    was done; every good job done; both queues empty at the end."""
    good, poison = _need(ns, "good", "poison")
    settle()
    done = _done_jobs(ns["consumer_log"]('"done"', ns["since"] - 600_000))
    assert set(good) | {poison} <= done, f"not done: {set(good) | {poison} - done}"
    assert len(ns["done"]) == len(good), f"the notebook says {len(ns['done'])} jobs done, for {len(good)} good jobs"
    for url in (ns["dlq_url"], ns["jobs_url"]):
        _assert_empty(ns["sqs"], url)
    return f"{len(good)} good jobs and the redriven poison job done, queues empty"


def _assert_empty(sqs: Any, url: str) -> None:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    waiting = {k: attributes[k] for k in ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible")}
    assert set(waiting.values()) == {"0"}, f"{url.rsplit('/', 1)[-1]} still holds messages: {waiting}"


# ---- lab and walkthrough 9: the capstone conserves every file and record ----------------------


def capstone_day(ns: dict[str, Any]) -> str:
    """Every file of the day archived or rejected: of each content exactly one file archived,
    the others rejected as duplicates, malformed ones rejected with their reason; every record
    of an archived file delivered once per record id; an alarm for every rejected file and for
    no other."""
    aws, names, day = _need(ns, "aws", "names", "day")
    keys = [made.key for made in day]
    settle()
    rows = {
        row["file"]: row
        for row in _eventually(lambda: capstone.settled(aws, names, keys), "every file and record accounted for")
    }
    by_content: dict[str, list[str]] = {}
    for made in day:
        if made.expected == orders.MALFORMED:
            row = rows[made.key]
            assert row["ended_in"] == "error" and not row["reason"].startswith("duplicate"), row
        else:
            by_content.setdefault(hashlib.sha256(made.body).hexdigest(), []).append(made.key)
    for files in by_content.values():
        places = Counter(rows[key]["ended_in"] for key in files)
        assert places["archive"] == 1, f"content of {files}: archived {places['archive']} times, not once"
        assert all(rows[key]["reason"].startswith("duplicate") for key in files if rows[key]["ended_in"] == "error")
    bodies = {made.key: made.body for made in day}
    for key, row in rows.items():
        if row["ended_in"] == "archive":
            assert row["records"] == row["delivered"] == _rows_in(key, bodies[key]), row
    rejected = {key for key, row in rows.items() if row["ended_in"] == "error"}
    alarmed = _alarmed_files(ns, set(keys), rejected)
    assert alarmed == rejected, (
        f"alarms about files not rejected: {sorted(alarmed - rejected)}; "
        f"rejected without an alarm: {sorted(rejected - alarmed)}"
    )
    return (
        f"{len(keys)} files: {len(keys) - len(rejected)} archived, {len(rejected)} rejected, "
        f"one alarm subject per rejected file and none other"
    )


def _rows_in(key: str, body: bytes) -> int:
    if key.endswith(".json"):
        document = json.loads(body)
        return len(next(iter(document.values())))
    return len(body.decode().strip().splitlines()) - 1


def _alarmed_files(ns: dict[str, Any], keys: set[str], rejected: set[str]) -> set[str]:
    """The files of ``keys`` the alarm inbox was told about: what the notebook read already
    (the walkthrough's ``received``) and whatever still waits."""
    aws, names = ns["aws"], ns["names"]
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=names.queue(capstone.ALARM_INBOX))["QueueUrl"]
    seen = {alarm["key"] for _, alarm in ns.get("received", [])}

    def read() -> set[str]:
        for message in _drain(sqs, url):
            seen.add(json.loads(json.loads(message["Body"])["Message"])["key"])
        return seen & keys

    _eventually(lambda: rejected <= read(), "an alarm for every rejected file")
    settle()
    return read()


# ---- labs 2 and 3: the ingest pipeline's two kinds of twice ----------------------------------


def _contents(files: list[Any]) -> dict[str, list[str]]:
    """Content hash -> the keys uploaded with it, in upload order."""
    by_content: dict[str, list[str]] = {}
    for item in files:
        by_content.setdefault(hashlib.sha256(item.body).hexdigest(), []).append(item.key)
    return by_content


def idempotency_records(ns: dict[str, Any]) -> str:
    """Of each content one upload is recorded ``new``, exactly once; its own events again are
    redeliveries, never duplicates; every other upload of that content is a duplicate."""
    files, digester_lines = _need(ns, "files", "digester_lines")
    settle()
    statuses: dict[str, Counter] = {}
    for line in digester_lines():
        statuses.setdefault(line["received"], Counter())[line["status"]] += 1
    for keys in _contents(files).values():
        first = [key for key in keys if statuses.get(key, Counter())["new"]]
        assert len(first) == 1 and statuses[first[0]]["new"] == 1, (
            f"{keys}: new {[dict(statuses.get(k, {})) for k in keys]}"
        )
        assert statuses[first[0]]["duplicate"] == 0, f"{first[0]}: its own redelivery called a duplicate"
        for key in keys:
            if key != first[0]:
                assert set(statuses.get(key, {})) == {"duplicate"}, (
                    f"{key}, another upload: {dict(statuses.get(key, {}))}"
                )
    return f"{len(files)} uploads of {len(_contents(files))} contents: each content new once, no false duplicate"


def error_bucket_alarm(ns: dict[str, Any]) -> str:
    """Of each content exactly one file processed, the other uploads rejected as duplicates,
    malformed files rejected; nothing left behind; an alarm for every rejected file, none other."""
    batch, where, drain_inbox, alarmed = _need(ns, "batch", "where", "drain_inbox", "alarmed")
    settle()
    places = {
        item.key: _eventually(
            lambda key=item.key: (found := where(key))[0] in ("processed", "error") and found,
            f"{item.key} processed or rejected",
        )
        for item in batch
    }
    for item in batch:
        if item.expected == orders.MALFORMED:
            place, reason = places[item.key]
            assert place == "error" and not reason.startswith("duplicate"), (item.key, place, reason)
    for keys in _contents([item for item in batch if item.expected != orders.MALFORMED]).values():
        ended = Counter(places[key][0] for key in keys)
        assert ended["processed"] == 1, f"content of {keys}: processed {ended['processed']} times, not once"
    rejected = {key for key, (place, _) in places.items() if place == "error"}
    seen = set(alarmed)

    def all_alarms() -> set[str]:
        seen.update(m["key"] for m in drain_inbox() if m.get("key") in places)
        return seen

    _eventually(lambda: rejected <= all_alarms(), "an alarm for every rejected file")
    settle()
    assert all_alarms() == rejected, f"alarms about files not rejected: {sorted(all_alarms() - rejected)}"
    return (
        f"{len(batch)} files: {len(batch) - len(rejected)} processed once, {len(rejected)} rejected with an alarm each"
    )


def idempotency_modes(ns: dict[str, Any]) -> str:
    """Walkthrough 2: asking who holds the record processes each content once and names every
    other delivery right, a redelivery or a duplicate, even when retries add deliveries; and
    Powertools runs its handler once per distinct event."""
    files, handler_lines, resent = _need(ns, "files", "handler_lines", "resent")
    settle()
    by_key: dict[str, Counter] = {}
    for line in handler_lines("received-demo", 0):
        if line.get("mode") == "holder":
            by_key.setdefault(line["key"], Counter())[line["outcome"]] += 1
    for keys in _contents(files).values():
        keys = [f"dedupe/holder/{key}" for key in keys]
        first = [key for key in keys if by_key.get(key, Counter())["processed"]]
        assert len(first) == 1 and by_key[first[0]]["processed"] == 1, (
            f"{keys}: processed {[dict(by_key.get(k, {})) for k in keys]}, not once"
        )
        assert set(by_key[first[0]]) <= {"processed", "redelivery"}, f"{first[0]}: {dict(by_key[first[0]])}"
        for key in keys:
            if key != first[0]:
                assert set(by_key.get(key, {})) == {"duplicate"}, f"{key}, another upload: {dict(by_key.get(key, {}))}"
    powertools = [line for line in handler_lines("powertools-demo", 0) if line.get("outcome") == "processed"]
    assert len(powertools) == len(resent), (
        f"Powertools ran its handler {len(powertools)} times for {len(resent)} events"
    )
    return (
        f"{len(files)} uploads of {len(_contents(files))} contents: each processed once, every other delivery "
        f"named right; Powertools ran once per event ({len(resent)})"
    )
