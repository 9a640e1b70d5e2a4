"""Lab 8, a KMS-encrypted bucket: your own key, default SSE-KMS with a Bucket Key, a policy refusing other encryption.

The checks read the key, the bucket's configuration and its policy, and for 8.2 and 8.3 they
really upload (then delete) test objects: a bucket policy is judged by what S3 lets through,
not by how its JSON reads.

Longer than 400 lines: a lab's checks are one module, found by the lab's number, and naming the
mistake in a key or bucket policy takes a reading of each statement the learner may have written.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from workshop.core.errors import error_code, error_message
from workshop.core.naming import TAG_KEY
from workshop.teaching.grading import Context, Faults, Incorrect, NotAttempted, exercise, question

SOLUTION = "08_kms_bucket.ipynb"
BUCKET = "sensitive"
KEY = "sensitive"
AWS_MANAGED_S3_ALIAS = "alias/aws/s3"
# How many keys without an alias the 8.1 check looks through for one of yours (real accounts may hold many).
UNALIASED_KEYS_SCANNED = 100
_KMS_REFUSALS = (
    "KMS.DisabledException",
    "KMS.KMSInvalidStateException",
    "KMS.NotFoundException",
    "KMS.AccessDeniedException",
    "KMS.InvalidKeyUsageException",
)


def _bucket(ctx: Context) -> str:
    bucket = ctx.names.bucket(BUCKET)
    try:
        ctx.client("s3").head_bucket(Bucket=bucket)
    except ClientError as error:
        if error_code(error) in ("404", "NoSuchBucket"):
            raise NotAttempted(f"there is no bucket {bucket}: it is made by the lab's first cell, run it") from None
        raise
    return bucket


def _aliases(ctx: Context) -> Iterator[dict[str, Any]]:
    for page in ctx.client("kms").get_paginator("list_aliases").paginate():
        yield from page.get("Aliases", [])


def _key_tags(ctx: Context, key_id: str) -> dict[str, str]:
    tags = ctx.client("kms").list_resource_tags(KeyId=key_id).get("Tags", [])
    return {t["TagKey"]: t["TagValue"] for t in tags}


def _learner_key(ctx: Context) -> dict[str, Any] | None:
    """The metadata of the key the participant's alias points to, or None without the alias."""
    alias = ctx.names.key_alias(KEY)
    target = next((a.get("TargetKeyId") for a in _aliases(ctx) if a["AliasName"] == alias), None)
    if not target:
        return None
    return ctx.client("kms").describe_key(KeyId=target)["KeyMetadata"]


def _require_usable_key(ctx: Context, for_exercise: str) -> dict[str, Any]:
    """What 8.2 and 8.3 need from 8.1: the key exists, behind its alias, and can be used."""
    key = _learner_key(ctx)
    alias = ctx.names.key_alias(KEY)
    if key is None:
        raise Incorrect(f"{for_exercise} uses your key, and there is no alias {alias} yet: do exercise 8.1 first")
    if key["KeyState"] != "Enabled":
        raise Incorrect(
            f"your key {alias} is {key['KeyState']}, so S3 can neither encrypt nor decrypt with it: "
            "fix exercise 8.1 first"
        )
    return key


def _resolves_to(ctx: Context, key_ref: str) -> dict[str, Any] | None:
    """The key behind a key id, ARN, alias or alias ARN, as S3 would resolve it; None if unknown."""
    try:
        return ctx.client("kms").describe_key(KeyId=key_ref)["KeyMetadata"]
    except ClientError as error:
        if error_code(error) in ("NotFoundException", "InvalidArnException", "ValidationException"):
            return None
        raise


def _is_aws_managed(ctx: Context, key: dict[str, Any]) -> bool:
    if key.get("KeyManager") == "AWS":
        return True
    aliases = ctx.client("kms").list_aliases(KeyId=key["KeyId"]).get("Aliases", [])
    return any(a["AliasName"].startswith("alias/aws/") for a in aliases)


# ---- 8.1 -----------------------------------------------------------------------------


def _misnamed_alias(ctx: Context) -> str | None:
    """An alias of a key tagged for this participant that is not the alias the lab asks for."""
    expected = ctx.names.key_alias(KEY)
    for alias in _aliases(ctx):
        name, target = alias["AliasName"], alias.get("TargetKeyId")
        if name == expected or name.startswith("alias/aws/") or not target or KEY not in name:
            continue
        if _key_tags(ctx, target).get(TAG_KEY) == ctx.names.prefix:
            return name
    return None


def _unaliased_key(ctx: Context) -> str | None:
    """A key of this participant's (by tag) that no alias points to: a create_key without create_alias."""
    kms = ctx.client("kms")
    aliased = {a.get("TargetKeyId") for a in _aliases(ctx)}
    scanned = 0
    for page in kms.get_paginator("list_keys").paginate():
        for key in page.get("Keys", []):
            if key["KeyId"] in aliased:
                continue
            scanned += 1
            if scanned > UNALIASED_KEYS_SCANNED:
                return None
            try:
                meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
                if meta.get("KeyManager") != "CUSTOMER" or meta["KeyState"] == "PendingDeletion":
                    continue
                if _key_tags(ctx, key["KeyId"]).get(TAG_KEY) == ctx.names.prefix:
                    return key["KeyId"]
            except ClientError as error:
                if error_code(error) not in ("AccessDeniedException", "NotFoundException"):
                    raise
    return None


@exercise(
    "8.1",
    "A customer-managed key with an alias",
    solution=SOLUTION,
    hints=(
        "A KMS key has an id nobody remembers; an alias is the name you use instead. `names.key_alias('sensitive')` is "
        "the one this lab looks for (the `alias/` prefix is part of every alias name).",
        "kms.create_key(Description=..., KeySpec='SYMMETRIC_DEFAULT', KeyUsage='ENCRYPT_DECRYPT', Policy=key_policy, "
        "Tags=[{'TagKey': 'workshop:env', 'TagValue': names.prefix}]) — KMS spells tags TagKey/TagValue.",
        "Then kms.create_alias(AliasName=key_alias, TargetKeyId=key['KeyId']). To stay idempotent, first try "
        "kms.describe_key(KeyId=key_alias) and create the key only on NotFoundException.",
    ),
)
def customer_managed_key(ctx: Context) -> str:
    alias = ctx.names.key_alias(KEY)
    key = _learner_key(ctx)
    if key is None:
        misnamed = _misnamed_alias(ctx)
        if misnamed:
            raise Incorrect(
                f"your key is aliased {misnamed}, but the lab looks for {alias}: create the alias "
                "names.key_alias('sensitive') (your prefix keeps your alias apart from everyone else's)"
            )
        orphan = _unaliased_key(ctx)
        if orphan:
            raise Incorrect(
                f"you have a key tagged {TAG_KEY}={ctx.names.prefix} ({orphan}) but no alias points to "
                f"it: create_alias(AliasName='{alias}', TargetKeyId=...). Without the alias the cell "
                "cannot find it again on a re-run, and teardown (which finds keys by alias) never removes it"
            )
        raise NotAttempted(f"there is no KMS alias {alias} yet")
    faults = Faults()  # the key's spec, state and tag are independent: name each that is wrong
    # AWS always reports both; a missing one is the default (moto omits KeyUsage when create_key got none)
    spec = key.get("KeySpec") or key.get("CustomerMasterKeySpec") or "SYMMETRIC_DEFAULT"
    usage = key.get("KeyUsage") or "ENCRYPT_DECRYPT"
    if spec != "SYMMETRIC_DEFAULT" or usage != "ENCRYPT_DECRYPT":
        faults.add(
            f"the key behind {alias} is {spec} for {usage}; S3 encrypts only with symmetric encryption keys "
            "(KeySpec SYMMETRIC_DEFAULT, KeyUsage ENCRYPT_DECRYPT). A key's spec never changes: create a new "
            "key and point the alias at it with kms.update_alias",
            hint="kms.create_key(KeySpec='SYMMETRIC_DEFAULT', KeyUsage='ENCRYPT_DECRYPT', ...), then "
            "kms.update_alias(AliasName=key_alias, TargetKeyId=<the new key's KeyId>)",
        )
    state = key["KeyState"]
    if state == "Disabled":
        faults.add(
            f"the key behind {alias} is disabled: nothing can be encrypted or decrypted with it; "
            "kms.enable_key(KeyId=...) turns it back on",
            hint="kms.enable_key(KeyId=key_arn)",
        )
    elif state == "PendingDeletion":
        faults.add(
            f"the key behind {alias} is pending deletion (on {key.get('DeletionDate', 'its date')} it and "
            "every object it protects are gone for good): kms.cancel_key_deletion(KeyId=...), then "
            "kms.enable_key(KeyId=...), as a cancelled key comes back disabled",
            hint="kms.cancel_key_deletion(KeyId=key_arn), then kms.enable_key(KeyId=key_arn)",
        )
    elif state != "Enabled":
        faults.add(f"the key behind {alias} is {state}; it must be Enabled", hint="kms.enable_key(KeyId=key_arn)")
    tag = _key_tags(ctx, key["KeyId"]).get(TAG_KEY)
    tag_hint = "kms.tag_resource(KeyId=key_arn, Tags=[{'TagKey': 'workshop:env', 'TagValue': names.prefix}])"
    if tag is None:
        faults.add(
            f"the key behind {alias} has no {TAG_KEY} tag: teardown would never delete it, and the execution "
            f"role may use only keys tagged {TAG_KEY}={ctx.names.prefix}; "
            "kms.tag_resource(KeyId=..., Tags=[{'TagKey': ..., 'TagValue': ...}])",
            hint=tag_hint,
        )
    elif tag != ctx.names.prefix:
        faults.add(
            f"the key behind {alias} is tagged {TAG_KEY}={tag}, but your prefix is {ctx.names.prefix}", hint=tag_hint
        )
    faults.raise_any()
    kms = ctx.client("kms")
    try:
        sealed = kms.encrypt(KeyId=alias, Plaintext=b"8.1 check")["CiphertextBlob"]
        kms.decrypt(CiphertextBlob=sealed)
    except ClientError as error:
        raise Incorrect(
            f"you cannot use the key behind {alias} yourself ({error_code(error)}): its key policy must "
            "let your account's IAM policies decide (the statement with Principal your account's root)"
        ) from None
    return f"{alias} names a symmetric, enabled key tagged {TAG_KEY}={ctx.names.prefix}"


# ---- 8.2 -----------------------------------------------------------------------------


def _default_rule(ctx: Context, bucket: str) -> dict[str, Any] | None:
    try:
        rules = ctx.client("s3").get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    except ClientError as error:
        if error_code(error) == "ServerSideEncryptionConfigurationNotFoundError":
            return None
        raise
    return rules[0] if rules else None


def _check_key(ctx: Context) -> str:
    return f"checks/{uuid.uuid4().hex[:12]}.txt"


@exercise(
    "8.2",
    "Default SSE-KMS with a Bucket Key",
    solution=SOLUTION,
    hints=(
        "s3.put_bucket_encryption sets what S3 does with an upload that asks for nothing: one rule, with "
        "ApplyServerSideEncryptionByDefault and BucketKeyEnabled.",
        "SSEAlgorithm 'AES256' is SSE-S3 (S3's own keys, the default of every bucket). 'aws:kms' is SSE-KMS; without "
        "KMSMasterKeyID it uses the AWS managed key aws/s3, so name your key.",
        "ServerSideEncryptionConfiguration={'Rules': [{'ApplyServerSideEncryptionByDefault': {'SSEAlgorithm': "
        "'aws:kms', 'KMSMasterKeyID': key_arn}, 'BucketKeyEnabled': True}]}",
    ),
)
def default_encryption(ctx: Context) -> str:
    bucket = _bucket(ctx)
    rule = _default_rule(ctx, bucket)
    if rule is None:
        raise NotAttempted(f"{bucket} has no default encryption configuration yet")
    default = rule.get("ApplyServerSideEncryptionByDefault", {})
    algorithm, key_ref, bucket_key = (
        default.get("SSEAlgorithm"),
        default.get("KMSMasterKeyID"),
        rule.get("BucketKeyEnabled") is True,
    )
    if algorithm == "AES256":
        what = (
            f"{bucket} encrypts with SSE-S3 (AES256), S3's own keys: no key policy of yours decides who reads, "
            "and nothing shows in CloudTrail; set SSEAlgorithm 'aws:kms' with your key"
        )
        if bucket_key:  # S3's default never enables a Bucket Key: this configuration was written by hand
            raise Incorrect(what)
        raise NotAttempted(f"{what} (SSE-S3 is what every bucket has until you change it)")
    if algorithm == "aws:kms:dsse":
        raise Incorrect(
            f"{bucket} uses dual-layer SSE-KMS (aws:kms:dsse): two layers of encryption, KMS billed per "
            "object and no Bucket Key; use SSEAlgorithm 'aws:kms'"
        )
    if algorithm != "aws:kms":
        raise Incorrect(f"{bucket}'s default SSEAlgorithm is {algorithm!r}; use 'aws:kms'")
    learner = _require_usable_key(ctx, "8.2")
    alias = ctx.names.key_alias(KEY)
    faults = Faults()  # which key, and whether there is a Bucket Key: two settings of the same rule
    key_hint = (
        "'ApplyServerSideEncryptionByDefault': {'SSEAlgorithm': 'aws:kms', 'KMSMasterKeyID': key_arn} — your "
        "key's ARN from 8.1"
    )
    resolved = _resolves_to(ctx, key_ref) if key_ref else None
    if not key_ref:
        faults.add(
            f"{bucket} uses SSE-KMS without a KMSMasterKeyID, that is the AWS managed key aws/s3: its policy is "
            f"not yours to change and it cannot be disabled; set KMSMasterKeyID to your key ({alias}, better "
            "its ARN)",
            hint=key_hint,
        )
    elif resolved is None:
        faults.add(f"{bucket}'s KMSMasterKeyID {key_ref!r} is not a key KMS knows: use your key's ARN", hint=key_hint)
    elif _is_aws_managed(ctx, resolved):
        faults.add(
            f"{bucket} uses the AWS managed key aws/s3 ({key_ref}): its policy is not yours to change and it "
            f"cannot be disabled; set KMSMasterKeyID to your key ({alias}, better its ARN)",
            hint=key_hint,
        )
    elif resolved["KeyId"] != learner["KeyId"]:
        faults.add(
            f"{bucket}'s KMSMasterKeyID {key_ref} is another key than the one behind {alias}: use the ARN of "
            "your key from 8.1",
            hint=key_hint,
        )
    if not bucket_key:
        faults.add(
            f"{bucket} has no S3 Bucket Key (BucketKeyEnabled is not True): S3 then asks KMS for a new data key "
            "for every object, which costs a KMS request each and can hit KMS's request quota; set "
            "BucketKeyEnabled=True in the rule",
            hint="'BucketKeyEnabled': True in the rule, beside ApplyServerSideEncryptionByDefault",
        )
    faults.raise_any()
    return f"{bucket} encrypts new objects with SSE-KMS under {alias}, with an S3 Bucket Key" + _default_upload(
        ctx, bucket, learner
    )


def _default_upload(ctx: Context, bucket: str, learner: dict[str, Any]) -> str:
    """Confirm with a real upload that asks for nothing; a policy that requires the header may refuse it."""
    s3, key = ctx.client("s3"), _check_key(ctx)
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=b"8.2 check")
    except ClientError as error:
        if error_code(error) == "AccessDenied":
            return " (your policy requires the encryption header, so the check did not upload without one)"
        if error_code(error) in _KMS_REFUSALS:
            raise Incorrect(f"an upload to {bucket} fails with {error_code(error)}: {error_message(error)}") from None
        raise
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    finally:
        s3.delete_object(Bucket=bucket, Key=key)
    stored_key = _resolves_to(ctx, head.get("SSEKMSKeyId") or "") if head.get("SSEKMSKeyId") else None
    if head.get("ServerSideEncryption") != "aws:kms" or not stored_key or stored_key["KeyId"] != learner["KeyId"]:
        raise Incorrect(
            f"an upload to {bucket} without encryption headers was stored with "
            f"{head.get('ServerSideEncryption')} and key {head.get('SSEKMSKeyId')}, not with your key"
        )
    return "; a test upload confirms it"


# ---- 8.3 -----------------------------------------------------------------------------


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    statements = policy.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def _about_put_object(statement: dict[str, Any]) -> bool:
    actions = [a.lower() for a in _as_list(statement.get("Action")) if isinstance(a, str)]
    return any(a in ("s3:putobject", "s3:*", "*", "s3:put*") for a in actions)


def _covers_objects(statement: dict[str, Any], bucket: str) -> bool:
    return any(r in ("*", f"arn:aws:s3:::{bucket}/*", "arn:aws:s3:::*") for r in _as_list(statement.get("Resource")))


def policy_mistake(policy: dict[str, Any], bucket: str) -> str | None:
    """What in a bucket policy's text keeps it from ever refusing an upload, or None when the text
    could refuse one: the lab's policy cell says it at once instead of waiting for S3 to apply it."""
    statements = [s for s in _statements(policy) if _about_put_object(s)]
    denies = [s for s in statements if s.get("Effect") == "Deny"]
    if not denies and any(s.get("Effect") == "Allow" for s in statements):
        return (
            "its statement is an Allow: an Allow only grants (and your IAM permissions already allow the upload), "
            "it never refuses anything; use Effect 'Deny' with a condition on what to refuse"
        )
    if denies and not any(_covers_objects(s, bucket) for s in denies):
        resources = sorted({str(r) for s in denies for r in _as_list(s.get("Resource"))})
        return (
            f"the Deny is on {', '.join(resources)}, but PutObject acts on objects: "
            f"Resource must be arn:aws:s3:::{bucket}/* (the bucket ARN alone covers only bucket operations)"
        )
    if not denies:
        return "it has no Deny statement for s3:PutObject"
    return None


def _why_nothing_is_refused(policy: dict[str, Any], bucket: str) -> str:
    """What in the policy's text explains an AES256 upload getting through."""
    return policy_mistake(policy, bucket) or (
        "its Deny's condition does not match an upload that asks for AES256: deny s3:PutObject when "
        "s3:x-amz-server-side-encryption is present and not aws:kms"
    )


def _try_upload(ctx: Context, bucket: str, key: str, **encryption: str) -> str:
    """'stored' or 'refused'; a KMS error becomes an Incorrect naming it."""
    try:
        ctx.client("s3").put_object(Bucket=bucket, Key=key, Body=b"8.3 check", **encryption)
    except ClientError as error:
        if error_code(error) == "AccessDenied":
            return "refused"
        if error_code(error) in _KMS_REFUSALS:
            raise Incorrect(
                f"an upload to {bucket} with {encryption or 'no encryption header'} fails with "
                f"{error_code(error)}: {error_message(error)}"
            ) from None
        raise
    return "stored"


@exercise(
    "8.3",
    "A policy that refuses other encryption",
    solution=SOLUTION,
    hints=(
        "A bucket policy refuses with Effect 'Deny'; the condition key s3:x-amz-server-side-encryption is the encryption "
        "an upload asks for in its header, and it is absent when the upload asks for nothing.",
        "StringNotEquals {'s3:x-amz-server-side-encryption': 'aws:kms'} alone also denies an upload with no header — "
        "which the bucket default of 8.2 would have encrypted with your key. Add Null {...: 'false'} to deny only "
        "uploads that ask for something else, or keep it to require the header from every client.",
        "{'Sid': 'DenyOtherEncryption', 'Effect': 'Deny', 'Principal': '*', 'Action': 's3:PutObject', 'Resource': "
        "f'arn:aws:s3:::{bucket}/*', 'Condition': {'Null': {'s3:x-amz-server-side-encryption': 'false'}, "
        "'StringNotEquals': {'s3:x-amz-server-side-encryption': 'aws:kms'}}}",
    ),
)
def refusing_policy(ctx: Context) -> str:
    bucket = _bucket(ctx)
    s3 = ctx.client("s3")
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except ClientError as error:
        if error_code(error) == "NoSuchBucketPolicy":
            raise NotAttempted(f"{bucket} has no bucket policy yet") from None
        raise
    learner = _require_usable_key(ctx, "8.3")
    run = uuid.uuid4().hex[:12]
    keys = {what: f"checks/8.3-{run}-{what}.txt" for what in ("kms", "none", "aes")}
    outcomes: dict[str, str] = {}
    try:
        outcomes["kms"] = _try_upload(
            ctx, bucket, keys["kms"], ServerSideEncryption="aws:kms", SSEKMSKeyId=learner["Arn"]
        )
        outcomes["aes"] = _try_upload(ctx, bucket, keys["aes"], ServerSideEncryption="AES256")
        outcomes["none"] = _try_upload(ctx, bucket, keys["none"])
        stored_without = s3.head_object(Bucket=bucket, Key=keys["none"]) if outcomes["none"] == "stored" else None
    finally:
        for what, outcome in outcomes.items():
            if outcome == "stored":
                try:
                    s3.delete_object(Bucket=bucket, Key=keys[what])
                except ClientError:
                    pass  # a policy that denies deletes too; the object is the check's own and harmless
    alias = ctx.names.key_alias(KEY)
    if outcomes["kms"] == "refused":
        unconditional = any(
            s.get("Effect") == "Deny" and _about_put_object(s) and not s.get("Condition") for s in _statements(policy)
        )
        raise Incorrect(
            f"{bucket}'s policy also refuses an upload encrypted with your key (aws:kms, {alias})"
            + (
                ": a Deny without a Condition refuses every upload"
                if unconditional
                else ": deny only uploads whose s3:x-amz-server-side-encryption is not aws:kms"
            )
        )
    if outcomes["aes"] == "stored":
        raise Incorrect(
            f"{bucket} took an upload that asked for AES256 (SSE-S3): " + _why_nothing_is_refused(policy, bucket)
        )
    if stored_without is not None:
        key_ref = stored_without.get("SSEKMSKeyId")
        stored_key = _resolves_to(ctx, key_ref) if key_ref else None
        if (
            stored_without.get("ServerSideEncryption") != "aws:kms"
            or not stored_key
            or stored_key["KeyId"] != learner["KeyId"]
        ):
            raise Incorrect(
                f"{bucket} took an upload without an encryption header and stored it with "
                f"{stored_without.get('ServerSideEncryption', 'no encryption')}, not your key: set the "
                "default encryption of 8.2, or make the policy require the header"
            )
        without = "lets an upload without a header through, to be encrypted by the bucket default with your key"
    else:
        without = "refuses an upload without the header too (every client must ask for aws:kms)"
    return f"{bucket} takes uploads encrypted with your key, refuses AES256, and {without}"


# ---- check your understanding ---------------------------------------------------------------

WALKTHROUGH = "notebooks/08_kms_bucket.ipynb"

question(
    "8.q1",
    "Reading an SSE-KMS object",
    asked_in=WALKTHROUGH,
    answer="b",
    why={
        "a": "S3 decrypts on the reader's behalf, with the reader's permissions: it asks KMS to decrypt the object's data "
        "key, and KMS checks kms:Decrypt for the caller.",
        "b": "reading an SSE-KMS object takes s3:GetObject on the object and kms:Decrypt on its key; without the "
        "second, GetObject is refused (AccessDenied).",
        "c": "S3 never hands out the stored ciphertext of a server-side encrypted object: it decrypts, or it refuses.",
    },
    hints=("Who decrypts the object's data key, and whose permission does KMS check?",),
)

question(
    "8.q2",
    "A negated condition and a missing header",
    asked_in=WALKTHROUGH,
    answer="c",
    why={
        "a": "the policy is judged before the default applies, on the request as sent: the request has no header, so the "
        "Deny's condition holds and the upload never reaches the default.",
        "b": "S3 encrypts every new object at least with SSE-S3; and here the upload is refused before anything is "
        "stored.",
        "c": "the condition key s3:x-amz-server-side-encryption is absent, and a negated operator such as "
        "StringNotEquals holds for an absent key, so the Deny refuses the upload; Null: false keeps it in.",
    },
    hints=("Look at the notebook's table: the column 'StringNotEquals alone', the row 'no header'.",),
)

question(
    "8.q3",
    "What an S3 Bucket Key changes",
    asked_in=f"solutions/{SOLUTION}",
    answer="a",
    why={
        "a": "S3 gets a bucket-level key from KMS now and then and derives the objects' data keys from it, so far "
        "fewer requests go to KMS, which lowers the cost of SSE-KMS; objects are still encrypted under your key.",
        "b": "that is dual-layer encryption (aws:kms:dsse), another setting; a Bucket Key changes how often S3 asks KMS, "
        "not how many layers an object has.",
        "c": "the Bucket Key is derived from your KMS key: without the key (disabled or deleted) the objects cannot be "
        "read, Bucket Key or not.",
    },
    hints=("What did S3 do for every object before Bucket Keys: how many KMS requests per upload?",),
)

question(
    "8.q4",
    "A key pending deletion",
    asked_in=f"solutions/{SOLUTION}",
    answer="b",
    why={
        "a": "a key pending deletion cannot be used in any cryptographic operation: objects under it are unreadable "
        "from the moment the deletion is scheduled.",
        "b": "during the waiting period (7 to 30 days) the key cannot be used, and cancel_key_deletion brings it "
        "back (disabled, so enable it again); once the period is over the key is gone, and every object encrypted "
        "under it is unreadable for good.",
        "c": "KMS never deletes a customer-managed key at once: ScheduleKeyDeletion always waits 7 to 30 days, the "
        "window for a change of mind.",
    },
    hints=("ScheduleKeyDeletion takes PendingWindowInDays: what can still happen during those days?",),
)
