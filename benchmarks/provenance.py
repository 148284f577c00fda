"""When, on what machine and by which command a benchmark ran.

Every committed results file starts with this, so that each number in the
README and the docs can be traced to the file, the date and the machine.
"""

import sys
from datetime import datetime, timezone
from pathlib import Path

from sklearn_order._machine import machine_description


def stamp():
    """This run's date (UTC), command line and machine, for a results file."""
    script = Path(sys.argv[0])
    return {
        # datetime.UTC is Python 3.11+; the package supports 3.10
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),  # noqa: UP017
        "command": " ".join(["python", f"benchmarks/{script.name}", *sys.argv[1:]]),
        "machine": machine_description(),
    }


def provenance(run, quick=False):
    """One Markdown line saying when, where and how ``run`` (a :func:`stamp`) ran."""
    m = run["machine"]
    return (
        f"Measured on {run['date']} on {m['cpu']} ({m['machine']}, "
        f"{m['cores']} cores, Python {m['python']}), "
        f"{'quick' if quick else 'full'} run of `{run['command']}`."
    )
