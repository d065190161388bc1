"""A real deployment never publishes a placeholder: partner URLs, the contact address and the
BagIt profile URI come from the settings it sets (CADL_PARTNERS_FILE, CADL_CONTACT_EMAIL,
CADL_ACCESS_BASE_URL); a development run (loopback or file://) keeps the shipped, clearly
marked .invalid defaults."""

import json

import pytest

from kernel.deployment import is_development, is_placeholder
from kernel.errors import ConfigError
from kernel.settings import Settings
from metadata.agents import PARTNERS_FILE
from publication.portal_files import public_base_url
import package_samples as samples

REAL = "https://access.cadl-partners.net"


def test_the_shipped_partner_urls_and_contact_are_marked_placeholders():
    for entry in json.loads(PARTNERS_FILE.read_text("utf-8")).values():
        for field in ("homepage", "logo", "item_page"):
            assert entry[field].split("/")[2].endswith(".invalid"), (field, entry[field])
    assert Settings().contact_email.endswith(".invalid")


@pytest.mark.parametrize("value, placeholder", [
    ("https://zh.portal.cadl.example.org/", True), ("digital-library@example.org", True),
    ("https://ar.portal.cadl.invalid/x", True), ("x@cadl.invalid", True), ("", True),
    ("https://www.nlc.cn/", False), ("preservation@kfnl.gov.sa", False),
    ("https://example.org.evil.cn/", False),
    ("cadl.example.org", True), ("repo.cadl.invalid", True), ("nlc.cn", False),
])
def test_placeholders_are_the_reserved_example_and_invalid_domains(value, placeholder):
    assert is_placeholder(value) is placeholder


@pytest.mark.parametrize("base, development", [
    ("http://127.0.0.1:8800", True), ("http://localhost:8800/x", True), ("http://[::1]:80", True),
    ("file:///srv/access", True), ("https://access.cadl.example.org", True),
    ("http://portal.test", True), (REAL, False), ("http://10.0.0.5", False),
])
def test_development_means_loopback_or_file_access(base, development):
    assert is_development(Settings(access_base_url=base)) is development


def test_a_development_run_publishes_the_marked_defaults():
    assert public_base_url(Settings(access_base_url="http://127.0.0.1:8800")) \
        == "http://127.0.0.1:8800"


def test_a_real_deployment_with_the_shipped_partners_file_is_refused_naming_the_setting():
    with pytest.raises(ConfigError, match="CADL_PARTNERS_FILE") as caught:
        public_base_url(Settings(access_base_url=REAL, contact_email="p@cadl-partners.net"))
    assert "homepage" in str(caught.value) and "zh" in str(caught.value)


def test_a_real_deployment_without_a_contact_address_is_refused_naming_the_setting(tmp_path):
    settings = Settings(access_base_url=REAL,
                        partners_file=samples.deployed_partners(tmp_path / "p.json"))
    with pytest.raises(ConfigError, match="CADL_CONTACT_EMAIL"):
        public_base_url(settings)
    ok = settings.model_copy(update={"contact_email": "preservation@cadl-partners.net"})
    assert public_base_url(ok) == REAL


def test_serve_refuses_a_placeholder_admin_email_in_a_real_deployment(tmp_path):
    from cadl.serve import Server

    settings = Settings(access_url=tmp_path.as_uri(), access_base_url=REAL,
                        public_base_url="https://oai.cadl-partners.net")
    with pytest.raises(ConfigError, match="CADL_CONTACT_EMAIL"):
        Server(settings, "127.0.0.1", 0)


def test_serve_refuses_the_shipped_oai_repository_identifier_in_a_real_deployment(tmp_path):
    """oai:<repository id>:<item> is kept by every harvester: a placeholder namespace would
    have to be renamed in all of them later."""
    from cadl.serve import Server

    settings = Settings(access_url=tmp_path.as_uri(), access_base_url=REAL,
                        public_base_url="https://oai.cadl-partners.net",
                        contact_email="preservation@cadl-partners.net")
    with pytest.raises(ConfigError, match="CADL_OAI_REPOSITORY_ID"):
        Server(settings, "127.0.0.1", 0)
    ok = settings.model_copy(update={"oai_repository_id": "cadl-partners.net"})
    server = Server(ok, "127.0.0.1", 0)
    server.close()
