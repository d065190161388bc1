"""Build small batches for validation tests: a manifest and tiny real page images."""

import csv
import io
from pathlib import Path

from PIL import Image

HEADER = ["item_id", "languages", "title", "rights", "reading_direction"]


def page_bytes(fmt: str = "PNG", size=(60, 80)) -> bytes:
    buf = io.BytesIO()
    Image.new("L", size, 255).save(buf, format=fmt, dpi=(300, 300))
    return buf.getvalue()


def make_batch(root: Path, rows: list[dict], pages: dict[str, dict[str, bytes]] | None = None,
               batch_id: str = "batch-001", ready: bool = True,
               header: list[str] | None = None) -> Path:
    """Write `root/batch_id` with a manifest of `rows` and, per item, the given page files.

    Items without an entry in `pages` get two PNG pages.
    """
    batch = root / batch_id
    batch.mkdir(parents=True)
    header = header or list(dict.fromkeys(HEADER + [k for r in rows for k in r]))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header)
    writer.writeheader()
    writer.writerows(rows)
    (batch / "manifest.csv").write_text(out.getvalue(), "utf-8")
    pages = pages or {}
    for row in rows:
        files = pages.get(row["item_id"], {"0001.png": page_bytes(), "0002.png": page_bytes()})
        if files is None:
            continue
        (batch / row["item_id"]).mkdir(exist_ok=True)
        for name, data in files.items():
            (batch / row["item_id"] / name).write_bytes(data)
    if ready:
        (batch / "READY").write_bytes(b"")
    return batch
