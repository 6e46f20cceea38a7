"""The one error type that crosses the edge of previ.

Library code raises :class:`PreviError` for anything a user can fix (a bad file,
a wrong option, a config key that does not exist). The command line turns it
into one readable line on stderr and exit code 2; the service turns it into an
HTTP 422. Anything else is a bug and is allowed to show a traceback.
"""

from __future__ import annotations


class PreviError(Exception):
    """A problem with the user's input, described in words they can act on.

    ``lines`` holds one message per problem so that validation can report every
    problem at once; ``str(error)`` joins them.
    """

    def __init__(self, *lines: str) -> None:
        if not lines:
            raise ValueError("PreviError needs at least one message")
        self.lines: tuple[str, ...] = tuple(lines)
        super().__init__("\n".join(self.lines))
