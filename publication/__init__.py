"""Publication to the two portals: access packages, IIIF manifests, search JSON, change feeds,
OAI-PMH, per-portal rights and embargo. It reads what preservation stored and never changes it."""
