"""The readers on copies of the real datasets' layouts (written by ``real_layouts`` from the embedded generator)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import real_layouts as rl

from sarxai_utils.errors import CorruptFileError, InvalidImageError
from sarxai_utils.readers import (
    MSTAR_CLASSES,
    OPENSARURBAN_CLASSES,
    MSTARFolder,
    OpenSARUrban,
    fit_to_size,
    is_phoenix_file,
    mstar_class,
    read_mstar,
    write_mstar,
)

MSTAR_LAYOUTS = ("release", "flat", "jpeg_release", "converted_jpeg", "converted_npy")


def _snapshot(root: Path) -> dict[Path, tuple[int, bytes]]:
    return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file()}


def _counts(ds) -> dict[str, int]:
    return {c: ds.targets.count(i) for i, c in enumerate(ds.classes)}


# ----------------------------------------------------------------------------------------------------------
# Phoenix files as the public release writes them
# ----------------------------------------------------------------------------------------------------------


def test_release_phoenix_file_reads_bit_exactly(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    magnitude = rng.gamma(1.0, 0.05, (128, 128)).astype(np.float32)
    phase = rng.uniform(-np.pi, np.pi, (128, 128)).astype(np.float32)
    path = tmp_path / "HB03787.000"
    write_mstar(path, magnitude, phase, rl.phoenix_header("BMP2", 17, 0, 128), leading_newline=True)
    raw = path.read_bytes()
    assert raw.startswith(b"\n[PhoenixHeaderVer01.04]\n") and is_phoenix_file(path)
    header, mag, ph = read_mstar(path)
    assert header["TargetType"] == "bmp2_tank" and header["TargetSerNum"] == "9563"
    assert header["DesiredDepression"] == "17" and header["Polarization"] == "HH"
    assert header["NumberOfRows"] == header["NumberOfColumns"] == "128"
    length = int(header["PhoenixHeaderLength"])  # counts the leading newline
    assert raw[length:] == magnitude.astype(">f4").tobytes() + phase.astype(">f4").tobytes()
    assert mag.tobytes() == magnitude.tobytes() and ph.tobytes() == phase.tobytes()  # bit-exact


def test_only_whitespace_may_precede_the_phoenix_marker(tmp_path: Path) -> None:
    path = tmp_path / "HB0.001"
    write_mstar(path, np.ones((4, 4), np.float32), leading_newline=True)
    good = path.read_bytes()
    path.write_bytes(b"x" + good[1:])  # the same length, a letter instead of the newline
    assert not is_phoenix_file(path)
    with pytest.raises(CorruptFileError, match="does not start with") as info:
        read_mstar(path)
    assert str(path) in str(info.value)
    path.write_bytes(good[: len(good) - 3])  # truncated
    with pytest.raises(CorruptFileError, match="truncated"):
        read_mstar(path)
    text = good.replace(b"NumberOfRows= 4\n", b"NumberOfRowz= 4\n")
    path.write_bytes(text)
    with pytest.raises(CorruptFileError, match="NumberOfRows"):
        read_mstar(path)


@pytest.mark.parametrize(
    ("name", "cls"),
    [("bmp2_tank", "BMP2"), ("BMP-2", "BMP2"), ("btr70_transport", "BTR70"), ("BTR70(SN_C71)", "BTR70"),
     ("T72(SN_132)", "T72"), ("t72_tank", "T72"), ("BRDM_2", "BRDM2"), ("brdm_2", "BRDM2"), ("BTR_60", "BTR60"),
     ("ZSU_23_4", "ZSU234"), ("zsu_23_4", "ZSU234"), ("ZIL-131", "ZIL131"), ("T-62", "T62"), ("2s1_gun", "2S1"),
     ("D7", "D7"), ("SN_9563", "BMP2"), ("SN_C71", "BTR70"), ("17_DEG", None), ("SCENE1", None), ("COL2", None),
     ("TRAIN", None), ("slicy", None), ("T72_SN_9563", None)],
)
def test_mstar_class_spellings(name: str, cls: str | None) -> None:
    assert mstar_class(name) == cls


# ----------------------------------------------------------------------------------------------------------
# MSTAR trees
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", MSTAR_LAYOUTS)
def test_mstar_layouts_give_classes_counts_depressions_and_splits(tmp_path: Path, layout: str) -> None:
    root, masks = tmp_path / layout, tmp_path / "masks"
    counts = rl.write_mstar_tree(root, layout, n_train=3, n_test=2, size=48, masks=masks)
    before = _snapshot(root)
    ds = MSTARFolder(root, size=48)
    assert ds.classes == list(MSTAR_CLASSES)
    assert _counts(ds) == {c: sum(v) for c, v in counts.items()}
    known = layout in ("release", "flat", "jpeg_release")
    for split, k in (("train", 0), ("test", 1)):
        part = MSTARFolder(root, size=48, split=split)
        assert _counts(part) == {c: v[k] for c, v in counts.items()}
        assert set(part.depressions) == ({(17, 15)[k]} if known else {None})
    image, label = ds[0]
    assert image.shape == (1, 48, 48) and label == 0
    with_masks = MSTARFolder(root, size=40, masks=masks)
    for i in (0, len(with_masks) - 1):
        target, shadow = with_masks.masks_of(i)
        assert target.shape == shadow.shape == (40, 40) and target.any() and shadow.any()
        assert not (target & shadow).any()
    assert _snapshot(root) == before  # reading never writes the user's files


def test_release_tree_labels_come_from_headers_not_extensions(tmp_path: Path) -> None:
    root = tmp_path / "release"
    rl.write_mstar_tree(root, "release", n_train=2, n_test=1, size=48)
    bmp2 = sorted(root.glob("TARGETS/TRAIN/17_DEG/BMP2/SN_9563/*.000"))
    gun = sorted(root.glob("MSTAR_PUBLIC_MIXED_TARGETS_CD2/17_DEG/COL2/SCENE1/2S1/*.000"))
    assert bmp2 and gun  # the same extension on both discs
    flat = tmp_path / "flat"
    flat.mkdir()
    for p in bmp2 + gun:
        (flat / p.name).write_bytes(p.read_bytes())
    ds = MSTARFolder(flat)
    assert ds.classes == ["2S1", "BMP2"]
    labels = {p.name: ds.classes[lab] for p, lab in ds.samples}
    assert all(labels[p.name] == "BMP2" for p in bmp2) and all(labels[p.name] == "2S1" for p in gun)
    assert set(ds.depressions) == {17}


def test_release_reads_the_same_magnitude_as_read_mstar(tmp_path: Path) -> None:
    root = tmp_path / "release"
    rl.write_mstar_tree(root, "release", n_train=1, n_test=1, size=48, uneven=False)
    ds = MSTARFolder(root, size=None)
    path = ds.samples[3][0]
    np.testing.assert_array_equal(ds[3][0][0].numpy(), read_mstar(path)[1])
    assert np.array_equal(MSTARFolder(root, size=32)[3][0][0].numpy(), fit_to_size(read_mstar(path)[1], 32))


def test_phoenix_file_wins_over_its_converted_image(tmp_path: Path) -> None:
    root = tmp_path / "both"
    rl.write_mstar_tree(root, "release", n_train=1, n_test=0, size=48, uneven=False)
    rl.write_mstar_tree(root, "jpeg_release", n_train=1, n_test=0, size=48, uneven=False)
    ds = MSTARFolder(root)
    assert len(ds) == len(MSTAR_CLASSES) and all(is_phoenix_file(p) for p, _ in ds.samples)


def test_converted_npy_skips_phase_arrays(tmp_path: Path) -> None:
    root = tmp_path / "npy"
    rl.write_mstar_tree(root, "converted_npy", n_train=1, n_test=1, size=48, uneven=False)
    mag = next(root.rglob("*_Mag.npy"))
    np.save(mag.with_name(mag.name.replace("_Mag", "_Phase")), np.zeros((48, 48), np.float32))
    assert len(MSTARFolder(root)) == 2 * len(MSTAR_CLASSES)


def test_mask_label_image_and_missing_target(tmp_path: Path) -> None:
    root, masks = tmp_path / "npy", tmp_path / "masks"
    rl.write_mstar_tree(root, "converted_npy", n_train=1, n_test=0, size=48, uneven=False)
    masks.mkdir()
    ds = MSTARFolder(root, size=16)
    chip = ds.samples[0][0].name.replace("_Mag.npy", "")
    labels = np.zeros((16, 16), np.uint8)
    labels[4:8, 4:8], labels[8:12, 4:8] = 1, 2
    np.save(masks / f"{chip}.npy", labels)
    np.save(masks / f"{ds.samples[1][0].name.replace('_Mag.npy', '')}_shadow.npy", labels)
    ds = MSTARFolder(root, size=16, masks=masks)
    target, shadow = ds.masks_of(0)
    assert target.sum() == 16 and shadow.sum() == 16 and target[5, 5] and shadow[9, 5]
    with pytest.raises(Exception, match="without a target mask"):
        ds.masks_of(1)
    assert ds.masks_of(2) is None


# ----------------------------------------------------------------------------------------------------------
# OpenSARUrban copies
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ext", [".npy", ".tif"])
@pytest.mark.parametrize("layout", rl.URBAN_LAYOUTS)
def test_opensarurban_layouts_give_ten_classes_paired(tmp_path: Path, layout: str, ext: str) -> None:
    root = tmp_path / layout
    counts = rl.write_opensarurban(root, layout, ext, n=2, size=32)
    before = _snapshot(root)
    both = OpenSARUrban(root, "both")
    assert both.classes == list(OPENSARURBAN_CLASSES)
    assert _counts(both) == counts
    for (vv, vh), _ in both.samples:  # a pair is one patch in both polarizations
        assert vv.name[:-7] == vh.name[:-7] and vv.name[-7:-4] == "_vv" and vh.name[-7:-4] == "_vh"
        assert vv.name.split("_")[0] == vh.name.split("_")[0]
    for pol in ("VV", "VH"):
        assert _counts(OpenSARUrban(root, pol)) == counts
    image, label = both[len(both) - 1]
    assert image.shape == (2, 32, 32) and label == 9
    assert (image[0] > image[1]).float().mean() > 0.5  # VV above VH, as the generator draws it
    assert _snapshot(root) == before


def test_opensarurban_merges_spellings_and_checks_name_against_folder(tmp_path: Path) -> None:
    root = tmp_path / "urban"
    rl.write_opensarurban(root, "class_folders", ".npy", n=2, size=32, uneven=False)
    assert (root / "highbuildings").is_dir() and (root / "highbuilding").is_dir()
    assert _counts(OpenSARUrban(root, "VV"))["HighBuildings"] == 2
    wrong = root / "railway" / "airport_x0_y0_Polygon9_vv.npy"
    np.save(wrong, np.ones((32, 32), np.float32))
    with pytest.raises(Exception, match="folder says class 'Railway' but its name says 'Airport'") as info:
        OpenSARUrban(root, "VV")
    assert str(wrong) in str(info.value)


def test_opensarurban_pixel_value_conventions(tmp_path: Path) -> None:
    db = tmp_path / "db"
    rl.write_opensarurban(db, "flat", ".npy", n=1, size=32, pixel_values="db", uneven=False)
    with pytest.raises(InvalidImageError, match="pixel_values='db'") as info:
        OpenSARUrban(db, "VV", pixel_values="amplitude")
    assert str(db) in str(info.value)
    as_db = OpenSARUrban(db, "VV", pixel_values="db")
    amp = tmp_path / "amp"
    rl.write_opensarurban(amp, "flat", ".npy", n=1, size=32, uneven=False)
    np.testing.assert_allclose(as_db[0][0].numpy(), OpenSARUrban(amp, "VV")[0][0].numpy(), rtol=1e-4)
    unit = tmp_path / "unit"
    rl.write_opensarurban(unit, "flat", ".npy", n=1, size=32, pixel_values="unit", uneven=False)
    with pytest.warns(UserWarning, match="normalised amplitude"):
        OpenSARUrban(unit, "VV", pixel_values="db")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        OpenSARUrban(unit, "VV", pixel_values="amplitude")
