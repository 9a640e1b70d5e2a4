"""SNS: each message that passes a subscription's filter policy, handed to the emulator to deliver."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moto.sns import models as sns_models

from workshop.emulator.moto_adapters.server import request_trace_header


@dataclass(frozen=True)
class SnsDelivery:
    """One message for one subscription that passed its filter policy."""

    protocol: str
    endpoint: str
    subscription_arn: str
    topic_arn: str
    raw: bool
    message_id: str
    message: str
    subject: str | None
    message_attributes: dict[str, Any]
    group_id: str | None
    deduplication_id: str | None
    # the publisher's trace header: SNS passes it on to its subscribers
    # (https://docs.aws.amazon.com/xray/latest/devguide/xray-services-sns.html)
    trace: str | None = None


_OUR_PROTOCOLS = ("lambda", "sqs", "http", "https")


def _hook_sns_deliveries(deliver: Callable[[SnsDelivery], None]) -> None:
    original = sns_models.Subscription.publish

    def publish(
        self: Any,
        message: str,
        message_id: str,
        subject: str | None = None,
        message_attributes: dict[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        message_structure: str | None = None,
    ) -> None:
        if self.protocol not in _OUR_PROTOCOLS:
            return original(
                self, message, message_id, subject, message_attributes, group_id, deduplication_id, message_structure
            )
        if self._filter_policy_matcher is not None and not self._filter_policy_matcher.matches(
            message_attributes, message
        ):
            return None
        if message_structure == "json":
            message = self._parse_message_structure(message, self.protocol)
        deliver(
            SnsDelivery(
                protocol=self.protocol,
                endpoint=self.endpoint,
                subscription_arn=self.arn,
                topic_arn=self.topic.arn,
                raw=str(self.attributes.get("RawMessageDelivery", "false")).lower() == "true",
                message_id=message_id,
                message=message,
                subject=subject,
                message_attributes=dict(message_attributes or {}),
                group_id=group_id,
                deduplication_id=deduplication_id,
                trace=request_trace_header(),
            )
        )
        return None

    sns_models.Subscription.publish = publish
