"""Headless Chromium for the browser tests: Debian's `chromium` driven by Selenium and Debian's
`chromium-driver` (both from APT_PACKAGES in the Makefile; nothing is downloaded at test time).

The flags keep Chromium from phoning home: on a closed network its background connections are
refused and slow everything down; as root it needs --no-sandbox.
"""

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--lang=en-US"]


def require_chromium() -> None:
    """Skip the calling test, saying why, where Chromium or its driver is not installed."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: `make test` installs Debian's "
                    "chromium and chromium-driver (apt-get); they could not be installed here")
    pytest.importorskip("selenium", reason="selenium is in the project's `test` extra")


@contextmanager
def chromium(width: int = 1280, height: int = 900):
    """A Selenium WebDriver on a fresh headless Chromium profile; quits and cleans up after."""
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="cadl-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={profile}", f"--window-size={width},{height}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def full_page_screenshot(driver, dest: Path, width: int = 1280) -> Path:
    """Screenshot of the whole page (the window is resized to the document's height)."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(int(height) + 100, 16000))
    dest.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(dest))
    return dest
