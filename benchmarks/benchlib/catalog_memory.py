"""What the article catalog adds to a worker's memory per 1,000 articles.

Each size is measured in a fresh interpreter that imports what a worker imports (the app
factory), reads its RSS, loads the catalog of N generated articles (benchlib/corpus.py)
as a worker does at start, collects garbage and reads the RSS again. Printed: the growth
per size and the slope per 1,000 articles between the smallest and the largest size.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import corpus

SIZES = (1_000, 10_000)
TARGET_MB_PER_1000 = 5.0
_PROBE = """
import gc, sys
from pathlib import Path
import comments_service.web.app  # what a worker imports before the catalog
from comments_service.articles.catalog import Catalog
def rss_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
gc.collect(); before = rss_kb()
catalog = Catalog(Path(sys.argv[1]))
gc.collect(); after = rss_kb()
print(before, after)
"""


def measure(sizes: tuple[int, ...] = SIZES) -> list[str]:
    """Lines: the catalog's RSS at each size and the growth per 1,000 articles."""
    grown: dict[int, float] = {}
    lines = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="comments-catalog-") as folder:
            corpus.write_docs(Path(folder) / "docs", size)
            out = subprocess.run([sys.executable, "-c", _PROBE, str(Path(folder) / "docs")],
                                 check=True, capture_output=True, text=True, timeout=600)
        before, after = (int(v) for v in out.stdout.split())
        grown[size] = (after - before) / 1024
        lines.append(f"catalog of {size:,} articles: +{grown[size]:.1f} MB RSS "
                     f"(worker {before / 1024:.0f} -> {after / 1024:.0f} MB)")
    low, high = min(sizes), max(sizes)
    slope = (grown[high] - grown[low]) / ((high - low) / 1000)
    verdict = "PASS" if slope <= TARGET_MB_PER_1000 else "FAIL"
    lines.append(f"memory per 1,000 articles in the catalog: {slope:.2f} MB "
                 f"(<= {TARGET_MB_PER_1000} MB: {verdict})")
    return lines


if __name__ == "__main__":
    print("\n".join(measure()))
