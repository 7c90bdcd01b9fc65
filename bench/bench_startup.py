"""What having chime_mock installed costs a pytest run that never uses it.

pytest loads every installed ``pytest11`` plugin, chime_mock's included.  This
runs a one-test project that does not use chime_mock, with the plugin loaded
and with it disabled (``-p no:chime_mock``), alternating, and reports the
median wall time of each and their difference (the target is at most 20 ms).
A third row shows the import of the plugin module alone, in-process.

    python bench/bench_startup.py [--runs 15]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run(project: str, *extra: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra, project],
                   check=True, capture_output=True, cwd=project)
    return time.perf_counter() - started


def plugin_import_ms() -> float:
    code = ("import time, pytest; t = time.perf_counter(); import chime_mock.activation.pytest_plugin; "
            "print((time.perf_counter() - t) * 1000)")
    samples = [float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                    text=True).stdout) for _ in range(5)]
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each variant (default 15)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as project:
        with open(os.path.join(project, "test_plain.py"), "w") as handle:
            handle.write("def test_nothing_to_do_with_chime():\n    assert 1 + 1 == 2\n")
        run(project)  # warm the file cache
        with_plugin, without = [], []
        for _ in range(args.runs):
            with_plugin.append(run(project))
            without.append(run(project, "-p", "no:chime_mock"))
    a, b = statistics.median(with_plugin) * 1000, statistics.median(without) * 1000
    print(f"{'pytest run of one unrelated test':<40} {'median ms':>10}")
    print(f"{'  with chime_mock installed':<40} {a:>10.1f}")
    print(f"{'  with -p no:chime_mock':<40} {b:>10.1f}")
    print(f"{'  cost of chime_mock (target <= 20 ms)':<40} {a - b:>10.1f}   {'PASS' if a - b <= 20 else 'FAIL'}")
    print(f"{'import chime_mock.activation.pytest_plugin alone':<40} {plugin_import_ms():>10.1f}")


if __name__ == "__main__":
    main()
