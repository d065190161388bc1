"""Descriptive, preservation and structural metadata of an item: MODS, PREMIS, METS.

`mods.build_mods`, `premis.build_premis` and `mets.build_mets` build the records;
`validate` checks them offline against the official XSDs packaged in `schemas/`;
`reader.read_mets` reads our own METS back.
"""
