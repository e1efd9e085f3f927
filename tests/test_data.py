"""The embedded datasets: the public contract, determinism, physics, caching and bad arguments."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from sarxai_utils import data, sar, synthetic
from sarxai_utils.cache import entry_paths


@pytest.fixture(scope="module")
def urban():
    return data.synthetic_urban(3, 64, seed=0, keep_clean=True, cache=False, progress=False)


@pytest.fixture(scope="module")
def targets():
    return data.synthetic_targets(3, 96, seed=0, keep_clean=True, cache=False, progress=False)


def test_urban_contract(urban):
    assert urban.images.shape == (30, 2, 64, 64) and urban.images.dtype == np.float32
    assert urban.labels.dtype == np.int64 and urban.labels.shape == (30,)
    assert urban.masks.shape == (30, 64, 64) and urban.masks.dtype == bool
    assert urban.classes == list(data.URBAN_CLASSES) and len(urban.classes) == 10
    assert np.bincount(urban.labels).tolist() == [3] * 10
    assert np.isfinite(urban.images).all() and (urban.images > 0).all()
    assert urban.polarizations == ("VV", "VH")
    assert all(m.sum() > 0 for m in urban.masks), "every scene has evidence"
    assert all(m.mean() < 0.9 for m in urban.masks), "evidence is a region, not the whole scene"


def test_opensarurban_class_names_match_the_reader():
    from sarxai_utils.readers import OPENSARURBAN_CLASSES

    assert tuple(data.URBAN_CLASSES) == tuple(OPENSARURBAN_CLASSES)


def test_targets_contract(targets):
    n, size = 30, 96
    assert targets.images.shape == (n, 1, size, size) and targets.images.dtype == np.float32
    assert targets.boxes.shape == (n, 4) and np.issubdtype(targets.boxes.dtype, np.integer)
    assert targets.masks.shape == (n, size, size) and targets.shadow_masks.shape == (n, size, size)
    assert len(targets.classes) == 10 and targets.classes == list(data.TARGET_CLASSES)
    for i in range(n):
        x0, y0, x1, y1 = targets.boxes[i]
        assert 0 <= x0 <= x1 < size and 0 <= y0 <= y1 < size
        ys, xs = np.nonzero(targets.masks[i])
        assert (xs.min(), ys.min(), xs.max(), ys.max()) == (x0, y0, x1, y1), "box = inclusive bounds of the mask"
        assert targets.shadow_masks[i].sum() > 0
        assert not (targets.shadow_masks[i] & targets.masks[i]).any()


def test_target_names_are_generic():
    real_vehicles = {"t72", "bmp2", "btr70", "btr60", "2s1", "brdm2", "d7", "t62", "zil131", "zsu234"}
    assert not {c.lower().replace("_", "") for c in data.TARGET_CLASSES} & real_vehicles


def test_targets_are_not_always_centred():
    t = data.synthetic_targets(6, 128, seed=3, cache=False, progress=False)
    centres = (t.boxes[:, :2] + t.boxes[:, 2:]) / 2.0
    assert np.abs(centres - 63.5).max() > 20, "some targets sit far from the centre"
    assert centres.std(axis=0).min() > 8


def test_shadow_falls_away_from_the_sensor(targets):
    # The sensor looks from the left: the shadow's centre lies to the right of the target's.
    for i in range(len(targets)):
        tx = np.nonzero(targets.masks[i])[1].mean()
        sx = np.nonzero(targets.shadow_masks[i])[1].mean()
        assert sx > tx


def test_same_seed_same_data_other_seed_other_data():
    a = data.synthetic_urban(1, 48, seed=5, cache=False, progress=False)
    b = data.synthetic_urban(1, 48, seed=5, cache=False, progress=False)
    c = data.synthetic_urban(1, 48, seed=6, cache=False, progress=False)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.masks, b.masks)
    assert not np.array_equal(a.images, c.images)


def test_speckle_seed_keeps_scene_and_changes_speckle():
    base = data.synthetic_urban(1, 64, seed=1, keep_clean=True, cache=False, progress=False)
    same = data.synthetic_urban(1, 64, seed=1, keep_clean=True, speckle_seed=7, cache=False, progress=False)
    again = data.synthetic_urban(1, 64, seed=1, keep_clean=True, speckle_seed=7, cache=False, progress=False)
    assert np.array_equal(base.clean, same.clean) and np.array_equal(base.masks, same.masks)
    assert np.array_equal(same.images, again.images)
    assert not np.allclose(base.images, same.images)
    ratio = (same.images / same.clean).ravel()
    assert ratio.mean() == pytest.approx(1.0, abs=0.02)
    assert sar.equivalent_number_of_looks(ratio) == pytest.approx(4.4, rel=0.06)


def test_speckle_seed_follows_the_chosen_looks_in_every_channel_and_generator():
    # urban (two channels) and targets, at a number of looks other than the default: the scene (clean, masks,
    # boxes, shadows) does not depend on the looks nor on the speckle seed; the speckle is L-look Gamma per channel
    # and two speckle seeds give independent realisations
    for make, size in ((data.synthetic_urban, 48), (data.synthetic_targets, 48)):
        kwargs = dict(seed=2, keep_clean=True, cache=False, progress=False)
        one = make(2, size, looks=2.5, speckle_seed=1, **kwargs)
        two = make(2, size, looks=2.5, speckle_seed=2, **kwargs)
        default_looks = make(2, size, speckle_seed=1, **kwargs)
        assert np.array_equal(one.clean, two.clean) and np.array_equal(one.clean, default_looks.clean)
        assert np.array_equal(one.masks, two.masks) and np.array_equal(one.masks, default_looks.masks)
        if one.boxes is not None:
            assert np.array_equal(one.boxes, two.boxes) and np.array_equal(one.shadow_masks, two.shadow_masks)
        r1, r2 = one.images / one.clean, two.images / two.clean
        for c in range(one.images.shape[1]):
            assert r1[:, c].mean() == pytest.approx(1.0, abs=0.03)
            assert sar.equivalent_number_of_looks(r1[:, c]) == pytest.approx(2.5, rel=0.08), (make.__name__, c)
        assert abs(np.corrcoef(r1.ravel(), r2.ravel())[0, 1]) < 0.03, "independent realisations"


def test_targets_are_single_look(targets):
    ratio = (targets.images / targets.clean).ravel()
    assert sar.equivalent_number_of_looks(ratio) == pytest.approx(1.0, rel=0.06)


def test_the_ten_real_opensarurban_classes():
    assert data.URBAN_CLASSES == ("Airport", "DenseLow", "GeneralResidential", "HighBuildings", "Highway", "Railway",
                                  "SingleBuilding", "Skyscraper", "StorageArea", "Vegetation")
    assert "Water" not in data.URBAN_CLASSES


def _vv_minus_vh(ds, j: int) -> float:
    """Median over the evidence of VV - VH (dB) of the 5 x 5-averaged clean intensity, as lesson 01 prints it."""
    from scipy.ndimage import uniform_filter

    smooth = uniform_filter(ds.clean[j], size=(1, 5, 5))
    return float(np.median(sar.to_db(smooth[0] / smooth[1])[ds.masks[j]]))


def test_polarimetry_follows_the_scattering_mechanism():
    ds = data.synthetic_urban(4, 100, seed=1, keep_clean=True, cache=False, progress=False)
    per_class = {c: np.median([_vv_minus_vh(ds, j) for j in np.flatnonzero(ds.labels == k)])
                 for k, c in enumerate(ds.classes)}
    assert min(per_class, key=per_class.get) == "Vegetation", per_class  # volume scattering depolarises
    assert max(per_class.values()) - min(per_class.values()) >= 5.0, per_class
    vv, vh = ds.clean[:, 0].mean(axis=(1, 2)), ds.clean[:, 1].mean(axis=(1, 2))
    assert (vh < vv).all()


def test_turned_buildings_depolarise_and_aligned_ones_double_bounce():
    # The same footprint aligned with the flight track and turned by 45 degrees: the wall-ground dihedral is far
    # brighter in VV when aligned, and VH rises when turned.
    def edge_db(angle: float) -> np.ndarray:
        scene = synthetic._Scene(64, np.random.default_rng(0))
        foot = synthetic.rect(64, 32, 32, 8, 6, 0.0)
        scene.buildings(foot, 3.0, angle)
        edge = synthetic.near_range_edge(foot)
        return sar.to_db(scene.sigma[:, edge].mean(axis=1))

    aligned, turned = edge_db(0.0), edge_db(np.pi / 4)
    assert aligned[0] - aligned[1] > 12 and aligned[0] > turned[0] + 5 and turned[1] > aligned[1] + 5


def test_dark_surfaces_and_double_bounce_where_the_classes_have_them(urban):
    for name in ("Airport", "Highway"):
        for j in np.flatnonzero(urban.labels == urban.classes.index(name)):
            assert np.percentile(sar.to_db(urban.clean[j, 0][urban.masks[j]]), 10) < -17, "asphalt is dark"
    for name in ("DenseLow", "GeneralResidential", "SingleBuilding", "StorageArea"):
        for j in np.flatnonzero(urban.labels == urban.classes.index(name)):
            assert sar.to_db(urban.clean[j, 0][urban.masks[j]]).max() > -4, "double bounce is bright in VV"


def test_opensarurban_proportions():
    counts = data.class_counts(100, "opensarurban")
    assert counts.sum() == 1000 and (counts >= 1).all()
    order = np.argsort(-counts)
    assert [data.URBAN_CLASSES[k] for k in order[:2]] == ["HighBuildings", "StorageArea"]
    assert data.URBAN_CLASSES[int(np.argmin(counts))] == "Railway"
    assert data.class_counts(5, "balanced").tolist() == [5] * 10
    ds = data.synthetic_urban(3, 32, seed=0, proportions="opensarurban", cache=False, progress=False)
    assert np.bincount(ds.labels, minlength=10).tolist() == data.class_counts(3, "opensarurban").tolist()
    balanced = data.synthetic_urban(3, 32, seed=0, cache=False, progress=False)
    same = np.flatnonzero(ds.labels == balanced.labels)  # the same index renders the same scene
    assert same.size and np.array_equal(ds.images[same], balanced.images[same])
    with pytest.raises(ValueError, match="proportions"):
        data.synthetic_urban(3, 32, proportions="natural", cache=False, progress=False)


def test_class_sequence_interleaves_in_proportion():
    labels = synthetic.class_sequence([6, 3, 1])
    assert np.bincount(labels).tolist() == [6, 3, 1]
    assert set(labels[:5].tolist()) == {0, 1}, "a prefix holds the classes in about their proportions"
    for bad in ([], [0, 0], [-1, 2], [[1, 2]]):
        with pytest.raises(ValueError, match="counts"):
            synthetic.class_sequence(bad)


def test_replace_region_pastes_class_independent_background():
    ds = data.synthetic_urban(2, 48, seed=3, cache=False, progress=False)
    gone = data.replace_region(ds, "evidence", progress=False)
    kept = data.replace_region(ds, "background", progress=False)
    for i in range(len(ds)):
        m = ds.masks[i]
        assert np.array_equal(gone.images[i][:, ~m], ds.images[i][:, ~m])
        assert not np.array_equal(gone.images[i][:, m], ds.images[i][:, m])
        assert np.array_equal(kept.images[i][:, m], ds.images[i][:, m])
        assert not np.array_equal(kept.images[i][:, ~m], ds.images[i][:, ~m])
    assert np.array_equal(gone.images, data.replace_region(ds, "evidence", progress=False).images), "deterministic"
    assert not np.array_equal(gone.images, data.replace_region(ds, "evidence", seed=1, progress=False).images)
    assert gone.params["replaced"] == "evidence" and np.array_equal(gone.labels, ds.labels)
    assert np.isfinite(gone.images).all() and (gone.images > 0).all()
    with pytest.raises(ValueError, match="region"):
        data.replace_region(ds, "roofs")
    with pytest.raises(ValueError, match="urban"):
        data.replace_region(data.synthetic_targets(1, 48, cache=False, progress=False), "evidence")


def test_target_chips_carry_bright_clutter_off_the_target():
    t = data.synthetic_targets(6, 128, seed=4, keep_clean=True, cache=False, progress=False)
    bright_off_target = []
    for i in range(len(t)):
        away = ~synthetic.dilate(t.masks[i] | t.shadow_masks[i], 3)
        bright_off_target.append(int((sar.to_db(t.clean[i, 0][away]) > -3.0).sum()))
    # many chips hold more bright pixels away from the target than isolated rocks and posts would give (<= 8)
    assert np.mean(np.array(bright_off_target) >= 20) > 0.4, bright_off_target


def test_global_brightness_does_not_give_the_class_away():
    # A nearest-centroid classifier on the scene's mean and spread of dB per channel stays weak.
    def features(ds):
        db = sar.to_db(ds.images)
        return np.concatenate([db.mean(axis=(2, 3)), db.std(axis=(2, 3))], axis=1)

    train = data.synthetic_urban(20, 64, seed=11, cache=False, progress=False)
    test = data.synthetic_urban(10, 64, seed=12, cache=False, progress=False)
    ftr, fte = features(train), features(test)
    mu, sd = ftr.mean(0), ftr.std(0)
    centroids = np.stack([((ftr - mu) / sd)[train.labels == k].mean(0) for k in range(10)])
    distances = ((((fte - mu) / sd)[:, None, :] - centroids[None]) ** 2).sum(-1)
    pred = np.argmin(distances, axis=1)
    accuracy = float((pred == test.labels).mean())
    assert accuracy < 0.4, f"global brightness statistics classify {accuracy:.0%} of scenes"


def test_subset_keeps_everything(targets):
    sub = targets.subset([0, 5])
    assert len(sub) == 2 and sub.boxes.shape == (2, 4) and sub.shadow_masks.shape[0] == 2
    assert np.array_equal(sub.images[1], targets.images[5]) and sub.classes == targets.classes


def test_mask_box_of_empty_mask():
    assert synthetic.mask_box(np.zeros((4, 4), bool)).tolist() == [-1, -1, -1, -1]
    m = np.zeros((5, 6), bool)
    m[1:3, 2:5] = True
    assert synthetic.mask_box(m).tolist() == [2, 1, 4, 2]


@pytest.mark.parametrize(
    "kwargs, word",
    [({"n_per_class": 0}, "n_per_class"), ({"n_per_class": 1.5}, "n_per_class"), ({"size": 8}, "size"),
     ({"seed": -1}, "seed"), ({"looks": float("nan")}, "looks"), ({"looks": 0}, "looks")],
)
def test_bad_arguments_name_the_argument(kwargs, word):
    args = {"n_per_class": 1, "size": 64, "seed": 0, "cache": False, "progress": False} | kwargs
    with pytest.raises(ValueError, match=word):
        data.synthetic_urban(**args)
    with pytest.raises(ValueError, match=word):
        data.synthetic_targets(**args)


def test_cache_is_used_and_keyed_by_settings(tmp_path, monkeypatch):
    first = data.synthetic_urban(1, 48, seed=2, cache=tmp_path, progress=False)
    monkeypatch.setattr(data, "render_urban", lambda *a, **k: (_ for _ in ()).throw(AssertionError("regenerated")))
    second = data.synthetic_urban(1, 48, seed=2, cache=tmp_path, progress=False)
    assert np.array_equal(first.images, second.images) and np.array_equal(first.masks, second.masks)
    with pytest.raises(AssertionError, match="regenerated"):
        data.synthetic_urban(1, 48, seed=3, cache=tmp_path, progress=False)  # other settings, other entry


def test_corrupt_cache_is_rebuilt_not_used(tmp_path):
    first = data.synthetic_targets(1, 64, seed=2, cache=tmp_path, progress=False)
    params = {k: v for k, v in first.params.items() if k != "kind"}
    npz, manifest = entry_paths(tmp_path, "synthetic-targets", params)
    assert npz.exists() and manifest.exists()
    raw = bytearray(npz.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    npz.write_bytes(bytes(raw))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = data.synthetic_targets(1, 64, seed=2, cache=tmp_path, progress=False)
    assert any("sha256" in str(w.message) and str(npz) in str(w.message) for w in caught)
    assert np.array_equal(first.images, again.images) and np.array_equal(first.boxes, again.boxes)


def test_default_cache_lives_in_the_data_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("SARXAI_DATA", str(tmp_path / "d"))
    data.synthetic_urban(1, 40, seed=0, progress=False)
    assert list((tmp_path / "d" / "cache").glob("synthetic-urban-*.npz"))
    assert list((tmp_path / "d" / "cache").glob("synthetic-urban-*.json"))


def test_round_robin_takes_one_of_every_class_in_turn():
    ds = data.synthetic_urban(3, 32, seed=0, cache=False, progress=False)
    picked = data.round_robin(ds, 13)
    assert picked.labels.tolist() == [*range(10), 0, 1, 2]
    second_of_0 = np.flatnonzero(ds.labels == 0)[1]
    np.testing.assert_array_equal(picked.images[10], ds.images[second_of_0])
    assert len(data.round_robin(ds, 100)) == 30  # more than there are: all of them
    uneven = ds.subset(np.flatnonzero(ds.labels != 3)[:-2])  # class 3 absent, class 9 with one scene
    assert data.round_robin(uneven, 9).labels.tolist() == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(ValueError, match="n must be a positive integer"):
            data.round_robin(ds, bad)
    with pytest.raises(ValueError, match="empty"):
        data.round_robin(ds.subset(np.zeros(0, np.int64)), 3)


def test_per_class_picks_the_first_of_each_class_in_class_order():
    ds = data.synthetic_urban(3, 32, seed=0, cache=False, progress=False)
    picked = data.per_class(ds, 2)
    assert len(picked) == 20
    assert picked.labels.tolist() == [k for k in range(10) for _ in range(2)]
    first_of_0 = np.flatnonzero(ds.labels == 0)[:2]
    np.testing.assert_array_equal(picked.images[:2], ds.images[first_of_0])
    np.testing.assert_array_equal(picked.masks[:2], ds.masks[first_of_0])
    assert len(data.per_class(ds, 10)) == 30  # fewer than asked: what there is
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="n_per_class"):
            data.per_class(ds, bad)
    with pytest.raises(ValueError, match="no samples"):
        data.per_class(ds.subset(np.zeros(0, np.int64)), 1)
