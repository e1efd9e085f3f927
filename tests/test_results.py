"""Tests of sarxai_utils.results: hits, a miss on every key part, corrupt and stale entries, concurrent writers,
recompute=True, and bad input."""

from __future__ import annotations

import multiprocessing as mp
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from sarxai_utils import results
from sarxai_utils.errors import CacheError


class Counter:
    """A compute function that counts its calls and returns a value that depends on the call number."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict:
        self.calls += 1
        return {"call": self.calls, "maps": np.full((2, 3), float(self.calls))}


def _model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())


def _key(**changes) -> dict:
    key = {"model": _model(), "images": torch.arange(12.0).reshape(1, 1, 3, 4), "labels": np.array([1, 2]),
           "settings": {"radius": 0.02, "samples": 10, "method": "saliency"}}
    key.update(changes)
    return key


def test_hit_returns_the_stored_value_without_computing(tmp_path: Path, capsys) -> None:
    compute = Counter()
    first = results.cached("demo", compute, _key(), directory=tmp_path)
    second = results.cached("demo", compute, _key(), directory=tmp_path)
    assert compute.calls == 1
    assert second["call"] == first["call"] == 1
    np.testing.assert_array_equal(second["maps"], first["maps"])
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("demo: computed in") and out[0].endswith("and cached")
    assert out[1].startswith("demo: loaded from the results cache (computed ") and "RECOMPUTE = True" in out[1]
    assert results.LAST[-1].loaded and not results.LAST[-2].loaded
    assert len(list(tmp_path.glob("*.pkl"))) == 1


@pytest.mark.parametrize("part, changed", [
    ("model", _model(seed=1)),  # other weights
    ("images", torch.arange(12.0).reshape(1, 1, 3, 4) + 1e-3),  # other pixel values
    ("images", torch.arange(12.0).reshape(1, 1, 4, 3)),  # same bytes, other shape
    ("images", torch.arange(12.0, dtype=torch.float64).reshape(1, 1, 3, 4)),  # same values, other dtype
    ("labels", np.array([2, 1])),  # other sample order
    ("settings", {"radius": 0.03, "samples": 10, "method": "saliency"}),
    ("settings", {"radius": 0.02, "samples": 10, "method": "saliency", "extra": None}),
    ("new part", 1),
])
def test_a_change_of_any_key_part_is_a_miss(tmp_path: Path, part: str, changed) -> None:
    compute = Counter()
    results.cached("demo", compute, _key(), directory=tmp_path, verbose=False)
    value = results.cached("demo", compute, _key(**{part: changed}), directory=tmp_path, verbose=False)
    assert compute.calls == 2 and value["call"] == 2


def test_dict_order_and_equal_copies_hit(tmp_path: Path) -> None:
    compute = Counter()
    results.cached("demo", compute, _key(), directory=tmp_path, verbose=False)
    reordered = {k: _key()[k] for k in reversed(list(_key()))}
    reordered["settings"] = {"method": "saliency", "samples": 10, "radius": 0.02}
    results.cached("demo", compute, reordered, directory=tmp_path, verbose=False)
    assert compute.calls == 1


def test_other_name_is_a_miss(tmp_path: Path) -> None:
    compute = Counter()
    results.cached("demo", compute, _key(), directory=tmp_path, verbose=False)
    results.cached("demo, VH", compute, _key(), directory=tmp_path, verbose=False)
    assert compute.calls == 2


def test_a_change_of_the_computing_code_is_a_miss(tmp_path: Path, monkeypatch) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "metrics.py").write_text("VALUE = 1\n")
    monkeypatch.setattr(results, "PACKAGE_DIR", package)
    compute = Counter()
    store = tmp_path / "store"
    results.cached("demo", compute, _key(), code=("metrics",), directory=store, verbose=False)
    results.cached("demo", compute, _key(), code=("metrics",), directory=store, verbose=False)
    assert compute.calls == 1
    (package / "metrics.py").write_text("VALUE = 2\n")
    results.cached("demo", compute, _key(), code=("metrics",), directory=store, verbose=False)
    assert compute.calls == 2


def test_a_library_version_change_is_a_miss(monkeypatch) -> None:
    before = results.code_version()
    real = results.metadata.version
    monkeypatch.setattr(results.metadata, "version", lambda lib: "0.0" if lib == "captum" else real(lib))
    assert results.code_version() != before


def _entry(tmp_path: Path) -> Path:
    results.cached("demo", Counter(), _key(), directory=tmp_path, verbose=False)
    (path,) = tmp_path.glob("*.pkl")
    return path


@pytest.mark.parametrize("damage", ["truncate", "flip", "header", "empty", "garbage", "unpicklable", "other key"])
def test_a_corrupt_or_stale_entry_is_recomputed_never_used(tmp_path: Path, capsys, damage: str) -> None:
    path = _entry(tmp_path)
    blob = path.read_bytes()
    head, _, payload = blob.partition(b"\n")
    if damage == "truncate":
        path.write_bytes(blob[:-10])
    elif damage == "flip":
        path.write_bytes(blob[:-5] + bytes([blob[-5] ^ 0xFF]) + blob[-4:])
    elif damage == "header":
        path.write_bytes(b"{not json\n" + payload)
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "garbage":
        path.write_bytes(np.random.default_rng(0).bytes(500))
    elif damage == "unpicklable":  # a valid header and hash over a payload that does not unpickle
        import hashlib
        import json

        bad = b"\x80\x05not a pickle"
        header = json.loads(head)
        header.update(bytes=len(bad), sha256=hashlib.sha256(bad).hexdigest())
        path.write_bytes(json.dumps(header).encode() + b"\n" + bad)
    else:  # an entry written for another key under this file name
        import json

        header = json.loads(head)
        header["key"] = "0" * 64
        path.write_bytes(json.dumps(header).encode() + b"\n" + payload)
    capsys.readouterr()
    compute = Counter()
    value = results.cached("demo", compute, _key(), directory=tmp_path)
    assert compute.calls == 1 and value["call"] == 1
    out = capsys.readouterr().out
    assert str(path) in out and "computing it again" in out
    assert results.cached("demo", Counter(), _key(), directory=tmp_path, verbose=False)["call"] == 1  # repaired


def test_read_entry_errors_name_the_file(tmp_path: Path) -> None:
    path = _entry(tmp_path)
    path.write_bytes(b"")
    with pytest.raises(CacheError, match=str(path)):
        results.read_entry(path, "whatever")
    with pytest.raises(CacheError, match="cannot be read"):
        results.read_entry(tmp_path / "missing.pkl", "whatever")


def test_recompute_true_computes_and_replaces(tmp_path: Path) -> None:
    compute = Counter()
    results.cached("demo", compute, _key(), directory=tmp_path, verbose=False)
    value = results.cached("demo", compute, _key(), directory=tmp_path, recompute=True, verbose=False)
    assert compute.calls == 2 and value["call"] == 2
    assert results.cached("demo", compute, _key(), directory=tmp_path, verbose=False)["call"] == 2  # the new value


def test_disabled_cache_neither_reads_nor_writes(tmp_path: Path) -> None:
    compute = Counter()
    results.cached("demo", compute, _key(), directory=tmp_path, enabled=False, verbose=False)
    results.cached("demo", compute, _key(), directory=tmp_path, enabled=False, verbose=False)
    assert compute.calls == 2 and not list(tmp_path.iterdir())
    assert results.LAST[-1].path is None and "cached" not in results.LAST[-1].describe()


def _write_many(args: tuple[str, int]) -> int:
    directory, worker = args
    value = {"worker": worker, "payload": np.full(200_000, worker, dtype=np.int64)}  # 1.6 MB: writes overlap
    for _ in range(5):
        results.cached("race", lambda: value, _key(), directory=directory, recompute=True, verbose=False)
    return worker


def test_concurrent_writers_leave_one_whole_entry(tmp_path: Path) -> None:
    with mp.get_context("spawn").Pool(4) as pool:
        assert sorted(pool.map(_write_many, [(str(tmp_path), k) for k in range(4)])) == [0, 1, 2, 3]
    files = list(tmp_path.iterdir())
    assert [f.suffix for f in files] == [".pkl"]  # no temporary file left behind
    compute = Counter()
    value = results.cached("race", compute, _key(), directory=tmp_path, verbose=False)
    assert compute.calls == 0 and value["worker"] in range(4)
    assert (value["payload"] == value["worker"]).all()  # one writer's whole value, never a mix


def test_default_directory_follows_the_data_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SARXAI_DATA", str(tmp_path))
    results.cached("demo", Counter(), _key(), verbose=False)
    assert len(list((tmp_path / "results").glob("demo-*.pkl"))) == 1
    assert results.results_dir() == tmp_path / "results"


def test_stored_value_round_trips_dataclasses_and_tensors(tmp_path: Path) -> None:
    from sarxai_utils.evaluation import MethodScores

    value = {"scores": MethodScores("saliency", "Saliency", np.ones((1, 2, 2)), {"m": np.array([0.5])}),
             "tensor": torch.ones(2, 2)}
    results.cached("demo", lambda: value, _key(), directory=tmp_path, verbose=False)
    loaded = results.cached("demo", Counter(), _key(), directory=tmp_path, verbose=False)
    assert loaded["scores"].mean("m") == 0.5 and torch.equal(loaded["tensor"], value["tensor"])


def test_fingerprint_distinguishes_types_and_nesting() -> None:
    values = [1, 1.0, "1", True, None, [1], {"a": 1}, {"a": [1]}, np.array([1]), np.array([1.0]),
              torch.tensor([1]), np.float64(1.5), [[1], 2], [1, [2]]]
    prints = [results.fingerprint(v) for v in values]
    assert len(set(prints)) == len(values)  # 1, 1.0, True and "1" are told apart, and so are nestings
    assert results.fingerprint([1, 2]) == results.fingerprint((1, 2))  # a sequence is a sequence, as in JSON
    assert results.fingerprint(_model(0)) == results.fingerprint(_model(0))
    assert results.fingerprint(torch.zeros(2, dtype=torch.bfloat16)) != results.fingerprint(torch.zeros(2))


@pytest.mark.parametrize("bad, message", [
    ({"x": object()}, re.escape("key part \"key['x']\" of type object")),
    ({"x": np.array([object()])}, "object array"),
])
def test_unfingerprintable_key_parts_are_named(tmp_path: Path, bad, message) -> None:
    with pytest.raises(TypeError, match=message):
        results.cached("demo", Counter(), bad, directory=tmp_path)


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        results.cached(" ", Counter(), _key(), directory=tmp_path)
    with pytest.raises(TypeError, match="compute must be callable"):
        results.cached("demo", 3, _key(), directory=tmp_path)
    with pytest.raises(TypeError, match="key must be a mapping"):
        results.cached("demo", Counter(), [1, 2], directory=tmp_path)
    with pytest.raises(ValueError, match="no module"):
        results.cached("demo", Counter(), _key(), code=("no_such_module",), directory=tmp_path)


def test_entry_file_names_are_readable_and_distinct(tmp_path: Path) -> None:
    a = results.entry_path(tmp_path, "Table 1, VV", "ab" * 32)
    b = results.entry_path(tmp_path, "Table 1, VV", "cd" * 32)
    assert a.name.startswith("table-1-vv-") and a != b
    assert results.entry_path(tmp_path, "???", "ab" * 32).name.startswith("result-")


def test_pickled_entry_is_not_a_plain_pickle(tmp_path: Path) -> None:
    path = _entry(tmp_path)
    with pytest.raises(pickle.UnpicklingError):  # the header comes first: nothing loads an entry unverified
        pickle.loads(path.read_bytes())
