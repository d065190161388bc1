"""Preservation and access storage: BagIt bags, verified versioned deposits, published items.

`storage` is the one interface (folder or S3 backend), `bag` builds and validates BagIt 1.0 bags,
`deposit` stores a bag as a verified, immutable version, `publish` maintains the access location
the portals read. Nothing here imports Airflow at module level.
"""
