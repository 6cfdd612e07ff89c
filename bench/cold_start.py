"""Lambda cold start: import time of ``app`` versus ``boto3`` in fresh interpreters, and the
size of the Lambda package ``chalice package`` builds.

Last line: {"app_import_ms": ..., "boto3_import_ms": ..., "ratio": ..., ...}
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 9
RUNTIME_PROVIDED = (
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "dateutil",
    "python_dateutil",
    "urllib3",
    "six",
)


def import_ms(module: str) -> float:
    """Median wall time of ``python -c 'import module'`` over fresh interpreters."""
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT, check=True)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def package_size() -> dict[str, object]:
    """Zip size of the deployment package (boto3/botocore excluded: the runtime has them)."""
    with tempfile.TemporaryDirectory() as out:
        result = subprocess.run(
            [str(Path(sys.executable).with_name("chalice")), "package", "--stage", "prod", out],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_REGION", "us-east-1")},
        )
        zips = list(Path(out).glob("*.zip"))
        if result.returncode != 0 or not zips:
            return {"package_error": (result.stderr or result.stdout).strip()[-300:]}
        with zipfile.ZipFile(zips[0]) as archive:
            infos = archive.infolist()
            names = archive.namelist()
        unzipped = sum(i.file_size for i in infos)
        own = [i for i in infos if not i.filename.startswith(RUNTIME_PROVIDED)]
        return {
            "package_zip_kb": round(zips[0].stat().st_size / 1024),
            "package_unzipped_kb": round(unzipped / 1024),
            # PynamoDB pulls botocore in; the Lambda runtime has it already.
            "package_unzipped_kb_excluding_runtime": round(sum(i.file_size for i in own) / 1024),
            "package_compressed_kb_excluding_runtime": round(
                sum(i.compress_size for i in own) / 1024
            ),
            "package_ships_playwright_or_moto": any(
                n.startswith(("playwright/", "moto/")) for n in names
            ),
        }


def main() -> None:
    # Warm the file cache once so both measurements start from the same state.
    subprocess.run([sys.executable, "-c", "import app, boto3"], cwd=ROOT, check=True)
    app_ms = import_ms("app")
    boto3_ms = import_ms("boto3")
    result: dict[str, object] = {
        "app_import_ms": round(app_ms, 1),
        "boto3_import_ms": round(boto3_ms, 1),
        "ratio": round(app_ms / boto3_ms, 3),
        "runs": RUNS,
    }
    result.update(package_size())
    print(json.dumps(result))


if __name__ == "__main__":
    main()
