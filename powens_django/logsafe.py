"""Text from outside made safe for one log line.

Powens' answers, callback parameters, webhook bodies and what people type can hold
newlines (a forged second log line), terminal escapes, bidi overrides or megabytes.
:func:`printable` turns any such value into one bounded line that says what it held.
Pure Python, no Django: the client uses it too.
"""

from __future__ import annotations

import unicodedata

__all__ = ["printable"]

#: What marks a value cut at ``limit``.
CUT = "[...]"

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}
# Control (Cc), format (Cf: bidi overrides, zero-width), surrogate (Cs), line and
# paragraph separator (Zl, Zp) characters: all can break or disguise a log line.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    if unicodedata.category(char) not in _ESCAPED_CATEGORIES:
        return char
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(value: object, limit: int = 200) -> str:
    """``value`` as one log line of at most ``limit`` characters.

    Control, format and separator characters are escaped as ``\\n``, ``\\x1b``,
    ``\\u202e``... (and a backslash as ``\\\\``, so an escape in the output always means
    one in the input); text longer than ``limit`` once escaped is cut and ends with
    ``[...]``. ``None`` gives ``""``, bytes are decoded as UTF-8 (bad bytes escaped),
    anything else goes through ``str()``.
    """
    if limit < len(CUT) + 1:
        raise ValueError(f"limit must be at least {len(CUT) + 1}")
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray):
        text = bytes(value).decode("utf-8", errors="backslashreplace")
    else:
        text = value if isinstance(value, str) else str(value)
    pieces: list[str] = []
    size = 0
    for char in text:
        piece = _escape(char)
        if size + len(piece) > limit:
            break
        pieces.append(piece)
        size += len(piece)
    else:
        return "".join(pieces)
    # Cut: drop whole pieces (never half an escape) until the mark fits.
    while pieces and size + len(CUT) > limit:
        size -= len(pieces.pop())
    return "".join(pieces) + CUT
