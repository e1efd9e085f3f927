"""Models and checkpoints: architectures, bit-exact round trips, clear errors, load_or_train's cache."""

from __future__ import annotations

import dataclasses
import warnings

import pytest
import torch

from sarxai_utils import config, models, training
from sarxai_utils.errors import CheckpointError, CheckpointMismatchError

META = dict(arch="resnet10_slim", in_channels=1, classes=[f"c{i}" for i in range(10)], polarization="VV",
            dataset="urban", input_size=64, profile="ci", seed=0, epochs=1)


@pytest.mark.parametrize("arch", models.ARCHITECTURES)
@pytest.mark.parametrize("channels", [1, 2])
def test_every_architecture_takes_sar_channels(arch, channels):
    model = models.build_model(arch, channels, 10).eval()
    with torch.inference_mode():
        out = model(torch.randn(2, channels, 64, 64))
    assert out.shape == (2, 10)
    assert model.conv1.in_channels == channels


def test_resnet101_trains_one_step_at_100_pixels():
    torch.manual_seed(0)
    model = models.build_model("resnet101", 1, 10)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(2, 1, 100, 100), torch.tensor([1, 7])
    before = model.fc.weight.detach().clone()
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    assert torch.isfinite(loss) and model.conv1.weight.grad.abs().sum() > 0
    assert not torch.equal(before, model.fc.weight)


def test_slim_resnet_has_torchvision_module_names_and_stride():
    model = models.build_model("resnet10_slim", 1, 10).eval()
    for name in ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc"):
        assert hasattr(model, name), name
    feats = {}
    model.layer4.register_forward_hook(lambda m, i, o: feats.setdefault("layer4", o))
    with torch.inference_mode():
        model(torch.randn(1, 1, 128, 128))
    assert feats["layer4"].shape[-2:] == (4, 4)  # 1/32 of the input, as in ResNet101


@pytest.mark.parametrize("kwargs", [dict(arch="vgg16"), dict(in_channels=0), dict(num_classes=0),
                                    dict(in_channels=True), dict(num_classes=2.5)])
def test_build_model_rejects_bad_arguments(kwargs):
    args = dict(arch="resnet18", in_channels=1, num_classes=10) | kwargs
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        models.build_model(**args)


def _saved(tmp_path, meta=META):
    torch.manual_seed(1)
    model = models.build_model(meta["arch"], meta["in_channels"], len(meta["classes"]))
    path = models.save_checkpoint(tmp_path / "m.pt", model, dict(meta))
    return model, path


def test_checkpoint_round_trips_bit_exactly(tmp_path):
    model, path = _saved(tmp_path)
    loaded, meta = models.load_checkpoint(path, expect=dict(polarization="VV", classes=META["classes"]))
    original = model.state_dict()
    assert set(original) == set(loaded.state_dict())
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, original[key]), key
    assert not loaded.training
    assert {k: meta[k] for k in META} == META
    assert meta["versions"]["torch"] == torch.__version__
    raw = torch.load(path, weights_only=True)  # plain tensors and Python values only
    assert raw["meta"]["arch"] == "resnet10_slim"
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"], "no temporary files left behind"


def test_truncated_checkpoint_is_a_clear_error(tmp_path):
    _, path = _saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"truncated or corrupt") as info:
        models.load_checkpoint(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("content, message", [(b"", "empty"), (b"not a checkpoint at all" * 10, "corrupt")])
def test_corrupt_or_empty_checkpoint_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        models.load_checkpoint(path)


def test_missing_and_foreign_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        models.load_checkpoint(tmp_path / "nope.pt")
    torch.save({"weights": torch.zeros(3)}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match="not a sarxai checkpoint"):
        models.load_checkpoint(tmp_path / "foreign.pt")


@pytest.mark.parametrize("field, value", [("polarization", "VH"), ("arch", "resnet18"), ("input_size", 100),
                                          ("classes", [f"k{i}" for i in range(10)]), ("dataset", "targets")])
def test_mismatched_checkpoint_is_refused(tmp_path, field, value):
    _, path = _saved(tmp_path)
    with pytest.raises(CheckpointMismatchError, match=field) as info:
        models.load_checkpoint(path, expect={field: value})
    assert str(path) in str(info.value) and repr(value) in str(info.value)


def test_checkpoint_that_contradicts_its_metadata(tmp_path):
    _, path = _saved(tmp_path)
    raw = torch.load(path, weights_only=True)
    raw["meta"]["arch"] = "resnet18"
    torch.save(raw, path)
    with pytest.raises(CheckpointError, match="does not fit its own metadata"):
        models.load_checkpoint(path)


def test_save_requires_the_matching_fields(tmp_path):
    model = models.build_model("resnet10_slim", 1, 10)
    with pytest.raises(ValueError, match="polarization"):
        models.save_checkpoint(tmp_path / "x.pt", model, {k: v for k, v in META.items() if k != "polarization"})


@pytest.fixture
def tiny():
    return dataclasses.replace(config.load("ci"), urban_size=32, targets_size=48, n_train_per_class=2,
                               n_test_per_class=1, epochs=1, batch_size=8)


def test_load_or_train_trains_once_then_loads(tiny, monkeypatch):
    model, meta = models.load_or_train(tiny, "urban", "VH", device="cpu", progress=False)
    for key in ("arch", "classes", "polarization", "dataset", "input_size", "preprocessing", "profile", "seed",
                "epochs", "test_accuracy", "per_class_accuracy", "confusion", "history", "versions"):
        assert key in meta, key
    assert meta["polarization"] == "VH" and meta["input_size"] == 32 and meta["in_channels"] == 1
    assert 0.0 <= meta["test_accuracy"] <= 1.0 and len(meta["history"]["train_loss"]) == 1
    files = list((config.data_dir() / "checkpoints").glob("urban-vh-ci-*.pt"))
    assert len(files) == 1

    monkeypatch.setattr(training, "train", lambda *a, **k: pytest.fail("trained again instead of loading"))
    again, meta2 = models.load_or_train(tiny, "urban", "VH", device="cpu", progress=False)
    for key, value in again.state_dict().items():
        assert torch.equal(value, model.state_dict()[key])
    assert meta2["test_accuracy"] == meta["test_accuracy"]


def test_load_or_train_keys_by_settings_and_rebuilds_corrupt(tiny):
    models.load_or_train(tiny, "urban", "VV", device="cpu", progress=False)
    models.load_or_train(dataclasses.replace(tiny, lr=1e-3), "urban", "VV", device="cpu", progress=False)
    paths = sorted((config.data_dir() / "checkpoints").glob("urban-vv-ci-*.pt"))
    assert len(paths) == 2, "other settings, another checkpoint"
    paths[0].write_bytes(paths[0].read_bytes()[:100])
    paths[1].write_bytes(paths[1].read_bytes()[:100])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, meta = models.load_or_train(tiny, "urban", "VV", device="cpu", progress=False)
    assert any("truncated or corrupt" in str(w.message) for w in caught)
    assert meta["polarization"] == "VV"


def test_load_or_train_targets_and_dual_polarization(tiny):
    model, meta = models.load_or_train(tiny, "targets", "HH", device="cpu", progress=False)
    assert meta["dataset"] == "targets" and meta["input_size"] == 48 and len(meta["classes"]) == 10
    model, meta = models.load_or_train(tiny, "urban", "both", device="cpu", progress=False)
    assert meta["in_channels"] == 2 and model.conv1.in_channels == 2


@pytest.mark.parametrize("dataset, pol", [("urban", "HH"), ("targets", "VV"), ("mstar", "VV")])
def test_load_or_train_rejects_unknown_settings(tiny, dataset, pol):
    with pytest.raises(ValueError):
        models.load_or_train(tiny, dataset, pol, device="cpu", progress=False)


def test_load_or_train_on_opensarurban_proportions(tiny):
    _, balanced = models.load_or_train(tiny, "urban", "VV", device="cpu", progress=False)
    _, skewed = models.load_or_train(tiny, "urban", "VV", device="cpu", progress=False, proportions="opensarurban")
    assert balanced["proportions"] == "balanced" and skewed["proportions"] == "opensarurban"
    assert skewed["settings"]["proportions"] == "opensarurban" and "proportions" not in balanced["settings"]
    assert len(list((config.data_dir() / "checkpoints").glob("urban-vv-ci-*.pt"))) == 2, "its own checkpoint"
    assert skewed["test_images"] == balanced["test_images"], "the held-out set stays balanced"
    with pytest.raises(ValueError, match="proportions"):
        models.load_or_train(tiny, "targets", "HH", device="cpu", progress=False, proportions="opensarurban")
    with pytest.raises(ValueError, match="proportions"):
        models.load_or_train(tiny, "urban", "VV", device="cpu", progress=False, proportions="natural")


def test_loaded_models_are_channels_last_and_explain_like_the_contiguous_model(tmp_path):
    """for_inference only changes the memory layout: every method's maps match the plain model's."""
    from sarxai_utils.explain import METHODS, explain

    torch.manual_seed(0)
    plain = models.build_model("resnet10_slim", 2, 10).eval()
    meta = dict(arch="resnet10_slim", in_channels=2, classes=[str(k) for k in range(10)], polarization="both",
                dataset="urban", input_size=32)
    path = models.save_checkpoint(tmp_path / "m.pt", plain, meta)
    loaded, _ = models.load_checkpoint(path)
    assert not loaded.training
    assert loaded.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    x = torch.rand(3, 2, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    y = torch.tensor([0, 4, 9])
    with torch.inference_mode():
        torch.testing.assert_close(loaded(x), plain(x), rtol=1e-5, atol=1e-5)
    for method in METHODS:
        options = {"n_steps": 8} if method == "integrated_gradients" else {}
        ours, theirs = explain(loaded, x, y, method, **options), explain(plain, x, y, method, **options)
        scale = float(theirs.abs().max()) or 1.0
        assert float((ours - theirs).abs().max()) <= 1e-4 * scale, method
