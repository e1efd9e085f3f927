"""Recorded headline numbers: written per lesson, merged, gathered for the README; bad input is named."""

from __future__ import annotations

import json

import pytest

from sarxai_utils import recorded


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SARXAI_DATA", str(tmp_path))
    return tmp_path


def test_record_and_gather(data_dir):
    assert recorded.record("12", "laptop", look_db=3.14, methods="Saliency, IG", n=30) is None
    path = recorded.recorded_dir("laptop") / "12.json"
    assert path == data_dir / "results" / "recorded" / "laptop-embedded" / "12.json"
    recorded.record("02", "laptop", acc_vv=0.9)
    got = recorded.gather("laptop")
    assert got["profile"] == "laptop" and got["data"] == "embedded"
    assert got["lessons"]["12"]["numbers"] == {"look_db": 3.14, "methods": "Saliency, IG", "n": 30}
    assert set(got["lessons"]) == {"02", "12"}
    assert set(recorded.gather("laptop", ["12"])["lessons"]) == {"12"}
    assert recorded.gather("ci")["lessons"] == {}, "profiles are kept apart"


def test_record_merges_names_and_replaces_values():
    recorded.record("08", "ci", a=1.0, b=2.0)
    recorded.record("08", "ci", b=3.0, c=4)
    assert recorded.gather("ci")["lessons"]["08"]["numbers"] == {"a": 1.0, "b": 3.0, "c": 4}


def test_data_sources_are_kept_apart():
    recorded.record("03", "ci", "opensarurban", a=1.0)
    assert recorded.gather("ci")["lessons"] == {}
    assert recorded.gather("ci", data="opensarurban")["lessons"]["03"]["numbers"] == {"a": 1.0}


def test_numpy_numbers_are_stored_as_plain_numbers():
    np = pytest.importorskip("numpy")
    recorded.record("10", "ci", acc=np.float64(0.5), share=np.float32(0.25), n=np.int64(3))
    path = recorded.recorded_dir("ci") / "10.json"
    assert json.loads(path.read_text())["numbers"] == {"acc": 0.5, "share": 0.25, "n": 3}


@pytest.mark.parametrize(("lesson", "numbers", "error", "match"), [
    ("8", {"a": 1.0}, ValueError, "two-digit"),
    ("08", {}, ValueError, "at least one"),
    ("08", {"a": float("nan")}, ValueError, "a is nan"),
    ("08", {"a": float("inf")}, ValueError, "finite"),
    ("08", {"a": None}, TypeError, "not NoneType"),
    ("08", {"a": [1, 2]}, TypeError, "a must be a number or text, not list"),
    ("08", {"a": True}, TypeError, "not bool"),
])
def test_bad_records_are_refused(lesson, numbers, error, match):
    with pytest.raises(error, match=match):
        recorded.record(lesson, "ci", **numbers)


def test_corrupt_record_is_named(data_dir):
    recorded.record("05", "ci", a=1.0)
    path = recorded.recorded_dir("ci") / "05.json"
    path.write_text("{broken")
    with pytest.raises(ValueError, match="05.json cannot be read"):
        recorded.gather("ci")
    path.write_text('{"numbers": 3}')
    with pytest.raises(ValueError, match="no 'numbers' mapping"):
        recorded.gather("ci")
