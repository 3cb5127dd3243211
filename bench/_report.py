"""What every bench script shares: the timing loop, percentiles, process memory, and the
JSON line each measurement ends as.

A JSON line is one object on its own line of standard output:

    {"name": "...", "n": 30, "p50_ms": 12.3, "p95_ms": 20.1, "rps": 75.2, "rss_mb": 180, "ratio": 1.05}

`n` is the number of timed requests (or runs), `rps` requests per second (in-process
scripts: one client, 1000 / mean ms; the gunicorn scripts: what their clients achieved),
`rss_mb` the resident memory of the process that served the requests, `ratio` is present
only where the script measures a reference in the same run (what it compares is said in
the script's docstring; for the pages: p50 / the reference's p50, lower is better; for
intake: requests/s / the reference's, higher is better). Scripts may add keys of their own.
bench/run_all.py collects these lines from every script.
"""
from __future__ import annotations

import json
import math
import resource
import statistics
import time
from typing import Callable


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process now (VmRSS), in MB; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def peak_rss_mb() -> float:
    """The highest resident memory this process has had, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values, q: float) -> float:
    """The value at fraction `q` (0..1) of the sorted values (nearest rank)."""
    s = sorted(values)
    if not s:
        return float("nan")
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def timings(fn: Callable, rounds: int, *, warm: int = 1, after: Callable | None = None):
    """Call `fn` `warm` times untimed, then `rounds` times timed; `after(result)` runs after
    each call, untimed (a rollback, say). Returns (last result, list of ms)."""
    result = None
    for _ in range(warm):
        result = fn()
        if after:
            after(result)
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t) * 1000)
        if after:
            after(result)
    return result, times


def row(name: str, times_ms, *, ref_ms: float | None = None, rss: float | None = None, rps: float | None = None,
        **extra) -> dict:
    """The JSON line's fields for one measurement: its times (ms), the reference's p50 (ms)
    for the ratio when there is one."""
    times_ms = list(times_ms)
    p50 = statistics.median(times_ms) if times_ms else float("nan")
    out = {"name": name, "n": len(times_ms), "p50_ms": round(p50, 1), "p95_ms": round(percentile(times_ms, 0.95), 1),
           "rps": round(rps if rps is not None else (1000 / statistics.mean(times_ms) if times_ms else 0.0), 1),
           "rss_mb": round(rss if rss is not None else rss_mb())}
    if ref_ms:
        out["ratio"] = round(p50 / ref_ms, 2)
    out.update(extra)
    return out


def emit(line: dict) -> dict:
    """Print one JSON line (NaN becomes null) and return it."""
    clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in line.items()}
    print(json.dumps(clean, ensure_ascii=False), flush=True)
    return clean


def parse_lines(text: str) -> list[dict]:
    """The JSON lines of a script's output (objects with a name), in order."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and "name" in obj:
            out.append(obj)
    return out
