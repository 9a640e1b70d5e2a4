"""What Lambda refuses in a function's configuration and deployment package."""

from __future__ import annotations

import io
import zipfile
from typing import Any, Final

from workshop.aws.refusals.common import Refusal, integer

__all__ = ["FUNCTION_MEMORY_MB", "FUNCTION_UNZIPPED_BYTES", "function_code", "function_memory_size"]

# "Function memory allocation: 128 MB to 10,240 MB, in 1-MB increments"
# (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html; MemorySize's valid range in
# https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html#lambda-CreateFunction-request-MemorySize).
FUNCTION_MEMORY_MB: Final = (128, 10240)
# "Deployment package (.zip file archive) size: 250 MB (unzipped)", the code and its layers
# (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): 250 MiB, 262144000 bytes.
FUNCTION_UNZIPPED_BYTES: Final = 250 * 1024 * 1024


def function_memory_size(value: Any) -> Refusal | None:
    """MemorySize of a CreateFunction or UpdateFunctionConfiguration (None: not in the request).
    Lambda's message, ValidationException with status 400, names the bound the value crossed."""
    if value is None:
        return None
    low, high = FUNCTION_MEMORY_MB
    size = integer(value)
    if size is not None and low <= size <= high:
        return None
    bound = f"greater than or equal to {low}" if size is None or size < low else f"less than or equal to {high}"
    return Refusal(
        "ValidationException", f"'MemorySize' value failed to satisfy constraint: Member must have value {bound}"
    )


def function_code(zip_bytes: bytes) -> Refusal | None:
    """A deployment package whose files add up to more than the unzipped quota. The sizes are the
    ones the archive declares, which are what extracting it writes (Python's zipfile stops a member
    at its declared size)."""
    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            unzipped = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        return None  # not a zip: a refusal of its own, not this one
    if unzipped <= FUNCTION_UNZIPPED_BYTES:
        return None
    return Refusal(
        "InvalidParameterValueException", f"Unzipped size must be smaller than {FUNCTION_UNZIPPED_BYTES} bytes"
    )
