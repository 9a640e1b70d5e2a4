"""What AWS's Python runtime provides besides the standard library: the one list that deploy
(what never goes into a package) and the emulator's runtime (what a handler may import) read.

"Your code runs in an environment that includes the SDK for Python (Boto3)"
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html): boto3 and the packages it
needs, and the runtime interface client that runs the handler. Anything else a handler imports
comes with its deployment package or a layer.
"""

from __future__ import annotations

__all__ = ["PROVIDED_DISTRIBUTIONS", "PROVIDED_MODULES"]

# distribution name (as pip knows it) -> the top-level modules it installs
_PROVIDED = {
    "boto3": ("boto3",),
    "botocore": ("botocore",),
    "s3transfer": ("s3transfer",),
    "jmespath": ("jmespath",),
    "python-dateutil": ("dateutil",),
    "urllib3": ("urllib3",),
    "six": ("six",),
    "awslambdaric": ("awslambdaric",),
}
PROVIDED_DISTRIBUTIONS = frozenset(_PROVIDED)
PROVIDED_MODULES = frozenset(module for modules in _PROVIDED.values() for module in modules)
