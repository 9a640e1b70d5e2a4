"""CloudWatch Logs: the lines a function writes, stored where Lambda stores them."""

from __future__ import annotations

from moto.logs.models import logs_backends

from workshop.emulator.moto_adapters.server import ACCOUNT_ID


def write_logs(region: str, group: str, stream: str, events: list[tuple[int, str]]) -> None:
    """Append events to a log group and stream, creating either when missing (as Lambda does)."""
    backend = logs_backends[ACCOUNT_ID][region]
    backend.ensure_log_group(group)
    log_group = backend.groups[group]
    if stream not in log_group.streams:
        backend.create_log_stream(group, stream)
    backend.put_log_events(group, stream, [{"timestamp": ms, "message": text} for ms, text in events])
