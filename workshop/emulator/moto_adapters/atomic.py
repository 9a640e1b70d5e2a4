"""A refused call changes nothing: the service's own error for a refusal, and a moto object put
back when the call changing it fails part-way."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from workshop.aws import refusals


def raise_refusal(refusal: refusals.Refusal | None, error: Callable[[str, str], Exception]) -> None:
    """Answer a refusal with the service's own moto exception, which moto renders in the
    request's protocol (query, JSON or XML) like any error of its own."""
    if refusal is not None:
        raise error(refusal.code, refusal.message)


@contextlib.contextmanager
def unchanged_on_error(model: Any) -> Iterator[None]:
    """Put a moto object's attributes back when the call changing it fails part-way: moto
    assigns request fields one by one and may refuse a later one after storing earlier ones."""
    before = dict(model.__dict__)
    try:
        yield
    except Exception:
        model.__dict__.clear()
        model.__dict__.update(before)
        raise
