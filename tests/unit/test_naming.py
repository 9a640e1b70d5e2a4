import pytest

from workshop.core.errors import WorkshopError
from workshop.core.naming import (
    PREFIX_MAX_LENGTH,
    TAG_KEY,
    Names,
    class_prefixes,
    prefix_from_user_name,
    resolve_prefix,
    validate_prefix,
)


@pytest.mark.parametrize("good", ["ab", "ana", "learner-01", "x9", "a" * PREFIX_MAX_LENGTH])
def test_valid_prefixes_pass(good):
    assert validate_prefix(good) == good


@pytest.mark.parametrize(
    "bad, reason",
    [
        ("", "empty"),
        ("a", "at least 2"),
        ("Ana", "lowercase"),
        ("9lives", "starting with a letter"),
        ("ana-", "ending with a letter or digit"),
        ("ana_b", "lowercase letters, digits and hyphens"),
        ("ana.b", "lowercase letters, digits and hyphens"),
        ("a--b", "'--'"),
        ("a" * (PREFIX_MAX_LENGTH + 1), "S3 bucket names"),
    ],
)
def test_invalid_prefixes_get_a_reason(bad, reason):
    with pytest.raises(WorkshopError) as error:
        validate_prefix(bad)
    assert reason in str(error.value)
    assert repr(bad) in str(error.value)


@pytest.mark.parametrize(
    "user, expected",
    [
        ("jane", "jane"),
        ("Jane.Doe", "jane-doe"),
        ("j_doe", "j-doe"),
        ("123", "learner"),
        ("", "learner"),
        ("x", "learner"),
        ("Élodie Martin-Smith the Third", "lodie-martin-smith-t"),
    ],
)
def test_prefix_from_user_name_is_always_valid(user, expected):
    derived = prefix_from_user_name(user)
    assert derived == expected
    assert validate_prefix(derived) == derived


def test_resolution_order(monkeypatch):
    monkeypatch.setenv("WORKSHOP_PREFIX", "from-env")
    monkeypatch.setattr("getpass.getuser", lambda: "someone")
    assert resolve_prefix("explicit") == "explicit"
    assert resolve_prefix(None) == "from-env"
    monkeypatch.delenv("WORKSHOP_PREFIX")
    assert resolve_prefix(None) == "someone"
    monkeypatch.setenv("WORKSHOP_PREFIX", "Bad_Prefix")
    with pytest.raises(WorkshopError):
        resolve_prefix(None)


def test_class_prefixes_are_numbered_and_validated():
    assert class_prefixes("cls", 3) == ["cls-01", "cls-02", "cls-03"]
    assert class_prefixes("cls", 100)[0] == "cls-001"
    with pytest.raises(WorkshopError):
        class_prefixes("cls", 0)
    with pytest.raises(WorkshopError):
        class_prefixes("a-very-long-class-name", 3)


def test_names_carry_prefix_and_tag():
    names = Names("ana")
    assert names.bucket("incoming") == "ana-incoming"
    assert names.queue("jobs", fifo=True) == "ana-jobs.fifo"
    assert names.log_group("digester") == "/aws/lambda/ana-digester"
    assert names.key_alias("vault") == "alias/ana-vault"
    assert names.tag == {TAG_KEY: "ana"}
    assert names.owns("ana-incoming") and not names.owns("anabel-incoming") and not names.owns("ana")


def test_real_aws_bucket_names_are_globally_unique_and_fit():
    longest = Names("a" * PREFIX_MAX_LENGTH, bucket_suffix="-123456789012-ap-southeast-4")
    bucket = longest.bucket("in-progress")
    assert bucket.endswith("-123456789012-ap-southeast-4")
    assert len(bucket) <= 63
