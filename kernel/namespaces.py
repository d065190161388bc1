"""The one namespace map every metadata builder and reader uses.

Builders declare all prefixes on their root element from this map, so an embedded record (MODS or
PREMIS inside METS) never redeclares them and a prefix means the same thing in every file we write.
"""

METS = "http://www.loc.gov/METS/"
MODS = "http://www.loc.gov/mods/v3"
PREMIS = "http://www.loc.gov/premis/v3"
MIX = "http://www.loc.gov/mix/v20"
ALTO = "http://www.loc.gov/standards/alto/ns-v4#"
XLINK = "http://www.w3.org/1999/xlink"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML = "http://www.w3.org/XML/1998/namespace"
# Our own namespace, for the manifest columns MODS has no element for (kept in mods:extension).
CADL = "urn:cadl:manifest"

NSMAP: dict[str, str] = {
    "mets": METS,
    "mods": MODS,
    "premis": PREMIS,
    "mix": MIX,
    "xlink": XLINK,
    "xsi": XSI,
    "cadl": CADL,
}

# Where each schema is published; the catalog maps these URLs to the copies in metadata/schemas.
SCHEMA_LOCATIONS: dict[str, str] = {
    METS: "http://www.loc.gov/standards/mets/mets.xsd",
    MODS: "http://www.loc.gov/standards/mods/v3/mods-3-8.xsd",
    PREMIS: "http://www.loc.gov/standards/premis/v3/premis.xsd",
    MIX: "http://www.loc.gov/standards/mix/mix.xsd",
}


def qname(namespace: str, local: str) -> str:
    """Clark notation `{namespace}local`, the form lxml uses for tags and attribute names."""
    return f"{{{namespace}}}{local}"


def schema_location(*namespaces: str) -> str:
    """An `xsi:schemaLocation` value naming the published schema of each namespace, in order."""
    return " ".join(f"{ns} {SCHEMA_LOCATIONS[ns]}" for ns in namespaces)
