"""The worker image: no Docker engine here, so check what the Dockerfile relies on exists."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "worker_container" / "Dockerfile").read_text()


def test_copies_exist_and_the_command_is_the_worker_module() -> None:
    for source in re.findall(r"^COPY (?!--from)(\S+)", DOCKERFILE, flags=re.M):
        for part in source.split():
            assert (ROOT / part.rstrip("/")).exists(), part
    assert 'CMD ["python", "-m", "worker_container"]' in DOCKERFILE
    assert importlib.util.find_spec("worker_container.__main__") is not None


def test_uses_debian_chromium_never_a_browser_download() -> None:
    assert "apt-get install" in DOCKERFILE and "chromium=${CHROMIUM_VERSION}" in DOCKERFILE
    assert "playwright install" not in DOCKERFILE
    assert "WAFLEET_CHROMIUM=/usr/bin/chromium" in DOCKERFILE


def test_runs_unprivileged_with_locked_worker_dependencies() -> None:
    assert re.search(r"^USER (?!root)\w+", DOCKERFILE, flags=re.M)
    assert "uv sync --frozen --no-dev --extra worker" in DOCKERFILE


def test_wa_js_comes_from_the_lockfile_in_a_build_stage() -> None:
    assert "COPY package.json package-lock.json" in DOCKERFILE
    assert "RUN npm ci" in DOCKERFILE and "npm install" not in DOCKERFILE
    copied = re.search(r"^COPY --from=wajs \S+/wppconnect-wa\.js (\S+)$", DOCKERFILE, flags=re.M)
    assert copied and f"WAFLEET_WAJS_BUNDLE={copied.group(1)}" in DOCKERFILE


def test_chromium_keeps_its_sandbox_and_site_isolation_unless_root() -> None:
    from worker_container.config import CHROMIUM_ARGS, sandbox_args

    assert sandbox_args(euid=10001) == [] and sandbox_args(euid=0) == ["--no-sandbox"]
    assert "chromium-sandbox" in DOCKERFILE  # the setuid helper, where user namespaces are off
    flags = " ".join(CHROMIUM_ARGS)
    for weakening in (
        "site-per-process",
        "IsolateOrigins",
        "disable-site-isolation",
        "renderer-process-limit",
        "single-process",
        "disable-web-security",
    ):
        assert weakening not in flags, weakening


def test_base_images_are_pinned_by_digest_and_current() -> None:
    bases = re.findall(r"^FROM (\S+)", DOCKERFILE, flags=re.M)
    assert bases and all(re.search(r"@sha256:[0-9a-f]{64}$", b) for b in bases), bases
    assert not any(b.startswith("node:20") for b in bases)  # end of life


def catalog_step() -> str:
    """The build stage's command that lays out the pinnable WhatsApp Web versions."""
    found = re.search(r"^RUN (mkdir -p wa-version/html.*?)(?=\n\S)", DOCKERFILE, flags=re.M | re.S)
    assert found, "no catalog step"
    return found.group(1).replace("\\\n", "")  # how Docker joins continued lines


def test_the_image_carries_the_catalog_with_the_pages_of_the_versions_asked_for_only(
    tmp_path: Path,
) -> None:
    import subprocess

    from worker_container.wa_pages import DEFAULT_CATALOG, Catalog

    (tmp_path / "node_modules" / "@wppconnect").mkdir(parents=True)
    (tmp_path / "node_modules" / "@wppconnect" / "wa-version").symlink_to(DEFAULT_CATALOG)
    versions = sorted(Catalog(DEFAULT_CATALOG).known())[:2]
    built = subprocess.run(
        ["bash", "-c", catalog_step()],
        cwd=tmp_path,
        env={"WA_VERSIONS": " ".join(versions), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    image = Catalog(tmp_path / "wa-version").known()
    assert {v for v, known in image.items() if known.page} == set(versions)
    assert len(image) == len(Catalog(DEFAULT_CATALOG).known())  # listed, without their pages
    assert (
        "/opt/wafleet/wa-version" in DOCKERFILE
        and "WAFLEET_WA_CATALOG=/opt/wafleet/wa-version" in DOCKERFILE
    )


def test_a_version_the_package_does_not_have_fails_the_build(tmp_path: Path) -> None:
    import subprocess

    from worker_container.wa_pages import DEFAULT_CATALOG

    (tmp_path / "node_modules" / "@wppconnect").mkdir(parents=True)
    (tmp_path / "node_modules" / "@wppconnect" / "wa-version").symlink_to(DEFAULT_CATALOG)
    built = subprocess.run(
        ["bash", "-c", catalog_step()],
        cwd=tmp_path,
        env={"WA_VERSIONS": "2.1.0-alpha", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert built.returncode != 0 and "no page for WhatsApp Web 2.1.0-alpha" in built.stderr
