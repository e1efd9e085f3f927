"""Tests of sarxai_utils.explain: shapes, agreement with Captum, ReLU handling, conventions, batching, errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from captum.attr import (
    Deconvolution,
    GuidedBackprop,
    GuidedGradCam,
    InputXGradient,
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    Occlusion,
    Saliency,
)
from torch import nn

from sarxai_utils import models
from sarxai_utils.explain import (
    CAM_METHODS,
    IG_STEPS,
    METHODS,
    PAPER_METHODS,
    MethodInfo,
    explain,
    occlusion_passes,
    occlusion_window,
    prepare_for_relu_hooks,
    to_numpy_maps,
)
from sarxai_utils.metrics import completeness

NAMES = ("saliency", "input_x_gradient", "integrated_gradients", "guided_backprop", "deconvolution", "grad_cam",
         "guided_grad_cam", "occlusion")
CAM_NAMES = ("ms_cam", "self_matching_cam", "grad_cam_pp", "xgrad_cam", "layer_cam", "score_cam")
FAST = {"occlusion": {"stride": 4}, "integrated_gradients": {"n_steps": 8}}  # cheaper settings where defaults are slow


def _slim(channels: int, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return models.build_model("resnet10_slim", channels, 10).eval()


def _images(batch: int, channels: int, size: int, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch, channels, size, size, generator=generator) * 2 - 1  # model input space [-1, 1]


@pytest.fixture(scope="module")
def resnet18() -> nn.Module:
    torch.manual_seed(0)
    return models.build_model("resnet18", 1, 10).eval()


def _relu_calls(model: nn.Module, x: torch.Tensor) -> dict[str, int]:
    """How many times each nn.ReLU module of ``model`` runs in one forward pass."""
    calls = {name: 0 for name, m in model.named_modules() if isinstance(m, nn.ReLU)}
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, nn.ReLU):
            def hook(_m, _i, _o, name=name):
                calls[name] += 1
            handles.append(module.register_forward_hook(hook))
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    return calls


# ---------------------------------------------------------------------------------------------------------------
# Registry, shapes
# ---------------------------------------------------------------------------------------------------------------
def test_registry_lists_the_eight_methods():
    assert PAPER_METHODS == NAMES  # what lessons 03-08 loop over
    assert CAM_METHODS == CAM_NAMES
    assert tuple(METHODS) == NAMES + CAM_NAMES  # the eight, then the CAM family of lessons 09-10
    assert all(not METHODS[name].signed for name in CAM_NAMES)
    for name, info in METHODS.items():
        assert isinstance(info, MethodInfo) and info.name == name
        assert info.title and info.captum_class and info.sign_convention and info.citation
    assert METHODS["integrated_gradients"].title == "Integrated Gradients"
    assert not METHODS["saliency"].signed and not METHODS["grad_cam"].signed
    assert METHODS["integrated_gradients"].signed and METHODS["occlusion"].signed
    with pytest.raises(dataclasses.FrozenInstanceError):
        METHODS["saliency"].signed = True  # type: ignore[misc]


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("method", NAMES)
def test_every_method_gives_finite_float32_maps(method, channels, slim1, slim2):
    model = slim1 if channels == 1 else slim2
    x = _images(3, channels, 32)
    maps = explain(model, x, [0, 4, 9], method, **FAST.get(method, {}))
    assert maps.shape == (3, 32, 32)
    assert maps.dtype == torch.float32
    assert maps.device == next(model.parameters()).device
    assert torch.isfinite(maps).all()
    assert not maps.requires_grad
    assert maps.abs().sum() > 0


def test_default_occlusion_and_single_image(slim1):
    x = _images(2, 1, 32)
    maps = explain(slim1, x, 3, "occlusion")
    assert maps.shape == (2, 32, 32) and torch.isfinite(maps).all()
    single = explain(slim1, x[1], 3, "occlusion")
    assert single.shape == (1, 32, 32)
    torch.testing.assert_close(single[0], maps[1], atol=1e-5, rtol=0)
    for method in ("saliency", "grad_cam"):
        assert explain(slim1, x[0], torch.tensor(3), method).shape == (1, 32, 32)
    assert to_numpy_maps(maps).dtype == np.float32 and to_numpy_maps(maps).shape == (2, 32, 32)


# ---------------------------------------------------------------------------------------------------------------
# Agreement with Captum called directly
# ---------------------------------------------------------------------------------------------------------------
def _captum(method: str, model: nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    size = tuple(x.shape[-2:])
    if method == "saliency":
        return Saliency(model).attribute(x, target=target)
    if method == "input_x_gradient":
        return InputXGradient(model).attribute(x, target=target)
    if method == "integrated_gradients":
        return IntegratedGradients(model).attribute(x, baselines=torch.full_like(x, -1.0), target=target,
                                                    n_steps=IG_STEPS)
    if method == "grad_cam":
        cam = LayerGradCam(model, model.layer4).attribute(x, target=target, relu_attributions=True)
        return LayerAttribution.interpolate(cam, size, interpolate_mode="bilinear")
    if method == "occlusion":
        channels = x.shape[1]
        window, stride = occlusion_window(size[0])
        return Occlusion(model).attribute(x.detach(), sliding_window_shapes=(channels, window, window),
                                          strides=(channels, stride, stride), baselines=-1.0, target=target)
    prepared = prepare_for_relu_hooks(model)
    if method == "guided_backprop":
        return GuidedBackprop(prepared).attribute(x, target=target)
    if method == "deconvolution":
        return Deconvolution(prepared).attribute(x, target=target)
    if method == "guided_grad_cam":
        return GuidedGradCam(prepared, prepared.layer4).attribute(x, target=target, interpolate_mode="bilinear")
    raise AssertionError(method)


@pytest.mark.parametrize("method", NAMES)
def test_explain_equals_captum_summed_over_channels(method, slim2):
    batch = 2 if method == "occlusion" else 3
    x = _images(batch, 2, 32, seed=5)
    target = torch.tensor([1, 7, 3][:batch])
    expected = _captum(method, slim2, x, target).detach().sum(dim=1)
    got = explain(slim2, x, target, method)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_guided_backprop_on_torchvision_resnet18(resnet18):
    x = _images(2, 1, 64, seed=2)
    prepared = prepare_for_relu_hooks(resnet18)
    reference = GuidedBackprop(prepared).attribute(x.clone().requires_grad_(True), target=2).sum(dim=1)
    got = explain(resnet18, x, 2, "guided_backprop")
    torch.testing.assert_close(got, reference, atol=1e-5, rtol=1e-5)
    # The prepared path must differ from the plain gradient (the ReLU overrides took effect) ...
    plain = Saliency(resnet18).attribute(x.clone().requires_grad_(True), target=2, abs=False).sum(dim=1)
    assert (got - plain).abs().max() > 1e-4
    # ... and Captum on the unprepared model either fails or (with this Captum) happens to agree: no assertion
    # of a failure that does not happen, only that any result it gives is finite and shaped like ours.
    try:
        direct = GuidedBackprop(resnet18).attribute(x.clone().requires_grad_(True), target=2).sum(dim=1)
    except Exception:  # a failure is one of the two acceptable outcomes
        return
    assert direct.shape == got.shape and torch.isfinite(direct).all()


# ---------------------------------------------------------------------------------------------------------------
# ReLU preparation
# ---------------------------------------------------------------------------------------------------------------
def test_prepared_resnet18_has_one_relu_module_per_use(resnet18):
    x = _images(2, 1, 64, seed=3)
    original_calls = _relu_calls(resnet18, x)
    assert sum(original_calls.values()) == 17  # 1 stem ReLU + 2 per BasicBlock x 8 blocks
    assert len(original_calls) == 9  # torchvision re-uses one module per block
    prepared = prepare_for_relu_hooks(resnet18)
    assert prepared is not resnet18
    calls = _relu_calls(prepared, x)
    assert len(calls) == 17 and set(calls.values()) == {1}
    assert not any(m.inplace for m in prepared.modules() if isinstance(m, nn.ReLU))
    assert not prepared.training
    with torch.no_grad():
        torch.testing.assert_close(prepared(x), resnet18(x), atol=1e-5, rtol=1e-5)
    assert prepared.layer4 is not resnet18.layer4


@pytest.mark.parametrize("method", ["guided_backprop", "deconvolution", "guided_grad_cam"])
def test_relu_hooks_fire_once_on_every_relu_use(method, resnet18):
    prepared = prepare_for_relu_hooks(resnet18)  # the cached copy explain() will use
    fired: dict[str, int] = {}
    handles = [module.register_full_backward_hook(
        lambda _m, _gi, _go, name=name: fired.__setitem__(name, fired.get(name, 0) + 1))
        for name, module in prepared.named_modules() if isinstance(module, nn.ReLU)]
    try:
        explain(resnet18, _images(1, 1, 64, seed=8), 3, method)
    finally:
        for handle in handles:
            handle.remove()
    relus = [name for name, m in prepared.named_modules() if isinstance(m, nn.ReLU)]
    assert len(relus) == 17
    # Guided Grad-CAM's Grad-CAM part stops at layer4's output and crosses no ReLU: once everywhere for all three
    assert fired == {name: 1 for name in relus}


def test_prepared_bottleneck_model_matches():
    torch.manual_seed(0)
    model = models.build_model("resnet50", 1, 4).eval()
    x = _images(1, 1, 32, seed=4)
    prepared = prepare_for_relu_hooks(model)
    calls = _relu_calls(prepared, x)
    assert len(calls) == 1 + 3 * 16 and set(calls.values()) == {1}
    with torch.no_grad():
        torch.testing.assert_close(prepared(x), model(x), atol=1e-5, rtol=1e-5)


def test_prepared_copy_is_cached_and_rebuilt_when_weights_change():
    model = _slim(1, seed=7)
    x = _images(2, 1, 32, seed=6)
    first = prepare_for_relu_hooks(model)
    assert prepare_for_relu_hooks(model) is first
    with torch.no_grad():
        model.fc.bias.add_(1.0)  # in-place update, as an optimizer step does
    second = prepare_for_relu_hooks(model)
    assert second is not first
    with torch.no_grad():
        torch.testing.assert_close(second(x), model(x), atol=1e-5, rtol=1e-5)
    model.load_state_dict(_slim(1, seed=8).state_dict())
    third = prepare_for_relu_hooks(model)
    assert third is not second
    with torch.no_grad():
        torch.testing.assert_close(third(x), model(x), atol=1e-5, rtol=1e-5)


def test_relu_methods_refuse_a_model_that_reuses_a_relu():
    class Reuser(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.act = nn.ReLU()
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            h = self.act(self.act(self.conv(x)) - 0.1)
            return self.fc(h.mean(dim=(2, 3)))

    with pytest.raises(ValueError, match="more than once"):
        explain(Reuser().eval(), _images(1, 1, 8), 0, "guided_backprop")


# ---------------------------------------------------------------------------------------------------------------
# Conventions
# ---------------------------------------------------------------------------------------------------------------
def test_sign_conventions(slim2):
    x = _images(3, 2, 32, seed=9)
    assert (explain(slim2, x, 2, "saliency") >= 0).all()
    assert (explain(slim2, x, 2, "grad_cam") >= 0).all()
    assert (explain(slim2, x, 2, "grad_cam", relu_attributions=False) < 0).any()
    assert (explain(slim2, x, 2, "saliency", abs=False) < 0).any()


def test_input_x_gradient_is_x_times_the_autograd_gradient(slim2):
    x = _images(1, 2, 32, seed=10)
    leaf = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(slim2(leaf)[0, 5], leaf)
    expected = (x * grad).sum(dim=1)
    torch.testing.assert_close(explain(slim2, x, 5, "input_x_gradient"), expected, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(explain(slim2, x, 5, "saliency"), grad.abs().sum(dim=1), atol=1e-6, rtol=1e-5)


def test_integrated_gradients_completeness(slim1):
    x = _images(2, 1, 32, seed=11)
    target = torch.tensor([4, 6])
    black = torch.full_like(x, -1.0)
    maps = explain(slim1, x, target, "integrated_gradients", n_steps=200)
    with torch.no_grad():
        expected = slim1(x)[[0, 1], target] - slim1(black)[[0, 1], target]
    assert expected.abs().min() > 1e-3  # a meaningful difference to compare with
    torch.testing.assert_close(maps.sum(dim=(1, 2)), expected, rtol=0.03, atol=1e-3)
    _, delta = IntegratedGradients(slim1).attribute(x.clone().requires_grad_(True), baselines=black, target=target,
                                                    n_steps=200, return_convergence_delta=True)
    assert (delta.abs() <= 0.03 * expected.abs() + 1e-3).all()


def test_integrated_gradients_completeness_on_a_trained_model_at_the_default_steps(trained_vv):
    model, x, labels = trained_vv
    maps = explain(model, x, labels, "integrated_gradients")  # default n_steps, black baseline
    # Judge the scenes whose score moves by at least half a logit (a relative error of a near-zero change says
    # nothing); lesson 04 measures the laptop models with the default min_gap of 1 logit.
    check = completeness(model, x, labels, maps, "black", min_gap=0.5)
    measured = ~np.isnan(check.relative_error)
    assert measured.sum() >= 5, f"score gaps {check.score_gap.round(3).tolist()}"
    assert check.relative_error[measured].max() <= 0.02, f"completeness errors {check.relative_error.tolist()}"


def test_integrated_gradients_baselines(slim1):
    x = _images(2, 1, 32, seed=12)
    zero = explain(slim1, x, 1, "integrated_gradients", baseline="zero", n_steps=16)
    torch.testing.assert_close(zero, explain(slim1, x, 1, "integrated_gradients", baseline=0.0, n_steps=16))
    black = explain(slim1, x, 1, "integrated_gradients", n_steps=16)
    as_tensor = explain(slim1, x, 1, "integrated_gradients", baseline=torch.full((1, 32, 32), -1.0), n_steps=16)
    torch.testing.assert_close(black, as_tensor)
    assert (black - zero).abs().max() > 1e-5
    with torch.no_grad():  # explain() turns gradients on itself; internal_batch_size does not change the result
        torch.testing.assert_close(
            explain(slim1, x, 1, "integrated_gradients", n_steps=16, internal_batch_size=5), black,
            atol=1e-5, rtol=1e-4)


def test_occlusion_window_scaling():
    assert occlusion_window(100) == (15, 5)
    assert occlusion_window(64) == (9, 3)
    assert occlusion_window(32) == (5, 2)
    assert occlusion_window(200) == (29, 10)
    for size in range(1, 300):
        window, stride = occlusion_window(size)
        assert stride >= 1 and window <= size
        if size >= 3:
            assert window >= 3 and window % 2 == 1


def test_occlusion_options(slim1):
    x = _images(1, 1, 32, seed=13)
    got = explain(slim1, x, 2, "occlusion", window=(7, 5), stride=3, baseline="zero", perturbations_per_eval=3)
    expected = Occlusion(slim1).attribute(x, sliding_window_shapes=(1, 7, 5), strides=(1, 3, 3), baselines=0.0,
                                          target=2).sum(dim=1)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------------------------------------------------------
# Batching
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["saliency", "integrated_gradients", "guided_grad_cam", "occlusion"])
def test_batching_does_not_change_results(method, slim2):
    x = _images(5, 2, 32, seed=14)
    targets = [0, 1, 2, 3, 4]
    options = {"occlusion": {"window": 9, "stride": 8}, "integrated_gradients": {"n_steps": 8}}.get(method, {})
    one = explain(slim2, x, targets, method, batch_size=1, progress=False, **options)
    eight = explain(slim2, x, targets, method, batch_size=8, **options)
    torch.testing.assert_close(one, eight, atol=1e-5, rtol=1e-5)
    others = torch.cat([x[2:3], _images(3, 2, 32, seed=15)])
    alone = explain(slim2, others, [2, 9, 9, 9], method, **options)[0]
    torch.testing.assert_close(alone, eight[2], atol=1e-5, rtol=1e-5)


def test_progress_bar_over_chunks(slim1, capsys):
    x = _images(4, 1, 32, seed=16)
    maps = explain(slim1, x, 0, "saliency", batch_size=2, progress=True)
    assert maps.shape == (4, 32, 32)
    assert "Saliency" in capsys.readouterr().err
    torch.testing.assert_close(explain(slim1, x, 0, "saliency", batch_size=2, progress=False), maps)
    assert capsys.readouterr().err == ""
    explain(slim1, x, 0, "saliency", batch_size=2)  # by default a bar appears only after PROGRESS_DELAY_S seconds
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------------------------------------------------------
# Errors and side effects
# ---------------------------------------------------------------------------------------------------------------
def test_errors(slim1):
    x = _images(2, 1, 32)
    with pytest.raises(ValueError, match="integrated_gradients"):
        explain(slim1, x, 0, "lime")
    with pytest.raises(ValueError, match=r"images.*\(32, 32\)"):
        explain(slim1, x[0, 0], 0, "saliency")
    with pytest.raises(ValueError, match=r"images.*\(1, 2, 1, 32, 32\)"):
        explain(slim1, x[None], 0, "saliency")
    bad = x.clone()
    bad[1, 0, 3, 3] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        explain(slim1, bad, 0, "saliency")
    bad[1, 0, 3, 3] = float("inf")
    with pytest.raises(ValueError, match="NaN or inf"):
        explain(slim1, bad, 0, "saliency")
    with pytest.raises(ValueError, match="targets.*out of range"):
        explain(slim1, x, 10, "saliency")
    with pytest.raises(ValueError, match="targets.*out of range"):
        explain(slim1, x, [0, -1], "saliency")
    with pytest.raises(ValueError, match="targets has 3 entries"):
        explain(slim1, x, [0, 1, 2], "saliency")
    with pytest.raises(ValueError, match="targets has 1 entries"):
        explain(slim1, x, torch.tensor([1]), "saliency")
    with pytest.raises(ValueError, match="targets"):
        explain(slim1, x, [0.5, 1.0], "saliency")
    with pytest.raises(TypeError, match="n_step"):
        explain(slim1, x, 0, "integrated_gradients", n_step=10)
    with pytest.raises(TypeError, match="baseline"):
        explain(slim1, x, 0, "saliency", baseline="black")
    with pytest.raises(ValueError, match="baseline"):
        explain(slim1, x, 0, "integrated_gradients", baseline="white")
    with pytest.raises(ValueError, match="layer"):
        explain(slim1, x, 0, "grad_cam", layer="layer9")
    with pytest.raises(ValueError, match="window"):
        explain(slim1, x, 0, "occlusion", window=40)


def test_explain_restores_mode_and_leaves_no_gradients():
    model = _slim(1, seed=17)
    model.train()
    x = _images(2, 1, 32, seed=18)
    running_mean = model.bn1.running_mean.clone()
    for method in NAMES:
        explain(model, x, 1, method, **FAST.get(method, {}))
        assert model.training, method
        assert all(p.grad is None for p in model.parameters()), method
    torch.testing.assert_close(model.bn1.running_mean, running_mean)  # eval mode: BatchNorm statistics untouched
    model.eval()
    explain(model, x, 1, "grad_cam", layer=model.layer3)
    assert not model.training
    model.train()
    model.bn1.eval()  # a mixed state (e.g. frozen BatchNorm) is restored module by module
    explain(model, x, 1, "saliency")
    assert model.training and model.layer1.training and not model.bn1.training


def test_layer_option_accepts_a_submodule_of_the_original_model(slim1):
    x = _images(2, 1, 32, seed=19)
    by_module = explain(slim1, x, 1, "guided_grad_cam", layer=slim1.layer3)
    torch.testing.assert_close(by_module, explain(slim1, x, 1, "guided_grad_cam", layer="layer3"))
    prepared = prepare_for_relu_hooks(slim1)
    expected = GuidedGradCam(prepared, prepared.layer3).attribute(x.clone().requires_grad_(True), target=1,
                                                                  interpolate_mode="bilinear").sum(dim=1)
    torch.testing.assert_close(by_module, expected, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="layer"):
        explain(slim1, x, 1, "guided_grad_cam", layer="layer4.0.relu")
    with pytest.raises(ValueError, match="layer"):
        explain(slim1, x, 1, "grad_cam", layer=nn.Conv2d(1, 1, 1))
    with torch.inference_mode(), pytest.raises(RuntimeError, match="inference_mode"):
        explain(slim1, x, 1, "saliency")


@pytest.mark.parametrize(("size", "window", "stride"),
                         [(100, 15, 5), (128, 19, 6), (64, 9, 3), (20, 5, 4), (12, 12, 1)])
def test_occlusion_passes_counts_captums_forward_passes(size, window, stride):
    from captum.attr import Occlusion

    calls = []

    def forward(x):
        calls.append(x.shape[0])
        return x.flatten(1).sum(1, keepdim=True)

    Occlusion(forward).attribute(torch.zeros(1, 1, size, size), sliding_window_shapes=(1, window, window),
                                 strides=(1, stride, stride), target=0, perturbations_per_eval=1)
    assert sum(calls) - 1 == occlusion_passes(size, window, stride), "one call is the intact image"


@pytest.mark.parametrize(("size", "window", "stride"), [(10, 11, 1), (10, 0, 1), (10, 3, 0)])
def test_occlusion_passes_rejects_bad_settings(size, window, stride):
    with pytest.raises(ValueError, match="window <= size"):
        occlusion_passes(size, window, stride)
