"""The published report opened in a real browser (headless Chromium through Selenium).

Every page of a full run's report is loaded; every link, figure and download must resolve, no page may log a
console error, and the exhibit count on the contents page must equal the registry's.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import pytest

from models_py.exhibits.registry import load_registry

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
# Flags that work without a network or a display (stack_notes §5).
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,2000",
]


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and DRIVER):
        pytest.skip(
            "chromium and chromedriver are not installed (make test installs them: Debian packages "
            "chromium, chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _local_targets(driver, page_url: str) -> list[str]:
    found = []
    for tag, attr in (("a", "href"), ("img", "src"), ("link", "href"), ("script", "src")):
        for element in driver.find_elements("tag name", tag):
            value = element.get_attribute(attr)
            if value and urlparse(value).scheme in ("file", ""):
                found.append(urldefrag(urljoin(page_url, value))[0])
    return found


def test_every_page_link_and_figure_resolves_without_console_errors(published_report, browser):
    root = published_report.resolve()
    pages = sorted(root.glob("*.html"))
    assert {p.name for p in pages} >= {
        "index.html",
        "study_a.html",
        "study_b.html",
        "study_c.html",
        "quality.html",
        "scorecard.html",
        "disclosure.html",
    }
    broken, errors = [], []
    for page in pages:
        url = page.as_uri()
        browser.get(url)
        assert browser.title, page.name
        for target in _local_targets(browser, url):
            path = Path(urlparse(target).path)
            if not path.exists():
                broken.append(f"{page.name} -> {path.relative_to(root) if root in path.parents else path}")
        # every figure was decoded by the browser (a broken image has naturalWidth 0)
        bad_images = browser.execute_script(
            "return Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
        )
        broken.extend(f"{page.name} -> image {src}" for src in bad_images)
        errors.extend(f"{page.name}: {e['message']}" for e in browser.get_log("browser") if e["level"] == "SEVERE")
    assert broken == []
    assert errors == []


def test_contents_page_counts_every_registered_exhibit(published_report, browser):
    browser.get((published_report / "index.html").resolve().as_uri())
    summary = browser.find_element("id", "summary").text
    found = re.search(r"(\d+) exhibits published, (\d+) withheld", summary)
    assert found, summary
    assert int(found.group(1)) + int(found.group(2)) == len(load_registry())
    assert int(found.group(1)) == len(list((published_report / "exhibits").glob("*.csv")))
