"""The one way to build a path from an id or a name: `inside(base, *parts)`.

Every folder the pipeline writes or deletes under (work, quarantine, reports, received partner
bags) is named in part by data that came from outside: a manifest's item ids, a batch folder's
name, a page's file name, a partner bag's manifest. Joining such a value onto a base folder
with `/` is how `../../victim` or `/etc` becomes a deletion outside the work folder, so each
such join goes through `inside`, which resolves the result (symbolic links included) and
refuses anything that is not strictly below the base. Ids are already constrained types
(kernel.ids); this is the second, independent line, and the one that covers names.
"""

from pathlib import Path, PurePosixPath

from kernel.errors import UnsafePath


def inside(base: Path | str, *parts: str) -> Path:
    """`base / part / …`, refusing a result that is not strictly inside `base`.

    Each part may be one name or a relative POSIX path ("ar-1/0001.tif"). Raises UnsafePath
    (naming the base and the offending parts) for an empty, absolute or NUL-containing part,
    or when the joined path — after resolving `..` and symbolic links — is outside `base` or is
    `base` itself (an `rmtree` of the result must never remove the base folder). Returns the
    joined path unresolved, so messages and records keep the configured spelling.
    """
    base = Path(base)
    shown = "/".join(str(p) for p in parts)
    if not parts:
        raise UnsafePath(f"no name given to build a path under {base}")
    for part in parts:
        text = str(part)
        if not text or "\x00" in text or PurePosixPath(text).is_absolute() or \
                Path(text).is_absolute():
            raise UnsafePath(f"refusing path {shown!r}: each part must be a non-empty relative "
                             f"name (under {base})")
    joined = base.joinpath(*(str(p) for p in parts))
    root = base.resolve()
    target = joined.resolve()
    if target == root or not target.is_relative_to(root):
        raise UnsafePath(f"refusing path {shown!r}: it leads to {target}, outside {base}")
    return joined
