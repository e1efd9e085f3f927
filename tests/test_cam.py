"""Tests of sarxai_utils.cam: the CAM family through explain, against torchcam and Captum, the hand-written
Self-Matching CAM and MS-CAM against their definitions, batch independence, options, errors and side effects."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F
from captum.attr import LayerAttribution, LayerGradCam
from torch import nn
from torchcam.methods import GradCAM, GradCAMpp, LayerCAM, ScoreCAM, XGradCAM

from sarxai_utils import cam, models
from sarxai_utils.explain import CAM_METHODS, explain
from sarxai_utils.metrics import max_sensitivity

SIZE = 64
TORCHCAM = {"grad_cam_pp": GradCAMpp, "xgrad_cam": XGradCAM, "layer_cam": LayerCAM, "score_cam": ScoreCAM}


def _slim(channels: int, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return models.build_model("resnet10_slim", channels, 10).eval()


def _images(batch: int, channels: int, size: int = SIZE, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch, channels, size, size, generator=generator) * 2 - 1  # model input space [-1, 1]


def _minmax(maps: torch.Tensor) -> torch.Tensor:
    """Per-image min-max of (B, H, W) maps, written independently of the package (constant -> 0)."""
    out = torch.zeros_like(maps)
    for i, m in enumerate(maps):
        span = m.max() - m.min()
        if span > 0:
            out[i] = (m - m.min()) / span
    return out


def _up(maps: torch.Tensor, size: int = SIZE) -> torch.Tensor:
    return F.interpolate(maps[:, None], size=(size, size), mode="bilinear", align_corners=False)[:, 0]


def _torchcam(cls: type, model: nn.Module, x: torch.Tensor, targets: list[int], **kwargs) -> torch.Tensor:
    """torchcam's own normalised (B, h, w) map, used exactly as its README shows."""
    with cls(model, "layer4", input_shape=tuple(x.shape[1:]), **kwargs) as extractor:
        scores = model(x)
        return extractor(targets, scores)[0].detach()


def _layer4_and_gradient(model: nn.Module, x: torch.Tensor, targets: torch.Tensor, layer: str = "layer4"):
    """A layer's activations and d logit / d activations, with a plain hook (independent of the package)."""
    store = []
    handle = model.get_submodule(layer).register_forward_hook(lambda _m, _i, out: store.append(out))
    try:
        scores = model(x)
    finally:
        handle.remove()
    (grad,) = torch.autograd.grad(scores[torch.arange(len(x)), targets].sum(), store[0])
    return store[0].detach(), grad


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Input Tensor 0 did not already require gradients")
        yield


# ---------------------------------------------------------------------------------------------------------------
# Shapes, ranges, batch independence
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("method", CAM_METHODS)
def test_maps_have_input_size_and_lie_in_unit_interval(method, channels, slim1, slim2):
    model = slim1 if channels == 1 else slim2
    x = _images(3, channels)
    maps = explain(model, x, [0, 4, 9], method)
    assert maps.shape == (3, SIZE, SIZE) and maps.dtype == torch.float32
    assert not maps.requires_grad
    assert maps.min() >= 0 and maps.max() <= 1
    peaks = maps.amax(dim=(1, 2))
    assert ((peaks == 1) | (peaks == 0)).all()  # normalised per image (all zeros where the ReLU left nothing)
    assert (peaks == 1).any()
    torch.testing.assert_close(maps.amin(dim=(1, 2)), torch.zeros(3))
    torch.testing.assert_close(cam.FUNCTIONS[method](model, x, [0, 4, 9]), maps)


def test_non_square_and_odd_sizes(slim1):
    x = torch.rand(2, 1, 70, 90) * 2 - 1
    for method in CAM_METHODS:
        maps = explain(slim1, x, 3, method)
        assert maps.shape == (2, 70, 90) and 0 <= maps.min() and maps.max() <= 1, method


@pytest.mark.parametrize("method", [*CAM_METHODS, "grad_cam"])
def test_maps_do_not_depend_on_the_rest_of_the_batch(method, slim2):
    run = cam.FUNCTIONS[method]
    x = _images(3, 2, seed=2)
    targets = torch.tensor([1, 5, 7])
    batch = run(slim2, x, targets)
    others = torch.cat([x[1:2], _images(2, 2, seed=3)])
    alone = run(slim2, x[1:2], targets[1:2])
    mixed = run(slim2, others, torch.tensor([5, 0, 9]))
    torch.testing.assert_close(alone[0], batch[1], atol=1e-5, rtol=0)
    torch.testing.assert_close(mixed[0], batch[1], atol=1e-5, rtol=0)
    chunked = run(slim2, x, targets, batch_size=1)
    torch.testing.assert_close(chunked, batch, atol=1e-5, rtol=0)


# ---------------------------------------------------------------------------------------------------------------
# Library baselines equal the library's own output
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["xgrad_cam", "layer_cam", "score_cam"])
def test_torchcam_baselines_equal_torchcam(method, slim1):
    x = _images(3, 1, seed=4)
    targets = [2, 3, 8]
    expected = _minmax(_up(_torchcam(TORCHCAM[method], slim1, x, targets)))
    torch.testing.assert_close(explain(slim1, x, targets, method), expected, atol=1e-5, rtol=0)


def test_grad_cam_pp_torchcam_variant_equals_torchcam(slim1):
    x = _images(3, 1, seed=5)
    expected = _minmax(_up(_torchcam(GradCAMpp, slim1, x, [2, 3, 8])))
    torch.testing.assert_close(cam.grad_cam_pp(slim1, x, [2, 3, 8], variant="torchcam"), expected, atol=1e-5, rtol=0)


def test_grad_cam_pp_default_follows_the_paper(slim1):
    x = _images(3, 1, seed=6)
    targets = torch.tensor([2, 3, 8])
    a, g = _layer4_and_gradient(slim1, x, targets)
    alpha = torch.zeros_like(g)
    for b in range(g.shape[0]):  # Chattopadhay et al. Eq. 19, one channel at a time
        for k in range(g.shape[1]):
            gk = g[b, k]
            denominator = 2 * gk**2 + a[b, k].sum() * gk**3
            nonzero = gk != 0
            alpha[b, k][nonzero] = gk[nonzero] ** 2 / (denominator[nonzero] + 1e-8)
    weights = (alpha * torch.relu(g)).sum(dim=(2, 3))
    expected = _minmax(_up(torch.relu((weights[:, :, None, None] * a).sum(dim=1))))
    got = cam.grad_cam_pp(slim1, x, targets)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    # torchcam 0.5.0's own Grad-CAM++ leaves alpha = g^2 undivided (an in-place division of a boolean-indexed
    # copy), i.e. weights sum(g^2 ReLU(g)). If this starts failing, torchcam has changed its Grad-CAM++.
    undivided = (g**2 * torch.relu(g)).sum(dim=(2, 3))
    torchcam_like = _minmax(_up(torch.relu((undivided[:, :, None, None] * a).sum(dim=1))))
    torch.testing.assert_close(cam.grad_cam_pp(slim1, x, targets, variant="torchcam"), torchcam_like,
                               atol=1e-5, rtol=0)


def test_grad_cam_function_equals_captum_and_torchcam(slim1):
    x = _images(3, 1, seed=7)
    targets = [0, 1, 2]
    captum = LayerGradCam(slim1, slim1.layer4).attribute(x.clone().requires_grad_(True), target=targets,
                                                          relu_attributions=True)
    expected = _minmax(LayerAttribution.interpolate(captum, (SIZE, SIZE), interpolate_mode="bilinear")[:, 0])
    got = cam.grad_cam(slim1, x, targets)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(got, _minmax(_up(_torchcam(GradCAM, slim1, x, targets))), atol=1e-5, rtol=0)


# ---------------------------------------------------------------------------------------------------------------
# Hand-written maps: where they reduce to the libraries, and their definition
# ---------------------------------------------------------------------------------------------------------------
def test_ms_cam_without_matching_and_element_weight_is_grad_cam(slim1):
    x = _images(3, 1, seed=8)
    targets = torch.tensor([4, 5, 6])
    grad_cam = _minmax(_up(_torchcam(GradCAM, slim1, x, targets.tolist())))
    captum = LayerGradCam(slim1, slim1.layer4).attribute(x.clone().requires_grad_(True), target=targets,
                                                          relu_attributions=True)
    captum = _minmax(LayerAttribution.interpolate(captum, (SIZE, SIZE), interpolate_mode="bilinear")[:, 0])
    torch.testing.assert_close(grad_cam, captum, atol=1e-5, rtol=0)
    features, gradients = cam.features_and_gradients(slim1, "layer4", x.clone().requires_grad_(True), targets)
    constant = torch.full_like(x, 0.3)  # a constant image to match with: I_Q = 1
    got = cam.self_matching_map(features, gradients, constant, match_gradients=False, element_weight=False,
                                scale_features=False)
    torch.testing.assert_close(got, grad_cam, atol=1e-5, rtol=0)
    # match_gradients only acts on the element-wise weight
    torch.testing.assert_close(cam.self_matching_map(features, gradients, constant, element_weight=False,
                                                     scale_features=False), got)


def test_self_matching_cam_with_a_constant_image_is_xgrad_cam(slim1):
    x = _images(3, 1, seed=9)
    targets = torch.tensor([7, 8, 9])
    xgrad = _minmax(_up(_torchcam(XGradCAM, slim1, x, targets.tolist())))
    features, gradients = cam.features_and_gradients(slim1, "layer4", x.clone().requires_grad_(True), targets)
    got = cam.self_matching_map(features, gradients, torch.zeros_like(x), channel_weight="xgradcam",
                                element_weight=False, scale_features=False)
    torch.testing.assert_close(got, xgrad, atol=1e-5, rtol=0)


def test_end_to_end_constant_input_reductions(slim1):
    x = torch.full((2, 1, 96, 96), -0.4)  # a constant scene: the matching image is all ones
    x[1] = 0.2
    targets = [3, 6]
    grad_cam = cam.grad_cam(slim1, x, targets)
    assert (grad_cam.amax(dim=(1, 2)) == 1).all()  # not a trivial all-zero comparison
    ms = cam.ms_cam(slim1, x, targets, element_weight=False, match_gradients=False, scale_features=False)
    torch.testing.assert_close(ms, grad_cam, atol=1e-5, rtol=0)
    xgrad = cam.xgrad_cam(slim1, x, targets)
    torch.testing.assert_close(cam.self_matching_cam(slim1, x, targets, scale_features=False), xgrad,
                               atol=1e-5, rtol=0)


def _reference_ms_cam(model, x, targets, q, channel_weight="gradcam", element_weight=True, match_gradients=True,
                      layer="layer4"):
    """MS-CAM written out channel by channel from the notes' formula."""
    a, g = _layer4_and_gradient(model, x, targets, layer)
    out = []
    for b in range(len(x)):
        image = F.interpolate(x[b:b + 1].mean(dim=1, keepdim=True), size=(q, q), mode="bilinear",
                              align_corners=False, antialias=q < x.shape[-1])[0, 0]
        image = (image - image.min()) / (image.max() - image.min())
        total = torch.zeros(q, q)
        for k in range(a.shape[1]):
            ak, gk = a[b, k], g[b, k]
            if channel_weight == "gradcam":
                wk = gk.mean()
            else:
                wk = (gk * ak).sum() / (ak.sum() + 1e-8)
            up = _up(ak[None], q)[0]
            span = up.max() - up.min()
            scaled = (up - up.min()) / span if span > 0 else torch.zeros_like(up)
            matched = scaled * image
            if element_weight:
                element = _up(torch.relu(gk)[None], q)[0]
                if match_gradients:
                    element = element * image
                matched = element * matched
            total += wk * matched
        out.append(torch.relu(total))
    return _minmax(_up(torch.stack(out), x.shape[-1]))


@pytest.mark.parametrize("q", [None, 8, 64])
def test_ms_cam_follows_its_definition(q, slim1):
    x = _images(2, 1, seed=10)
    targets = torch.tensor([1, 2])
    expected = _reference_ms_cam(slim1, x, targets, q or 2)  # layer4 of a 64-pixel input is 2 x 2
    torch.testing.assert_close(cam.ms_cam(slim1, x, targets, q=q), expected, atol=1e-5, rtol=0)


def test_ms_cam_options_follow_the_definition(slim1):
    x = _images(2, 1, seed=11)
    targets = torch.tensor([3, 4])
    # layer3 (4 x 4 at 64 pixels): gradients that vary over the map, so the element-wise weight matters
    for options in ({}, {"channel_weight": "xgradcam"}, {"match_gradients": False}, {"element_weight": False}):
        for q in (4, 16):
            expected = _reference_ms_cam(slim1, x, targets, q, layer="layer3", **options)
            torch.testing.assert_close(cam.ms_cam(slim1, x, targets, q=q, layer="layer3", **options), expected,
                                       atol=1e-5, rtol=0)
    # Self-Matching CAM = MS-CAM without the element-wise weight, with XGrad-CAM's channel weights
    torch.testing.assert_close(cam.self_matching_cam(slim1, x, targets, q=16),
                               cam.ms_cam(slim1, x, targets, q=16, element_weight=False, channel_weight="xgradcam"))


def test_matching_image_uses_the_channel_mean():
    x = _images(2, 2, size=40, seed=12)
    image = cam.matching_image(x, (10, 10))
    assert image.shape == (2, 1, 10, 10)
    torch.testing.assert_close(image, cam.matching_image(x.mean(dim=1, keepdim=True), (10, 10)))
    torch.testing.assert_close(image.amin(dim=(1, 2, 3)), torch.zeros(2))
    torch.testing.assert_close(image.amax(dim=(1, 2, 3)), torch.ones(2))
    torch.testing.assert_close(cam.matching_image(torch.full((1, 2, 8, 8), 0.7), (4, 4)), torch.ones(1, 1, 4, 4))


def test_options_change_the_maps(slim2):
    x = _images(2, 2, size=96, seed=13)
    # at layer3 the gradients vary over the map (at layer4 they do not, see the next test)
    default = cam.ms_cam(slim2, x, [1, 2], layer="layer3", q=24)
    assert (cam.ms_cam(slim2, x, [1, 2], layer="layer3") - default).abs().max() > 1e-3
    assert (cam.ms_cam(slim2, x, [1, 2], q=24) - default).abs().max() > 1e-3
    for options in ({"channel_weight": "xgradcam"}, {"element_weight": False}, {"match_gradients": False},
                    {"scale_features": False}):
        assert (cam.ms_cam(slim2, x, [1, 2], layer="layer3", q=24, **options) - default).abs().max() > 1e-3, options


def test_layer4_gradients_are_constant_over_the_map(slim1):
    # layer4 -> global average pooling -> fc: d y_c / d A_k = fc.weight[c, k] / (h w) at every position, so
    # Grad-CAM and XGrad-CAM channel weights coincide there and LayerCAM's ReLU(g) is one number per channel
    x = _images(2, 1, size=96, seed=19)
    targets = torch.tensor([1, 2])
    _, g = _layer4_and_gradient(slim1, x, targets)
    expected = slim1.fc.weight[targets][:, :, None, None].expand_as(g) / 9
    torch.testing.assert_close(g, expected)
    torch.testing.assert_close(cam.xgrad_cam(slim1, x, targets), cam.grad_cam(slim1, x, targets), atol=1e-5, rtol=0)
    torch.testing.assert_close(cam.ms_cam(slim1, x, targets, channel_weight="xgradcam"),
                               cam.ms_cam(slim1, x, targets), atol=1e-5, rtol=0)


def test_score_cam_internal_batch_size_does_not_change_the_maps(slim1):
    x = _images(2, 1, seed=14)
    torch.testing.assert_close(cam.score_cam(slim1, x, [1, 2], internal_batch_size=7),
                               cam.score_cam(slim1, x, [1, 2]), atol=1e-5, rtol=0)


def test_layer_option(slim1):
    x = _images(2, 1, seed=15)
    for method in CAM_METHODS:
        by_name = explain(slim1, x, [1, 2], method, layer="layer3")
        torch.testing.assert_close(explain(slim1, x, [1, 2], method, layer=slim1.layer3), by_name)
    expected = _minmax(_up(_torchcam_layer(LayerCAM, slim1, x, [1, 2], "layer3")))
    torch.testing.assert_close(cam.layer_cam(slim1, x, [1, 2], layer="layer3"), expected, atol=1e-5, rtol=0)


def _torchcam_layer(cls, model, x, targets, layer):
    with cls(model, layer, input_shape=tuple(x.shape[1:])) as extractor:
        return extractor(targets, model(x))[0].detach()


def test_normalize_and_upsample():
    maps = torch.stack([torch.arange(12.0).reshape(3, 4), torch.full((3, 4), 5.0), torch.zeros(3, 4)])
    out = cam.normalize(maps)
    torch.testing.assert_close(out[0], torch.arange(12.0).reshape(3, 4) / 11)
    assert (out[1:] == 0).all()
    assert cam.upsample(maps, (6, 8)).shape == (3, 6, 8)
    assert cam.upsample(maps, (3, 4)) is maps
    with pytest.raises(ValueError, match="maps must be a"):
        cam.normalize(maps[0])


# ---------------------------------------------------------------------------------------------------------------
# Through explain: metrics, errors, side effects
# ---------------------------------------------------------------------------------------------------------------
def test_max_sensitivity_accepts_the_cam_names(slim1):
    x = _images(2, 1, seed=16)
    scores = max_sensitivity(slim1, x, [1, 2], "ms_cam", n_samples=3)
    assert scores.shape == (2,) and torch.isfinite(scores).all() and (scores >= 0).all()
    with_options = max_sensitivity(slim1, x, [1, 2], "ms_cam", n_samples=3, q=16)
    assert with_options.shape == (2,)


def test_errors(slim1):
    x = _images(2, 1)
    with pytest.raises(ValueError, match="channel_weight"):
        explain(slim1, x, 0, "ms_cam", channel_weight="gradcam++")
    for option in ("element_weight", "match_gradients", "scale_features"):
        with pytest.raises(ValueError, match=option):
            explain(slim1, x, 0, "ms_cam", **{option: "yes"})
    with pytest.raises(TypeError, match="element_weight"):
        explain(slim1, x, 0, "self_matching_cam", element_weight=True)  # not an option of Self-Matching CAM
    with pytest.raises(TypeError, match="q"):
        explain(slim1, x, 0, "layer_cam", q=4)
    with pytest.raises(ValueError, match="option 'q'"):
        explain(slim1, x, 0, "ms_cam", q=1)  # below layer4's 2 x 2
    with pytest.raises(ValueError, match="option 'q'"):
        explain(slim1, x, 0, "ms_cam", q=65)
    with pytest.raises(ValueError, match="option 'q'"):
        explain(slim1, x, 0, "ms_cam", q=0)
    with pytest.raises(ValueError, match="variant"):
        explain(slim1, x, 0, "grad_cam_pp", variant="pytorch-grad-cam")
    with pytest.raises(ValueError, match="internal_batch_size"):
        explain(slim1, x, 0, "score_cam", internal_batch_size=0)
    with pytest.raises(ValueError, match="layer"):
        explain(slim1, x, 0, "xgrad_cam", layer="layer9")
    with pytest.raises(ValueError, match="layer"):
        cam.ms_cam(slim1, x, 0, layer="fc")  # not (B, K, h, w) feature maps
    with pytest.raises(ValueError, match="targets.*out of range"):
        cam.ms_cam(slim1, x, [0, 10])
    with pytest.raises(ValueError, match="targets has 3 entries"):
        cam.score_cam(slim1, x, [0, 1, 2])
    bad = x.clone()
    bad[0, 0, 1, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        cam.layer_cam(slim1, bad, 0)
    with pytest.raises(ValueError, match="images"):
        cam.ms_cam(slim1, x[0, 0], 0)


def test_no_side_effects_on_the_model():
    model = _slim(1, seed=17)
    model.train()
    running_mean = model.bn1.running_mean.clone()
    x = _images(2, 1, seed=18)
    for method in CAM_METHODS:
        explain(model, x, 1, method)
        assert model.training, method
        assert all(p.grad is None for p in model.parameters()), method
        assert all(not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks
                   for m in model.modules()), method
    torch.testing.assert_close(model.bn1.running_mean, running_mean)
    with pytest.raises(ValueError, match="option 'q'"):
        cam.ms_cam(model, x, 1, q=100)
    assert model.training
    assert all(not m._forward_hooks for m in model.modules())
