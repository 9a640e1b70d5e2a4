"""Lab 7's checks: the solution is correct, and each typical mistake is caught by name."""

from __future__ import annotations

import json

import nbformat
import pytest

from workshop.account.deploy import deploy_function
from workshop.core.paths import PROJECT_ROOT as ROOT
from workshop.core.waiting import wait_for
from workshop.teaching import grading

WORKER, CONSUMER = "handlers/job_worker.py", "handlers/job_consumer.py"


def written(folder: str, path: str) -> str:
    notebook = nbformat.read(ROOT / folder / "07_sqs_polling.ipynb", as_version=4)
    return next(c.source for c in notebook.cells if c.source.startswith(f"%%writefile {path}")).split("\n", 1)[1]


SOLVED_WORKER, SOLVED_CONSUMER = written("solutions", WORKER), written("solutions", CONSUMER)
RECEIVE = """    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=BATCH, WaitTimeSeconds=2,
                                   VisibilityTimeout=2 * BATCH * SECONDS_PER_JOB).get("Messages", [])"""
DELETE = """        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
"""
TRY_PROCESS = """        try:
            process(json.loads(message["Body"]))
        except Exception as error:
            print(f"job failed, its message comes back later: {error}")
            failed += 1
            continue
"""
FAILURE = 'failures.append({"itemIdentifier": record["messageId"]})'


def mistaken(solved: str, old: str, new: str) -> str:
    assert old in solved
    return solved.replace(old, new)


@pytest.fixture
def lab(ctx):
    """What the lab's first cells give: the jobs queue, its dead-letter queue and the alarm topic."""
    sqs = ctx.client("sqs")
    sqs.create_queue(QueueName=ctx.names.queue("jobs-dlq"), tags=ctx.names.tag)
    sqs.create_queue(QueueName=ctx.names.queue("jobs"), tags=ctx.names.tag, Attributes={"VisibilityTimeout": "1"})
    ctx.client("sns").create_topic(Name=ctx.names.topic("jobs-alarm"))
    return ctx


def url_of(ctx, purpose):
    return ctx.client("sqs").get_queue_url(QueueName=ctx.names.queue(purpose))["QueueUrl"]


def arn_of(ctx, purpose):
    return ctx.client("sqs").get_queue_attributes(QueueUrl=url_of(ctx, purpose), AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]


def verdict(ctx, exercise_id):
    found = grading.evaluate(exercise_id, ctx)
    return found.outcome, found.message


def set_redrive(ctx, target_arn, receives=3):
    ctx.client("sqs").set_queue_attributes(
        QueueUrl=url_of(ctx, "jobs"),
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": target_arn, "maxReceiveCount": receives})},
    )


def put_alarm(ctx, **changes):
    options = dict(
        AlarmName=ctx.names.alarm("jobs-backlog"),
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": ctx.names.queue("jobs")}],
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=20,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[ctx.client("sns").create_topic(Name=ctx.names.topic("jobs-alarm"))["TopicArn"]],
        Tags=[{"Key": "workshop:env", "Value": ctx.names.prefix}],
    )
    options.update(changes)
    ctx.client("cloudwatch").put_metric_alarm(**{k: v for k, v in options.items() if v is not None})


def write_worker(ctx, source):
    (ctx.workdir / WORKER).write_text(source)


def deploy_consumer(ctx, source, response_types=("ReportBatchItemFailures",)):
    (ctx.workdir / CONSUMER).write_text(source)
    deploy_function(ctx.aws, ctx.names, "job-consumer", {"app.py": source}, timeout=1)
    lam, function = ctx.client("lambda"), ctx.names.function("job-consumer")
    found = lam.list_event_source_mappings(EventSourceArn=arn_of(ctx, "jobs"), FunctionName=function)
    uuid = (
        found["EventSourceMappings"][0]["UUID"]
        if found["EventSourceMappings"]
        else lam.create_event_source_mapping(
            EventSourceArn=arn_of(ctx, "jobs"),
            FunctionName=function,
            BatchSize=10,
            FunctionResponseTypes=list(response_types),
        )["UUID"]
    )
    wait_for(lambda: lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled", "the mapping", timeout=60)


def own_queues(ctx):
    return sorted(
        u.rsplit("/", 1)[-1]
        for u in ctx.client("sqs").list_queues(QueueNamePrefix=f"{ctx.names.prefix}-").get("QueueUrls", [])
    )


def test_untouched_then_solved(lab):
    write_worker(lab, written("labs", WORKER))
    deploy_consumer(lab, written("labs", CONSUMER))
    for exercise_id in ("7.1", "7.2", "7.3", "7.4"):
        assert verdict(lab, exercise_id)[0] is grading.Outcome.NOT_ATTEMPTED, verdict(lab, exercise_id)
    set_redrive(lab, arn_of(lab, "jobs-dlq"))
    write_worker(lab, SOLVED_WORKER)
    put_alarm(lab, OKActions=[lab.client("sns").create_topic(Name=lab.names.topic("jobs-alarm"))["TopicArn"]])
    deploy_consumer(lab, SOLVED_CONSUMER)
    for exercise_id in ("7.1", "7.2", "7.3", "7.4"):
        assert verdict(lab, exercise_id)[0] is grading.Outcome.CORRECT, verdict(lab, exercise_id)
    assert own_queues(lab) == [lab.names.queue("alarm-inbox"), lab.names.queue("jobs"), lab.names.queue("jobs-dlq")], (
        "the worker check removes its own queue"
    )
    attributes = lab.client("sqs").get_queue_attributes(QueueUrl=url_of(lab, "jobs"), AttributeNames=["All"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0", (
        "the checks leave no job on the learner's queue"
    )


def test_the_solution_sends_a_poison_job_to_the_dead_letter_queue_and_does_the_others(lab):
    set_redrive(lab, arn_of(lab, "jobs-dlq"))
    deploy_consumer(lab, SOLVED_CONSUMER)
    sqs = lab.client("sqs")
    for n in range(1, 6):
        sqs.send_message(
            QueueUrl=url_of(lab, "jobs"),
            MessageBody=json.dumps({"job_id": f"job-{n}", "report": "sales", "pages": n if n != 3 else "lots"}),
        )
    dead = wait_for(
        lambda: sqs.receive_message(QueueUrl=url_of(lab, "jobs-dlq"), WaitTimeSeconds=1).get("Messages"),
        "the poison job in the dead-letter queue",
        timeout=60,
    )
    assert json.loads(dead[0]["Body"])["job_id"] == "job-3"
    logs = lab.client("logs")

    def lines(word):
        return [
            e["message"]
            for e in logs.filter_log_events(
                logGroupName=lab.names.log_group("job-consumer"), filterPattern=f'"{word}"'
            )["events"]
        ]

    done = wait_for(lambda: len(found := lines("done")) >= 4 and found, "the good jobs in the log")
    assert sorted(line.split()[1].rstrip(":") for line in done) == ["job-1", "job-2", "job-4", "job-5"]
    assert len(lines("failed")) == 3, "received three times, then moved"


# ---- 7.1 ----


@pytest.mark.parametrize(
    "receives, expected",
    [
        (1, "a single failed attempt"),
        (50, "received and fail 50 times"),
    ],
)
def test_absurd_max_receive_counts_are_named(lab, receives, expected):
    set_redrive(lab, arn_of(lab, "jobs-dlq"), receives)
    status, message = verdict(lab, "7.1")
    assert status is grading.Outcome.INCORRECT and expected in message, message


def test_a_dead_letter_queue_of_someone_else_is_named(lab):
    other = lab.client("sqs").create_queue(QueueName="someone-else-jobs-dlq")["QueueUrl"]
    set_redrive(
        lab,
        lab.client("sqs").get_queue_attributes(QueueUrl=other, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"],
    )
    status, message = verdict(lab, "7.1")
    assert status is grading.Outcome.INCORRECT and "not a queue of yours" in message, message


def test_the_wrong_queue_of_ones_own_is_named(lab):
    set_redrive(lab, arn_of(lab, "alarm-inbox"))
    status, message = verdict(lab, "7.1")
    assert status is grading.Outcome.INCORRECT and "the lab's dead-letter queue is" in message, message


def test_the_queue_as_its_own_dead_letter_queue_is_named(lab):
    set_redrive(lab, arn_of(lab, "jobs"))
    status, message = verdict(lab, "7.1")
    assert status is grading.Outcome.INCORRECT and "its own dead-letter queue" in message, message


def test_no_max_receive_count_is_refused_by_sqs_and_named(lab):
    with pytest.raises(lab.client("sqs").exceptions.ClientError, match="maxReceiveCount"):
        lab.client("sqs").set_queue_attributes(
            QueueUrl=url_of(lab, "jobs"),
            Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn_of(lab, "jobs-dlq")})},
        )
    # AWS stores nothing then (not attempted); moto 5.2.5 keeps the refused policy, and the check says what is missing
    status, message = verdict(lab, "7.1")
    assert (status is grading.Outcome.NOT_ATTEMPTED and "no RedrivePolicy" in message) or (
        status is grading.Outcome.INCORRECT and 'add "maxReceiveCount": 3' in message
    ), message


# ---- 7.2 ----


DELETE_FIRST = """        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        try:
            process(json.loads(message["Body"]))
        except Exception as error:
            failed += 1
            continue
        done += 1
"""


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (DELETE, "", "did not delete the messages of the jobs it finished"),
        (TRY_PROCESS + DELETE + "        done += 1\n", DELETE_FIRST, "deletes a message before its job has run"),
        ("            continue\n", "", "deleted the message of a job that failed"),
        ("VisibilityTimeout=2 * BATCH * SECONDS_PER_JOB", "VisibilityTimeout=5", "does them twice"),
        (",\n                                   VisibilityTimeout=2 * BATCH * SECONDS_PER_JOB)", ")", "hidden for 1 s"),
        ("WaitTimeSeconds=2,", "", "short-polls"),
        (TRY_PROCESS, '        process(json.loads(message["Body"]))\n', "let the failure of one job escape"),
        ('process(json.loads(message["Body"]))', "process(message)", "hand it the job itself"),
        ("    return done, failed", "    return done", "return the two counts"),
    ],
    ids=[
        "no delete",
        "delete first",
        "deletes failures",
        "short visibility",
        "queue's visibility",
        "short polling",
        "raises",
        "whole message",
        "no counts",
    ],
)
def test_worker_mistakes_are_named(lab, old, new, expected):
    write_worker(lab, mistaken(SOLVED_WORKER, old, new))
    status, message = verdict(lab, "7.2")
    assert status is grading.Outcome.INCORRECT and expected in message, message
    assert own_queues(lab) == [lab.names.queue("alarm-inbox"), lab.names.queue("jobs"), lab.names.queue("jobs-dlq")]


def test_a_worker_file_that_does_not_run_is_named(lab):
    write_worker(lab, SOLVED_WORKER.replace("def work_once(", "def work_once(("))
    status, message = verdict(lab, "7.2")
    assert status is grading.Outcome.INCORRECT and "does not run: SyntaxError" in message, message


# ---- 7.3 ----


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"Statistic": "Sum"}, "uses the Sum statistic"),
        ({"MetricName": "NumberOfMessagesSent"}, "watches AWS/SQS/NumberOfMessagesSent"),
        ({"AlarmActions": None}, "has no AlarmActions"),
        ({"Dimensions": "dlq"}, "must be the name of your jobs queue"),
        ({"ComparisonOperator": "GreaterThanOrEqualToThreshold"}, "should fire for more than 20"),
        ({"ComparisonOperator": "LessThanThreshold"}, "should fire for more than 20"),
        ({"Period": 300}, "period of 300"),
        ({"Tags": None}, "is not tagged"),
    ],
)
def test_alarm_mistakes_are_named(lab, changes, expected):
    if changes.get("Dimensions") == "dlq":
        changes = {"Dimensions": [{"Name": "QueueName", "Value": lab.names.queue("jobs-dlq")}]}
    put_alarm(lab, **changes)
    status, message = verdict(lab, "7.3")
    assert status is grading.Outcome.INCORRECT and expected in message, message


def test_an_alarm_with_several_faults_hears_of_each_most_important_first_with_its_hint(lab):
    """Sum instead of Maximum, five-minute periods, no OKActions, no tags: four faults, one verdict."""
    put_alarm(lab, Statistic="Sum", Period=300, Tags=None)
    found = grading.evaluate("7.3", lab)
    assert found.outcome is grading.Outcome.INCORRECT
    messages = [fault.message for fault in found.faults]
    assert len(messages) == 4, messages
    for fault, expected in zip(
        messages, ("uses the Sum statistic", "period of 300", "no OKActions", "is not tagged"), strict=True
    ):
        assert expected in fault, messages
    assert found.message.startswith("(1) "), found.message
    hints = [fault.hint for fault in found.faults]
    assert (
        "Statistic='Maximum'" in hints[0]
        and "Period=60" in hints[1]
        and "OKActions=[topic_arn]" in hints[2]
        and "Tags=" in hints[3]
    ), hints


def test_hint_after_a_check_answers_every_fault_it_found(lab, capsys):
    put_alarm(lab, Statistic="Sum", Period=300, Tags=None)
    grading.evaluate("7.3", lab)
    grading.hint("7.3")
    shown = capsys.readouterr().out
    assert "for what the last check found" in shown and "Statistic='Maximum'" in shown and "OKActions" in shown, shown


def test_an_alarm_notifying_another_topic_is_named(lab):
    other = lab.client("sns").create_topic(Name=lab.names.topic("digester-alarm"))["TopicArn"]
    put_alarm(lab, AlarmActions=[other])
    status, message = verdict(lab, "7.3")
    assert status is grading.Outcome.INCORRECT and "the notifier listens on" in message, message


# ---- 7.4 ----


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (FAILURE, "raise", "An exception fails the whole batch"),
        (FAILURE, 'failures.append({"itemIdentifier": record["body"]})', "named the failed message by record['body']"),
        (
            FAILURE,
            'failures.append({"itemIdentifier": json.loads(record["body"])["job_id"]})',
            "named the failed message by the job's job_id",
        ),
        (FAILURE, 'failures.append({"id": record["messageId"]})', "cannot read as a partial batch response"),
        (FAILURE, "pass", "the job would be lost"),
        (
            '    return {"batchItemFailures": failures}',
            '    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}',
            "also reports check-job-a, check-job-c, check-job-d",
        ),
    ],
)
def test_batch_response_mistakes_are_named(lab, old, new, expected):
    deploy_consumer(lab, mistaken(SOLVED_CONSUMER, old, new))
    status, message = verdict(lab, "7.4")
    assert status is grading.Outcome.INCORRECT and expected in message, message


def test_returning_the_receipt_handle_is_named_and_the_checks_own_values_are_not_shown(lab):
    deploy_consumer(
        lab, mistaken(SOLVED_CONSUMER, FAILURE, 'failures.append({"itemIdentifier": record["receiptHandle"]})')
    )
    status, message = verdict(lab, "7.4")
    assert status is grading.Outcome.INCORRECT, message
    assert "named the failed message by record['receiptHandle']" in message and "messageId" in message, message
    assert "check-" not in message, f"the check's own receipt handle leaks into the verdict: {message}"


def test_a_wrong_response_and_a_mapping_without_report_batch_item_failures_are_both_named(lab):
    deploy_consumer(lab, mistaken(SOLVED_CONSUMER, FAILURE, "pass"), response_types=())
    found = grading.evaluate("7.4", lab)
    assert found.outcome is grading.Outcome.INCORRECT
    assert [("the job would be lost" in f.message, "FunctionResponseTypes" in f.message) for f in found.faults] == [
        (True, False),
        (False, True),
    ], found.message


def test_a_mapping_without_report_batch_item_failures_is_named(lab):
    deploy_consumer(lab, SOLVED_CONSUMER, response_types=())
    status, message = verdict(lab, "7.4")
    assert status is grading.Outcome.INCORRECT and "FunctionResponseTypes" in message, message
