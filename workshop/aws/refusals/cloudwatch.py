"""What CloudWatch refuses in a PutMetricAlarm."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from workshop.aws.refusals.common import Refusal, integer, validation_error

__all__ = ["metric_alarm", "ALARM_STATISTICS", "ALARM_OPERATORS", "ALARM_MISSING_DATA", "ALARM_ACTION"]

# https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html
ALARM_STATISTICS: Final = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
ALARM_OPERATORS: Final = (
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
    "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold",
    "GreaterThanUpperThreshold",
)
ALARM_MISSING_DATA: Final = ("breaching", "notBreaching", "ignore", "missing")
ALARM_ACTION: Final = re.compile(r"^arn:aws[a-z-]*:(sns|autoscaling|ec2|ssm|lambda|swf):\S*$")


def metric_alarm(alarm: Mapping[str, Any]) -> Refusal | None:
    """The refusal of a PutMetricAlarm; ``alarm`` holds moto's names for the request's fields."""
    for check in (_alarm_metric, _alarm_periods, _alarm_enums, _alarm_actions):
        refusal = check(alarm)
        if refusal is not None:
            return refusal
    return None


def _alarm_metric(alarm: Mapping[str, Any]) -> Refusal | None:
    statistic, extended = alarm.get("statistic"), alarm.get("extended_statistic")
    if alarm.get("metric_data_queries"):
        if alarm.get("metric_name") or statistic or extended:
            return Refusal(
                "InvalidParameterCombination",
                "The parameters MetricName, Statistic and ExtendedStatistic are not allowed with Metrics.",
            )
        return None
    if statistic and extended:
        return Refusal(
            "InvalidParameterCombination",
            "Exactly one of the parameters Statistic or ExtendedStatistic must be specified.",
        )
    if not statistic and not extended:
        return Refusal("MissingParameter", "One of the parameters Statistic or ExtendedStatistic must be specified.")
    if statistic and statistic not in ALARM_STATISTICS:
        return validation_error(
            statistic, "statistic", f"Member must satisfy enum value set: [{', '.join(ALARM_STATISTICS)}]"
        )
    if alarm.get("threshold") is None and not alarm.get("threshold_metric_id"):
        return Refusal("ValidationError", "Threshold or ThresholdMetricId is required.")
    return None


def _alarm_periods(alarm: Mapping[str, Any]) -> Refusal | None:
    evaluation_periods, datapoints = integer(alarm.get("evaluation_periods")), alarm.get("datapoints_to_alarm")
    if evaluation_periods is None or evaluation_periods < 1:
        return validation_error(
            alarm.get("evaluation_periods"), "evaluationPeriods", "Member must have value greater than or equal to 1"
        )
    if datapoints is not None and not 1 <= int(datapoints) <= evaluation_periods:
        return Refusal(
            "ValidationError",
            "DatapointsToAlarm must be greater than or equal to 1 and less than or equal to EvaluationPeriods.",
        )
    if alarm.get("metric_data_queries"):
        return None
    period = integer(alarm.get("period"))
    if period is None or not (period in (10, 30) or (period >= 60 and period % 60 == 0)):
        return Refusal("InvalidParameterValue", "The parameter Period must be 10, 30 or a multiple of 60.")
    limit = 86400 if period < 3600 else 7 * 86400  # one day; seven for periods of an hour or more
    if period * evaluation_periods > limit:
        return Refusal(
            "ValidationError", f"The evaluation period multiplied by the period must not exceed {limit} seconds."
        )
    return None


def _alarm_enums(alarm: Mapping[str, Any]) -> Refusal | None:
    operator, missing = alarm.get("comparison_operator"), alarm.get("treat_missing_data")
    if operator not in ALARM_OPERATORS:
        return validation_error(
            operator, "comparisonOperator", f"Member must satisfy enum value set: [{', '.join(ALARM_OPERATORS)}]"
        )
    if missing is not None and missing not in ALARM_MISSING_DATA:
        return Refusal(
            "ValidationError",
            f"Option {missing} is not supported. Supported options for parameter "
            "TreatMissingData are breaching, notBreaching, ignore and missing.",
        )
    return None


def _alarm_actions(alarm: Mapping[str, Any]) -> Refusal | None:
    for field in ("alarm_actions", "ok_actions", "insufficient_data_actions"):
        for action in alarm.get(field) or []:
            if not ALARM_ACTION.match(str(action)):
                return Refusal("ValidationError", f"Invalid arn syntax: {action}")
    return None
