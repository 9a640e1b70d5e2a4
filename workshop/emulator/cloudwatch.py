"""CloudWatch as the workshop needs it: SQS publishes its metrics, alarms are evaluated and act.

Time is compressed: one AWS minute lasts ``Settings.metric_minute_seconds`` (one second by
default), so an alarm on ``Period=60, EvaluationPeriods=2`` decides within about two
seconds. Every "minute" each active queue (an action in the last six hours, or messages in
it) publishes AWS/SQS metrics (dimension QueueName); each
metric alarm is then evaluated over its last EvaluationPeriods periods, honouring
DatapointsToAlarm and TreatMissingData, and a state change publishes AWS's alarm message to
the state's actions (SNS topics).

Alarms are evaluated again only when something they read has changed (a publication, a
PutMetricData, an alarm created or updated), from one pass over the metric data: a class
leaves hundreds of queues publishing, too many datapoints to scan again for every alarm at
every evaluation.
"""

from __future__ import annotations

import json
import math
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from workshop.emulator.moto_adapters import cloudwatch as moto_cloudwatch
from workshop.emulator.moto_adapters import server as moto_server
from workshop.emulator.moto_adapters import sqs as moto_sqs
from workshop.emulator.ports import AlarmService

OPERATORS = {
    "GreaterThanThreshold": (lambda v, t: v > t, "greater than"),
    "GreaterThanOrEqualToThreshold": (lambda v, t: v >= t, "greater than or equal to"),
    "LessThanThreshold": (lambda v, t: v < t, "less than"),
    "LessThanOrEqualToThreshold": (lambda v, t: v <= t, "less than or equal to"),
}
REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "EU (Ireland)",
    "eu-central-1": "EU (Frankfurt)",
    "eu-west-2": "EU (London)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
}
METRIC_RETENTION_MINUTES = 30  # the emulator's own AWS/SQS points kept, for memory; AWS keeps minute data 15 days:
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#metrics-retention
FORGET_EVERY_MINUTES = 5  # so up to 35 minutes are kept
ACTIVE_QUEUE_MINUTES = 6 * 60  # AWS publishes a queue's metrics up to six hours after its last action


class CloudWatch:
    def __init__(self, service: AlarmService, minute_seconds: float) -> None:
        self._service = service
        self.minute = minute_seconds
        self._stop = threading.Event()
        self._next_publication = 0.0  # monotonic: publications keep to a grid, one per minute
        self._publications = 0
        self._series_caches: dict[str, SeriesCache] = {}  # by region
        # Alarms judge the periods that end at the last publication, not at "now": on a busy
        # machine publications drift, and a period ending at "now" could miss its datapoint
        # and flip the alarm to INSUFFICIENT_DATA, which AWS's minute-steady metrics never do.
        self._published_at: float | None = None
        self._evaluated_for: tuple[Any, ...] | None = None  # what the last evaluation saw
        self._thread = threading.Thread(target=self._run, daemon=True, name="cloudwatch")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(min(0.25, self.minute / 4)):
            try:
                now = time.monotonic()
                if now >= self._next_publication:
                    # the next minute on the grid; a machine that fell behind starts a new grid
                    behind = now - self._next_publication > self.minute
                    self._next_publication = (now if behind else self._next_publication) + self.minute
                    self.publish_sqs_metrics()
                self.evaluate_alarms()
            except Exception as error:  # never let one bad alarm stop the others
                print(f"cloudwatch: {error!r}", flush=True)

    # ---- SQS metrics ---------------------------------------------------------------

    def publish_sqs_metrics(self) -> None:
        moment = datetime.now(UTC)
        now = moment.replace(tzinfo=None)  # moto keeps naive UTC timestamps
        by_region: dict[str, list[dict[str, Any]]] = {}
        active_within = ACTIVE_QUEUE_MINUTES * self.minute
        for region, queue, metrics in moto_sqs.sqs_queue_metrics(active_within=active_within):
            unit = {"ApproximateAgeOfOldestMessage": "Seconds"}
            by_region.setdefault(region, []).extend(
                {
                    "MetricName": name,
                    "Value": float(value),
                    "Unit": unit.get(name, "Count"),
                    "Timestamp": now,
                    "Dimensions": [{"Name": "QueueName", "Value": queue}],
                }
                for name, value in metrics.items()
            )
        for region, data in by_region.items():
            backend = moto_cloudwatch.cloudwatch_backend(region)
            backend.put_metric_data("AWS/SQS", data)
            if self._publications % FORGET_EVERY_MINUTES == 0:  # a pass over all the data: not every minute
                moto_cloudwatch.forget_metrics_before(
                    region, "AWS/SQS", now - timedelta(seconds=METRIC_RETENTION_MINUTES * self.minute)
                )
        self._publications += 1
        self._published_at = moment.timestamp()

    # ---- alarms --------------------------------------------------------------------

    def evaluate_alarms(self) -> None:
        alarms = {}
        for region in moto_cloudwatch.cloudwatch_regions():
            backend = moto_cloudwatch.cloudwatch_backend(region)
            alarms[region] = (
                backend,
                [a for a in list(backend.alarms.values()) if a.metric_name and a.comparison_operator in OPERATORS],
            )
        # Nothing an alarm reads has changed: its state would not either.
        seen = (
            self._published_at,
            [
                (
                    region,
                    len(backend.metric_data),
                    [(a.name, a.configuration_updated_timestamp, a.state_value) for a in judged],
                )
                for region, (backend, judged) in alarms.items()
            ],
        )
        if seen == self._evaluated_for:
            return
        self._evaluated_for = seen
        for region, (backend, judged) in alarms.items():
            if judged:
                wanted = {(a.namespace, a.metric_name) for a in judged}
                series = _series(backend, wanted, self._series_caches.setdefault(region, {}))
                for alarm in judged:
                    self._evaluate(region, alarm, series)

    def _evaluate(self, region: str, alarm: Any, series: dict[tuple[Any, ...], list[tuple[float, float]]]) -> None:
        period = alarm.period * self.minute / 60
        created = alarm.configuration_updated_timestamp.replace(tzinfo=UTC).timestamp()
        # just after the last publication, so its datapoints fall inside the latest period
        now = time.time() if self._published_at is None else self._published_at + 0.001
        if now - created < period:
            return  # not one full period observed yet
        periods = int(alarm.evaluation_periods)
        needed = int(alarm.datapoints_to_alarm or periods)
        points = series.get(_series_key(alarm.namespace, alarm.metric_name, alarm.dimensions), [])
        values = [_statistic(alarm, points, now - (k + 1) * period, now - k * period) for k in reversed(range(periods))]
        compare, words = OPERATORS[alarm.comparison_operator]
        threshold = float(alarm.threshold)
        treat = alarm.treat_missing_data or "missing"
        present = [v for v in values if v is not None]
        breaching = sum(1 for v in present if compare(v, threshold))
        missing = len(values) - len(present)
        if treat == "breaching":
            breaching += missing
        if not present and treat in ("missing", "ignore"):
            new_state = "INSUFFICIENT_DATA" if treat == "missing" else alarm.state_value
        else:
            new_state = "ALARM" if breaching >= needed else "OK"
        if new_state == alarm.state_value:
            return
        shown = ", ".join(f"{v:g}" for v in present[-needed:]) or "no datapoints"
        reason = (
            f"Threshold Crossed: {breaching} out of the last {periods} datapoints [{shown}] "
            f"{'was' if new_state == 'ALARM' else 'was not'} {words} the threshold ({threshold:g}) "
            f"(minimum {needed} datapoint{'s' if needed > 1 else ''} for {alarm.state_value} -> {new_state} "
            "transition)."
        )
        if not present:  # only missing data, treated as (not) breaching: AWS words it so
            treated = "Breaching" if treat == "breaching" else "NonBreaching"
            reason = (
                f"Threshold Crossed: no datapoints were received for {periods} period{'s' if periods > 1 else ''} "
                f"and {missing} missing datapoint{'s were' if missing > 1 else ' was'} treated as [{treated}]."
            )
        old = alarm.state_value
        alarm.update_state(
            reason,
            json.dumps(
                {
                    "version": "1.0",
                    "queryDate": _iso(datetime.now(UTC)),
                    **({"unit": alarm.unit} if alarm.unit else {}),
                    "statistic": alarm.statistic or alarm.extended_statistic,
                    "period": int(alarm.period),
                    "recentDatapoints": present,
                    "threshold": threshold,
                }
            ),
            new_state,
        )
        self.notify(region, alarm, old)

    def notify(self, region: str, alarm: Any, old_state: str) -> None:
        """Publish AWS's alarm message to the actions of the new state."""
        if not alarm.actions_enabled:
            return
        actions = {
            "ALARM": alarm.alarm_actions,
            "OK": alarm.ok_actions,
            "INSUFFICIENT_DATA": alarm.insufficient_data_actions,
        }[alarm.state_value] or []
        message = json.dumps(alarm_message(region, alarm, old_state))
        subject = f'{alarm.state_value}: "{alarm.name}" in {REGION_NAMES.get(region, region)}'[:100]
        for arn in actions:
            if ":sns:" in arn:
                self._service.backend(arn.split(":")[3]).client("sns").publish(
                    TopicArn=arn, Subject=subject, Message=message
                )


def _series_key(namespace: str, name: str, dimensions: Any) -> tuple[Any, ...]:
    return namespace, name, frozenset((d.name, d.value) for d in dimensions)


# A datum's series and time, by the datum's id; the datum is kept beside them, so the id is not
# reused while cached. Alarms are judged every compressed minute over up to 30 minutes of every
# active queue's metrics: computing these each time was most of an idle emulator's CPU.
SeriesCache = dict[int, tuple[Any, tuple[Any, ...], float]]


def _series(
    backend: Any, wanted: set[tuple[str, str]], cache: SeriesCache
) -> dict[tuple[Any, ...], list[tuple[float, float]]]:
    """(timestamp, value) of every datum of the wanted metrics, by namespace, name and dimensions.
    ``cache`` (one per backend) keeps what this pass saw, and only that."""
    series: dict[tuple[Any, ...], list[tuple[float, float]]] = {}
    seen = set()
    for datum in list(backend.metric_data):
        if (datum.namespace, datum.name) not in wanted or not hasattr(datum, "value"):
            continue
        cached = cache.get(id(datum))
        if cached is None or cached[0] is not datum:
            stamp = datum.timestamp.replace(tzinfo=datum.timestamp.tzinfo or UTC).timestamp()
            cached = cache[id(datum)] = (datum, _series_key(datum.namespace, datum.name, datum.dimensions), stamp)
        seen.add(id(datum))
        series.setdefault(cached[1], []).append((cached[2], datum.value))
    if len(cache) > len(seen):  # data forgotten (or an alarm gone) since: let it go
        for gone in [key for key in cache if key not in seen]:
            del cache[gone]
    return series


def _statistic(alarm: Any, points: list[tuple[float, float]], start: float, end: float) -> float | None:
    values = [value for stamp, value in points if start <= stamp < end]
    if not values:
        return None
    statistic = alarm.statistic or ""
    if alarm.extended_statistic and alarm.extended_statistic.startswith("p"):
        ordered = sorted(values)
        rank = float(alarm.extended_statistic[1:]) / 100
        return ordered[min(len(ordered) - 1, max(0, math.ceil(rank * len(ordered)) - 1))]
    return {
        "Average": sum(values) / len(values),
        "Sum": sum(values),
        "Minimum": min(values),
        "Maximum": max(values),
        "SampleCount": float(len(values)),
    }.get(statistic, sum(values) / len(values))


def alarm_message(region: str, alarm: Any, old_state: str) -> dict[str, Any]:
    """The JSON CloudWatch publishes to SNS when an alarm changes state."""
    message = {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description or None,
        "AWSAccountId": moto_server.ACCOUNT_ID,
        "AlarmConfigurationUpdatedTimestamp": _iso(alarm.configuration_updated_timestamp),
        "NewStateValue": alarm.state_value,
        "NewStateReason": alarm.state_reason,
        "StateChangeTime": _iso(alarm.state_updated_timestamp),
        "Region": REGION_NAMES.get(region, region),
        "AlarmArn": alarm.alarm_arn,
        "OldStateValue": old_state,
        "OKActions": list(alarm.ok_actions),
        "AlarmActions": list(alarm.alarm_actions),
        "InsufficientDataActions": list(alarm.insufficient_data_actions),
        "Trigger": {
            "MetricName": alarm.metric_name,
            "Namespace": alarm.namespace,
            "StatisticType": "ExtendedStatistic" if alarm.extended_statistic else "Statistic",
            "Statistic": (alarm.statistic or "").upper() or None,
            "Unit": alarm.unit,
            "Dimensions": [{"value": d.value, "name": d.name} for d in alarm.dimensions],
            "Period": int(alarm.period),
            "EvaluationPeriods": int(alarm.evaluation_periods),
            "ComparisonOperator": alarm.comparison_operator,
            "Threshold": float(alarm.threshold),
            "TreatMissingData": alarm.treat_missing_data or "missing",
            "EvaluateLowSampleCountPercentile": alarm.evaluate_low_sample_count_percentile or "",
        },
    }
    if alarm.datapoints_to_alarm:  # absent unless the alarm set it, as AWS's messages show
        message["Trigger"]["DatapointsToAlarm"] = int(alarm.datapoints_to_alarm)
    return message


def _iso(moment: datetime) -> str:
    moment = moment.replace(tzinfo=moment.tzinfo or UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"
