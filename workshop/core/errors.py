"""The one exception type whose message is meant for a person, not a traceback."""


class WorkshopError(Exception):
    """A problem the user can fix; command-line tools print its message as one line."""
