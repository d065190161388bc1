"""Between ingest and metadata: fill items' descriptions from their catalogue records (issue 18).

Ingest finds and reads the records; mapping them to MODS is metadata's, and a stage may not
import a later one, so the application layer joins the two right after validation.
"""

from ingest.models import ValidationReport


def describe_from_records(report: ValidationReport) -> ValidationReport:
    """Fill each item's empty description cells from its catalogue record (issue 18).

    Ingest found and read the records; mapping them is metadata's (metadata.catalogue), so it
    runs here, between the two. A record that cannot be mapped, or gives no title, is an error
    of its item, which is then quarantined like any invalid item.
    """
    from ingest.manifest import MANIFEST
    from metadata.catalogue import apply_record

    for item in report.batch.items if report.batch else []:
        if item.catalogue_record is None:
            continue
        try:
            apply_record(item)
        except Exception as exc:  # noqa: BLE001 - any mapping failure is this item's problem
            report.add("error", MANIFEST, f"catalogue record {item.record!r} cannot be mapped "
                       f"to MODS: {type(exc).__name__}: {exc}", row=item.row,
                       item_id=item.item_id)
            continue
        if not item.title:
            report.add("error", MANIFEST, f"catalogue record {item.record!r} has no title "
                       "(MARC 21 245, UNIMARC 200): fill the title column", row=item.row,
                       item_id=item.item_id)
    if report.batch:
        from ingest.serials import refresh_ancestor_titles

        refresh_ancestor_titles(report.batch.items)
    return report
