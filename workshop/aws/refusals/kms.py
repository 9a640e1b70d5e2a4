"""What KMS refuses: key policies."""

from __future__ import annotations

from workshop.aws.refusals.common import Refusal, json_object, strings

__all__ = ["kms_key_policy"]


def kms_key_policy(policy: str) -> Refusal | None:
    """A key policy must be a policy document: https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html
    (MalformedPolicyDocumentException: "the specified policy is not syntactically or semantically correct")."""

    def malformed(reason: str) -> Refusal:
        return Refusal("MalformedPolicyDocumentException", reason)

    document = json_object(policy)
    if document is None:
        return malformed("The policy is not valid JSON.")
    statements = document.get("Statement")
    if not statements:
        return malformed("Policy is missing required element - Statement")
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict):
            return malformed("Policy contains a statement that is not a JSON object.")
        if statement.get("Effect") not in ("Allow", "Deny"):
            return malformed(f"Policy contains an invalid Effect: {statement.get('Effect')}")
        if "Principal" not in statement and "NotPrincipal" not in statement:
            return malformed("Policy contains a statement with no principal.")
        if not strings(statement.get("Action", statement.get("NotAction"))):
            return malformed("Policy contains a statement with no action.")
    return None
