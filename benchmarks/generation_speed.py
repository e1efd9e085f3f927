"""How fast is the embedded urban data made, and loaded back from the cache?

Generates 1000 urban scenes at 100 x 100 (100 per class, VV + VH) without the cache, then once more through
the cache (generate + write), then loads them back from the cache (sha256-verified). Targets: generation
<= 10 s, loading <= 1 s on a 2-core machine. Run: ``.venv/bin/python benchmarks/generation_speed.py``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import benchmark_results
import numpy as np

from sarxai_utils import data


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    """The best wall time of ``repeat`` calls, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-per-class", type=int, default=100)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--json", type=Path, default=benchmark_results.default_path("generation_speed"),
                        help="where the numbers go (default: the file the README is written from)")
    args = parser.parse_args()
    n = 10 * args.n_per_class
    gen_s, fresh = timed(lambda: data.synthetic_urban(args.n_per_class, args.size, seed=0, cache=False,
                                                      progress=False))
    print(f"generate {n} urban scenes {args.size}x{args.size}: {gen_s:.2f} s ({1000 * gen_s / n:.1f} ms per scene)")
    with tempfile.TemporaryDirectory() as tmp:
        write_s, _ = timed(lambda: data.synthetic_urban(args.n_per_class, args.size, seed=0, cache=Path(tmp),
                                                        progress=False))
        load_s, loaded = timed(lambda: data.synthetic_urban(args.n_per_class, args.size, seed=0, cache=Path(tmp),
                                                            progress=False), repeat=3)
        size_mb = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 1e6
    assert np.array_equal(fresh.images, loaded.images)
    print(f"generate + write to cache: {write_s:.2f} s ({size_mb:.0f} MB on disk)")
    print(f"load from cache (sha256 verified): {load_s:.2f} s")
    n_t = 10 * args.n_per_class
    t_s, _ = timed(lambda: data.synthetic_targets(args.n_per_class, 128, seed=0, cache=False, progress=False))
    print(f"generate {n_t} target chips 128x128: {t_s:.2f} s")
    benchmark_results.save(args.json, {"urban_scenes": n, "size": args.size, "generate_s": gen_s,
                                       "write_s": write_s, "load_s": load_s, "cache_mb": size_mb,
                                       "target_chips": n_t, "targets_size": 128, "targets_generate_s": t_s})


if __name__ == "__main__":
    main()
