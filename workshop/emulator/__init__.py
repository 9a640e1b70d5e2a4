"""The embedded, docker-free local AWS: moto's server plus what moto lacks.

Only the moto adapters (:mod:`workshop.emulator.moto_adapters`) import moto; the rest of the kit
talks to the emulator through the standard AWS APIs on its HTTP endpoint, and the command line
starts it (``python -m workshop serve``).
"""

__all__ = [
    "admin_guard",
    "api_gateway",
    "app",
    "cloudwatch",
    "functions",
    "http_delivery",
    "identity",
    "keep_alive",
    "moto_adapters",
    "participant_gate",
    "persistence",
    "ports",
    "s3_guard",
    "scopes",
    "server",
    "service",
    "settings",
    "snapshot_fork",
    "tenancy",
    "tracing",
    "webhooks",
    "xray_api",
    "xray_store",
]
