"""What machine a run happened on, for the reports that quote their numbers."""

import os
import platform
from pathlib import Path


def machine_description():
    """The machine: CPU model, cores, architecture, system, Python version.

    Returns
    -------
    dict
        ``cpu`` (the model name from ``/proc/cpuinfo`` where there is one),
        ``machine``, ``cores``, ``system`` and ``python``.
    """
    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model or platform.machine() or "unknown CPU",
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "system": platform.system(),
        "python": platform.python_version(),
    }
