#!/usr/bin/env python3
"""The two quick-start commands, on any machine with Python 3.11+:

    python3 tasks.py serve   # start leadpipe on the embedded SQLite database
    python3 tasks.py test    # run the whole test suite

Both create ``.venv`` and install leadpipe into it the first time (and again whenever
pyproject.toml changes). Extra arguments go to ``leadpipe serve`` or ``pytest``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".leadpipe-installed"


def _python() -> Path:
    return BIN / ("python.exe" if os.name == "nt" else "python")


def _wanted_stamp() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


def ensure_environment() -> None:
    if sys.version_info < (3, 11):
        sys.exit("leadpipe needs Python 3.11 or newer")
    if not _python().exists():
        print("Creating .venv ...", flush=True)
        venv.create(VENV, with_pip=True)
    if not STAMP.exists() or STAMP.read_text() != _wanted_stamp():
        print("Installing leadpipe and its dependencies into .venv ...", flush=True)
        pip = [str(_python()), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "-e", f"{ROOT}[test]"], check=True)
        STAMP.write_text(_wanted_stamp())


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("serve", "test"):
        print(__doc__)
        return 2
    command, extra = sys.argv[1], sys.argv[2:]
    ensure_environment()
    os.chdir(ROOT)
    if command == "serve":
        args = [str(_python()), "-m", "leadpipe", "serve", *extra]
    else:
        args = [str(_python()), "-m", "pytest", *extra]
    return subprocess.call(args)


if __name__ == "__main__":
    sys.exit(main())
