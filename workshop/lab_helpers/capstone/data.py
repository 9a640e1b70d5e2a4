"""The capstone's traffic: files for channels besides orders, and good files with one more property."""

from __future__ import annotations

import csv
import io
import json
import random
from typing import Any

from workshop.lab_helpers import orders

RETURN_REASONS = ("damaged", "wrong size", "changed my mind", "late")


def returns_files(count: int, *, seed: int = 5, run: str = "") -> list[orders.OrderFile]:
    """CSV files for a ``returns`` channel, all good: the second channel's traffic."""
    rng = random.Random(seed)
    files = []
    for number in range(1, count + 1):
        rows = [
            {
                "return_id": f"r{run}{number:03d}{n}",
                "order_id": str(rng.randint(1000, 9999)),
                "customer": rng.choice(orders.CUSTOMERS),
                "reason": rng.choice(RETURN_REASONS),
            }
            for n in range(rng.randint(1, 3))
        ]
        files.append(orders.OrderFile(f"returns/{run}batch-{number:03d}.csv", _csv(rows), "text/csv", orders.GOOD))
    return files


WAREHOUSES = ("north", "south", "east")


def stock_files(count: int, *, seed: int = 5, run: str = "") -> list[orders.OrderFile]:
    """CSV files for a ``stock`` channel (the walkthrough's second channel), all good: one stock
    count per row, ``count_id``, ``warehouse``, ``sku`` and ``counted`` (a number)."""
    rng = random.Random(seed)
    files = []
    for number in range(1, count + 1):
        rows = [
            {
                "count_id": f"s{run}{number:03d}{n}",
                "warehouse": rng.choice(WAREHOUSES),
                "sku": rng.choice(sorted(orders.PRODUCTS)),
                "counted": str(rng.randint(0, 250)),
            }
            for n in range(rng.randint(1, 3))
        ]
        files.append(orders.OrderFile(f"stock/{run}batch-{number:03d}.csv", _csv(rows), "text/csv", orders.GOOD))
    return files


def with_property(files: list[orders.OrderFile], name: str, value: str) -> list[orders.OrderFile]:
    """The same good files with one more column (or JSON property) in every record."""
    changed = []
    for made in files:
        if made.expected != orders.GOOD:
            changed.append(made)
            continue
        if made.key.endswith(".json"):
            document = json.loads(made.body)
            for rows in document.values():
                for row in rows:
                    row[name] = value
            body = json.dumps(document, indent=1).encode()
        else:
            rows = [dict(row, **{name: value}) for row in csv.DictReader(io.StringIO(made.body.decode()))]
            body = _csv(rows)
        changed.append(orders.OrderFile(made.key, body, made.content_type, made.expected, made.reason))
    return changed


def _csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()
