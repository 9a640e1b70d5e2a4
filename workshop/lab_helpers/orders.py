"""Realistic order files for the pipeline: CSV and JSON, some malformed, some duplicates.

Every file says what the pipeline should make of it (``expected``): ``good`` files are
processed, ``duplicate`` files (the same bytes as an earlier file, under another key) and
``malformed`` files (zero bytes, broken JSON, a CSV with a missing column or a non-numeric
quantity) are rejected. Deterministic for a given seed, so notebooks print the same counts
every run.
"""

from __future__ import annotations

import csv
import io
import json
import random
from dataclasses import dataclass

CSV_FIELDS = ("order_id", "customer", "product", "quantity", "unit_price")
CUSTOMERS = ("ana", "bo", "chen", "dara", "emeka", "farah", "goran", "hana")
PRODUCTS = {"kettle": 39.90, "mug": 8.50, "teapot": 24.00, "filter": 4.25, "grinder": 64.00}
# Keys that break code which forgets that S3 event keys are URL-encoded.
ODD_NAMES = ("2026 11/étude+1", "Q4 report (final)", "100% done", "a+b=c", "über/Ωmega")
GOOD, DUPLICATE, MALFORMED = "good", "duplicate", "malformed"


@dataclass(frozen=True)
class OrderFile:
    key: str
    body: bytes
    content_type: str
    expected: str  # good | duplicate | malformed
    reason: str = ""  # why a malformed or duplicate file must be rejected


def _orders(rng: random.Random, first_id: int) -> list[dict[str, object]]:
    rows = []
    for offset in range(rng.randint(1, 5)):
        product = rng.choice(sorted(PRODUCTS))
        rows.append(
            {
                "order_id": first_id + offset,
                "customer": rng.choice(CUSTOMERS),
                "product": product,
                "quantity": rng.randint(1, 4),
                "unit_price": f"{PRODUCTS[product]:.2f}",
            }
        )
    return rows


def _csv(rows: list[dict[str, object]], fields: tuple[str, ...] = CSV_FIELDS) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def _json(rows: list[dict[str, object]]) -> bytes:
    return json.dumps({"orders": rows}, indent=1).encode()


def _malformed(rng: random.Random, rows: list[dict[str, object]], fmt: str) -> tuple[bytes, str]:
    kind = rng.choice(("empty", "broken", "field"))
    if kind == "empty":
        return b"", "zero bytes"
    if fmt == "json":
        text = _json(rows)
        return (
            (text[: len(text) // 2], "invalid JSON")
            if kind == "broken"
            else (json.dumps({"order": rows}).encode(), "JSON without an 'orders' list")
        )
    if kind == "broken":
        return _csv(rows, CSV_FIELDS[:-1]), "CSV without the unit_price column"
    bad = [dict(row, quantity="two") for row in rows]
    return _csv(bad), "CSV with a non-numeric quantity"


def generate(
    count: int,
    *,
    seed: int = 7,
    malformed: float = 0.1,
    duplicates: float = 0.1,
    odd_keys: float = 0.1,
    json_share: float = 0.3,
    prefix: str = "orders/",
    first_order_id: int = 0,
) -> list[OrderFile]:
    """``count`` order files under ``prefix``; about the given shares malformed, duplicate,
    JSON rather than CSV, and with awkward keys (spaces, ``+``, ``%``, unicode, deep prefixes).

    ``first_order_id`` shifts every order id and nothing else: the same mix of files (same
    counts, kinds, keys) with new content, for a demo that must not be all duplicates when run
    again."""
    rng = random.Random(seed)
    files: list[OrderFile] = []
    good: list[OrderFile] = []
    for number in range(1, count + 1):
        fmt = "json" if rng.random() < json_share else "csv"
        name = rng.choice(ODD_NAMES) + f"-{number}" if rng.random() < odd_keys else f"batch-{number:05d}"
        key = f"{prefix}{name}.{fmt}"
        content_type = "application/json" if fmt == "json" else "text/csv"
        roll = rng.random()
        if roll < duplicates and good:
            original = rng.choice(good)
            key = key.rsplit(".", 1)[0] + "." + original.key.rsplit(".", 1)[1]
            files.append(
                OrderFile(key, original.body, original.content_type, DUPLICATE, f"same content as {original.key}")
            )
            continue
        rows = _orders(rng, first_order_id + number * 10)
        if roll < duplicates + malformed:
            body, reason = _malformed(rng, rows, fmt)
            files.append(OrderFile(key, body, content_type, MALFORMED, reason))
            continue
        made = OrderFile(key, _json(rows) if fmt == "json" else _csv(rows), content_type, GOOD)
        files.append(made)
        good.append(made)
    return files


def sample_csv(first_id: int = 1001, seed: int = 1) -> bytes:
    """One good CSV order file, for a first upload."""
    return _csv(_orders(random.Random(seed), first_id))
