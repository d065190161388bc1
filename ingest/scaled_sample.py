"""Larger sample batches for load tests and benchmarks: the sample's items repeated to N pages.

Copies keep every page byte-identical and get their own item ids, so each copy is a separate
item to the pipeline (its own OCR, bag and version), and its ground truth is the original's.
"""

import csv
import io
import shutil
import tempfile
from pathlib import Path

from ingest.sample import write_sample


def write_scaled_sample(out_dir: Path, batch_id: str, pages: int) -> tuple[Path, Path]:
    """Write a batch of at least `pages` pages at `out_dir/<batch_id>/` (ground truth beside it).

    Items are taken round-robin from the sample and named `<sample item id>-<copy number>`.
    Raises FileExistsError when the batch folder already exists.
    """
    out_dir = Path(out_dir)
    batch_dir, gt_dir = out_dir / batch_id, out_dir / f"{batch_id}.ground-truth"
    batch_dir.mkdir(parents=True, exist_ok=False)
    with tempfile.TemporaryDirectory() as tmp:
        base, base_gt = write_sample(Path(tmp), "base")
        text = (base / "manifest.csv").read_text("utf-8")
        reader = csv.DictReader(io.StringIO(text))
        rows = list(reader)
        sizes = {r["item_id"]: len(list((base / r["item_id"]).iterdir())) for r in rows}
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=reader.fieldnames, lineterminator="\n")
        writer.writeheader()
        total, copy = 0, 0
        while total < pages:
            copy += 1
            for row in rows:
                if total >= pages:
                    break
                new_id = f"{row['item_id']}-{copy:04d}"
                shutil.copytree(base / row["item_id"], batch_dir / new_id)
                shutil.copytree(base_gt / row["item_id"], gt_dir / new_id)
                writer.writerow({**row, "item_id": new_id})
                total += sizes[row["item_id"]]
        (batch_dir / "manifest.csv").write_text(out.getvalue(), "utf-8")
    (batch_dir / "READY").touch()
    return batch_dir, gt_dir
