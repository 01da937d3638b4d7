#!/usr/bin/env python3
"""The quick-start commands, on any machine with Python 3.11+:

    python3 tasks.py serve   # start leadpipe on the embedded SQLite database
    python3 tasks.py demo    # the same, in a demo workspace full of leads and a team
    python3 tasks.py test    # run the whole test suite

Each creates ``.venv`` and installs leadpipe into it the first time (and again whenever
pyproject.toml changes): ``serve`` and ``demo`` what serving needs, ``test`` the test and
lint tools too. Extra arguments go to ``leadpipe serve`` or ``pytest``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".leadpipe-installed"
PIP_LOG = VENV / "pip.log"
COMMANDS = ("serve", "demo", "test")


def _python() -> Path:
    return BIN / ("python.exe" if os.name == "nt" else "python")


def _wanted_stamp(extras: str) -> str:
    """What the stamp says once pyproject.toml's packages, with ``extras``, are in."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    return f"{digest} {extras}".rstrip()


def _installed_enough(extras: str) -> bool:
    """Whether .venv holds what the command needs: serving is part of the test install."""
    if not STAMP.exists():
        return False
    stamp = STAMP.read_text()
    return stamp in (_wanted_stamp(extras), _wanted_stamp("test"))


def _dependency_count(extras: str) -> int:
    """How many packages pyproject.toml names for the install (their own come on top)."""
    import tomllib  # Python 3.11+: imported once the version is checked

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    if extras:
        wanted += project["optional-dependencies"][extras]
    return len(wanted)


def ensure_environment(extras: str) -> None:
    if sys.version_info < (3, 11):
        sys.exit("leadpipe needs Python 3.11 or newer")
    if _installed_enough(extras):
        return
    fresh = not _python().exists()
    steps = 3 if fresh else 2
    step = 0
    if fresh:
        step += 1
        _say(f"[{step}/{steps}] Creating .venv")
        venv.create(VENV, with_pip=True)
    pip = [str(_python()), "-m", "pip", "install", "--disable-pip-version-check"]
    step += 1
    _pip(f"[{step}/{steps}] Upgrading pip", [*pip, "--upgrade", "pip"])
    what = "leadpipe and its test and lint tools" if extras else "leadpipe"
    target = f"{ROOT}[{extras}]" if extras else str(ROOT)
    step += 1
    _pip(
        f"[{step}/{steps}] Installing {what}: {_dependency_count(extras)} packages and "
        "what they need (a minute or two the first time)",
        [*pip, "-e", target],
    )
    STAMP.write_text(_wanted_stamp(extras))


def _say(text: str) -> None:
    print(text, flush=True)


def _pip(title: str, command: list[str]) -> None:
    """Run pip with its output in .venv/pip.log, showing what it is at while it works (one
    line rewritten on a terminal, a line every 15 s elsewhere); its log on failure."""
    _say(title)
    with PIP_LOG.open("w") as log:
        proc = subprocess.Popen(
            [*command, "--progress-bar", "off"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        ticker = _Ticker()
        ticker.start()
        for line in proc.stdout:
            log.write(line)
            ticker.saw(line)
        code = proc.wait()
        ticker.stop()
    if code != 0:
        sys.stderr.write(PIP_LOG.read_text()[-4000:])
        sys.exit(f"pip failed (exit status {code}); its whole output is in {PIP_LOG}")


class _Ticker:
    """What pip is at, and for how long: the packages it has found, then installs."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.found = 0
        self.doing = "starting"
        self.tty = sys.stdout.isatty()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._tick, daemon=True)

    def saw(self, line: str) -> None:
        if line.startswith("Collecting "):
            self.found += 1
            self.doing = f"found {self.found} packages (last: {line.split()[1]})"
        elif line.startswith("Installing collected packages"):
            self.doing = f"installing {line.count(',') + 1} packages"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()
        if self.tty:
            print(f"\r    done in {self._elapsed()}".ljust(78), flush=True)

    def _elapsed(self) -> str:
        return f"{time.monotonic() - self.started:.0f} s"

    def _tick(self) -> None:
        every = 1.0 if self.tty else 15.0
        while not self._done.wait(every):
            status = f"    {self._elapsed()}: {self.doing}"
            if self.tty:
                print(f"\r{status[:78].ljust(78)}", end="", flush=True)
            else:
                print(status, flush=True)


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        return 2
    command, extra = sys.argv[1], sys.argv[2:]
    ensure_environment("test" if command == "test" else "")
    os.chdir(ROOT)
    if command == "serve":
        args = [str(_python()), "-m", "leadpipe", "serve", *extra]
    elif command == "demo":
        args = [str(_python()), "-m", "leadpipe", "serve", "--demo", *extra]
    else:
        args = [str(_python()), "-m", "pytest", *extra]
    return subprocess.call(args)


if __name__ == "__main__":
    sys.exit(main())
