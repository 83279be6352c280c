"""Removing large folders without waiting for it.

Removing a folder costs a millisecond or more on some file systems (ext4 mounted with
``discard`` trims every freed block), so a tree with a folder per service takes seconds to go.
A build that no longer needs such a tree (the previous output after the swap, Pagefind's
scratch folder) hands it to ``rm -rf`` in a process of its own and goes on.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def remove_later(tree: Path) -> None:
    """Remove ``tree`` in the background (in this process when no shell can be started)."""
    try:
        # the shell starts rm in the background and exits at once: nothing is left for this
        # process to wait for, and rm outlives it if it ends first
        subprocess.run(["sh", "-c", 'rm -rf -- "$1" >/dev/null 2>&1 &', "sh", str(tree)],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, start_new_session=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        shutil.rmtree(tree, ignore_errors=True)
