"""Tests of sarxai_utils.readers on small fixture files written in the real formats."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from sarxai_utils.errors import CorruptFileError, DataFolderError, InvalidImageError
from sarxai_utils.readers import (
    OPENSARURBAN_CLASSES,
    MSTARFolder,
    OpenSARUrban,
    read_image,
    read_mstar,
    write_mstar,
)

RNG = np.random.default_rng(0)


def _img(h: int = 6, w: int = 5, scale: float = 10.0) -> np.ndarray:
    return (RNG.random((h, w)) * scale).astype(np.float32)


def _u8(h: int = 6, w: int = 5) -> np.ndarray:
    return RNG.integers(0, 256, size=(h, w), dtype=np.uint8)


def _save(path: Path, arr: np.ndarray) -> Path:
    """Write ``arr`` in the format given by the extension of ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ext = path.suffix.lower()
    if ext in (".tif", ".tiff"):
        rgb = arr.ndim == 3 and arr.shape[-1] == 3
        tifffile.imwrite(path, arr, photometric="rgb" if rgb else "minisblack")
    elif ext == ".npy":
        np.save(path, arr)
    else:
        Image.fromarray(arr).save(path)
    return path


# ----------------------------------------------------------------------------------------------------------
# MSTAR Phoenix files
# ----------------------------------------------------------------------------------------------------------


def test_mstar_round_trip_with_different_header_lengths(tmp_path: Path) -> None:
    mag_a, ph_a = _img(4, 3), _img(4, 3) - 5
    mag_b, ph_b = _img(7, 9), _img(7, 9) - 5
    a, b = tmp_path / "HB03333.015", tmp_path / "HB19999.000"
    write_mstar(a, mag_a, ph_a, header_extra={"TargetType": "t72", "TargetSerNum": "132"})
    write_mstar(b, mag_b, ph_b, header_extra={"TargetType": "bmp2_tank_long_name", "DesiredDepression": "17"})

    hdr_a, ma, pa = read_mstar(a)
    hdr_b, mb, pb = read_mstar(b)
    assert int(hdr_a["PhoenixHeaderLength"]) != int(hdr_b["PhoenixHeaderLength"])
    assert hdr_a["TargetType"] == "t72" and hdr_a["TargetSerNum"] == "132"
    assert hdr_b["TargetType"] == "bmp2_tank_long_name" and hdr_b["DesiredDepression"] == "17"
    assert hdr_a["NumberOfRows"] == "4" and hdr_a["NumberOfColumns"] == "3"
    for got, want in ((ma, mag_a), (pa, ph_a), (mb, mag_b), (pb, ph_b)):
        assert got is not None and got.dtype == np.float32 and got.dtype.isnative
        np.testing.assert_array_equal(got, want)
    assert a.stat().st_size == int(hdr_a["PhoenixHeaderLength"]) + 8 * 12


def test_mstar_header_is_ascii_then_big_endian_floats(tmp_path: Path) -> None:
    mag = np.arange(6, dtype=np.float32).reshape(2, 3)
    path = tmp_path / "chip"
    write_mstar(path, mag, header_extra={"TargetType": "x"})
    raw = path.read_bytes()
    assert raw.startswith(b"[PhoenixHeaderVer")
    header_length = int(read_mstar(path)[0]["PhoenixHeaderLength"])
    assert b"[EndofPhoenixHeader]" in raw[:header_length]
    assert raw[header_length:] == mag.astype(">f4").tobytes()


def test_mstar_native_header_length_is_honoured(tmp_path: Path) -> None:
    mag, ph = _img(5, 4), _img(5, 4)
    path = tmp_path / "chip.026"
    write_mstar(path, mag, ph, native_header_length=512)
    hdr, m, p = read_mstar(path)
    assert int(hdr["native_header_length"]) == 512
    assert path.stat().st_size == int(hdr["PhoenixHeaderLength"]) + 512 + 8 * 20
    np.testing.assert_array_equal(m, mag)
    np.testing.assert_array_equal(p, ph)


def test_mstar_magnitude_only(tmp_path: Path) -> None:
    mag = _img(3, 3)
    path = tmp_path / "mag_only.001"
    write_mstar(path, mag)
    _, m, p = read_mstar(path)
    assert p is None
    np.testing.assert_array_equal(m, mag)


def test_mstar_truncated_file_rejected(tmp_path: Path) -> None:
    full = tmp_path / "full.015"
    write_mstar(full, _img(4, 4), _img(4, 4))
    cut = tmp_path / "cut.015"
    cut.write_bytes(full.read_bytes()[:-10])
    with pytest.raises(CorruptFileError, match="truncated") as info:
        read_mstar(cut)
    assert str(cut) in str(info.value)
    assert str(cut.stat().st_size) in str(info.value)


def test_mstar_extra_bytes_rejected(tmp_path: Path) -> None:
    path = tmp_path / "long.015"
    write_mstar(path, _img(4, 4), _img(4, 4))
    path.write_bytes(path.read_bytes() + b"\0" * 4)
    with pytest.raises(CorruptFileError, match="unexpected size"):
        read_mstar(path)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        (b"NumberOfRows= 4\n", b"               \n", "NumberOfRows"),
        (b"NumberOfRows= 4\n", b"NumberOfRows= x\n", "NumberOfRows"),
        (b"NumberOfColumns= 4\n", b"                  \n", "NumberOfColumns"),
    ],
)
def test_mstar_missing_or_bad_field_rejected(tmp_path: Path, old: bytes, new: bytes, field: str) -> None:
    path = tmp_path / "nofield.000"
    write_mstar(path, _img(4, 4))
    raw = path.read_bytes()
    assert old in raw
    path.write_bytes(raw.replace(old, new))  # same length, so the header length stays right
    with pytest.raises(CorruptFileError, match=field) as info:
        read_mstar(path)
    assert str(path) in str(info.value)


def test_mstar_garbage_and_missing_end_marker_rejected(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.015"
    garbage.write_bytes(RNG.integers(0, 256, 3000, dtype=np.uint8).tobytes())
    with pytest.raises(CorruptFileError, match="PhoenixHeaderVer") as info:
        read_mstar(garbage)
    assert str(garbage) in str(info.value)

    no_end = tmp_path / "noend.015"
    no_end.write_bytes(b"[PhoenixHeaderVer01.04]\nPhoenixHeaderLength= 00000100\n" + b"\x00\xff" * 100)
    with pytest.raises(CorruptFileError, match="EndofPhoenixHeader"):
        read_mstar(no_end)

    with pytest.raises(CorruptFileError, match="does not exist"):
        read_mstar(tmp_path / "missing.015")


def test_mstar_nan_magnitude_rejected(tmp_path: Path) -> None:
    mag = _img(4, 4)
    mag[1, 2] = np.nan
    path = tmp_path / "nan.015"
    write_mstar(path, mag)
    with pytest.raises(InvalidImageError, match="1 NaN") as info:
        read_mstar(path)
    assert str(path) in str(info.value)


def test_write_mstar_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(InvalidImageError, match="magnitude"):
        write_mstar(tmp_path / "a", np.zeros((2, 2, 2)))
    with pytest.raises(InvalidImageError, match="phase"):
        write_mstar(tmp_path / "a", np.zeros((2, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="NumberOfRows"):
        write_mstar(tmp_path / "a", np.zeros((2, 2)), header_extra={"NumberOfRows": 9})


# ----------------------------------------------------------------------------------------------------------
# read_image
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "arr"),
    [
        ("a.tif", _img()),
        ("a.TIFF", RNG.integers(0, 60000, (6, 5), dtype=np.uint16)),
        ("a.png", _u8()),
        ("a16.png", RNG.integers(0, 60000, (6, 5), dtype=np.uint16)),
        ("a.npy", _img().astype(np.float64)),
        ("hw1.npy", _img()[..., None]),
        ("1hw.tif", _img()[None]),
    ],
)
def test_read_image_lossless_formats(tmp_path: Path, name: str, arr: np.ndarray) -> None:
    out = read_image(_save(tmp_path / name, arr))
    assert out.dtype == np.float32 and out.shape == (6, 5)
    np.testing.assert_array_equal(out, np.squeeze(arr).astype(np.float32))


@pytest.mark.parametrize("name", ["a.jpg", "a.jpeg", "a.JPG"])
def test_read_image_jpeg(tmp_path: Path, name: str) -> None:
    arr = np.full((8, 8), 120, dtype=np.uint8)
    out = read_image(_save(tmp_path / name, arr))
    assert out.shape == (8, 8) and out.dtype == np.float32
    assert np.abs(out - 120).max() <= 2


def test_read_image_rgb_png(tmp_path: Path) -> None:
    grey = _u8()
    equal = _save(tmp_path / "equal.png", np.stack([grey] * 3, axis=-1))
    np.testing.assert_array_equal(read_image(equal), grey.astype(np.float32))
    rgba = _save(tmp_path / "rgba.png", np.concatenate([np.stack([grey] * 3, -1), grey[..., None] // 2], -1))
    np.testing.assert_array_equal(read_image(rgba), grey.astype(np.float32))

    colour = np.stack([_u8(), _u8(), _u8()], axis=-1)
    path = _save(tmp_path / "colour.png", colour)
    want = np.asarray(Image.fromarray(colour).convert("L"), dtype=np.float32)
    np.testing.assert_array_equal(read_image(path), want)


@pytest.mark.parametrize("name", ["rgb.npy", "rgb.tif"])
def test_read_image_3d_rejected(tmp_path: Path, name: str) -> None:
    path = _save(tmp_path / name, np.stack([_img(), _img(), _img()], axis=-1))
    with pytest.raises(InvalidImageError, match=r"\(6, 5, 3\)") as info:
        read_image(path)
    assert str(path) in str(info.value)


def test_read_image_empty_rejected(tmp_path: Path) -> None:
    path = _save(tmp_path / "empty.npy", np.zeros((0, 5), dtype=np.float32))
    with pytest.raises(InvalidImageError, match="empty"):
        read_image(path)


def test_read_image_nan_inf_rejected(tmp_path: Path) -> None:
    arr = _img()
    arr[0, 0] = np.nan
    arr[1, 1] = arr[2, 2] = np.inf
    path = _save(tmp_path / "bad.npy", arr)
    with pytest.raises(InvalidImageError, match="1 NaN and 2 inf") as info:
        read_image(path)
    assert str(path) in str(info.value)


def test_read_image_negative_intensity_rejected(tmp_path: Path) -> None:
    arr = _img()
    arr[0, 0] = -3.0
    path = _save(tmp_path / "neg.tif", arr)
    for mode in ("intensity", "amplitude"):
        with pytest.raises(InvalidImageError, match="negative") as info:
            read_image(path, pixel_values=mode)
        assert str(path) in str(info.value)
    assert read_image(path, pixel_values="db")[0, 0] == pytest.approx(10**-0.3)


def test_read_image_pixel_value_conversions(tmp_path: Path) -> None:
    amp = _save(tmp_path / "amp.npy", np.array([[0.0, 2.0], [3.0, 0.5]], dtype=np.float32))
    np.testing.assert_allclose(read_image(amp, pixel_values="amplitude"), [[0.0, 4.0], [9.0, 0.25]])
    db = _save(tmp_path / "db.npy", np.array([[-10.0, 0.0], [10.0, 20.0]], dtype=np.float32))
    np.testing.assert_allclose(read_image(db, pixel_values="dB"), [[0.1, 1.0], [10.0, 100.0]], rtol=1e-6)
    np.testing.assert_array_equal(read_image(db.with_name("amp.npy")), [[0.0, 2.0], [3.0, 0.5]])
    with pytest.raises(ValueError, match="pixel_values"):
        read_image(amp, pixel_values="linear")


def test_read_image_unreadable_files(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.png"
    garbage.write_bytes(b"this is not a png at all" * 10)
    zero = tmp_path / "zero.tif"
    zero.write_bytes(b"")
    truncated = _save(tmp_path / "trunc.npy", _img(20, 20))
    truncated.write_bytes(truncated.read_bytes()[:-100])
    half_png = _save(tmp_path / "half.png", _u8(40, 40))
    half_png.write_bytes(half_png.read_bytes()[:60])
    for path in (garbage, zero, truncated, half_png):
        with pytest.raises(CorruptFileError) as info:
            read_image(path)
        assert str(path) in str(info.value)
    for path in (garbage, truncated, half_png):
        with pytest.raises(CorruptFileError) as info:
            read_image(path)
        assert info.value.__cause__ is not None

    with pytest.raises(CorruptFileError, match=r"\.tif") as info:
        read_image(tmp_path / "image.bmp")
    assert "image.bmp" in str(info.value)
    with pytest.raises(CorruptFileError, match="does not exist"):
        read_image(tmp_path / "missing.tif")


# ----------------------------------------------------------------------------------------------------------
# OpenSARUrban
# ----------------------------------------------------------------------------------------------------------


def test_urban_subfolders_and_suffixes(tmp_path: Path) -> None:
    root = tmp_path / "urban"
    a_vv = _save(root / "Airport" / "VV" / "p1.tif", _img())
    _save(root / "Airport" / "VH" / "p1.tif", _img())
    a2_vv = _save(root / "Airport" / "vv" / "p2.tif", _img())
    w_vv = _save(root / "Vegetation" / "w1_vv.npy", _img())
    _save(root / "Vegetation" / "w1_VH.npy", _img())
    _save(root / "Vegetation" / "quicklook.png", _u8())  # no polarization: ignored
    (root / "Vegetation" / "notes.txt").write_text("not an image")
    (root / ".cache").mkdir()  # hidden: ignored
    ds = OpenSARUrban(root, pixel_values="intensity")
    assert ds.classes == list(OPENSARURBAN_CLASSES)
    assert ds.polarization == "VV"
    assert ds.samples == [(a_vv, 0), (a2_vv, 0), (w_vv, 9)]
    assert ds.targets == [0, 0, 9]
    image, label = ds[2]
    assert isinstance(label, int) and label == 9
    assert image.dtype == torch.float32 and image.shape == (1, 6, 5)
    np.testing.assert_array_equal(image[0].numpy(), np.load(w_vv))
    assert len(OpenSARUrban(root, polarization="vh")) == 2


def test_urban_class_name_variants(tmp_path: Path) -> None:
    root = tmp_path / "urban"
    names = {
        "airports": "Airport",
        "Dense_Low": "DenseLow",
        "highways": "Highway",
        "storage area": "StorageArea",
        "skyscrapers": "Skyscraper",
        "HIGH-BUILDING": "HighBuildings",
        "general residential": "GeneralResidential",
    }
    for folder in names:
        _save(root / folder / "x_vv.npy", _img())
    ds = OpenSARUrban(root, pixel_values="intensity")
    got = {ds.classes[label]: Path(path).parent.name for path, label in ds.samples}
    assert got == {cls: folder for folder, cls in names.items()}


def test_urban_all_extensions(tmp_path: Path) -> None:
    root = tmp_path / "urban"
    for i, ext in enumerate((".tif", ".tiff", ".png", ".jpg", ".jpeg", ".npy", ".TIF")):
        arr = np.full((4, 4), 10 * i + 5, dtype=np.uint8) if ext in (".png", ".jpg", ".jpeg") else _img(4, 4)
        _save(root / "Railway" / "VV" / f"img{i}{ext}", arr)
    ds = OpenSARUrban(root, pixel_values="intensity")
    assert len(ds) == 7
    assert [Path(p).suffix for p, _ in ds.samples] == [
        ".tif",
        ".tiff",
        ".png",
        ".jpg",
        ".jpeg",
        ".npy",
        ".TIF",
    ]
    for image, label in ds:
        assert image.shape == (1, 4, 4) and label == OPENSARURBAN_CLASSES.index("Railway")


def test_urban_both_polarizations(tmp_path: Path) -> None:
    root = tmp_path / "urban"
    vv1, vh1 = _img(), _img()
    _save(root / "Highway" / "VV" / "a.tif", vv1)
    _save(root / "Highway" / "VH" / "a.tif", vh1)
    vv2, vh2 = _img(), _img()
    _save(root / "Vegetation" / "b_vv.npy", vv2)
    _save(root / "Vegetation" / "b_vh.npy", vh2)
    ds = OpenSARUrban(root, polarization="Both", pixel_values="intensity")
    assert ds.polarization == "both" and len(ds) == 2
    assert ds.samples[0][0] == (root / "Highway" / "VV" / "a.tif", root / "Highway" / "VH" / "a.tif")
    image, label = ds[1]
    assert image.shape == (2, 6, 5) and label == OPENSARURBAN_CLASSES.index("Vegetation")
    np.testing.assert_array_equal(image[0].numpy(), vv2)
    np.testing.assert_array_equal(image[1].numpy(), vh2)


def test_urban_unpaired_and_mismatched_pairs(tmp_path: Path) -> None:
    root = tmp_path / "urban"
    _save(root / "Highway" / "VV" / "a.tif", _img())
    _save(root / "Highway" / "VH" / "a.tif", _img())
    lone = _save(root / "Highway" / "VV" / "b.tif", _img())
    with pytest.raises(DataFolderError, match="no VH partner") as info:
        OpenSARUrban(root, polarization="both")
    assert str(lone) in str(info.value)
    lone.unlink()

    big = _save(root / "Vegetation" / "c_vv.npy", _img(6, 5))
    small = _save(root / "Vegetation" / "c_vh.npy", _img(3, 3))
    ds = OpenSARUrban(root, polarization="both")
    with pytest.raises(InvalidImageError, match="different shapes") as info:
        ds[1]
    assert str(big) in str(info.value) and str(small) in str(info.value)


def test_urban_folder_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DataFolderError, match="does not exist") as info:
        OpenSARUrban(missing)
    assert str(missing) in str(info.value)

    root = tmp_path / "urban"
    (root / ".hidden").mkdir(parents=True)
    (root / "readme.txt").write_text("x")
    with pytest.raises(DataFolderError, match="holds no VV or VH image"):
        OpenSARUrban(root, pixel_values="intensity")

    _save(root / "Airport" / "VV" / "a.tif", _img())
    unknown = root / "Farmland"
    _save(unknown / "VV" / "a.tif", _img())
    with pytest.raises(DataFolderError, match="no class found") as info:
        OpenSARUrban(root, pixel_values="intensity")
    assert str(unknown / "VV" / "a.tif") in str(info.value) and "DenseLow" in str(info.value)
    shutil.rmtree(unknown)

    empty = root / "Vegetation"
    _save(empty / "VH" / "a.tif", _img())
    with pytest.raises(DataFolderError, match="empty class") as info:
        OpenSARUrban(root, polarization="VV")
    assert str(empty / "VH") in str(info.value)
    _save(empty / "VV" / "a.tif", _img())
    assert len(OpenSARUrban(root, polarization="VV")) == 2

    with pytest.raises(ValueError, match="polarization"):
        OpenSARUrban(root, polarization="HH")
    with pytest.raises(ValueError, match="pixel_values"):
        OpenSARUrban(root, pixel_values="raw")


def test_urban_bad_files_raise_when_read(tmp_path: Path) -> None:
    root = tmp_path / "urban"
    corrupt = root / "Airport" / "VV" / "a.png"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_bytes(b"\x89PNG garbage")
    zero = root / "Airport" / "VV" / "b.tif"
    zero.write_bytes(b"")
    rgb = _save(root / "Airport" / "VV" / "c.npy", np.stack([_img(), _img(), _img()], axis=-1))
    neg = _save(root / "Airport" / "VV" / "d.npy", -_img() - 1)
    ds = OpenSARUrban(root, pixel_values="intensity")
    assert len(ds) == 4
    for index, (error, path) in enumerate(
        [
            (CorruptFileError, corrupt),
            (CorruptFileError, zero),
            (InvalidImageError, rgb),
            (InvalidImageError, neg),
        ]
    ):
        with pytest.raises(error) as info:
            ds[index]
        assert str(path) in str(info.value)
    assert OpenSARUrban(root, pixel_values="db")[3][0].min() > 0


def test_urban_pixel_values_and_transform(tmp_path: Path) -> None:
    root = tmp_path / "urban"
    amp = _img()
    _save(root / "SingleBuilding" / "VV" / "a.npy", amp)
    ds = OpenSARUrban(root, pixel_values="amplitude", transform=lambda t: t * 2)
    image, label = ds[0]
    assert label == OPENSARURBAN_CLASSES.index("SingleBuilding")
    np.testing.assert_allclose(image[0].numpy(), 2 * amp.astype(np.float64) ** 2, rtol=1e-6)

    custom = OpenSARUrban(root, classes=("Forest", "single_buildings"))
    assert custom.classes == ["Forest", "single_buildings"] and custom.targets == [1]


# ----------------------------------------------------------------------------------------------------------
# MSTARFolder
# ----------------------------------------------------------------------------------------------------------


def _mstar_root(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    root = tmp_path / "mstar"
    (root / "T72" / "SN_132").mkdir(parents=True)
    (root / "BMP2").mkdir()
    arrays = {
        "T72/SN_132/HB03333.015": _img(10, 10),
        "T72/HB03334.026": _img(12, 8),
        "BMP2/HB0001.000": _img(6, 6),
        "BMP2/noextension": _img(10, 10),
    }
    for i, (rel, mag) in enumerate(arrays.items()):
        write_mstar(root / rel, mag, _img(*mag.shape), header_extra={"TargetType": "x" * (i + 1)})
    chip = _u8(10, 10)
    _save(root / "BMP2" / "chip.png", chip)
    arrays["BMP2/chip.png"] = chip.astype(np.float32)
    (root / "BMP2" / "readme.txt").write_text("not a Phoenix file")
    (root / ".DS_Store").mkdir()
    return root, arrays


def test_mstar_folder_reads_phoenix_and_png(tmp_path: Path) -> None:
    root, arrays = _mstar_root(tmp_path)
    ds = MSTARFolder(root, size=None)  # TargetType "x", "xx" ... names no class: labels from the folders
    assert ds.classes == ["BMP2", "T72"]
    rels = [p.relative_to(root).as_posix() for p, _ in ds.samples]
    assert rels == [
        "BMP2/HB0001.000",
        "BMP2/chip.png",
        "BMP2/noextension",
        "T72/HB03334.026",
        "T72/SN_132/HB03333.015",
    ]
    assert ds.targets == [0, 0, 0, 1, 1]
    for (path, _), (image, label) in zip(ds.samples, ds, strict=True):
        want = arrays[path.relative_to(root).as_posix()]
        assert image.dtype == torch.float32 and image.shape == (1, *want.shape)
        np.testing.assert_array_equal(image[0].numpy(), want)
        assert label == ds.classes.index(path.relative_to(root).parts[0])


def test_mstar_folder_size_crop_and_pad(tmp_path: Path) -> None:
    root, arrays = _mstar_root(tmp_path)
    ds = MSTARFolder(root, size=8, transform=lambda t: t + 0)
    for image, _ in ds:
        assert image.shape == (1, 8, 8)
    big = arrays["T72/SN_132/HB03333.015"]  # 10 x 10 -> rows/cols 1..8
    np.testing.assert_array_equal(ds[4][0][0].numpy(), big[1:9, 1:9])
    small = arrays["BMP2/HB0001.000"]  # 6 x 6 -> padded by 1 on each side
    padded = ds[0][0][0].numpy()
    np.testing.assert_array_equal(padded[1:7, 1:7], small)
    assert padded[0].sum() == 0 and padded[:, 7].sum() == 0
    tall = arrays["T72/HB03334.026"]  # 12 x 8
    np.testing.assert_array_equal(ds[3][0][0].numpy(), tall[2:10, :])
    with pytest.raises(ValueError, match="size"):
        MSTARFolder(root, size=0)


def test_mstar_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(DataFolderError, match="does not exist"):
        MSTARFolder(tmp_path / "nowhere")
    root = tmp_path / "mstar"
    root.mkdir()
    with pytest.raises(DataFolderError, match="holds no MSTAR chip"):
        MSTARFolder(root)
    (root / "T72").mkdir()
    write_mstar(root / "T72" / "a.015", _img())
    (root / "notes").mkdir()
    (root / "notes" / "notes.txt").write_text("nothing here")  # not a chip: ignored
    assert len(MSTARFolder(root)) == 1
    stray = _save(root / "notes" / "quicklook.png", _u8())  # an image no class folder names
    with pytest.raises(DataFolderError, match="name no MSTAR class") as info:
        MSTARFolder(root)
    assert str(stray) in str(info.value)
    stray.unlink()
    unknown = root / "notes" / "HB0.000"  # a Phoenix file whose header and folders name no class
    write_mstar(unknown, _img(), header_extra={"TargetType": "slicy"})
    with pytest.raises(DataFolderError, match="name no MSTAR class") as info:
        MSTARFolder(root)
    assert str(unknown) in str(info.value) and "slicy" in str(info.value)
    unknown.unlink()
    broken = root / "T72" / "b.015"
    write_mstar(broken, _img(4, 4))
    broken.write_bytes(broken.read_bytes()[:-1])
    ds = MSTARFolder(root)
    with pytest.raises(CorruptFileError, match="truncated") as info:
        ds[ds.samples.index((broken, 0))]
    assert str(broken) in str(info.value)
    with pytest.raises(DataFolderError, match="split='test'"):
        MSTARFolder(root, split="test")  # no depression anywhere
    with pytest.raises(ValueError, match="split"):
        MSTARFolder(root, split="val")
    with pytest.raises(DataFolderError, match="no mask file matches"):
        (tmp_path / "masks").mkdir()
        _save(tmp_path / "masks" / "other_target.png", _u8())
        MSTARFolder(root, masks=tmp_path / "masks")


# ----------------------------------------------------------------------------------------------------------
# the user's files are read-only
# ----------------------------------------------------------------------------------------------------------


def test_reading_does_not_modify_files(tmp_path: Path) -> None:
    root = tmp_path / "urban"
    paths = [
        _save(root / "Airport" / "VV" / "a.tif", _img()),
        _save(root / "Airport" / "VH" / "a.tif", _img()),
        _save(root / "Vegetation" / "b_vv.png", _u8()),
        _save(root / "Vegetation" / "b_vh.png", _u8()),
        _save(root / "Vegetation" / "c_vv.npy", _img()),
        _save(root / "Vegetation" / "c_vh.npy", _img()),
        _save(root / "Vegetation" / "d_vv.jpg", _u8()),
        _save(root / "Vegetation" / "d_vh.jpg", _u8()),
    ]
    mroot, _ = _mstar_root(tmp_path)
    paths += [p for p in sorted(mroot.rglob("*")) if p.is_file()]
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in paths}
    for ds in (OpenSARUrban(root, polarization="both"), OpenSARUrban(root), MSTARFolder(mroot, size=8)):
        for _ in ds:
            pass
    for p in paths:
        if p.suffix.lower() in (".tif", ".png", ".npy", ".jpg"):
            read_image(p)
        elif p.suffix != ".txt":
            read_mstar(p)
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in paths}
    assert after == before


def test_fit_to_size_crops_and_pads_the_last_two_axes_about_the_centre():
    from sarxai_utils.readers import fit_to_size

    image = np.arange(5 * 7, dtype=np.float32).reshape(5, 7)
    cropped = fit_to_size(image, 3)
    np.testing.assert_array_equal(cropped, image[1:4, 2:5])
    padded = fit_to_size(image, 9)
    assert padded.shape == (9, 9) and padded.sum() == image.sum()
    np.testing.assert_array_equal(padded[2:7, 1:8], image)
    stack = fit_to_size(np.stack([image, 2 * image]), 3)
    assert stack.shape == (2, 3, 3) and stack.dtype == np.float32
    np.testing.assert_array_equal(stack[1], 2 * cropped)
