"""Shared fixtures: every test runs with its own data directory and without a profile override."""

from __future__ import annotations

import os
import warnings
from unittest import mock

import pytest
import torch
from torch import nn

from sarxai_utils import config, data, models
from sarxai_utils.datasets import model_input


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path, monkeypatch):
    """Generated data goes to a temporary folder; SARXAI_PROFILE from the caller's shell cannot leak in."""
    monkeypatch.setenv("SARXAI_DATA", str(tmp_path / "sarxai-data"))
    monkeypatch.delenv("SARXAI_PROFILE", raising=False)
    monkeypatch.delenv("SARXAI_OPENSARURBAN", raising=False)
    monkeypatch.delenv("SARXAI_MSTAR", raising=False)


@pytest.fixture(autouse=True)
def _quiet_captum():
    """Captum's warnings about ReLU hooks and inputs without gradients are expected in these tests."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU")
        warnings.filterwarnings("ignore", message="Input Tensor 0 did not already require gradients")
        yield


def _slim(channels: int, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return models.build_model("resnet10_slim", channels, 10).eval()


@pytest.fixture(scope="module")
def slim1() -> nn.Module:
    """A random one-channel resnet10_slim in eval mode (seed 0)."""
    return _slim(1)


@pytest.fixture(scope="module")
def slim2() -> nn.Module:
    """A random two-channel (VV + VH) resnet10_slim in eval mode (seed 0)."""
    return _slim(2)


@pytest.fixture(scope="session")
def trained_vv(tmp_path_factory) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A VV urban model trained at the ci sizes on 40 scenes per class for 15 epochs (about 70 % held-out accuracy
    in 5 s; the ci profile's 12 scenes and 2 epochs leave it at chance), with two held-out scenes per class
    (inputs, labels)."""
    with mock.patch.dict(os.environ, {"SARXAI_DATA": str(tmp_path_factory.mktemp("trained"))}):
        cfg = config.load("ci", epochs=15, n_train_per_class=40)
        _, test = data.embedded_split(cfg, "urban", progress=False)
        sample = data.per_class(test, 2)
        model = models.load_or_train(cfg, "urban", "VV", device="cpu", progress=False)[0]
        return model, model_input(sample, "VV"), torch.as_tensor(sample.labels)


@pytest.fixture(scope="session")
def course_data_dir(tmp_path_factory):
    """One data directory for every test that runs lessons (notebooks, browser): ci models are trained once."""
    return tmp_path_factory.mktemp("course-data")


@pytest.fixture(scope="session")
def real_data_dirs(tmp_path_factory) -> dict[str, str]:
    """Small copies of OpenSARUrban (VV / VH folders above class folders, real spellings, .tif amplitude) and of the
    MSTAR release tree (Phoenix files with the release's header, 17 and 15 degrees), written once, plus a data
    directory of their own: the environment the real-data lesson runs see."""
    import real_layouts

    root = tmp_path_factory.mktemp("real-data")
    real_layouts.write_opensarurban(root / "OpenSARUrban", "pol_folders", ".tif", n=8, size=100)
    real_layouts.write_mstar_tree(root / "MSTAR", "release", n_train=6, n_test=4, size=128)
    return {"SARXAI_OPENSARURBAN": str(root / "OpenSARUrban"), "SARXAI_MSTAR": str(root / "MSTAR"),
            "SARXAI_DATA": str(root / "sarxai-data")}
