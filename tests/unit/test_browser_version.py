"""The Chromium the hosts run is Debian's, not the one Playwright downloads: its major version
may trail what the pinned Playwright was built against, by at most ``MAJORS_BEHIND`` (stated
in the README); more, and Playwright's protocol may no longer match the browser."""

from __future__ import annotations

import json
import re
from pathlib import Path

import playwright

from worker_container.config import BROWSER
from worker_container.wajs import chrome_major

MAJORS_BEHIND = 4
ROOT = Path(__file__).resolve().parents[2]


def playwright_chromium_major() -> int:
    browsers = Path(playwright.__file__).parent / "driver/package/browsers.json"
    found = json.loads(browsers.read_text())["browsers"]
    version = next(b["browserVersion"] for b in found if b["name"] == "chromium")
    return int(version.split(".")[0])


def test_the_launched_chromium_is_within_the_stated_gap_of_playwrights() -> None:
    launched = int(chrome_major(BROWSER))
    assert 0 <= playwright_chromium_major() - launched <= MAJORS_BEHIND, (
        f"Playwright expects Chromium {playwright_chromium_major()}, {BROWSER} is {launched}"
    )


def test_the_image_pins_the_debian_chromium_the_tests_ran_against() -> None:
    dockerfile = (ROOT / "worker_container/Dockerfile").read_text()
    pinned = re.search(r"CHROMIUM_VERSION=(\d+)\.", dockerfile)
    assert pinned is not None
    assert 0 <= playwright_chromium_major() - int(pinned.group(1)) <= MAJORS_BEHIND
    readme = (ROOT / "README.md").read_text()
    assert f"at most {MAJORS_BEHIND} majors behind" in readme
