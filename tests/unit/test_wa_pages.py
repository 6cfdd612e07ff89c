"""Which WhatsApp Web page a session opens: a pinned version from @wppconnect/wa-version's
catalog, or the live site when nothing is pinned or the pin cannot be served."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.domain import wa_version
from chalicelib.domain.errors import ValidationError
from worker_container.wa_pages import DEFAULT_CATALOG, Catalog

DAY_MS = 86_400_000
NOW_MS = 1_800_000_000_000


def catalog(folder: Path, versions: dict[str, tuple[int, bool]]) -> Catalog:
    """``versions``: name -> (expires in days from NOW_MS, page in the image)."""
    import datetime as dt

    (folder / "html").mkdir(parents=True)
    listed = []
    for version, (days, has_page) in versions.items():
        expire = dt.datetime.fromtimestamp((NOW_MS + days * DAY_MS) / 1000, dt.UTC)
        listed.append(
            {
                "version": version,
                "beta": False,
                "released": (expire - dt.timedelta(days=61)).isoformat().replace("+00:00", "Z"),
                "expire": expire.isoformat().replace("+00:00", "Z"),
            }
        )
        if has_page:
            (folder / "html" / f"{version}.html").write_text(f"<title>{version}</title>")
    (folder / "versions.json").write_text(json.dumps({"versions": listed}))
    return Catalog(folder)


def test_a_pinned_version_is_served_from_its_page_until_it_expires(tmp_path: Path) -> None:
    pages = catalog(tmp_path, {"2.3000.7-alpha": (1, True)})
    chosen = pages.choose("2.3000.7-alpha", NOW_MS)
    assert chosen.version == "2.3000.7-alpha" and chosen.refused is None
    assert chosen.page is not None and "2.3000.7-alpha" in chosen.page.read_text()
    later = pages.choose("2.3000.7-alpha", NOW_MS + 2 * DAY_MS)
    assert (later.version, later.page) == (wa_version.LIVE, None)
    assert later.refused is not None and "expired on" in later.refused


@pytest.mark.parametrize(
    ("pin", "why"),
    [("2.3000.8-alpha", "not in this host's image"), ("2.3000.9-alpha", "not a known")],
)
def test_a_pin_the_host_cannot_serve_opens_the_live_site_and_says_why(
    tmp_path: Path, pin: str, why: str
) -> None:
    pages = catalog(tmp_path, {"2.3000.8-alpha": (30, False)})
    chosen = pages.choose(pin, NOW_MS)
    assert (chosen.version, chosen.page) == (wa_version.LIVE, None)
    assert chosen.refused is not None and why in chosen.refused


def test_nothing_pinned_is_the_live_site(tmp_path: Path) -> None:
    assert Catalog(tmp_path / "none").choose(None, NOW_MS) == Catalog(tmp_path).choose(None, NOW_MS)
    assert Catalog(tmp_path).choose(None, NOW_MS).version == wa_version.LIVE


def test_the_installed_package_lists_each_version_with_its_page() -> None:
    """The layout read above is @wppconnect/wa-version's, as package-lock.json pins it."""
    known = Catalog(DEFAULT_CATALOG).known()
    assert len(known) > 100
    for version in known.values():
        assert wa_version.VERSION.fullmatch(version.version), version.version
        assert version.page is not None and version.page.stat().st_size > 1000
        assert version.released_ms < version.expire_ms


@pytest.mark.parametrize(
    "name", ["latest", "2.3000", " 2.3000.1-alpha", "2.3000.1-rc", "\uff12.1.1"]
)
def test_a_version_name_that_is_not_one_is_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="WhatsApp Web version"):
        wa_version.check(name)
