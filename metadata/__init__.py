"""Descriptive, technical, rights and preservation metadata of an item: MODS, MIX, PREMIS, METS.

`mods.build_mods`, `mix.build_mix`, `premis.build_premis` / `build_rights` and `mets.build_mets`
build the records; `validate` checks them offline against the official XSDs packaged in
`schemas/`; `reader.read_package` reads one of our packages back into the item model
(docs/package-format.md describes the format).
"""
