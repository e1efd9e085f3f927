"""How long does the ``full`` profile take to train on the real datasets? Work counted, throughput measured.

The ``full`` profile trains ResNet101 for 60 epochs on every real sample (``sources.lesson_data`` caps nothing in
``full``): on OpenSARUrban (16,434 VV patches in the released list, ``readers.OPENSARURBAN_VV_COUNTS``; 80 % for
training, the profile's test share) a VV, a VH and a VV + VH model at 100 x 100; on MSTAR the 2,747 chips of the
17-degree SOC training set (``readers.MSTAR_SOC_COUNTS``) at 128 x 128. This script measures bare training steps
of ResNet101 (``training.step_throughput``) on the device it runs on and multiplies. Run it on your GPU for your
number: ``.venv/bin/python benchmarks/real_data_time.py [--batch 64]``. ``--assume-gpu`` also prints the time at an
assumed GPU throughput (images/s at 100 x 100, scaled by pixel count to 128 x 128).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import benchmark_results
import torch

from sarxai_utils import config, models, readers, training


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=None, help="default: 64 on CUDA, 8 on the CPU")
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--assume-gpu", type=float, default=None, metavar="IMG_PER_S")
    parser.add_argument("--json", type=Path, default=benchmark_results.default_path("real_data_time"),
                        help="where the numbers go (default: the file the README is written from)")
    args = parser.parse_args()
    cfg = config.load("full")
    device = config.device()
    batch = args.batch or (64 if device.type == "cuda" else 8)
    training.configure_threads()
    test_share = cfg.n_test_per_class / (cfg.n_train_per_class + cfg.n_test_per_class)
    urban_train = round(sum(readers.OPENSARURBAN_VV_COUNTS.values()) * (1 - test_share))
    mstar_train = sum(train for train, _ in readers.MSTAR_SOC_COUNTS.values())
    jobs = [("OpenSARUrban VV", urban_train, 1, cfg.urban_size), ("OpenSARUrban VH", urban_train, 1, cfg.urban_size),
            ("OpenSARUrban VV+VH", urban_train, 2, cfg.urban_size), ("MSTAR SOC", mstar_train, 1, cfg.targets_size)]
    print(f"device {device}, {cfg.arch}, {cfg.epochs} epochs, batch {batch}")
    total = 0.0
    assumed = 0.0
    rows = []
    for name, n, channels, size in jobs:
        torch.manual_seed(0)
        model = models.build_model(cfg.arch, channels, 10).to(device)
        rate = training.step_throughput(model, batch, size, steps=args.steps, device=device)
        seconds = n * cfg.epochs / rate
        total += seconds
        line = (f"{name:20s} {n:6d} images x {cfg.epochs} epochs at {size} px: {rate:7.1f} img/s "
                f"-> {seconds / 3600:6.2f} h")
        if args.assume_gpu:
            gpu = n * cfg.epochs / (args.assume_gpu * (100 / size) ** 2)
            assumed += gpu
            line += f" (at {args.assume_gpu:.0f} img/s at 100 px: {gpu / 60:.0f} min)"
        print(line)
        rows.append({"name": name, "images": n, "channels": channels, "size": size, "img_per_s": rate,
                     "hours": seconds / 3600})
    print(f"total training on this device: {total / 3600:.1f} h")
    if args.assume_gpu:
        print(f"total at the assumed GPU throughput: {assumed / 3600:.1f} h")
    benchmark_results.save(args.json, {"arch": cfg.arch, "epochs": cfg.epochs, "batch": batch, "device": str(device),
                                       "jobs": rows, "total_hours": total / 3600, "assume_gpu": args.assume_gpu,
                                       "assumed_gpu_hours": assumed / 3600 if args.assume_gpu else None})


if __name__ == "__main__":
    main()
