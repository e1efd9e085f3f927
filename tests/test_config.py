"""Tests of sarxai_utils.config: profiles, the SARXAI_PROFILE / SARXAI_DATA overrides, datasets and the device."""

from __future__ import annotations

import dataclasses
import math
import platform
import sys
import types
from pathlib import Path

import pytest
import torch

from sarxai_utils import config
from sarxai_utils.errors import ProfileError, SarxaiError

PROFILE_FIELDS = {f.name for f in dataclasses.fields(config.Profile)}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    """No profile override and a private data folder, whatever the caller's shell holds."""
    monkeypatch.delenv(config.PROFILE_ENV, raising=False)
    monkeypatch.setenv(config.DATA_ENV, str(tmp_path / "data-env"))
    monkeypatch.delenv("SARXAI_OPENSARURBAN", raising=False)
    monkeypatch.delenv("SARXAI_MSTAR", raising=False)


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def with_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)


# --- profiles ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ci", "laptop", "full"])
def test_load_each_concrete_profile(name):
    profile = config.load(name)
    assert isinstance(profile, config.Profile)
    assert profile.name == name
    assert profile == config.PROFILES[name]


def test_profile_sizes_are_ordered_and_positive():
    ci, laptop, full = (config.load(n) for n in ("ci", "laptop", "full"))
    assert ci.urban_size == 64 and ci.targets_size == 64
    assert laptop.urban_size == 100 and laptop.targets_size == 128
    assert full.urban_size == 100 and full.targets_size == 128
    assert ci.n_train_per_class < laptop.n_train_per_class < full.n_train_per_class
    assert ci.cell_timeout_s < laptop.cell_timeout_s < full.cell_timeout_s
    for p in (ci, laptop, full):
        for key, value in p.as_dict().items():
            if key not in ("name", "description", "seed", "arch"):
                assert value > 0, (p.name, key)
    assert full.arch == "resnet101", "the full profile trains the paper's model"
    assert ci.epochs <= laptop.epochs <= full.epochs


def test_arch_override_is_checked():
    assert config.load("ci", arch="resnet18").arch == "resnet18"
    with pytest.raises(ProfileError, match="vgg"):
        config.load("ci", arch="vgg")


def test_profile_names_include_auto():
    assert config.PROFILE_NAMES == ("ci", "laptop", "full", "auto")


def test_load_is_case_and_space_insensitive():
    assert config.load("  CI ").name == "ci"
    assert config.load("Laptop").name == "laptop"


def test_as_dict_has_every_field():
    d = config.load("ci").as_dict()
    assert set(d) == PROFILE_FIELDS
    assert d["name"] == "ci"
    assert d["urban_size"] == 64


def test_profile_is_frozen():
    profile = config.load("ci")
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile.urban_size = 1  # type: ignore[misc]


def test_auto_is_laptop_without_cuda(no_cuda):
    assert config.resolve_name("auto") == "laptop"
    assert config.load().name == "laptop"
    assert config.load("auto").name == "laptop"


def test_auto_is_full_with_cuda(with_cuda):
    assert config.resolve_name("auto") == "full"
    assert config.load("auto").name == "full"


def test_env_overrides_argument(monkeypatch, no_cuda):
    monkeypatch.setenv(config.PROFILE_ENV, "ci")
    assert config.load("full").name == "ci"
    assert config.load("auto").name == "ci"
    assert config.resolve_name("laptop") == "ci"


def test_env_auto_resolves_by_device(monkeypatch, with_cuda):
    monkeypatch.setenv(config.PROFILE_ENV, "auto")
    assert config.load("ci").name == "full"


def test_blank_env_is_ignored(monkeypatch):
    monkeypatch.setenv(config.PROFILE_ENV, "   ")
    assert config.load("ci").name == "ci"


def test_unknown_profile_argument_raises():
    with pytest.raises(ProfileError, match="nosuchprofile") as info:
        config.load("nosuchprofile")
    assert "argument" in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, SarxaiError)


def test_unknown_profile_from_env_raises(monkeypatch):
    monkeypatch.setenv(config.PROFILE_ENV, "gpu-cluster")
    with pytest.raises(ProfileError, match="gpu-cluster") as info:
        config.load("ci")
    assert config.PROFILE_ENV in str(info.value)


def test_empty_profile_name_raises():
    with pytest.raises(ProfileError):
        config.load("")


# --- overrides -----------------------------------------------------------------------------------------------


def test_overrides_replace_fields_and_keep_the_rest():
    profile = config.load("ci", urban_size=32, looks=2.5, n_gallery=2)
    assert profile.urban_size == 32
    assert profile.looks == 2.5
    assert profile.n_gallery == 2
    assert profile.targets_size == config.PROFILES["ci"].targets_size
    assert profile.name == "ci"
    # the stored profile is untouched
    assert config.PROFILES["ci"].urban_size == 64


def test_overrides_of_name_and_description_are_accepted():
    profile = config.load("ci", description="custom")
    assert profile.description == "custom"


def test_unknown_override_raises():
    with pytest.raises(ProfileError, match="bogus_setting"):
        config.load("ci", bogus_setting=3)


@pytest.mark.parametrize("value", [0, -1, -0.5, "64", None, [64]])
def test_invalid_override_value_raises(value):
    with pytest.raises(ProfileError, match="urban_size"):
        config.load("ci", urban_size=value)


def test_nan_override_raises():
    with pytest.raises(ProfileError):
        config.load("ci", looks=math.nan)


# --- data directory --------------------------------------------------------------------------------------------


def test_data_dir_honours_env_and_creates_it(monkeypatch, tmp_path):
    target = tmp_path / "nested" / "course-data"
    monkeypatch.setenv(config.DATA_ENV, str(target))
    assert not target.exists()
    path = config.data_dir()
    assert path == target
    assert target.is_dir()


def test_data_dir_without_create_does_not_create(monkeypatch, tmp_path):
    target = tmp_path / "absent"
    monkeypatch.setenv(config.DATA_ENV, str(target))
    assert config.data_dir(create=False) == target
    assert not target.exists()


def test_data_dir_expands_user(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv(config.DATA_ENV, "~/sx")
    assert config.data_dir(create=False) == tmp_path / "sx"


def test_data_dir_defaults_to_repo_data(monkeypatch, tmp_path):
    monkeypatch.delenv(config.DATA_ENV, raising=False)
    monkeypatch.setattr(config, "REPO_ROOT", tmp_path / "repo")
    assert config.data_dir(create=False) == tmp_path / "repo" / "data"
    assert config.data_dir() == tmp_path / "repo" / "data"
    assert (tmp_path / "repo" / "data").is_dir()


def test_data_dir_that_is_a_file_raises(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(config.DATA_ENV, str(blocker))
    with pytest.raises(ProfileError, match="a-file"):
        config.data_dir()
    with pytest.raises(ProfileError):
        config.data_dir(create=False)


def test_data_dir_file_error_names_the_default_when_env_unset(monkeypatch, tmp_path):
    monkeypatch.delenv(config.DATA_ENV, raising=False)
    monkeypatch.setattr(config, "REPO_ROOT", tmp_path)
    (tmp_path / "data").write_text("not a folder")
    with pytest.raises(ProfileError) as info:
        config.data_dir()
    assert config.DATA_ENV not in str(info.value)


# --- real datasets ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["OpenSARUrban", "MSTAR"])
def test_real_dataset_absent_is_none(name):
    assert config.real_dataset(name) is None


@pytest.mark.parametrize("name, env", [("OpenSARUrban", "SARXAI_OPENSARURBAN"), ("MSTAR", "SARXAI_MSTAR")])
def test_real_dataset_from_env(monkeypatch, tmp_path, name, env):
    folder = tmp_path / f"my-{name}"
    folder.mkdir()
    monkeypatch.setenv(env, str(folder))
    assert config.real_dataset(name) == folder


@pytest.mark.parametrize("name, env", [("OpenSARUrban", "SARXAI_OPENSARURBAN"), ("MSTAR", "SARXAI_MSTAR")])
def test_real_dataset_env_pointing_nowhere_is_none(monkeypatch, tmp_path, name, env):
    monkeypatch.setenv(env, str(tmp_path / "missing"))
    assert config.real_dataset(name) is None


def test_real_dataset_env_pointing_to_a_file_is_none(monkeypatch, tmp_path):
    f = tmp_path / "mstar.zip"
    f.write_bytes(b"PK")
    monkeypatch.setenv("SARXAI_MSTAR", str(f))
    assert config.real_dataset("MSTAR") is None


@pytest.mark.parametrize("name", ["OpenSARUrban", "MSTAR"])
def test_real_dataset_in_data_dir(monkeypatch, tmp_path, name):
    data = tmp_path / "data-env"
    (data / name).mkdir(parents=True)
    assert config.real_dataset(name) == data / name
    assert isinstance(config.real_dataset(name), Path)


@pytest.mark.parametrize("name", ["mstar", "opensarurban", "SEN12", ""])
def test_real_dataset_unknown_name_raises(name):
    with pytest.raises(ValueError, match="OpenSARUrban"):
        config.real_dataset(name)


# --- device and report ----------------------------------------------------------------------------------------


def test_device_is_cpu_without_cuda(no_cuda):
    dev = config.device()
    assert isinstance(dev, torch.device)
    assert dev.type == "cpu"


def test_device_is_cuda_when_available(with_cuda):
    assert config.device().type == "cuda"


def test_environment_report(no_cuda, monkeypatch, tmp_path):
    # stand-ins for the slow-to-import captum and torchvision: the report must read their versions
    for name in ("captum", "torchvision"):
        fake = types.ModuleType(name)
        fake.__version__ = f"{name}-9.9.9"
        monkeypatch.setitem(sys.modules, name, fake)
    target = tmp_path / "report-data"
    monkeypatch.setenv(config.DATA_ENV, str(target))
    report = config.environment_report()
    expected = {
        "python", "torch", "torchvision", "captum", "numpy", "matplotlib", "device",
        "cpu threads used by torch", "profile (auto resolves to)", f"data directory ({config.DATA_ENV})",
    }
    assert set(report) == expected
    assert all(isinstance(v, str) and v for v in report.values())
    assert report["device"] == "cpu"
    assert report["torch"] == torch.__version__
    assert report["captum"] == "captum-9.9.9" and report["torchvision"] == "torchvision-9.9.9"
    assert report["python"] == platform.python_version()
    assert report["profile (auto resolves to)"] == "laptop"
    assert report[f"data directory ({config.DATA_ENV})"] == str(target)
    assert int(report["cpu threads used by torch"]) >= 1
    assert target.is_dir()


def test_show_progress_follows_the_request_and_the_environment(monkeypatch):
    monkeypatch.delenv(config.PROGRESS_ENV, raising=False)
    assert config.show_progress(True) and not config.show_progress(False)
    monkeypatch.setenv(config.PROGRESS_ENV, "0")
    assert not config.show_progress(True)
    monkeypatch.setenv(config.PROGRESS_ENV, "1")
    assert config.show_progress(True)


def test_seed_override_may_be_zero_but_not_negative():
    assert config.load("laptop", seed=0).seed == 0  # every profile's own seed is 0; overriding it back must work
    assert config.load("ci", seed=3).seed == 3
    with pytest.raises(ProfileError, match="seed=-1 must be a non-negative int"):
        config.load("ci", seed=-1)
    with pytest.raises(ProfileError, match="urban_size=0 must be a positive int"):
        config.load("ci", urban_size=0)


def test_study_scenes_is_a_positive_profile_size():
    assert [config.load(n).study_scenes for n in ("ci", "laptop", "full")] == [4, 10, 30]
    with pytest.raises(ProfileError, match="study_scenes"):
        config.load("ci", study_scenes=0)
