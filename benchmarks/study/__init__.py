"""The iteration-order study behind ``benchmarks/order_study.py``.

Modules, in the order the study uses them: ``config`` (the methods compared
and the run sizes), ``problems`` (standardized splits and their exact
optima), ``runs`` (every method at every step size and seed, the
coalescence certificate and the same-law check), ``aggregation`` (statistics
over seeds and the queries over them), ``summary`` (the closing sentences,
written from the numbers) and ``report`` (figures and ``results.md``).
"""
