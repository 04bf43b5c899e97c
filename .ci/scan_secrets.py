"""Secret scan for CI: the repository's tracked files, then every log the test suite wrote.

    .venv/bin/python .ci/scan_secrets.py [LOG_DIR ...]

Uses detect-secrets' default plugins (keywords, basic-auth URLs, private keys, cloud keys,
high-entropy strings). In the repository a deliberate test secret carries
``pragma: allowlist secret`` on its line. Logs are the ``*.log`` files under each LOG_DIR,
except Kafka's own partition segments (``broker/node-*/``: record data, not logs). Exit 1 and
one line per finding when anything is found, naming the file and line, never the secret.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings


def tracked_files(root: Path) -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True)
    return [str(root / name) for name in out.stdout.decode().split("\0") if name]


def log_files(directory: Path) -> list[str]:
    return [
        str(path)
        for path in directory.rglob("*.log")
        if path.is_file() and not any(part.startswith("node-") for part in path.parts)
    ]


def findings(paths: list[str]) -> list[str]:
    secrets = SecretsCollection()
    with default_settings():
        secrets.scan_files(*paths)
    return [
        f"{name}:{secret.line_number}: {secret.type}"
        for name, found in secrets.data.items()
        for secret in found
        if not _published_digest(name, secret.line_number)
    ]


def _published_digest(name: str, line_number: int) -> bool:
    """A ``"sha256": "<hex>"`` field (a model sidecar names its weights' digest): public."""
    lines = Path(name).read_text(errors="replace").splitlines()
    line = lines[line_number - 1] if 0 < line_number <= len(lines) else ""
    return '"sha256":' in line


def main(log_dirs: list[str]) -> int:
    root = Path(__file__).resolve().parents[1]
    logs = [f for d in log_dirs if Path(d).is_dir() for f in log_files(Path(d))]
    problems = findings(tracked_files(root)) + findings(logs)
    print(f"secret scan: {len(tracked_files(root))} tracked files, {len(logs)} log files")
    for line in problems:
        print(f"possible secret: {line}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
