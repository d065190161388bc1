"""Embargo lifting: republish or withdraw items whose portals changed since they were published.

An embargo date passes, or a rights override (`publication.rights`) opens or withdraws an item,
without any new batch. The daily `lift_embargoes` DAG calls `lift_embargoes`, which reads every
publication record, compares its portals with today's rights and runs `publication.access`'s
publish again where they differ. It sits above `access` and `rights` (access applies the overrides
and writes the records itself), so the three import one way only.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from kernel.paths import inside
from kernel.settings import Settings
from preservation.backends import open_storage
from publication.access import publish_preserved
from publication.rights import due_changes, load_overrides, read_records

log = logging.getLogger(__name__)


def lift_embargoes(settings: Settings, today: dt.date, scratch: Path) -> dict:
    """Republish or withdraw every item whose portals changed since it was last published.

    Returns {"checked": n, "changed": [{item_id, before, after, status}], "failed": [...]}.
    An item that fails (its preserved copy unreadable, say) is reported and the others go on;
    the caller rebuilds the catalogue and feeds afterwards.
    """
    preservation = open_storage(settings.preservation_url, settings)
    records = read_records(preservation)
    overrides = load_overrides(settings.rights_overrides)
    changed, failed = [], []
    for change in due_changes(records, overrides, today):
        record = change["record"]
        try:
            outcome = publish_preserved(change["item"], record["batch_id"], record["deposit"],
                                        record["fingerprint"], inside(scratch, change["item_id"]),
                                        settings, today)
        except Exception as exc:  # noqa: BLE001 - one bad item must not hold back the others
            log.exception("could not republish %s", change["item_id"])
            failed.append({"item_id": change["item_id"], "error": str(exc)})
            continue
        log.info("%s: portals %s → %s (%s)", change["item_id"], change["before"],
                 change["after"], outcome["status"])
        changed.append({"item_id": change["item_id"], "before": change["before"],
                        "after": change["after"], "status": outcome["status"]})
    return {"checked": len(records), "changed": changed, "failed": failed}
