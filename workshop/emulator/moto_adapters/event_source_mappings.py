"""Lambda's event-source mappings: moto keeps the records (the API), the emulator's pollers
deliver; what a poller reads of a mapping, and the stream position it has reached."""

from __future__ import annotations

from typing import Any

from moto.awslambda import models as lambda_models

from workshop.emulator.moto_adapters.atomic import unchanged_on_error
from workshop.emulator.moto_adapters.server import ACCOUNT_ID


def _stop_moto_event_source_delivery() -> None:
    """Keep moto's mapping records (the API) but never let moto deliver; the pollers do."""
    original = lambda_models.LambdaBackend.create_event_source_mapping

    def create(self: Any, spec: dict[str, Any]) -> Any:
        mapping = original(self, spec)
        for owner in _mapping_owners(self, mapping.event_source_arn):
            owner.lambda_event_source_mappings.clear()
        return mapping

    lambda_models.LambdaBackend.create_event_source_mapping = create


def _mapping_owners(backend: Any, source_arn: str) -> list[Any]:
    from moto.dynamodb.models import dynamodb_backends
    from moto.sqs.models import sqs_backends

    owners = [
        q for q in sqs_backends[backend.account_id][backend.region_name].queues.values() if q.queue_arn == source_arn
    ]
    if ":dynamodb:" in source_arn and "/stream/" in source_arn:
        table_name = source_arn.split(":table/", 1)[1].split("/stream/", 1)[0]
        table = dynamodb_backends[backend.account_id][backend.region_name].tables.get(table_name)
        if table is not None:
            owners.append(table)
    return owners


def event_source_mapping_sources() -> dict[str, tuple[str, str]]:
    """UUID -> (region, source ARN) of every mapping: what a supervisor needs ten times a second,
    without building each mapping's whole configuration."""
    return {
        uuid: (region, mapping.event_source_arn)
        for region, backend in lambda_models.lambda_backends[ACCOUNT_ID].items()
        for uuid, mapping in list(backend._event_source_mappings.items())
    }


def _mapping(region: str, uuid: str) -> Any:
    """moto's own EventSourceMapping object, or None once it is deleted."""
    return lambda_models.lambda_backends[ACCOUNT_ID][region]._event_source_mappings.get(uuid)


def event_source_mapping_switch(region: str, uuid: str) -> tuple[bool, str] | None:
    """(Enabled, source ARN) of a mapping, or None once it is deleted: an idle poller's cheap look."""
    mapping = _mapping(region, uuid)
    return None if mapping is None else (bool(mapping.enabled), mapping.event_source_arn)


def event_source_mapping(region: str, uuid: str) -> dict[str, Any] | None:
    """A mapping's configuration, plus Region and Enabled (what the user asked, whatever the State)."""
    mapping = _mapping(region, uuid)
    if mapping is None:
        return None
    config = mapping.get_configuration()
    config.update(Region=region, Enabled=bool(mapping.enabled))
    return config


def mark_mapping_ready(region: str, uuid: str) -> None:
    """The poller reads its source: from now on the mapping's State is Enabled."""
    mapping = _mapping(region, uuid)
    if mapping is not None:
        mapping.workshop_ready = True


def stream_checkpoint(region: str, uuid: str, shard_id: str) -> str | None:
    """The sequence number of the last stream record a mapping finished with, on that shard.

    Kept on moto's mapping, so it is saved with the rest of the state: after a restart the
    mapping reads on from there, as AWS's pollers do, instead of from the stream's start."""
    mapping = _mapping(region, uuid)
    return None if mapping is None else getattr(mapping, "workshop_checkpoints", {}).get(shard_id)


def set_stream_checkpoint(region: str, uuid: str, shard_id: str, sequence_number: str) -> None:
    mapping = _mapping(region, uuid)
    if mapping is not None:
        if not hasattr(mapping, "workshop_checkpoints"):
            mapping.workshop_checkpoints = {}
        mapping.workshop_checkpoints[shard_id] = sequence_number


def _mappings_are_creating_until_polled() -> None:
    """AWS reports State Creating until the mapping really polls (a LATEST stream position is
    only taken then); moto says Enabled at once, so records written meanwhile would be lost."""
    original = lambda_models.EventSourceMapping.get_configuration

    def get_configuration(self: Any) -> dict[str, Any]:
        config = original(self)
        if self.enabled and not getattr(self, "workshop_ready", False):
            config["State"] = "Creating"
        return config

    lambda_models.EventSourceMapping.get_configuration = get_configuration


def _mapping_updates_undone_on_error() -> None:
    """moto applies UpdateEventSourceMapping's fields one by one and looks the function up in
    the middle: an unknown FunctionName after a BatchSize leaves the new BatchSize stored."""
    original = lambda_models.LambdaBackend.update_event_source_mapping

    def update_event_source_mapping(self: Any, uuid: str, spec: dict[str, Any]) -> Any:
        mapping = self.get_event_source_mapping(uuid)
        if mapping is None:
            return original(self, uuid, spec)
        with unchanged_on_error(mapping):
            return original(self, uuid, spec)

    lambda_models.LambdaBackend.update_event_source_mapping = update_event_source_mapping


def mapping_function_name(region: str, uuid: str) -> str | None:
    """The name of the function an event-source mapping invokes; None for an unknown mapping."""
    mapping = _mapping(region, uuid)
    if mapping is None:
        return None
    return str(mapping.get_configuration()["FunctionArn"]).rsplit(":function:", 1)[-1].split(":", 1)[0]
