"""Pseudonymised youth ids for the audit log and feedback: HMAC-SHA256 under a local secret key.

The log must let an auditor follow one young person's file ("who looked at this
person, and why?") without holding the id itself: a keyed hash gives the same
pseudonym for the same id, and without the key nobody can test guesses against
it (a plain hash of a short id could be reversed by trying every id).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path
from typing import NewType

from previ.atomic import atomic_file
from previ.errors import PreviError
from service.database import check_private

__all__ = ["Pseudonym", "Pseudonymizer", "load_key"]

Pseudonym = NewType("Pseudonym", str)
MIN_KEY_BYTES = 16
SHORT_KEY = "{what}: {source} holds {size} bytes; use at least {minimum} random bytes"


class Pseudonymizer:
    """Maps a youth id to its pseudonym; the key never leaves this object."""

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise PreviError(
                SHORT_KEY.format(what="pseudonym key", source="the key", size=len(key), minimum=MIN_KEY_BYTES)
            )
        self._key = key

    def __call__(self, youth_id: str) -> Pseudonym:
        digest = hmac.new(self._key, youth_id.encode("utf-8"), hashlib.sha256).hexdigest()
        return Pseudonym(digest[:32])

    def __repr__(self) -> str:
        return "Pseudonymizer(key=***)"


def load_key(secret: str | None, key_file: Path, *, what: str = "pseudonym key") -> bytes:
    """The key from ``secret`` (the environment) if given, else from ``key_file``, created if absent.

    A created file holds 32 random bytes (hex) and is readable by its owner only;
    an existing file that other users may read is refused (PreviError naming it).
    """
    if secret:
        key = secret.encode("utf-8")
        if len(key) < MIN_KEY_BYTES:
            raise PreviError(
                SHORT_KEY.format(
                    what=what,
                    source=f"PREVI_{what.split()[0].upper()}_KEY",
                    size=len(key),
                    minimum=MIN_KEY_BYTES,
                )
            )
        return key
    key_file = Path(key_file)
    if not key_file.exists():
        with atomic_file(key_file) as temporary:
            temporary.write_text(secrets.token_hex(32) + "\n", encoding="ascii")
            temporary.chmod(0o600)
    check_private(key_file, what=what)
    text = key_file.read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = text.encode("ascii")
    if len(key) < MIN_KEY_BYTES:
        raise PreviError(
            SHORT_KEY.format(what=what, source=str(key_file), size=len(key), minimum=MIN_KEY_BYTES)
        )
    return key
