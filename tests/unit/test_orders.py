"""The order-file generator: deterministic, labelled truthfully, awkward where it should be."""

import csv
import io
import json
from collections import Counter

from workshop.lab_helpers import orders


def parses(item):
    if not item.body:
        return False
    try:
        if item.key.endswith(".json"):
            rows = json.loads(item.body)["orders"]
        else:
            rows = list(csv.DictReader(io.StringIO(item.body.decode())))
            if not rows or set(rows[0]) != set(orders.CSV_FIELDS):
                return False
        return all(int(row["quantity"]) > 0 and float(row["unit_price"]) > 0 for row in rows)
    except (ValueError, KeyError, TypeError):
        return False


def test_same_seed_same_files_and_labels_tell_the_truth():
    files = orders.generate(300, seed=3)
    assert files == orders.generate(300, seed=3)
    assert len({f.key for f in files}) == 300
    counts = Counter(f.expected for f in files)
    assert counts[orders.MALFORMED] > 10 and counts[orders.DUPLICATE] > 10
    first_by_body = {}
    for item in files:
        if item.expected == orders.GOOD:
            assert parses(item), item.key
            assert item.body not in first_by_body, "good files never repeat content"
            first_by_body[item.body] = item.key
        elif item.expected == orders.DUPLICATE:
            assert first_by_body.get(item.body) and item.reason == f"same content as {first_by_body[item.body]}"
        else:
            assert not parses(item) and item.reason, item.key


def test_awkward_keys_appear_and_shares_can_be_switched_off():
    files = orders.generate(200, seed=5, odd_keys=0.5)
    assert any(" " in f.key for f in files) and any("+" in f.key for f in files)
    assert any(not f.key.isascii() for f in files)
    clean = orders.generate(50, malformed=0, duplicates=0, odd_keys=0)
    assert {f.expected for f in clean} == {orders.GOOD} and all(f.key.startswith("orders/batch-") for f in clean)


def test_first_order_id_changes_the_content_and_nothing_else():
    before, after = orders.generate(40, seed=4), orders.generate(40, seed=4, first_order_id=10_000_000)
    assert [(f.key, f.expected, f.reason) for f in before] == [(f.key, f.expected, f.reason) for f in after]
    good = [(b, a) for b, a in zip(before, after, strict=True) if b.expected == orders.GOOD]
    assert good and all(b.body != a.body for b, a in good)
    assert not {b.body for b, _ in good} & {a.body for _, a in good}, "a second run is not all duplicates"
