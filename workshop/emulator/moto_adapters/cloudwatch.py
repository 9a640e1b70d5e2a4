"""CloudWatch: the backend the emulator publishes metrics to and evaluates alarms from, alarms that
start as AWS's do and act on SetAlarmState, and PutMetricAlarm judged before it replaces an alarm."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from workshop.aws import refusals
from workshop.emulator.moto_adapters.atomic import raise_refusal
from workshop.emulator.moto_adapters.server import ACCOUNT_ID


def cloudwatch_backend(region: str) -> Any:
    from moto.cloudwatch.models import cloudwatch_backends

    return cloudwatch_backends[ACCOUNT_ID][region]


def cloudwatch_regions() -> list[str]:
    from moto.cloudwatch.models import cloudwatch_backends

    return list(cloudwatch_backends[ACCOUNT_ID].keys())


def forget_metrics_before(region: str, namespace: str, cutoff: Any) -> None:
    """Metric data is kept forever by moto; drop the emulator's own old AWS/* points."""
    backend = cloudwatch_backend(region)
    backend.metric_data = [d for d in backend.metric_data if d.namespace != namespace or d.timestamp >= cutoff]


def _alarms_start_without_data(on_state_change: Callable[[str, Any, str], None]) -> None:
    """AWS alarms start in INSUFFICIENT_DATA (moto: OK) and SetAlarmState triggers actions."""
    from moto.cloudwatch import models as cloudwatch_models

    original_init = cloudwatch_models.Alarm.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.state_value = "INSUFFICIENT_DATA"

    cloudwatch_models.Alarm.__init__ = init
    original_set = cloudwatch_models.CloudWatchBackend.set_alarm_state

    def set_alarm_state(self: Any, alarm_name: str, reason: str, reason_data: str, state_value: str) -> None:
        old = self.alarms[alarm_name].state_value if alarm_name in self.alarms else None
        original_set(self, alarm_name, reason, reason_data, state_value)
        if old is not None and old != state_value:
            on_state_change(self.region_name, self.alarms[alarm_name], old)

    cloudwatch_models.CloudWatchBackend.set_alarm_state = set_alarm_state


def _metric_alarms_judged_first() -> None:
    """moto stores any PutMetricAlarm, replacing the alarm of that name: a bad period or
    operator overwrites a working alarm with one that can never be evaluated."""
    from moto.cloudwatch import models as cloudwatch_models
    from moto.cloudwatch.exceptions import CloudWatchException

    original = cloudwatch_models.CloudWatchBackend.put_metric_alarm
    signature = inspect.signature(original)

    def put_metric_alarm(self: Any, *args: Any, **kwargs: Any) -> Any:
        alarm = signature.bind(self, *args, **kwargs).arguments
        raise_refusal(refusals.metric_alarm(alarm), CloudWatchException)
        return original(self, *args, **kwargs)

    cloudwatch_models.CloudWatchBackend.put_metric_alarm = put_metric_alarm
