"""The event-driven AWS workshop kit: what a notebook imports.

The kit's code lives in layers (see ARCHITECTURE.md): ``core``, ``aws``, ``account``,
``lab_helpers``, ``teaching``, ``emulator`` and ``cli``. A notebook needs a handful of names from
them; this package is their one face, so a cell reads ``from workshop import check, wait_for`` or
``from workshop import backend, chaos`` whichever layer the name lives in. Names are imported when
first used: the emulator's processes import ``workshop`` without paying for the notebook's modules.
Code inside the kit imports from the layers themselves, never from here.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# name -> "module" (the name is that module) or "module:attribute"
_FACE = {
    # modules a notebook uses by name
    "backend": "workshop.core.backend",
    "environment": "workshop.account.environment",
    "deploy": "workshop.account.deploy",
    "inventory": "workshop.account.inventory",
    "chaos": "workshop.lab_helpers.chaos",
    "webhook": "workshop.lab_helpers.webhook",
    "orders": "workshop.lab_helpers.orders",
    "scores": "workshop.lab_helpers.scores",
    "capstone": "workshop.lab_helpers.capstone",
    "steps": "workshop.teaching.steps",
    "progress": "workshop.teaching.progress",
    "dashboard": "workshop.teaching.dashboard",
    "cli": "workshop.cli",
    # functions and classes
    "WorkshopError": "workshop.core.errors:WorkshopError",
    "wait_for": "workshop.core.waiting:wait_for",
    "wait_until_settled": "workshop.core.waiting:wait_until_settled",
    "WaitTimeout": "workshop.core.waiting:WaitTimeout",
    "deploy_function": "workshop.account.deploy:deploy_function",
    "execution_role_arn": "workshop.account.deploy:execution_role_arn",
    "package": "workshop.account.deploy:package",
    "invoke_url": "workshop.lab_helpers.http_api:invoke_url",
    "post_json": "workshop.lab_helpers.http_api:post_json",
    "bar": "workshop.lab_helpers.bars:bar",
    "traced": "workshop.lab_helpers.journey:traced",
    "traced_post": "workshop.lab_helpers.journey:traced_post",
    "traced_upload": "workshop.lab_helpers.journey:traced_upload",
    "journey": "workshop.lab_helpers.journey:journey",
    "service_map": "workshop.lab_helpers.service_map:service_map",
    "check": "workshop.teaching.grading:check",
    "hint": "workshop.teaching.grading:hint",
    "ready": "workshop.teaching.grading:ready",
    "report": "workshop.teaching.grading:report",
    "evaluate": "workshop.teaching.grading:evaluate",
    "Outcome": "workshop.teaching.grading:Outcome",
    "policy_mistake": "workshop.teaching.checks.lab08_kms_bucket:policy_mistake",
}

__all__ = sorted(_FACE)


def __getattr__(name: str) -> Any:
    target = _FACE.get(name)
    if target is None:
        raise AttributeError(f"module 'workshop' has no attribute {name!r}")
    module_name, _, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    value = getattr(module, attribute) if attribute else module
    globals()[name] = value  # the next lookup is an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_FACE])
