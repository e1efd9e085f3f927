"""Write the README's paragraphs about lesson results from a recorded run, so that its numbers are measured, not typed.

``make course`` writes ``build/recorded_numbers.json``: the headline numbers each lesson recorded with
``sarxai_utils.recorded.record`` in that run. ``python benchmarks/readme_numbers.py --from build/recorded_numbers.json``
keeps a copy in ``benchmarks/results/recorded_<profile>.json`` and rewrites every README block between
``<!-- recorded:NAME:start -->`` and ``<!-- recorded:NAME:end -->`` from the templates below; without ``--from`` it
rewrites the README from the copy kept. ``tests/test_repository.py`` checks that the README's blocks are exactly
what the kept copy gives, so a typed edit of a number fails the tests.
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
BLOCK = re.compile(r"(<!-- recorded:(?P<name>[a-z0-9_]+):start -->\n)(?P<body>.*?)(<!-- recorded:(?P=name):end -->)",
                   re.S)
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
        "{l13.seed_rho_max:+.2f}. Reading the paper's radius in four input scalings moves the pixel level from "
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
    bullet = text.startswith("- ")
    return textwrap.fill(text, WIDTH, subsequent_indent="  " if bullet else "", break_on_hyphens=False) + "\n"


def blocks(readme: str) -> dict[str, str]:
    """The recorded blocks of a README text: name -> body."""
    return {m["name"]: m["body"] for m in BLOCK.finditer(readme)}


def rewrite(readme: str, recorded: dict) -> str:
    """The README text with every recorded block rewritten from ``recorded``."""
    return BLOCK.sub(lambda m: m.group(1) + render(m["name"], recorded) + m.group(4), readme)


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
    print(f"rewrote {len(blocks(README.read_text()))} recorded blocks of {README} from {kept}")


if __name__ == "__main__":
    main()
