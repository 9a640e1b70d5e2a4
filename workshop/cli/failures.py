"""The errors a person can fix, as one clear line on stderr and an exit code instead of a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable

import botocore.exceptions

from workshop.core.errors import WorkshopError

__all__ = ["EXIT_INTERRUPTED", "EXIT_USAGE", "reported"]

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def reported(command: Callable[[], int]) -> int:
    """Run ``command`` and return its exit code; an error a person can fix is one line on stderr."""
    try:
        return command()
    except WorkshopError as error:
        print(f"error: {error}", file=sys.stderr)
    except botocore.exceptions.NoCredentialsError:
        print("error: no AWS credentials found: run 'aws configure' or set AWS_PROFILE.", file=sys.stderr)
    except botocore.exceptions.EndpointConnectionError as error:
        print(f"error: cannot reach {error.kwargs.get('endpoint_url', 'the endpoint')}.", file=sys.stderr)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_USAGE
