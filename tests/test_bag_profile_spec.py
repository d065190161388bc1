"""Our BagIt profile follows BagIt Profiles spec 1.4 and is published where its identifier says."""

import json

from kernel.settings import Settings
from preservation.bag import PROFILE_FILE, PROFILE_ID, PROFILE_KEY
from preservation.backends import open_storage
from publication.feed import write_bag_profile


def test_the_identifier_is_an_https_uri_ending_in_the_published_key():
    assert PROFILE_ID.startswith("https://") and PROFILE_ID.endswith("/" + PROFILE_KEY)


def test_spec_1_4_info_has_contact_email_and_bag_info_does_not_list_the_identifier():
    profile = json.loads(PROFILE_FILE.read_text("utf-8"))
    info = profile["BagIt-Profile-Info"]
    assert info["BagIt-Profile-Identifier"] == PROFILE_ID
    assert info["BagIt-Profile-Version"] == "1.4.0"
    assert "@" in info["Contact-Email"] and info["Contact-Name"]
    assert "BagIt-Profile-Identifier" not in profile["Bag-Info"]


def test_the_catalogue_step_publishes_the_profile_at_its_key(tmp_path):
    access = open_storage(tmp_path.as_uri(), Settings())
    write_bag_profile(access)
    assert json.loads((tmp_path / PROFILE_KEY).read_text("utf-8")) == json.loads(
        PROFILE_FILE.read_text("utf-8"))
