"""Our BagIt profile follows BagIt Profiles spec 1.4, is published where its identifier says,
and names this deployment's own URL and contact, never a placeholder in a real deployment."""

import json

import pytest

from kernel.errors import ConfigError
from kernel.settings import Settings
from preservation.bag import PROFILE_FILE, PROFILE_KEY, profile_id
from preservation.backends import open_storage
from preservation.bagprofile import CONTACT_TEMPLATE, IDENTIFIER_TEMPLATE, render_profile
from publication.feed import write_bag_profile

REAL = {"access_base_url": "https://access.nlc-kfnl.cn/cadl",
        "contact_email": "preservation@nlc-kfnl.cn"}


def test_the_identifier_is_the_published_key_under_the_access_base_url():
    settings = Settings(**REAL)
    assert profile_id(settings) == "https://access.nlc-kfnl.cn/cadl/" + PROFILE_KEY


def test_spec_1_4_info_has_contact_email_and_bag_info_does_not_list_the_identifier():
    template = json.loads(PROFILE_FILE.read_text("utf-8"))
    assert template["BagIt-Profile-Info"]["BagIt-Profile-Identifier"] == IDENTIFIER_TEMPLATE
    assert template["BagIt-Profile-Info"]["Contact-Email"] == CONTACT_TEMPLATE
    profile = render_profile(Settings(**REAL))
    info = profile["BagIt-Profile-Info"]
    assert info["BagIt-Profile-Identifier"] == "https://access.nlc-kfnl.cn/cadl/" + PROFILE_KEY
    assert info["BagIt-Profile-Version"] == "1.4.0"
    assert info["Contact-Email"] == "preservation@nlc-kfnl.cn" and info["Contact-Name"]
    assert "BagIt-Profile-Identifier" not in profile["Bag-Info"]


def test_the_catalogue_step_publishes_the_rendered_profile_at_its_key(tmp_path):
    settings = Settings(access_url=tmp_path.as_uri(), **REAL)
    write_bag_profile(open_storage(tmp_path.as_uri(), settings), settings)
    published = json.loads((tmp_path / PROFILE_KEY).read_text("utf-8"))
    assert published == render_profile(settings)
    assert "<" not in json.dumps(published["BagIt-Profile-Info"])  # no template left


def test_a_development_run_keeps_its_local_url_and_the_marked_placeholder(tmp_path):
    settings = Settings(access_url=tmp_path.as_uri(), access_base_url="http://127.0.0.1:8800")
    info = render_profile(settings)["BagIt-Profile-Info"]
    assert info["BagIt-Profile-Identifier"] == "http://127.0.0.1:8800/" + PROFILE_KEY
    assert info["Contact-Email"].endswith(".invalid")


@pytest.mark.parametrize("settings, setting", [
    ({"access_base_url": "https://access.nlc-kfnl.cn"}, "CADL_CONTACT_EMAIL"),
    ({"access_base_url": "https://access.nlc-kfnl.cn", "contact_email": "x@example.org"},
     "CADL_CONTACT_EMAIL"),
    ({"access_base_url": "http://access.nlc-kfnl.cn", "contact_email": "p@nlc-kfnl.cn"},
     "CADL_ACCESS_BASE_URL"),
])
def test_a_real_deployment_refuses_a_placeholder_or_a_non_https_identifier(settings, setting):
    with pytest.raises(ConfigError, match=setting):
        render_profile(Settings(**settings))
