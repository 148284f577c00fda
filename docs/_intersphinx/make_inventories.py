"""Write the Sphinx inventories (``*.inv``) that intersphinx links against.

The documentation is built without network access (CI included), so
intersphinx cannot download scikit-learn's, NumPy's, SciPy's and Dask's
``objects.inv``. This script writes equivalent inventories from the installed
packages: one entry per public name, pointing at the page each project's
documentation publishes for it, under the URL scheme that project's API
reference uses (``modules/generated/<name>.html`` for scikit-learn,
``reference/generated/<name>.html`` for NumPy and SciPy, ``api.html`` for
Dask's distributed scheduler). Rerun it when a package's public API changes::

    python docs/_intersphinx/make_inventories.py
"""

import importlib
import inspect
import zlib
from pathlib import Path

HERE = Path(__file__).parent


def _role(obj):
    return "py:class" if inspect.isclass(obj) else "py:function"


def _public(module_name):
    """``(qualified name, object)`` of each name in a module's ``__all__``."""
    module = importlib.import_module(module_name)
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name, None)
        if callable(obj) and not inspect.ismodule(obj):
            yield f"{module_name}.{name}", obj


def sklearn_entries():
    import sklearn

    for sub in sklearn.__all__:
        if sub.startswith("_") or sub in ("clone", "config_context", "get_config"):
            continue
        try:
            names = list(_public(f"sklearn.{sub}"))
        except ImportError:
            continue
        for name, obj in names:
            yield name, _role(obj), f"modules/generated/{name}.html#$"
    for name in ("clone", "config_context", "get_config", "set_config"):
        qualified = f"sklearn.{name}"
        yield qualified, "py:function", f"modules/generated/{qualified}.html#$"


def numpy_entries():
    import numpy as np

    for name in sorted(dir(np)):
        obj = getattr(np, name)
        if name.startswith("_") or inspect.ismodule(obj) or not callable(obj):
            continue
        qualified = f"numpy.{name}"
        if inspect.isclass(obj) and issubclass(obj, np.generic):
            # scalar types share one page
            yield qualified, "py:class", "reference/arrays.scalars.html#$"
        else:
            yield qualified, _role(obj), f"reference/generated/{qualified}.html#$"


def scipy_entries():
    for module in ("scipy.sparse", "scipy.sparse.linalg"):
        for name, obj in _public(module):
            yield name, _role(obj), f"reference/generated/{name}.html#$"


def dask_entries():
    for name in ("Client", "LocalCluster", "Future"):
        yield f"distributed.{name}", "py:class", "api.html#$"


def write(path, project, version, entries):
    """Write a version-2 Sphinx inventory of ``entries`` to ``path``."""
    seen = {}
    for name, role, uri in entries:
        seen.setdefault((name, role), uri)
    lines = [f"{name} {role} 1 {uri} -" for (name, role), uri in sorted(seen.items())]
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    path.write_bytes(header.encode() + zlib.compress("\n".join(lines).encode() + b"\n"))
    return len(lines)


def main():
    import distributed
    import numpy
    import scipy
    import sklearn

    for name, project, version, entries in (
        ("sklearn", "scikit-learn", sklearn.__version__, sklearn_entries()),
        ("numpy", "NumPy", numpy.__version__, numpy_entries()),
        ("scipy", "SciPy", scipy.__version__, scipy_entries()),
        ("dask", "distributed", distributed.__version__, dask_entries()),
    ):
        count = write(HERE / f"{name}.inv", project, version, entries)
        print(f"{name}.inv: {count} entries")


if __name__ == "__main__":
    main()
