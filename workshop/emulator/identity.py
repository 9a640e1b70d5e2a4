"""Who is calling a shared emulator: the instructor, a participant, or a participant's handler.

On a laptop the emulator serves its one learner and asks nobody who they are. Served to a room,
every AWS request must be signed (SigV4) with a key the emulator knows, as AWS itself requires:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html

- the instructor's key (id :data:`INSTRUCTOR_ACCESS_KEY`, secret = the admin token, which only the
  instructor's user can read) sees the whole class;
- a participant's key is an IAM user's access key that class setup created through IAM's own API,
  tagged with the participant's prefix; that participant reaches only their own resources;
- a handler signs with its function's key, made here for each function (as Lambda hands a
  function its role's temporary credentials) and never stored: it reaches what its owner reaches.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from workshop.aws import sigv4
from workshop.core.launcher import INSTRUCTOR_ACCESS_KEY
from workshop.core.naming import TAG_KEY

__all__ = ["Caller", "Identities", "INSTRUCTOR"]

# What a participant's IAM user carries (class setup tags it, teardown finds it by it).
PARTICIPANT_TAG = TAG_KEY


@dataclass(frozen=True)
class Caller:
    """``prefix`` None: the instructor, who may reach everything."""

    access_key: str
    prefix: str | None


INSTRUCTOR = Caller(INSTRUCTOR_ACCESS_KEY, None)

KeyLookup = Callable[[str], "tuple[str, str, dict[str, str]] | None"]


class Identities:
    """Maps a signed request to its caller, or says (as AWS's error code) why it cannot."""

    def __init__(self, instructor_secret: str, participant_key: KeyLookup, owner: Callable[[str], str | None]) -> None:
        self._instructor_secret = instructor_secret
        self._participant_key = participant_key
        self._owner = owner  # a resource name's participant (the longest prefix it starts with)
        self._function_keys: dict[str, tuple[str, str]] = {}  # access key -> (function name, secret)
        self._lock = threading.Lock()

    def function_credentials(self, function_name: str) -> tuple[str, str]:
        """The key a function's handler signs with: derived from the instructor's secret, so it
        is the same for every worker of the function and unguessable without that secret. It
        reaches what the function's owner reaches, judged at each call (a participant registered
        after the worker started still owns it); a function no participant owns is the
        instructor's, as only the instructor can name one so."""

        def derive(purpose: str) -> str:
            message = f"{purpose}:{function_name}".encode()
            return hmac.new(self._instructor_secret.encode(), message, hashlib.sha256).hexdigest()

        access_key, secret = "ASIA" + derive("function")[:16].upper(), derive("secret")
        with self._lock:
            self._function_keys[access_key] = (function_name, secret)
        return access_key, secret

    def identify(self, environ: Mapping[str, Any], body: bytes) -> Caller | str:
        """The caller, or the error code AWS answers a request it cannot attribute."""
        scope = sigv4.credential_scope(environ)
        if scope is None:
            return "MissingAuthenticationToken"
        access_key = scope.access_key
        function_key = self._function_keys.get(access_key)
        if access_key == INSTRUCTOR_ACCESS_KEY:
            secret, caller = self._instructor_secret, INSTRUCTOR
        elif function_key is not None:
            caller, secret = Caller(access_key, self._owner(function_key[0])), function_key[1]
        else:
            found = self._participant_key(access_key)
            if found is None or not found[2].get(PARTICIPANT_TAG):
                return "InvalidClientTokenId"
            _, secret, tags = found
            caller = Caller(access_key, tags[PARTICIPANT_TAG])
        return sigv4.signature_problem(environ, body, secret) or caller
