"""Write the README's paragraphs about lesson results from a recorded run, so that its numbers are measured, not typed.

``make course`` writes ``build/recorded_numbers.json``: the headline numbers each lesson recorded with
``sarxai_utils.recorded.record`` in that run. ``python benchmarks/readme_numbers.py --from build/recorded_numbers.json``
keeps a copy in ``benchmarks/results/recorded_<profile>.json`` and rewrites every README block between
``<!-- recorded:NAME:start -->`` and ``<!-- recorded:NAME:end -->`` from the templates below; without ``--from`` it
rewrites the README from the copy kept. ``tests/test_repository.py`` checks that the README's blocks are exactly
what the kept copy gives, so a typed edit of a number fails the tests.

The benchmarks' paragraphs work the same way: each benchmark writes ``benchmarks/results/<name>.json`` (stamped with
date, commit and machine, ``benchmark_results.py``), and every block between ``<!-- benchmark:NAME:start -->`` and
``<!-- benchmark:NAME:end -->`` is written from that file by ``BENCHMARK_TEMPLATES[NAME]``.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import textwrap
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
KEPT = REPO / "benchmarks" / "results" / "recorded_{profile}.json"
RESULTS = REPO / "benchmarks" / "results"
BLOCK = re.compile(r"(<!-- (?P<kind>recorded|benchmark):(?P<name>[a-z0-9_]+):start -->\n)(?P<body>.*?)"
                   r"(<!-- (?P=kind):(?P=name):end -->)", re.S)
WIDTH = 120

# one template per README block; {l12.name} is lesson 12's recorded number, {d12} the date it was recorded
TEMPLATES = {
    "lesson12": (
        "Measured by lesson 12 in the `{profile}` profile ({l12.n_scenes} held-out scenes, {l12.n_perturbations} "
        "perturbations, recorded {d12}): another look moves each pixel by "
        "{l12.look_db_std:.1f} dB (standard deviation) "
        "where the paper's noise moves it by {l12.paper_db_std:.2f} dB, and speckle sensitivity is a median "
        "{l12.speckle_over_max_vv:.1f} x (VV) and {l12.speckle_over_max_vh:.1f} x (VH) the Max-Sensitivity of the same "
        "method. Between the three sensitivities, the rankings of the fourteen methods have Spearman rho "
        "{l12.rho_sensitivities_min:.2f} to {l12.rho_sensitivities_max:.2f}; against Su et al.'s ranking of the eight, "
        "{l12.rho_paper_min:+.2f} to {l12.rho_paper_max:+.2f}. Speckle SmoothGrad puts more relevance on the evidence "
        "than Gaussian SmoothGrad of matched spread on {l12.smooth_wins_min} to {l12.smooth_wins_max} of the "
        "{l12.n_scenes} scenes, depending on the method ({l12.smooth_methods}) and the polarization. The VV + VH model "
        "reaches {l12.acc_both:.1%} (VV model {l12.acc_vv:.1%}, VH model {l12.acc_vh:.1%}); per class, the attribution "
        "methods put {l12.vv_share_min:.0%} to {l12.vv_share_max:.0%} of its attribution on VV, which the lesson tests "
        "against interventions on the channels and against the single-polarization models."),
    "lesson13": (
        "Measured by lesson 13 in the `{profile}` profile (VV, {l13.n_scenes} held-out scenes, recorded {d13}): the "
        "Max-Sensitivity column of the lesson's model has Spearman rho {l13.base_rho:+.2f} with Su et al.'s, Grad-CAM "
        "at rank {l13.base_rank:.0f} of 8 (the paper's: 8, the least stable) and the five pixel methods at "
        "{l13.base_level:.2f} x the paper's level; over three training seeds rho spans {l13.seed_rho_min:+.2f} to "
        "{l13.seed_rho_max:+.2f}. Reading the radius r = 0.02 (Captum's default; the paper states none) "
        "in four input scalings moves the pixel level from "
        "{l13.radius_level_min:.2f} x to {l13.radius_level_max:.2f} x, and min-max scaled maps give "
        "{l13.minmax_level:.2f} x. Of the {l13.n_experiments} single changes (radius, post-processing, shorter "
        "training, depth at a small scale), {l13.n_rank_ok} reproduce the paper's Grad-CAM rank and "
        "{l13.n_level_ok} its pixel level ({l13.level_ok}); over all columns, seeds included, Grad-CAM's rank is "
        "{l13.rank_range} of 8."),
    "lesson02": (
        "- Lesson 02, `{profile}` (recorded {d02}): held-out accuracy VV {l02.acc_vv:.1%}, VH {l02.acc_vh:.1%} (Su et "
        "al.: 84.44 / 83.44 % on OpenSARUrban), with "
        "{l02.pair_errors_vv:.0%} (VV) and {l02.pair_errors_vh:.0%} (VH) of "
        "the errors inside the confusable pairs. A VV model trained on OpenSARUrban's proportions scores "
        "{l02.skewed_accuracy:.1%} on a test set drawn the same way but {l02.skewed_mean_recall:.1%} mean recall on "
        "balanced scenes: its lowest recall is {l02.worst_recall:.0%} on {l02.worst_class} ({l02.worst_train} "
        "training scenes), and the rarest class, {l02.rarest_class} ({l02.rarest_train} scenes), keeps "
        "{l02.rarest_recall:.0%}."),
    "lesson08": (
        "- Lesson 08, `{profile}` (recorded {d08}): with the evidence "
        "replaced by class-independent background the VV / "
        "VH models fall to {l08.evidence_replaced_vv:.1%} / {l08.evidence_replaced_vh:.1%} (chance {l08.chance:.0%}); "
        "with the background replaced they keep {l08.background_replaced_vv:.1%} / {l08.background_replaced_vh:.1%} "
        "(original {l08.original_vv:.1%} / {l08.original_vh:.1%})."),
    "lesson10": (
        "- Lesson 10, `{profile}` ({l10.n_chips} held-out chips, recorded {d10}): MaxBoxAcc of MS-CAM and of the image "
        "alone, block-averaged at the same Q: {l10.q_table}. The best map "
        "that uses the model, {l10.best_model}, reaches "
        "{l10.best_model_acc:.3f}, {l10.added:+.3f} against the best image-alone reference ({l10.best_image}, "
        "{l10.best_image_acc:.3f}; 95 % paired bootstrap interval [{l10.added_low:+.3f}, {l10.added_high:+.3f}])."),
}


ARCH_NAMES = {"resnet101": "ResNet101"}  # how the README spells an architecture (others as torchvision does)


def _on(r: dict) -> str:
    """Where and when a benchmark ran, e.g. "2 CPU cores, 2026-12-06, commit d1fac94"."""
    m = r["measured"]
    where = f"{m['cores']} CPU cores" if m["device"] == "cpu" else m["device"]
    return f"{where}, {m['date']}, commit {m['commit']}"


def _span(values, fmt: str = ".2f") -> str:
    """ "lo-hi" of some numbers (one number when they round alike)."""
    values = list(values)
    lo, hi = format(min(values), fmt), format(max(values), fmt)
    return lo if lo == hi else f"{lo}-{hi}"


def _attribution_efficiency(r: dict) -> str:
    res = r["results"]
    spans = " and ".join(f"{_span(v['efficiency'] for v in res[a].values())} for {ARCH_NAMES.get(a, a)}" for a in res)
    last = list(res)[-1]
    per = {k: v["measured_s"] for k, v in res[last].items()}
    return (f"Measured at {r['size']} x {r['size']} ({_on(r)}): the efficiency (bound / measured) was {spans} over "
            f"the eight methods; per image, {ARCH_NAMES.get(last, last)} takes {per['saliency']:.2f} s for Saliency, "
            f"{per['integrated_gradients']:.0f} s for Integrated Gradients ({r['ig_steps']} steps) and "
            f"{per['occlusion']:.0f} s for Occlusion ({r['occlusion_windows']} windows).")


def _cam_cost(r: dict) -> str:
    res = r["results"]
    archs = list(res)
    per = " Grad-CAM's time per image"  # said once, after the first ratio
    ms = " and ".join(f"{res[a]['ms_cam']['ratio_to_grad_cam']:.2f} x{per if k == 0 else ''} on {ARCH_NAMES.get(a, a)}"
                      for k, a in enumerate(archs))
    score = " and ".join(f"{res[a]['score_cam']['ratio_to_grad_cam']:.0f} x" for a in archs)
    return (f"`benchmarks/cam_cost.py` ({r['size']} x {r['size']}, batch {r['batch']}, {_on(r)}): MS-CAM costs {ms}; "
            f"Score-CAM {score} (one forward pass per channel of `layer4`).")


def _explorer_latency(r: dict) -> str:
    cached = r["cached"]
    worst = max(v["max"] for v in cached.values())
    verdict = "within" if worst <= r["limit_s"] else "above"
    weights = "trained" if r["trained"] else "random"
    return (f"`benchmarks/explorer_latency.py` (`{r['profile']}` sizes, {r['urban_size']} x {r['urban_size']} scenes "
            f"and {r['targets_size']} x {r['targets_size']} chips, {_on(r)}): the explorer keeps one figure and "
            "updates its images, boxes, bars and titles in place, so with the maps cached a change of "
            f"{', '.join(list(cached)[:-1])} or {list(cached)[-1]} took "
            f"{_span((v['median'] for v in cached.values()), '.3f')} s (median per kind) and at most {worst:.3f} s, "
            f"{verdict} the {r['limit_s']:.1f} s the course aims for; the first, uncached view costs the method's "
            f"computation on top ({r['first']['grad_cam']:.2f} s for Grad-CAM, "
            f"{r['first']['integrated_gradients']:.2f} s for Integrated Gradients at {r['urban_size']} px, with "
            f"{weights} weights).")


def _max_sensitivity_speed(r: dict) -> str:
    res = r["results"]
    spans = " and ".join(f"{_span(v['ratio'] for v in res[a].values())} on {ARCH_NAMES.get(a, a)}" for a in res)
    low = min(((v["ratio"], m, a) for a in res for m, v in res[a].items()))
    diff = max(v["max_abs_diff"] for a in res for v in res[a].values())
    return (f"Measured at {r['size']} x {r['size']}, {r['images']} images x {r['samples']} perturbations, best of "
            f"{r['repeats']} alternating rounds ({_on(r)}): Captum / ours was {spans} over the eight methods (lowest "
            f"{low[0]:.2f}, {low[1].replace('_', ' ')} on {ARCH_NAMES.get(low[2], low[2])}). The two compute the "
            f"same scores (they agree to {diff:.0e}); a ratio below 1 means ours was slower in this run.")


def _max_sensitivity_speed_reuse_maps(r: dict) -> str:
    res = r["results"]
    spans = " and ".join(f"{_span(v['ratio'] for v in res[a].values())} on {ARCH_NAMES.get(a, a)}" for a in res)
    return (f"In the lessons `max_sensitivity` reuses the maps already computed (`maps=`; `--reuse-maps`, {_on(r)}): "
            f"Captum / ours is then {spans} (Captum recomputes the unperturbed maps).")


def _generation_speed(r: dict) -> str:
    return (f"- `benchmarks/generation_speed.py` ({_on(r)}): {r['urban_scenes']} urban scenes are generated in "
            f"{r['generate_s']:.1f} s and loaded back from the cache in {r['load_s']:.2f} s; "
            f"{r['target_chips']} target chips in {r['targets_generate_s']:.1f} s. Generated data is cached under "
            "`data/cache/` with a manifest "
            "(generator version and source hash, parameters, sha256) and rebuilt if it is corrupt or the settings "
            "change.")


def _global_statistics_baseline(r: dict) -> str:
    return (f"- `benchmarks/global_statistics_baseline.py` ({r['train_per_class']} + {r['test_per_class']} scenes per "
            f"class, {_on(r)}): a logistic regression on 64-bin dB histograms of both channels reaches "
            f"{r['histogram_accuracy']:.1%} (chance {r['chance']:.0%}), a small CNN trained for "
            f"{r['cnn_seconds']:.0f} s {r['cnn_accuracy']:.1%}.")


def _real_data_time(r: dict) -> str:
    by_size: dict[int, list[float]] = {}
    for job in r["jobs"]:
        by_size.setdefault(job["size"], []).append(job["img_per_s"])
    rates = " and ".join(f"{_span(v, '.0f')} images/s at {s} px" for s, v in sorted(by_size.items()))
    urban = [job for job in r["jobs"] if job["name"].startswith("OpenSARUrban")]
    mstar = [job for job in r["jobs"] if job["name"].startswith("MSTAR")]
    text = (f"It trains {ARCH_NAMES.get(r['arch'], r['arch'])} for {r['epochs']} epochs on every sample: "
            f"{len(urban)} OpenSARUrban models ({', '.join(j['name'].split()[-1] for j in urban)}; "
            f"{urban[0]['images']:,} training patches each) and {len(mstar)} MSTAR model ({mstar[0]['images']:,} SOC "
            f"chips). Measured here ({_on(r)}, batch {r['batch']}): {rates}, so {r['total_hours']:.0f} hours of "
            "training, which is why the CPU default is `laptop`.")
    if r.get("assume_gpu"):
        text += (f" A GPU was not available to us: at an assumed {r['assume_gpu']:,.0f} images/s at 100 px "
                 "(ResNet101 trains at roughly 250 images/s at 224 px on a V100-class card, and 100 px has a fifth of "
                 f"the pixels) training takes about {r['assumed_gpu_hours']:.1f} hours, and the lessons' attributions "
                 "come on top.")
    return text


def _segmentation_quality(r: dict) -> str:
    rows = r["profiles"]
    name = "laptop" if "laptop" in rows else list(rows)[-1]
    row = rows[name]
    return (f"On the embedded `{name}` chips ({row['chips']} at {row['size']} px), `localization.segment_target`'s "
            f"box matches the true one at IoU >= 0.5 on {row['box_iou_over_half']:.0%} of them (mean box IoU "
            f"{row['mean_box_iou']:.2f}; `benchmarks/segmentation_quality.py`, {_on(r)}).")


# one function per README benchmark block: the block's text from benchmarks/results/<name>.json
BENCHMARK_TEMPLATES = {
    "attribution_efficiency": _attribution_efficiency,
    "cam_cost": _cam_cost,
    "explorer_latency": _explorer_latency,
    "max_sensitivity_speed": _max_sensitivity_speed,
    "max_sensitivity_speed_reuse_maps": _max_sensitivity_speed_reuse_maps,
    "generation_speed": _generation_speed,
    "global_statistics_baseline": _global_statistics_baseline,
    "real_data_time": _real_data_time,
    "segmentation_quality": _segmentation_quality,
}


def _fill(text: str) -> str:
    bullet = text.startswith("- ")
    return textwrap.fill(text, WIDTH, subsequent_indent="  " if bullet else "", break_on_hyphens=False) + "\n"


def render_benchmark(name: str, result: dict) -> str:
    """The README block ``name`` written from a benchmark's results file (``benchmarks/results/<name>.json``)."""
    try:
        return _fill(BENCHMARK_TEMPLATES[name](result))
    except KeyError as err:
        raise KeyError(f"README block benchmark:{name}: its results file has no {err} (re-run "
                       f"benchmarks/{name.removesuffix('_reuse_maps')}.py)") from err


def benchmark_result(name: str) -> dict:
    """The kept results file of benchmark block ``name``."""
    path = RESULTS / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no results for README block benchmark:{name}; run its benchmark")
    return json.loads(path.read_text())

def render(name: str, recorded: dict) -> str:
    """The README block ``name`` written from a recorded run (``build/recorded_numbers.json``'s content)."""
    lessons = recorded["lessons"]
    fields = {"profile": recorded["profile"]}
    for lesson, entry in lessons.items():
        fields[f"l{lesson}"] = SimpleNamespace(**entry["numbers"])
        fields[f"d{lesson}"] = str(entry.get("recorded", ""))[:10]
    try:
        text = TEMPLATES[name].format(**fields)
    except (KeyError, AttributeError) as err:
        raise KeyError(f"README block {name!r}: the recorded run has no {err} (run its lesson in make course)") from err
    return _fill(text)


def blocks(readme: str, kind: str = "recorded") -> dict[str, str]:
    """The blocks of one kind (``recorded`` or ``benchmark``) of a README text: name -> body."""
    return {m["name"]: m["body"] for m in BLOCK.finditer(readme) if m["kind"] == kind}


def rewrite(readme: str, recorded: dict) -> str:
    """The README text with every recorded block rewritten from ``recorded`` and every benchmark block from its
    results file."""
    def body(m: re.Match) -> str:
        if m["kind"] == "benchmark":
            return render_benchmark(m["name"], benchmark_result(m["name"]))
        return render(m["name"], recorded)

    return BLOCK.sub(lambda m: m.group(1) + body(m) + m.group(5), readme)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", type=Path, default=None,
                        help="recorded_numbers.json of a make course run (default: the copy kept for --profile)")
    parser.add_argument("--profile", default="laptop")
    args = parser.parse_args()
    kept = Path(str(KEPT).format(profile=args.profile))
    if args.source is not None:
        recorded = json.loads(args.source.read_text())
        if recorded.get("profile") != args.profile:
            raise SystemExit(f"{args.source} is a {recorded.get('profile')!r} run, not {args.profile!r}")
        kept.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(args.source, kept)
        print(f"kept {args.source} as {kept}")
    recorded = json.loads(kept.read_text())
    README.write_text(rewrite(README.read_text(), recorded))
    text = README.read_text()
    print(f"rewrote {len(blocks(text))} recorded blocks of {README} from {kept} and {len(blocks(text, 'benchmark'))} "
          f"benchmark blocks from {RESULTS}")


if __name__ == "__main__":
    main()
