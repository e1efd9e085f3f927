"""Tests of sarxai_utils.cache: keys, the manifest, atomic writes, corruption detection and rebuilds."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import warnings

import numpy as np
import pytest

from sarxai_utils import cache
from sarxai_utils.errors import CacheError, SarxaiError

PARAMS = {"n": 3, "size": 8, "seed": 0, "looks": 4.4, "name": "urban"}
KIND = "demo"


def _arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "images": rng.random((3, 2, 8, 8)).astype(np.float32),
        "labels": np.arange(3, dtype=np.int64),
        "masks": rng.random((3, 8, 8)) > 0.5,
    }


def _assert_same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert set(a) == set(b)
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        np.testing.assert_array_equal(a[k], b[k])


class Counter:
    """A build function that counts its calls."""

    def __init__(self, seed: int = 0) -> None:
        self.calls = 0
        self.seed = seed

    def __call__(self) -> dict[str, np.ndarray]:
        self.calls += 1
        return _arrays(self.seed)


# --- keys and paths --------------------------------------------------------------------------------------------


def test_cache_key_is_stable_and_short():
    k1 = cache.cache_key(KIND, PARAMS)
    k2 = cache.cache_key(KIND, dict(reversed(list(PARAMS.items()))))  # key order does not matter
    assert k1 == k2
    assert len(k1) == 16
    assert all(c in "0123456789abcdef" for c in k1)
    text = json.dumps({"kind": KIND, "params": PARAMS}, sort_keys=True)
    assert k1 == hashlib.sha256(text.encode()).hexdigest()[:16]


@pytest.mark.parametrize("change", [{"n": 4}, {"seed": 1}, {"looks": 4.5}, {"name": "targets"}, {"extra": None}])
def test_cache_key_sensitive_to_params(change):
    assert cache.cache_key(KIND, {**PARAMS, **change}) != cache.cache_key(KIND, PARAMS)


def test_cache_key_sensitive_to_kind():
    assert cache.cache_key("a", PARAMS) != cache.cache_key("b", PARAMS)


def test_cache_key_handles_non_json_values():
    key = cache.cache_key(KIND, {"path": os.path, "t": (1, 2)})
    assert isinstance(key, str) and len(key) == 16


def test_cache_key_no_collision_with_kind_param():
    assert cache.cache_key("k", {}) != cache.cache_key("k", {"kind": "k"})


def test_entry_paths(tmp_path):
    data, manifest = cache.entry_paths(tmp_path, KIND, PARAMS)
    key = cache.cache_key(KIND, PARAMS)
    assert data == tmp_path / f"{KIND}-{key}.npz"
    assert manifest == tmp_path / f"{KIND}-{key}.json"


def test_sha256_file(tmp_path):
    f = tmp_path / "x.bin"
    payload = os.urandom(1000)
    f.write_bytes(payload)
    assert cache.sha256_file(f) == hashlib.sha256(payload).hexdigest()
    assert cache.sha256_file(f, chunk=7) == hashlib.sha256(payload).hexdigest()


# --- save / load -----------------------------------------------------------------------------------------------------


def test_save_load_round_trip(tmp_path):
    arrays = _arrays()
    path = cache.save_entry(tmp_path / "c", KIND, PARAMS, arrays)
    data, manifest_path = cache.entry_paths(tmp_path / "c", KIND, PARAMS)
    assert path == data
    assert data.is_file() and manifest_path.is_file()
    _assert_same(cache.load_entry(tmp_path / "c", KIND, PARAMS), arrays)


def test_manifest_contents(tmp_path):
    arrays = _arrays()
    data = cache.save_entry(tmp_path, KIND, {**PARAMS, "t": (1, 2)}, arrays)
    _, manifest_path = cache.entry_paths(tmp_path, KIND, {**PARAMS, "t": (1, 2)})
    manifest = json.loads(manifest_path.read_text())
    assert manifest["kind"] == KIND
    assert manifest["params"] == {**PARAMS, "t": [1, 2]}
    assert manifest["sha256"] == cache.sha256_file(data)
    assert manifest["file"] == data.name
    assert manifest["arrays"] == {
        "images": [[3, 2, 8, 8], "float32"],
        "labels": [[3], "int64"],
        "masks": [[3, 8, 8], "bool"],
    }
    # params holding tuples still load (they come back from JSON as lists)
    _assert_same(cache.load_entry(tmp_path, KIND, {**PARAMS, "t": (1, 2)}), arrays)


def test_load_absent_is_none(tmp_path):
    assert cache.load_entry(tmp_path, KIND, PARAMS) is None
    assert cache.load_entry(tmp_path / "no-such-dir", KIND, PARAMS) is None


def test_npz_without_manifest_is_absent(tmp_path):
    data, manifest = cache.save_entry(tmp_path, KIND, PARAMS, _arrays()), cache.entry_paths(tmp_path, KIND, PARAMS)[1]
    manifest.unlink()
    assert data.exists()
    assert cache.load_entry(tmp_path, KIND, PARAMS) is None


def test_written_files_are_0644(tmp_path):
    data = cache.save_entry(tmp_path, KIND, PARAMS, _arrays())
    _, manifest = cache.entry_paths(tmp_path, KIND, PARAMS)
    for f in (data, manifest):
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, f


def test_save_leaves_no_temp_files(tmp_path):
    cache.save_entry(tmp_path, KIND, PARAMS, _arrays())
    cache.save_entry(tmp_path, KIND, PARAMS, _arrays(1))  # overwrite
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 2
    assert not any(n.endswith(".tmp") or n.startswith(".") for n in names)
    _assert_same(cache.load_entry(tmp_path, KIND, PARAMS), _arrays(1))


# --- corruption ----------------------------------------------------------------------------------------------------


def _flip_bytes(path, offset: int = 40, n: int = 8) -> None:
    raw = bytearray(path.read_bytes())
    for i in range(offset, offset + n):
        raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty"])
def test_corrupt_npz_raises_cache_error_naming_the_file(tmp_path, damage):
    data = cache.save_entry(tmp_path, KIND, PARAMS, _arrays())
    if damage == "truncate":
        data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    elif damage == "flip":
        _flip_bytes(data, offset=data.stat().st_size // 2)
    else:
        data.write_bytes(b"")
    with pytest.raises(CacheError) as info:
        cache.load_entry(tmp_path, KIND, PARAMS)
    assert str(data) in str(info.value)
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, SarxaiError)


def test_other_valid_npz_in_place_raises(tmp_path):
    """Same sha256 in the manifest is required: a different but readable file is rejected."""
    data = cache.save_entry(tmp_path, KIND, PARAMS, _arrays())
    with open(data, "wb") as fh:
        np.savez(fh, images=np.zeros(3))
    with pytest.raises(CacheError, match="sha256"):
        cache.load_entry(tmp_path, KIND, PARAMS)


def test_arrays_not_matching_manifest_raise(tmp_path):
    """A file whose hash matches but whose arrays differ from the manifest's list is rejected."""
    data = cache.save_entry(tmp_path, KIND, PARAMS, _arrays())
    _, manifest_path = cache.entry_paths(tmp_path, KIND, PARAMS)
    manifest = json.loads(manifest_path.read_text())
    manifest["arrays"]["images"] = [[9, 9], "float32"]
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(CacheError, match="arrays") as info:
        cache.load_entry(tmp_path, KIND, PARAMS)
    assert str(data) in str(info.value)


def test_manifest_for_other_params_raises(tmp_path):
    cache.save_entry(tmp_path, KIND, PARAMS, _arrays())
    _, manifest_path = cache.entry_paths(tmp_path, KIND, PARAMS)
    manifest = json.loads(manifest_path.read_text())
    manifest["params"]["seed"] = 99
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(CacheError, match="other settings") as info:
        cache.load_entry(tmp_path, KIND, PARAMS)
    assert str(manifest_path) in str(info.value)


def test_manifest_for_other_kind_raises(tmp_path):
    cache.save_entry(tmp_path, KIND, PARAMS, _arrays())
    _, manifest_path = cache.entry_paths(tmp_path, KIND, PARAMS)
    manifest = json.loads(manifest_path.read_text())
    manifest["kind"] = "something-else"
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(CacheError, match="other settings"):
        cache.load_entry(tmp_path, KIND, PARAMS)


def test_missing_npz_with_manifest_raises(tmp_path):
    data = cache.save_entry(tmp_path, KIND, PARAMS, _arrays())
    data.unlink()
    with pytest.raises(CacheError, match="missing") as info:
        cache.load_entry(tmp_path, KIND, PARAMS)
    assert str(data) in str(info.value)


@pytest.mark.parametrize("garbage", ["{not json", "", "\x00\x01\x02", '{"kind": "demo", "params": '])
def test_unreadable_manifest_raises(tmp_path, garbage):
    cache.save_entry(tmp_path, KIND, PARAMS, _arrays())
    _, manifest_path = cache.entry_paths(tmp_path, KIND, PARAMS)
    manifest_path.write_text(garbage)
    with pytest.raises(CacheError, match="unreadable") as info:
        cache.load_entry(tmp_path, KIND, PARAMS)
    assert str(manifest_path) in str(info.value)


@pytest.mark.parametrize("text", ["[]", "null", "3"])
def test_manifest_not_an_object_raises_cache_error(tmp_path, text):
    cache.save_entry(tmp_path, KIND, PARAMS, _arrays())
    _, manifest_path = cache.entry_paths(tmp_path, KIND, PARAMS)
    manifest_path.write_text(text)
    with pytest.raises(CacheError):
        cache.load_entry(tmp_path, KIND, PARAMS)


# --- cached_arrays ------------------------------------------------------------------------------------------------


def test_cached_arrays_builds_once_then_loads(tmp_path):
    build = Counter()
    first = cache.cached_arrays(tmp_path, KIND, PARAMS, build)
    assert build.calls == 1
    second = cache.cached_arrays(tmp_path, KIND, PARAMS, build)
    third = cache.cached_arrays(tmp_path, KIND, PARAMS, build)
    assert build.calls == 1
    _assert_same(first, _arrays())
    _assert_same(second, _arrays())
    _assert_same(third, _arrays())


def test_cached_arrays_creates_directory(tmp_path):
    target = tmp_path / "deep" / "cache"
    cache.cached_arrays(target, KIND, PARAMS, Counter())
    assert len(list(target.glob("*.npz"))) == 1
    assert len(list(target.glob("*.json"))) == 1


def test_cached_arrays_new_params_new_entry(tmp_path):
    build_a, build_b = Counter(0), Counter(1)
    a = cache.cached_arrays(tmp_path, KIND, PARAMS, build_a)
    b = cache.cached_arrays(tmp_path, KIND, {**PARAMS, "seed": 1}, build_b)
    assert build_a.calls == 1 and build_b.calls == 1
    assert len(list(tmp_path.glob("*.npz"))) == 2
    _assert_same(a, _arrays(0))
    _assert_same(b, _arrays(1))
    # both entries stay usable
    _assert_same(cache.cached_arrays(tmp_path, KIND, PARAMS, build_a), _arrays(0))
    _assert_same(cache.cached_arrays(tmp_path, KIND, {**PARAMS, "seed": 1}, build_b), _arrays(1))
    assert build_a.calls == 1 and build_b.calls == 1


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_cached_arrays_rebuilds_corrupt_entry_with_warning(tmp_path, damage):
    build = Counter()
    cache.cached_arrays(tmp_path, KIND, PARAMS, build)
    data, _ = cache.entry_paths(tmp_path, KIND, PARAMS)
    if damage == "truncate":
        data.write_bytes(data.read_bytes()[:100])
    else:
        _flip_bytes(data, offset=200)
    with pytest.warns(RuntimeWarning, match="rebuilding") as record:
        rebuilt = cache.cached_arrays(tmp_path, KIND, PARAMS, build)
    assert str(data) in str(record[0].message)
    assert build.calls == 2
    _assert_same(rebuilt, _arrays())
    # the entry on disk is repaired: the next call loads it silently
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _assert_same(cache.cached_arrays(tmp_path, KIND, PARAMS, build), _arrays())
    assert build.calls == 2
    _assert_same(cache.load_entry(tmp_path, KIND, PARAMS), _arrays())


def test_cached_arrays_rebuilds_garbage_manifest(tmp_path):
    build = Counter()
    cache.cached_arrays(tmp_path, KIND, PARAMS, build)
    _, manifest = cache.entry_paths(tmp_path, KIND, PARAMS)
    manifest.write_text("}}}")
    with pytest.warns(RuntimeWarning, match="unreadable"):
        out = cache.cached_arrays(tmp_path, KIND, PARAMS, build)
    assert build.calls == 2
    _assert_same(out, _arrays())
    assert json.loads(manifest.read_text())["kind"] == KIND


def test_cached_arrays_none_directory_disables_cache(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    build = Counter()
    a = cache.cached_arrays(None, KIND, PARAMS, build)
    b = cache.cached_arrays(None, KIND, PARAMS, build)
    assert build.calls == 2
    _assert_same(a, b)
    assert list(tmp_path.iterdir()) == []


def test_cached_arrays_build_error_propagates_and_writes_nothing(tmp_path):
    def failing():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        cache.cached_arrays(tmp_path, KIND, PARAMS, failing)
    assert list(tmp_path.iterdir()) == []


# --- atomic writes ------------------------------------------------------------------------------------------------


def test_atomic_write_bytes_writes_and_leaves_no_temp(tmp_path):
    target = tmp_path / "sub" / "file.bin"
    cache.atomic_write_bytes(target, lambda fh: fh.write(b"hello"))
    assert target.read_bytes() == b"hello"
    assert [p.name for p in target.parent.iterdir()] == ["file.bin"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_atomic_write_bytes_replaces_existing(tmp_path):
    target = tmp_path / "file.bin"
    target.write_bytes(b"old")
    cache.atomic_write_bytes(target, lambda fh: fh.write(b"new content"))
    assert target.read_bytes() == b"new content"
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]


def test_atomic_write_bytes_failure_keeps_old_file(tmp_path):
    target = tmp_path / "file.bin"
    target.write_bytes(b"old content")

    def writer(fh):
        fh.write(b"partial new con")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        cache.atomic_write_bytes(target, writer)
    assert target.read_bytes() == b"old content"
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]


def test_atomic_write_bytes_failure_creates_nothing(tmp_path):
    target = tmp_path / "new.bin"

    def writer(fh):
        fh.write(b"x")
        raise KeyboardInterrupt  # BaseException too

    with pytest.raises(KeyboardInterrupt):
        cache.atomic_write_bytes(target, writer)
    assert list(tmp_path.iterdir()) == []


def test_save_entry_failure_keeps_previous_entry(tmp_path, monkeypatch):
    cache.save_entry(tmp_path, KIND, PARAMS, _arrays())

    def boom(fh, **arrays):
        fh.write(b"PK\x03\x04 half an archive")
        raise OSError("no space left")

    monkeypatch.setattr(cache.np, "savez", boom)
    with pytest.raises(OSError, match="no space"):
        cache.save_entry(tmp_path, KIND, PARAMS, _arrays(1))
    monkeypatch.undo()
    _assert_same(cache.load_entry(tmp_path, KIND, PARAMS), _arrays())
    assert len(list(tmp_path.iterdir())) == 2
