"""The agents named in a METS header: the two partner libraries and the software that wrote it.

The partners are data, not code (`config/partners.json`, or the file CADL_PARTNERS_FILE names in
a deployment), so a change of name or role is a config change. Each partner has its name in Chinese, Arabic and English: METS allows one `name` per
agent, so the English name goes there (the form both portals and outside harvesters can read) and
the Chinese and Arabic names follow as `note`s carrying `xml:lang`.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from kernel.errors import ConfigError

PARTNERS_FILE = Path(__file__).resolve().parents[1] / "config" / "partners.json"


def partners_file() -> Path:
    """The partners file in force: CADL_PARTNERS_FILE (default config/partners.json)."""
    from kernel.settings import get_settings

    return get_settings().partners_file

ROLES = ("CREATOR", "EDITOR", "ARCHIVIST", "PRESERVATION", "DISSEMINATOR", "CUSTODIAN", "IPOWNER",
         "OTHER")
TYPES = ("INDIVIDUAL", "ORGANIZATION", "OTHER")


@dataclass(frozen=True)
class MetsAgent:
    """One `mets:agent` of the METS header."""

    role: str  # one of ROLES
    type: str  # one of TYPES
    name: str
    other_type: str | None = None  # with type "OTHER", e.g. "SOFTWARE"
    other_role: str | None = None  # with role "OTHER"
    notes: tuple[tuple[str, str], ...] = ()  # (BCP 47 tag or "", text), e.g. other-language names

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"METS agent role {self.role!r} is not one of {', '.join(ROLES)}")
        if self.type not in TYPES:
            raise ValueError(f"METS agent type {self.type!r} is not one of {', '.join(TYPES)}")


def load_partners(path: Path | None = None) -> list[MetsAgent]:
    """The partner libraries as METS agents, in file order (default `config/partners.json`).

    Each entry needs `name_en`, `name_zh`, `name_ar` and a METS `role`. Raises ConfigError naming
    the file and the entry when one is missing or malformed.
    """
    path = path or partners_file()
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read partner agents from {path}: {exc}") from None
    agents = []
    for key, entry in data.items():
        try:
            agents.append(MetsAgent(
                role=entry["role"],
                type="ORGANIZATION",
                name=entry["name_en"],
                notes=(("zh-Hans", entry["name_zh"]), ("ar", entry["name_ar"])),
            ))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"{path}: partner {key!r} needs name_en, name_zh, name_ar and a METS role "
                f"({', '.join(ROLES)}): {exc}"
            ) from None
    return agents


def software_agent(name: str, version: str) -> MetsAgent:
    """The program that wrote the METS file, with its version, as METS records software."""
    return MetsAgent(role="CREATOR", type="OTHER", other_type="SOFTWARE", name=name,
                     notes=(("", f"version {version}"),))


def holding_partner(item, partners) -> str:
    """The key of the partner that holds `item` (any mapping or collection of partner keys): its
    `partner` manifest column when that names a partner, else the partner whose portal serves
    the item's primary language (an Arabic book is King Fahd National Library's, a Chinese one
    the National Library of China's). Used by PREMIS, IIIF `provider` and the DFG `dv:rights`."""
    keys = list(partners)
    named = item.extra.get("partner", "").strip()
    if named in keys:
        return named
    base = item.primary_language.split("-")[0]
    return base if base in keys else keys[0]


def partner_entries(path: Path | None = None) -> dict[str, dict]:
    """{partner key: its config/partners.json entry}; ConfigError naming the file if unreadable."""
    import json

    path = path or partners_file()
    try:
        data = json.loads(Path(path).read_text("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("expected an object keyed by partner")
        return data
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read partners from {path}: {exc}") from None


# --- the same people and organisations as PREMIS agents ------------------------------------------
# One place builds them, so the METS of an item, its deposit, replica, rights-change, audit and
# review records name the same partner, library and person with the same identifier, and a
# reader of the package history can tell who acted on the item across all of them.

def partner_premis_agent(key: str, entry: dict):
    """The partner library `key` (a partners file entry) as a PREMIS organization agent:
    id `partner-<key>`, its English name, its Arabic and Chinese names in the note."""
    from metadata.premis import Agent

    return Agent(f"partner-{key}", entry["name_en"], "organization",
                 note=f"{entry['name_ar']} · {entry['name_zh']}")


def library_premis_agent(source_organization: str):
    """The library that keeps the preservation copies (CADL_SOURCE_ORGANIZATION), as a PREMIS
    organization agent: who is responsible for deposit, replica and fixity audits."""
    from metadata.premis import Agent

    return Agent("library", source_organization, "organization",
                 note="keeps the preservation copies (CADL_SOURCE_ORGANIZATION)")


def person_id(name: str) -> str:
    """A stable local identifier for a person: the same name always gives the same id."""
    import uuid

    from metadata.text import nfc

    return "person:" + str(uuid.uuid5(uuid.NAMESPACE_URL, "cadl-person:" + nfc(name).casefold()))


def person_premis_agent(name: str, note: str | None = None):
    """A person (reviewer, technician, operator) as a PREMIS agent of type person, with the
    stable id of `person_id`: the same name is the same agent in every record."""
    from metadata.premis import Agent
    from metadata.text import nfc

    if not name or not name.strip():
        raise ValueError("a person agent needs a name")
    return Agent(person_id(name), nfc(name.strip()), "person", note=note)


def software_premis_agent(module: str, version: str):
    """The pipeline's own code that acted, as a PREMIS software agent with its version."""
    from metadata.premis import Agent

    return Agent(f"cadl-{module.rsplit('.', 1)[-1]}", f"cadl ({module})", "software",
                 version=version)


def item_premis_agents(item, settings) -> list:
    """Who stands behind an action on `item` besides the code: the partner library that holds
    it (holding_partner, from the partners file CADL_PARTNERS_FILE), the library that keeps the
    preservation copies (CADL_SOURCE_ORGANIZATION), and the person who operated the pipeline
    when one is named: the manifest row's `operator` column, else CADL_OPERATOR."""
    partners = partner_entries(settings.partners_file)
    holder = holding_partner(item, partners)
    agents = [partner_premis_agent(holder, partners[holder]),
              library_premis_agent(settings.source_organization)]
    operator = (item.extra.get("operator") or "").strip() or (settings.operator or "").strip()
    if operator:
        agents.append(person_premis_agent(operator, note="operator (technician)"))
    return agents
