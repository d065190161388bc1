"""Text normalisation shared by the metadata builders."""

import unicodedata
from datetime import datetime, timezone


def nfc(text: str) -> str:
    """`text` in Unicode NFC: the form every string takes in the XML we write.

    File names scanned on macOS arrive decomposed (NFD); without this the same Arabic or Chinese
    name would compare unequal across METS, PREMIS, the bag manifest and the portals' search.
    """
    return unicodedata.normalize("NFC", text)


def iso_utc(when: datetime) -> str:
    """`when` as an xs:dateTime in UTC with a "Z" suffix.

    A naive datetime is refused (ValueError): a preservation record whose time zone is a guess is
    worse than none, and converting to UTC is what makes two runs on two workers write the same
    bytes for the same instant.
    """
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"timestamp {when.isoformat()} has no time zone; pass an aware datetime")
    return when.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
