"""Text that reaches a technician's terminal: the one place where it is made harmless.

File names, titles and OCR text come from scanners, partners and catalogues. Printed raw, an
ESC sequence in a file name can clear lines or rewrite what the screen shows, a carriage return
can overwrite a warning with something innocent, and a bidi override (U+202E) can make
`evil‮txt.exe` read as `evilexe.txt`. `terminal_safe` shows each such character visibly
instead: C0 and C1 control characters and DEL as `\\x1b`, the bidi embedding, override and
isolate controls (U+202A–U+202E, U+2066–U+2069) as `<U+202E>`, and undecodable bytes of a file
name (surrogate escapes) as `\\xff`. Everything else, Arabic and Chinese included, prints as
itself; right-to-left text still displays right to left, because that comes from the letters,
not from these controls.
"""

from __future__ import annotations

import json
import re

_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\\x00-\\x1f\\x7f-\\x9f{_BIDI_CONTROLS}\\udc80-\\udcff]")
_UNSAFE_KEEP_LINES = re.compile(f"[\\x00-\\x09\\x0b-\\x1f\\x7f-\\x9f{_BIDI_CONTROLS}"
                                "\\udc80-\\udcff]")
_JSON_UNSAFE = re.compile(f"[{_BIDI_CONTROLS}\\ud800-\\udfff]")


def _show(match: re.Match) -> str:
    char = match.group()
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's stand-in for a byte that is not UTF-8
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"<U+{code:04X}>"


def terminal_safe(text: str, keep_newlines: bool = False) -> str:
    """`text` with every control, escape and bidi-override character shown escaped.

    With `keep_newlines`, line feeds stay (for a multi-line report printed whole); a carriage
    return is always escaped, since it lets the rest of a line overwrite its start.
    """
    pattern = _UNSAFE_KEEP_LINES if keep_newlines else _UNSAFE
    return pattern.sub(_show, text)


def terminal_json(value) -> str:
    """JSON for stdout: control characters are already \\u-escaped by json; bidi controls
    (and lone surrogates) are escaped the same way, so the document means the same and cannot
    reorder a screen."""
    text = json.dumps(value, ensure_ascii=False, indent=2)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
