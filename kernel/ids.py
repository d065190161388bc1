"""Item and batch ids: names the pipeline builds folders, storage keys and bag names from.

An id is used as a path segment everywhere (`<work>/<batch_id>/<item_id>/`, the quarantine,
`items/<item_id>/v0001/` in storage), so it is a constrained type rather than a plain string:
a value that could name a path — `..`, `a/b`, `/etc`, an empty string, a control character —
cannot be an `ItemId` or a `BatchId`, and therefore can never reach an `Item` or a `Batch`.
`ingest.manifest` reports a bad id as an error on its row; it never builds an item from it.

The pattern is deliberately narrow (ASCII letters, digits, `.`, `_`, `-`; not starting with a
dot; at most 64 characters): ids travel into S3 keys, BagIt tag values, OAI identifiers and
URLs, where anything wider needs escaping somewhere. Titles and file names carry the scripts.
"""

import re
from typing import Annotated

from pydantic import AfterValidator

from kernel.errors import InvalidId

ID_PATTERN = re.compile(r"^(?!\.)[A-Za-z0-9._-]{1,64}$")
ID_RULE = "1–64 characters of A-Z a-z 0-9 . _ - (and may not start with a dot)"


def is_valid_id(value: object) -> bool:
    """True when `value` is a string that may be an item or batch id."""
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


def check_id(value: object, what: str = "item_id") -> str:
    """Return `value` unchanged if it is a valid id; raise InvalidId naming `what` otherwise."""
    if not is_valid_id(value):
        raise InvalidId(f"{what} {value!r} is not {ID_RULE}")
    return value


def _item_id(value: str) -> str:
    return check_id(value, "item_id")


def _batch_id(value: str) -> str:
    return check_id(value, "batch_id")


# Pydantic fields of these types refuse a bad id at construction (and, with
# validate_assignment, at assignment): a model holding one cannot exist.
ItemId = Annotated[str, AfterValidator(_item_id)]
BatchId = Annotated[str, AfterValidator(_batch_id)]
