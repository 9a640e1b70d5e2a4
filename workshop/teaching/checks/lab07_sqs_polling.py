"""Lab 7, SQS polling: the redrive policy, the worker loop, the backlog alarm, the partial batch response.

Longer than 400 lines: a lab's checks are one module, found by the lab's number, and lab 7 has
five exercises and three questions, two of them (the worker, the batch response) exercised by
running the learner's code against messages that fail.
"""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from typing import Any

from workshop.aws import events as aws_events
from workshop.aws.batch_response import failed_items
from workshop.core.naming import TAG_KEY
from workshop.teaching.checks.support import (
    describe_error,
    invoke_raw,
    mappings_of,
    require_function,
    require_handler_attempted,
)
from workshop.teaching.grading import Context, Faults, Incorrect, NotAttempted, exercise, question

SOLUTION = "07_sqs_polling.ipynb"
QUEUE, DLQ, TOPIC, ALARM, CONSUMER = "jobs", "jobs-dlq", "jobs-alarm", "jobs-backlog", "job-consumer"
WORKER_FILE, CONSUMER_FILE = "handlers/job_worker.py", "handlers/job_consumer.py"
BACKLOG_LIMIT = 20
# A poison message should get a few tries (a passing failure heals on a retry), not dozens.
FEWEST_RECEIVES, MOST_RECEIVES = 2, 10
BACKLOG_STATISTICS = ("Maximum", "Average")


def _queue(ctx: Context, purpose: str) -> tuple[str, dict[str, str]]:
    """(URL, attributes) of one of the learner's queues; NotAttempted when the lab's first cell has not run."""
    sqs = ctx.client("sqs")
    try:
        url = sqs.get_queue_url(QueueName=ctx.names.queue(purpose))["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        raise NotAttempted(f"there is no queue {ctx.names.queue(purpose)}: run the lab's first cell") from None
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


# ---- 7.1 ----------------------------------------------------------------------------------


@exercise(
    "7.1",
    "A dead-letter queue for jobs that keep failing",
    solution=SOLUTION,
    hints=(
        "The redrive policy is an attribute of the source queue (jobs), set with set_queue_attributes.",
        "Its value is a JSON string with two fields: deadLetterTargetArn (the DLQ's ARN, not its URL) and "
        "maxReceiveCount (how many receives before the move).",
        "sqs.set_queue_attributes(QueueUrl=jobs_url, Attributes={'RedrivePolicy': json.dumps("
        "{'deadLetterTargetArn': dlq_arn, 'maxReceiveCount': 3})})",
    ),
)
def redrive_policy(ctx: Context) -> str:
    _, attributes = _queue(ctx, QUEUE)
    jobs, dlq = ctx.names.queue(QUEUE), ctx.names.queue(DLQ)
    raw = attributes.get("RedrivePolicy")
    if not raw:
        raise NotAttempted(f"{jobs} has no RedrivePolicy yet, so a poison job would come back until it expires")
    try:
        policy = json.loads(raw)
    except ValueError:
        raise Incorrect(f"the RedrivePolicy of {jobs} is not JSON: {raw[:200]}") from None
    target = str(policy.get("deadLetterTargetArn") or "")
    target_name = target.rsplit(":", 1)[-1]
    if target == attributes.get("QueueArn"):
        raise Incorrect(f"{jobs} is its own dead-letter queue: a failing job would never leave it; use {dlq}")
    if not target.startswith("arn:aws") or not ctx.names.owns(target_name):
        raise Incorrect(
            f"the dead-letter queue of {jobs} is {target or 'missing'}, which is not a queue of yours "
            f"(yours start with {ctx.names.prefix}-): give the ARN of {dlq} (dlq_arn), not its URL or "
            "another participant's queue"
        )
    faults = Faults()
    if target_name != dlq:
        faults.add(
            f"{jobs} sends failing jobs to {target_name}; the lab's dead-letter queue is {dlq} (dlq_arn)",
            hint="deadLetterTargetArn is dlq_arn, the ARN of jobs-dlq from the lab's first cell",
        )
    else:
        _queue(ctx, DLQ)
    receives = None
    try:
        receives = int(policy.get("maxReceiveCount"))
    except (TypeError, ValueError):
        faults.add(
            f"the RedrivePolicy of {jobs} has no maxReceiveCount a number ({raw[:200]}), so SQS "
            'refuses it: add "maxReceiveCount": 3',
            hint="json.dumps({'deadLetterTargetArn': dlq_arn, 'maxReceiveCount': 3})",
        )
    if receives is not None and receives < FEWEST_RECEIVES:
        faults.add(
            f"maxReceiveCount is {receives}: a single failed attempt (a timeout, a throttled call) would "
            f"send a job that works on a retry to {dlq}; allow a few receives, such as 3",
            hint="a passing failure heals on a retry: 'maxReceiveCount': 3 gives it two more tries",
        )
    if receives is not None and receives > MOST_RECEIVES:
        faults.add(
            f"maxReceiveCount is {receives}: a poison job would be received and fail {receives} times "
            f"before it reaches {dlq}, taking consumer time on every visit; a few receives, such as 3, "
            "are enough for passing failures",
            hint="'maxReceiveCount': 3 — enough for a passing failure, few visits for a poison job",
        )
    faults.raise_any()
    return f"{jobs} moves a job to {dlq} after {receives} receives without a delete"


# ---- 7.2 ----------------------------------------------------------------------------------


class _RecordingSqs:
    """The learner's worker gets this instead of a plain client: every call goes to SQS, and
    what was received, processed and deleted is written down in order."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.events: list[tuple[str, Any]] = []
        self.receives: list[dict[str, Any]] = []
        self._ids: dict[str, str] = {}  # receipt handle -> message id

    def receive_message(self, **kwargs: Any) -> dict[str, Any]:
        self.receives.append(kwargs)
        response = self._client.receive_message(**kwargs)
        for message in response.get("Messages", []):
            self._ids[message["ReceiptHandle"]] = message["MessageId"]
            self.events.append(("receive", message["MessageId"]))
        return response

    def delete_message(self, **kwargs: Any) -> dict[str, Any]:
        self.events.append(("delete", self._ids.get(kwargs.get("ReceiptHandle", ""), "?")))
        return self._client.delete_message(**kwargs)

    def delete_message_batch(self, **kwargs: Any) -> dict[str, Any]:
        for entry in kwargs.get("Entries", []):
            self.events.append(("delete", self._ids.get(entry.get("ReceiptHandle", ""), "?")))
        return self._client.delete_message_batch(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class _PoisonJob(ValueError):
    pass


def _load_worker(ctx: Context) -> tuple[Any, dict[str, Any]]:
    """The learner's work_once, from the file the lab writes (a fresh copy each check)."""
    source = require_handler_attempted(ctx, WORKER_FILE)
    if source is None:
        raise NotAttempted(f"there is no {WORKER_FILE}: run the cell that writes it")
    module: dict[str, Any] = {"__name__": "job_worker"}
    try:
        exec(compile(source, WORKER_FILE, "exec"), module)
    except Exception as error:
        raise Incorrect(f"{WORKER_FILE} does not run: {type(error).__name__}: {error}") from None
    work_once = module.get("work_once")
    if not callable(work_once):
        raise Incorrect(f"{WORKER_FILE} has no function work_once(sqs, queue_url, process)")
    return work_once, module


def _id_of(messages: dict[str, str], job: str) -> str:
    return next(message_id for message_id, name in messages.items() if name == job)


@exercise(
    "7.2",
    "A worker that polls",
    solution=SOLUTION,
    hints=(
        "receive_message, then a loop over response.get('Messages', []): process the job, then delete_message with "
        "the message's ReceiptHandle. A job that raised is counted and its message left alone.",
        "Long polling is WaitTimeSeconds (1 to 20). The visibility timeout (VisibilityTimeout) must outlast the whole "
        "batch: BATCH jobs of up to SECONDS_PER_JOB each, one after the other.",
        "messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=BATCH, WaitTimeSeconds=2, "
        "VisibilityTimeout=2 * BATCH * SECONDS_PER_JOB).get('Messages', []); then for each: try: "
        "process(json.loads(message['Body'])) except Exception: failed += 1; continue — and after the try, "
        "sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message['ReceiptHandle']); done += 1",
    ),
)
def worker(ctx: Context) -> str:
    work_once, module = _load_worker(ctx)
    sqs = ctx.client("sqs")
    try:  # the check's own queue, like the jobs queue, so the learner's jobs are never touched
        _, given = _queue(ctx, QUEUE)
    except NotAttempted:
        given = {}
    copied = {k: given[k] for k in ("VisibilityTimeout", "ReceiveMessageWaitTimeSeconds") if k in given}
    url = sqs.create_queue(
        QueueName=ctx.names.queue(f"check-worker-{uuid.uuid4().hex[:8]}"), tags=ctx.names.tag, Attributes=copied
    )["QueueUrl"]
    try:
        return _judge_worker(ctx, work_once, module, url, copied)
    finally:
        sqs.delete_queue(QueueUrl=url)


def _judge_worker(ctx: Context, work_once: Any, module: dict[str, Any], url: str, queue: dict[str, str]) -> str:
    sqs = ctx.client("sqs")
    jobs = {"check-job-1": 2, "check-job-2": "lots", "check-job-3": 5}
    messages = {}
    for job, pages in jobs.items():
        body = json.dumps({"job_id": job, "report": "check", "pages": pages})
        messages[sqs.send_message(QueueUrl=url, MessageBody=body)["MessageId"]] = job
    poison = _id_of(messages, "check-job-2")
    recorder = _RecordingSqs(sqs)
    handed: list[Any] = []

    def process(job: Any) -> None:
        handed.append(job)
        if not isinstance(job, dict) or job.get("job_id") not in jobs:
            return
        recorder.events.append(("process", _id_of(messages, job["job_id"])))
        if job["job_id"] == "check-job-2":
            raise _PoisonJob("pages must be a positive whole number, not 'lots'")

    done = failed = 0
    for _ in range(5):  # SQS may hand a few messages per receive; each poll gets its chance
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                outcome = work_once(recorder, url, process)
        except _PoisonJob as error:
            raise Incorrect(
                f"work_once let the failure of one job escape ({error}): one bad message would stop "
                "the worker and leave the rest of its batch undone; catch the exception, count the job "
                "as failed and go on"
            ) from None
        except Exception as error:
            raise Incorrect(f"work_once raised {type(error).__name__}: {error}") from None
        if isinstance(outcome, tuple) and len(outcome) == 2 and all(isinstance(n, int) for n in outcome):
            done, failed = done + outcome[0], failed + outcome[1]
        processed = {message_id for event, message_id in recorder.events if event == "process"}
        if processed >= set(messages) or not recorder.receives:
            break
    name = f"work_once in {WORKER_FILE}"
    if not recorder.receives:
        raise Incorrect(f"{name} never called receive_message on the sqs client it is given")
    if handed and not any(isinstance(job, dict) and job.get("job_id") in jobs for job in handed):
        raise Incorrect(
            f"{name} hands process() {str(handed[0])[:120]}; hand it the job itself: json.loads(message['Body'])"
        )
    order = [(event, message_id) for event, message_id in recorder.events if event != "receive"]
    deleted = [message_id for event, message_id in order if event == "delete"]
    faults = Faults()
    if any(("process", m) not in order or order.index(("delete", m)) < order.index(("process", m)) for m in deleted):
        faults.add(
            f"{name} deletes a message before its job has run: if the worker stopped halfway the job would "
            "be lost; delete a message only after process(job) returned",
            hint="inside the loop: try: process(...) except Exception: failed += 1; continue — and only "
            "after that, delete_message",
        )
    elif poison in deleted:
        faults.add(
            f"{name} deleted the message of a job that failed: that job is lost instead of coming back for "
            "another try (and, in the end, going to the dead-letter queue); delete only after process(job) "
            "returned without an error",
            hint="in the except block, count the failure and `continue`, so the delete below is skipped",
        )
    undeleted = sorted(messages[m] for m in messages if m != poison and m not in deleted)
    if undeleted:
        faults.add(
            f"{name} did not delete the messages of the jobs it finished ({', '.join(undeleted)}): they come "
            "back after the visibility timeout and are done again; delete_message each one, with its "
            "ReceiptHandle, once its job succeeded",
            hint="sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message['ReceiptHandle']) after a job succeeded",
        )
    receive = recorder.receives[0]
    waiting = int(receive.get("WaitTimeSeconds", queue.get("ReceiveMessageWaitTimeSeconds", 0)))
    if waiting < 1:
        faults.add(
            f"{name} short-polls: without WaitTimeSeconds an empty queue answers at once, so an idle worker "
            "calls (and pays for) SQS again and again; pass WaitTimeSeconds between 1 and 20",
            hint="receive_message(..., WaitTimeSeconds=2) waits up to 2 s for a message to arrive",
        )
    batch = int(receive.get("MaxNumberOfMessages", 1))
    per_job = module.get("SECONDS_PER_JOB", 1)
    needed = batch * per_job
    hidden = int(receive.get("VisibilityTimeout", queue.get("VisibilityTimeout", 30)))
    if hidden < needed:
        faults.add(
            f"{name} receives up to {batch} messages hidden for {hidden} s, but working them one after the "
            f"other takes up to {needed:g} s ({batch} × {per_job:g} s): the last ones become visible again "
            "while still waiting their turn, and another worker does them twice; pass a VisibilityTimeout of "
            f"at least {needed:g} s",
            hint="receive_message(..., VisibilityTimeout=2 * BATCH * SECONDS_PER_JOB): the whole batch, "
            "with room to spare",
        )
    if not faults.found and (done, failed) != (2, 1):
        faults.add(
            f"{name} did the work right but reported (done, failed) = {(done, failed)} for 2 good jobs and 1 "
            "failing one; return the two counts",
            hint="done += 1 after each delete, failed += 1 in the except block, then return done, failed",
        )
    faults.raise_any()
    return (
        f"{name} long-polls, keeps its batch hidden long enough ({hidden} s), deletes each job once done "
        "and leaves the failed one to come back"
    )


# ---- 7.3 ----------------------------------------------------------------------------------


def _fires_at(alarm: dict[str, Any], value: float) -> bool:
    threshold = float(alarm.get("Threshold", 0))
    return {
        "GreaterThanThreshold": value > threshold,
        "GreaterThanOrEqualToThreshold": value >= threshold,
        "LessThanThreshold": value < threshold,
        "LessThanOrEqualToThreshold": value <= threshold,
    }.get(alarm.get("ComparisonOperator", ""), False)


@exercise(
    "7.3",
    "An alarm on the backlog",
    solution=SOLUTION,
    hints=(
        "put_metric_alarm names the metric by Namespace ('AWS/SQS'), MetricName and Dimensions (QueueName = the "
        "queue's name), then says how to judge it: Statistic, Period, EvaluationPeriods, Threshold, "
        "ComparisonOperator.",
        "The backlog is ApproximateNumberOfMessagesVisible; judge its Maximum over Period=60. 'More than 20' is "
        "GreaterThanThreshold with Threshold=BACKLOG_LIMIT. Notify with AlarmActions=[topic_arn] (and OKActions).",
        "cloudwatch.put_metric_alarm(AlarmName=alarm_name, Namespace='AWS/SQS', MetricName="
        "'ApproximateNumberOfMessagesVisible', Dimensions=[{'Name': 'QueueName', 'Value': names.queue('jobs')}], "
        "Statistic='Maximum', Period=60, EvaluationPeriods=1, Threshold=BACKLOG_LIMIT, ComparisonOperator="
        "'GreaterThanThreshold', AlarmActions=[topic_arn], OKActions=[topic_arn], Tags=[{'Key': k, 'Value': v} "
        "for k, v in names.tag.items()])",
    ),
)
def backlog_alarm(ctx: Context) -> str:
    cloudwatch = ctx.client("cloudwatch")
    name, jobs, topic_name = ctx.names.alarm(ALARM), ctx.names.queue(QUEUE), ctx.names.topic(TOPIC)
    found = cloudwatch.describe_alarms(AlarmNames=[name], AlarmTypes=["MetricAlarm"])["MetricAlarms"]
    if not found:
        raise NotAttempted(f"there is no alarm {name} yet")
    alarm = found[0]
    faults = Faults()  # every setting is judged on its own, the ones that make the alarm useless first
    metric = (alarm.get("Namespace"), alarm.get("MetricName"))
    if metric != ("AWS/SQS", "ApproximateNumberOfMessagesVisible"):
        faults.add(
            f"{name} watches {'/'.join(str(part) for part in metric)}; the backlog — messages waiting for a "
            "consumer — is AWS/SQS ApproximateNumberOfMessagesVisible",
            hint="Namespace='AWS/SQS', MetricName='ApproximateNumberOfMessagesVisible'",
        )
    dimensions = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
    if dimensions != {"QueueName": jobs}:
        faults.add(
            f"{name} watches the queue {dimensions or 'of no dimension'}; SQS metrics have one dimension, "
            f"QueueName, and it must be the name of your jobs queue: {jobs}",
            hint="Dimensions=[{'Name': 'QueueName', 'Value': names.queue('jobs')}] — the queue's name, "
            "not its URL or ARN",
        )
    statistic = alarm.get("Statistic") or alarm.get("ExtendedStatistic")
    if statistic not in BACKLOG_STATISTICS:
        faults.add(
            f"{name} uses the {statistic} statistic; the backlog is a level sampled once a minute, not a "
            "count of events: judge its Maximum (or Average) — a Sum adds up samples, a Minimum or "
            "SampleCount misses the peak",
            hint="Statistic='Maximum': the highest backlog seen in the period",
        )
    if alarm.get("Period") != 60:
        faults.add(
            f"{name} has a period of {alarm.get('Period')} s; SQS publishes once a minute, so a shorter "
            "period has no data and a longer one hears of a backlog late: use Period=60",
            hint="Period=60, one datapoint per minute as SQS publishes them",
        )
    if not (_fires_at(alarm, BACKLOG_LIMIT + 1) and not _fires_at(alarm, BACKLOG_LIMIT)):
        faults.add(
            f"{name} fires when the backlog is {alarm.get('ComparisonOperator')} "
            f"{alarm.get('Threshold', 0):g}; it should fire for more than {BACKLOG_LIMIT} jobs waiting and "
            f"not for {BACKLOG_LIMIT}: GreaterThanThreshold with Threshold=BACKLOG_LIMIT",
            hint="ComparisonOperator='GreaterThanThreshold', Threshold=BACKLOG_LIMIT",
        )
    if int(alarm.get("EvaluationPeriods", 1)) > 5:
        faults.add(
            f"{name} waits {alarm['EvaluationPeriods']} periods before it fires: the team would hear of a "
            "backlog that long after it formed; 1 to 3 periods",
            hint="EvaluationPeriods=1: one minute above the limit is enough to tell the team",
        )
    topic = f"arn:aws:sns:{ctx.aws.region}:"

    def ours(arns: list[str]) -> list[str]:
        return [arn for arn in arns if arn.startswith(topic) and arn.rsplit(":", 1)[-1] == topic_name]

    wanted = ours(alarm.get("AlarmActions", []))
    if not alarm.get("AlarmActions"):
        faults.add(
            f"{name} has no AlarmActions: it would change state and nobody would hear; AlarmActions=[topic_arn]",
            hint="AlarmActions=[topic_arn]: the notifier listens on the jobs-alarm topic",
        )
    elif not wanted:
        faults.add(
            f"{name} notifies {', '.join(alarm['AlarmActions'])}; the notifier listens on {topic_name} (topic_arn)",
            hint="AlarmActions=[topic_arn], the topic the lab's 'given' cell made",
        )
    if not ours(alarm.get("OKActions", [])):
        faults.add(
            f"{name} has no OKActions on {topic_name}: the team hears that jobs pile up, never that it is over",
            hint="OKActions=[topic_arn], beside AlarmActions: the notifier posts the all-clear too",
        )
    if not alarm.get("ActionsEnabled", True):
        faults.add(
            f"{name} has its actions disabled (ActionsEnabled=False): it would notify nobody",
            hint="cloudwatch.enable_alarm_actions(AlarmNames=[alarm_name])",
        )
    tags = {t["Key"]: t["Value"] for t in cloudwatch.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]}
    if tags.get(TAG_KEY) != ctx.names.prefix:
        faults.add(
            f"{name} is not tagged {TAG_KEY}={ctx.names.prefix}, so teardown would never find it",
            hint="Tags=[{'Key': k, 'Value': v} for k, v in names.tag.items()] on put_metric_alarm "
            "(running it again updates the alarm)",
        )
    faults.raise_any()
    return (
        f"{name} fires on {statistic} {jobs} backlog above {BACKLOG_LIMIT} per minute and notifies "
        f"{topic_name}, and again when it is over"
    )


# ---- 7.4 ----------------------------------------------------------------------------------


def _sqs_event(ctx: Context, queue_arn: str, jobs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A batch as the mapping hands it over, one record per job; returns it with messageId -> job id."""
    records, ids = [], {}
    for job, pages in jobs.items():
        message_id = str(uuid.uuid4())
        ids[message_id] = job
        records.append(
            aws_events.sqs_lambda_record(
                {
                    "MessageId": message_id,
                    "ReceiptHandle": f"check-{uuid.uuid4().hex}",
                    "Body": json.dumps({"job_id": job, "report": "check", "pages": pages}),
                    "Attributes": {
                        "ApproximateReceiveCount": "1",
                        "SentTimestamp": "1700000000000",
                        "ApproximateFirstReceiveTimestamp": "1700000000000",
                    },
                },
                queue_arn=queue_arn,
                region=ctx.aws.region,
            )
        )
    return {"Records": records}, ids


def _identifier_source(event: dict[str, Any], named: list[Any]) -> str | None:
    """Which field of the records the handler's itemIdentifiers were taken from, when not messageId:
    the mistake in the learner's own words, never the check's made-up values."""
    for identifier in named:
        for record in event["Records"]:
            for field, value in record.items():
                if field != "messageId" and isinstance(value, str) and value and value == identifier:
                    return f"record['{field}']"
            body = json.loads(record["body"])
            if identifier == body.get("job_id"):
                return "the job's job_id"
            if isinstance(identifier, str) and identifier in record["body"]:
                return "record['body']"
    return None


def _shape(result: Any, event: dict[str, Any]) -> str:
    """What the handler returned, with the check's own message ids and receipt handles named, not shown."""
    shown = json.dumps(result)
    for record in event["Records"]:
        for field in ("messageId", "receiptHandle", "md5OfBody"):
            shown = shown.replace(record[field], f"<{field}>")
    return shown[:300]


@exercise(
    "7.4",
    "A Lambda consumer that reports partial failures",
    solution=SOLUTION,
    hints=(
        "The handler returns one object for the whole batch: {'batchItemFailures': [...]}, one entry per record "
        "whose job failed.",
        "Each entry is {'itemIdentifier': record['messageId']} — the message's id, not its body or the job's id.",
        "In the except block: failures.append({'itemIdentifier': record['messageId']}); after the loop: "
        "return {'batchItemFailures': failures}",
    ),
)
def partial_batch(ctx: Context) -> str:
    require_handler_attempted(ctx, CONSUMER_FILE)
    require_function(ctx, CONSUMER)
    _, attributes = _queue(ctx, QUEUE)
    name = ctx.names.function(CONSUMER)
    event, ids = _sqs_event(
        ctx, attributes["QueueArn"], {"check-job-a": 3, "check-job-b": "lots", "check-job-c": 1, "check-job-d": 7}
    )
    poison = next(message_id for message_id, job in ids.items() if job == "check-job-b")
    faults = Faults()
    result, error = invoke_raw(ctx, CONSUMER, event)
    if error is not None:
        faults.add(
            f"{describe_error(ctx, CONSUMER, error)}. An exception fails the whole batch: Lambda would "
            "deliver all 4 messages again, the 3 good jobs too; catch the failure and report that one message "
            "in batchItemFailures",
            hint="in the except block, append {'itemIdentifier': record['messageId']} to failures instead of "
            "raising; return {'batchItemFailures': failures} after the loop",
        )
    else:
        failed = failed_items(json.dumps(result).encode(), ids)
        shown = _shape(result, event)
        if failed is None:
            named = (
                [f.get("itemIdentifier") for f in (result or {}).get("batchItemFailures") or [] if isinstance(f, dict)]
                if isinstance(result, dict)
                else []
            )
            source = _identifier_source(event, named)
            if source:
                faults.add(
                    f"{name} named the failed message by {source}; Lambda knows the messages of a batch by "
                    "their messageId, so it cannot match that, and the whole batch counts as failed: the 3 "
                    "good jobs would be done again",
                    hint="{'itemIdentifier': record['messageId']} — the messageId, not the receiptHandle, the "
                    "body or the job's own id",
                )
            else:
                faults.add(
                    f"{name} returned {shown}, which Lambda cannot read as a partial batch response, so the "
                    "whole batch counts as failed; return {'batchItemFailures': [{'itemIdentifier': "
                    "<messageId>}, ...]}",
                    hint="return {'batchItemFailures': failures}, each failure {'itemIdentifier': record['messageId']}",
                )
        elif not failed:
            faults.add(
                f"{name} returned {shown} for a batch with a failing job: Lambda would delete that message and "
                "the job would be lost; list it in batchItemFailures by its messageId",
                hint="in the except block: failures.append({'itemIdentifier': record['messageId']})",
            )
        elif failed != {poison}:
            extra = sorted(ids[m] for m in failed - {poison})
            faults.add(
                f"{name} also reports {', '.join(extra)} as failed, whose jobs succeeded: they would be done "
                "again; report only the records whose job raised",
                hint="append to failures only in the except block, for the record whose render() raised",
            )
    mappings = mappings_of(ctx, attributes["QueueArn"], CONSUMER)
    if not mappings:
        faults.raise_any()
        raise NotAttempted(f"no mapping feeds {name} from {ctx.names.queue(QUEUE)}: run the cell that deploys it")
    mapping = ctx.client("lambda").get_event_source_mapping(UUID=mappings[0]["UUID"])
    if "ReportBatchItemFailures" not in (mapping.get("FunctionResponseTypes") or []):
        faults.add(
            f"the mapping from {ctx.names.queue(QUEUE)} to {name} has no FunctionResponseTypes="
            "['ReportBatchItemFailures']: without it Lambda ignores batchItemFailures and deletes the whole "
            "batch when the function returns",
            hint="lam.update_event_source_mapping(UUID=mapping_uuid, FunctionResponseTypes="
            "['ReportBatchItemFailures'])",
        )
    faults.raise_any()
    return f"{name} reports exactly the failed message by its messageId; the others are deleted"


# ---- check your understanding ---------------------------------------------------------------

WALKTHROUGH = "notebooks/07_sqs_polling.ipynb"

question(
    "7.q1",
    "The visibility timeout and a batch",
    asked_in=WALKTHROUGH,
    answer="b",
    why={
        "a": "the visibility timeout is counted from the receive, for every message of it: the ones still waiting their "
        "turn after 30 s are visible again, whether or not the worker got to them.",
        "b": "ten jobs of 5 s one after the other take 50 s, so after 30 s the last four are visible again and "
        "another consumer can take them while this one still holds them — those jobs are done twice.",
        "c": "SQS never extends a timeout by itself: the consumer must call ChangeMessageVisibility, or receive with a "
        "timeout long enough for the whole batch.",
    },
    hints=(
        "When does the visibility timeout start, and for which messages of the receive?",
        "Ten jobs of 5 s, worked one after the other: how long until the last one starts?",
    ),
)

question(
    "7.q2",
    "maxReceiveCount",
    asked_in=WALKTHROUGH,
    answer="c",
    why={
        "a": "SQS never deletes a message because it failed: only a consumer's DeleteMessage (or the end of the "
        "retention period) removes it.",
        "b": "SQS knows nothing of the consumer's errors, only that a received message was not deleted: the count is of "
        "receives, and the message then moves, it is not kept back.",
        "c": "each receive without a delete counts, and once the count exceeds maxReceiveCount SQS moves the "
        "message to the dead-letter queue named in the redrive policy, where it waits to be looked at.",
    },
    hints=(
        "What does SQS see of a failure: an exception, or a message received and not deleted?",
        "The redrive policy names two things: a count and a target queue.",
    ),
)

question(
    "7.q3",
    "An exception in a Lambda consumer",
    asked_in=f"solutions/{SOLUTION}",
    answer="a",
    why={
        "a": "an exception fails the whole invocation, so every message of the batch becomes visible again after "
        "the visibility timeout, and the nine good jobs are done again.",
        "b": "only a partial batch response (batchItemFailures, with ReportBatchItemFailures on the mapping) narrows the "
        "retry to the failed messages; an exception says nothing about which one failed.",
        "c": "Lambda deletes a batch's messages only when the function succeeds; after an error they stay on the queue "
        "and come back after the visibility timeout.",
    },
    hints=(
        "Which messages can Lambda know are done when the function raised?",
        "Compare with a handler that returns {'batchItemFailures': [...]}: what does Lambda learn from each?",
    ),
)

question(
    "7.q4",
    "Delete after success",
    asked_in=f"solutions/{SOLUTION}",
    answer="a",
    why={
        "a": "a message deleted first is gone for good if the worker crashes or the job fails; left alone, it "
        "comes back after the visibility timeout and, after maxReceiveCount receives, reaches the dead-letter queue.",
        "b": "a delete is as fast before as after; the order matters for what is lost when the worker stops halfway.",
        "c": "SQS accepts a DeleteMessage with a valid receipt handle at any time; it cannot know whether the job ran.",
    },
    hints=("What happens to a deleted message when the worker dies in the middle of its job?",),
)
