"""Attribution maps for the course's SAR classifiers: eight Captum methods and the CAM family behind one call.

``explain(model, images, targets, method)`` returns one (B, H, W) float32 map per image: Captum's attribution
of the target class score (the logit) to the (B, C, H, W) input, SUMMED over the channel dimension (for a
single-polarization model the map is simply that channel's attribution; for VV+VH it is VV + VH;
``reduce="none"`` keeps the (B, C, H, W) per-channel maps of the input-space methods, CHANNEL_METHODS).

Inputs live in the models' input space (dB clipped to [-35, 10] and mapped to [-1, 1], see :mod:`.sar`), so
the "black" image (zero intensity) is x = -1 everywhere, and x = 0 is the middle of the dB window (-12.5 dB).
Integrated Gradients and Occlusion use the black image as their reference by default.

Guided Backpropagation, Deconvolution and Guided Grad-CAM replace the gradient of every ``nn.ReLU`` module
through Captum's module hooks. torchvision's ResNets call the SAME in-place ReLU module twice (three times in a
Bottleneck) per residual block, which those hooks do not expect; :func:`prepare_for_relu_hooks` gives a copy of
the model with one non-inplace ReLU module per ReLU use and the same weights, and ``explain`` uses it for
these three methods automatically.

The eight methods of Su et al. (PAPER_METHODS) are computed by Captum; this module only chooses the settings,
batches, validates and reduces. The CAM family of lessons 09-10 (CAM_METHODS: MS-CAM, Self-Matching CAM,
Grad-CAM++, XGrad-CAM, LayerCAM, Score-CAM) is computed by :mod:`.cam` (torchcam and hand-written) and returns
maps in [0, 1] through the same call.
"""

from __future__ import annotations

import copy
import math
import operator
import warnings
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from captum.attr import (
    Attribution,
    Deconvolution,
    GuidedBackprop,
    GuidedGradCam,
    InputXGradient,
    IntegratedGradients,
    LayerAttribution,
    LayerGradCam,
    NoiseTunnel,
    Occlusion,
    Saliency,
)
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck
from tqdm.auto import tqdm

from . import config, results

IG_STEPS: int = 200  # default n_steps: completeness error <= 2 % on every trained laptop model (see lesson 04)
IG_INTERNAL_BATCH: int = 64  # default images per forward/backward inside Integrated Gradients (bounds memory)
BLACK: float = -1.0  # zero intensity (below the dB window) in the models' input space
MID_WINDOW: float = 0.0  # the middle of the dB window (-12.5 dB) in the models' input space


@dataclass(frozen=True)
class MethodInfo:
    """What one attribution method is: display title, implementing class, sign convention, options and reference."""

    name: str
    title: str
    captum_class: str  # Captum's class; for the CAM family the torchcam class or our function
    signed: bool  # whether the channel-summed maps (with the default options) carry a meaningful sign
    sign_convention: str
    citation: str
    options: tuple[str, ...] = ()  # keyword options ``explain`` accepts for this method


_CAM_SIGN = ("Non-negative, in [0, 1]: the class activation map at the layer (default layer4), upsampled bilinearly "
             "to the input and min-max normalised per image (a constant map is all zeros).")

METHODS: dict[str, MethodInfo] = {
    info.name: info
    for info in (
        MethodInfo(
            "saliency", "Saliency", "Saliency", False,
            "|d score / d x| summed over channels: non-negative, magnitude only (signed with abs=False).",
            "Simonyan, Vedaldi & Zisserman (2014), Deep Inside Convolutional Networks, arXiv:1312.6034",
            ("abs",)),
        MethodInfo(
            "input_x_gradient", "Input x Gradient", "InputXGradient", True,
            "x * d score / d x summed over channels: signed, relative to x = 0 (mid-window dB), so pixels darker "
            "than -12.5 dB (x < 0) flip the sign of their gradient.",
            "Shrikumar, Greenside, Shcherbina & Kundaje (2016), Not Just a Black Box, arXiv:1605.01713"),
        MethodInfo(
            "integrated_gradients", "Integrated Gradients", "IntegratedGradients", True,
            "Signed: positive pixels raise the class score above its value on the baseline (default: the black "
            "image); the map sums to about f(x) - f(baseline).",
            "Sundararajan, Taly & Yan (2017), Axiomatic Attribution for Deep Networks, ICML, arXiv:1703.01365",
            ("baseline", "n_steps", "internal_batch_size")),
        MethodInfo(
            "guided_backprop", "Guided Backpropagation", "GuidedBackprop", True,
            "Signed gradient with negative gradients stopped at every ReLU; edge-like and weakly class-specific.",
            "Springenberg, Dosovitskiy, Brox & Riedmiller (2015), Striving for Simplicity, arXiv:1412.6806"),
        MethodInfo(
            "deconvolution", "Deconvolution", "Deconvolution", True,
            "Signed; the ReLU backward pass keeps positive output gradients whatever the forward activation.",
            "Zeiler & Fergus (2014), Visualizing and Understanding Convolutional Networks, ECCV, arXiv:1311.2901"),
        MethodInfo(
            "grad_cam", "Grad-CAM", "LayerGradCam", False,
            "Non-negative (ReLU of the gradient-weighted layer4 activations), coarse: layer4 is 1/32 of the "
            "input, upsampled bilinearly; signed with relu_attributions=False.",
            "Selvaraju et al. (2017), Grad-CAM: Visual Explanations from Deep Networks, ICCV, arXiv:1610.02391",
            ("layer", "relu_attributions", "interpolate_mode")),
        MethodInfo(
            "guided_grad_cam", "Guided Grad-CAM", "GuidedGradCam", True,
            "Signed: Guided Backpropagation times the non-negative upsampled Grad-CAM map.",
            "Selvaraju et al. (2017), Grad-CAM: Visual Explanations from Deep Networks, ICCV, arXiv:1610.02391",
            ("layer", "interpolate_mode")),
        MethodInfo(
            "occlusion", "Occlusion", "Occlusion", True,
            "Signed: score(x) - score(x with a window set to the black image), averaged over the windows covering "
            "each pixel, in every channel (so summed over C channels it is C times that drop); positive = the "
            "region supports the class.",
            "Zeiler & Fergus (2014), Visualizing and Understanding Convolutional Networks, ECCV, arXiv:1311.2901",
            ("window", "stride", "baseline", "perturbations_per_eval")),
        # the CAM family of lessons 09-10, computed by sarxai_utils.cam (torchcam and hand-written)
        MethodInfo(
            "ms_cam", "MS-CAM", "sarxai_utils.cam.self_matching_map (hand-written)", False,
            _CAM_SIGN + " The course's reconstruction from the abstract: Grad-CAM channel weights times "
            "LayerCAM element-wise weights ReLU(dy/dA), feature maps and gradients matched with the image "
            "(sarxai_utils.cam).",
            "Sun, Zhang, Zeng, Wang, Yang, Yang & Chen (2025), A multi-weight self-matching visual explanation for "
            "CNNs on SAR images, arXiv:2512.02344 (reconstructed from the abstract)",
            ("layer", "q", "channel_weight", "element_weight", "match_gradients", "scale_features")),
        MethodInfo(
            "self_matching_cam", "Self-Matching CAM", "sarxai_utils.cam.self_matching_map (hand-written)", False,
            _CAM_SIGN + " XGrad-CAM channel weights on the feature maps matched (Hadamard product) with the image.",
            "Feng, Zhu, Stankovic & Ji (2021), Self-Matching CAM: A Novel Accurate Visual Explanation of CNNs for SAR "
            "Image Interpretation, Remote Sensing 13(9):1772",
            ("layer", "q", "channel_weight", "scale_features")),
        MethodInfo(
            "grad_cam_pp", "Grad-CAM++", "torchcam.methods.GradCAMpp (weights of the paper's Eq. 19)", False,
            _CAM_SIGN,
            "Chattopadhay, Sarkar, Howlader & Balasubramanian (2018), Grad-CAM++: Generalized Gradient-Based Visual "
            "Explanations for Deep Convolutional Networks, WACV, arXiv:1710.11063",
            ("layer", "variant")),
        MethodInfo(
            "xgrad_cam", "XGrad-CAM", "torchcam.methods.XGradCAM", False, _CAM_SIGN,
            "Fu, Hu, Zhang, Li, Jia & Xia (2020), Axiom-based Grad-CAM: Towards Accurate Visualization and Explanation "
            "of CNNs, BMVC, arXiv:2008.02312",
            ("layer",)),
        MethodInfo(
            "layer_cam", "LayerCAM", "torchcam.methods.LayerCAM", False, _CAM_SIGN,
            "Jiang, Zhang, Hou, Cheng & Wei (2021), LayerCAM: Exploring Hierarchical Class Activation Maps for "
            "Localization, IEEE Transactions on Image Processing 30:5875-5888",
            ("layer",)),
        MethodInfo(
            "score_cam", "Score-CAM", "torchcam.methods.ScoreCAM", False,
            _CAM_SIGN + " Gradient-free: one forward pass per channel of the layer and image.",
            "Wang, Wang, Du, Yang, Zhang, Ding, Mardziel & Hu (2020), Score-CAM: Score-Weighted Visual Explanations "
            "for Convolutional Neural Networks, CVPR Workshops, arXiv:1910.01279",
            ("layer", "internal_batch_size")),
    )
}

PAPER_METHODS: tuple[str, ...] = ("saliency", "input_x_gradient", "integrated_gradients", "guided_backprop",
                                  "deconvolution", "grad_cam", "guided_grad_cam", "occlusion")  # Su et al.'s eight
CAM_METHODS: tuple[str, ...] = tuple(name for name in METHODS if name not in PAPER_METHODS)  # lessons 09-10
RELU_HOOK_METHODS: frozenset[str] = frozenset({"guided_backprop", "deconvolution", "guided_grad_cam"})
# Captum announces with a UserWarning every time it hooks ReLU modules (Guided Backpropagation, Deconvolution). It is a
# notice, not a fault: the course prepares its models so that each ReLU module is used once
# (prepare_for_relu_hooks, checked by _check_relu_uses), which is the case the notice is about. Filtered once here,
# so that lessons calling Captum directly (05, 06) show no warning text.
warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU activations", category=UserWarning,
                        module="captum")
# methods whose Captum attribution lives in input space with one map per channel (explain(..., reduce="none"))
CHANNEL_METHODS: frozenset[str] = frozenset({"saliency", "input_x_gradient", "integrated_gradients",
                                             "guided_backprop", "deconvolution", "guided_grad_cam"})
REDUCTIONS: tuple[str, ...] = ("sum", "none")  # explain's reduce: over channels, or keep them
NOISE_TUNNEL_ARGS: tuple[str, ...] = ("nt_type", "nt_samples", "stdevs", "nt_samples_batch_size")
NOISE_TUNNEL_TYPES: tuple[str, ...] = ("smoothgrad", "smoothgrad_sq", "vargrad")
DEFAULT_LAYER = "layer4"


# --------------------------------------------------------------------------------------------------------------
# ReLU handling for Guided Backpropagation, Deconvolution and Guided Grad-CAM
# --------------------------------------------------------------------------------------------------------------
class HookableBasicBlock(nn.Module):
    """torchvision's ``BasicBlock`` with one non-inplace ReLU module per use (``relu1``, ``relu2``)."""

    expansion: int = 1

    def __init__(self, block: BasicBlock):
        super().__init__()
        self.conv1, self.bn1, self.relu1 = block.conv1, block.bn1, nn.ReLU(inplace=False)
        self.conv2, self.bn2 = block.conv2, block.bn2
        self.downsample = block.downsample
        self.relu2 = nn.ReLU(inplace=False)
        self.stride = block.stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same computation as ``BasicBlock.forward``: (N, C_in, H, W) -> (N, C_out, H', W')."""
        identity = x
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out = out + identity
        return self.relu2(out)


class HookableBottleneck(nn.Module):
    """torchvision's ``Bottleneck`` with one non-inplace ReLU module per use (``relu1``, ``relu2``, ``relu3``)."""

    expansion: int = 4

    def __init__(self, block: Bottleneck):
        super().__init__()
        self.conv1, self.bn1, self.relu1 = block.conv1, block.bn1, nn.ReLU(inplace=False)
        self.conv2, self.bn2, self.relu2 = block.conv2, block.bn2, nn.ReLU(inplace=False)
        self.conv3, self.bn3 = block.conv3, block.bn3
        self.downsample = block.downsample
        self.relu3 = nn.ReLU(inplace=False)
        self.stride = block.stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Same computation as ``Bottleneck.forward``: (N, C_in, H, W) -> (N, C_out, H', W')."""
        identity = x
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out = out + identity
        return self.relu3(out)


def _replace_blocks(module: nn.Module) -> None:
    for name, child in module.named_children():
        if type(child) is BasicBlock:
            setattr(module, name, HookableBasicBlock(child))
        elif type(child) is Bottleneck:
            setattr(module, name, HookableBottleneck(child))
        else:
            _replace_blocks(child)


def _fingerprint(model: nn.Module) -> tuple[Any, ...]:
    """Changes whenever a parameter or buffer is replaced, moved or modified in place (optimizer steps,
    ``load_state_dict``, BatchNorm statistics updated in training mode, ``.to(device)``)."""
    return tuple((t.data_ptr(), _version(t), t.dtype, str(t.device)) for t in (*model.parameters(), *model.buffers()))


def _version(tensor: torch.Tensor) -> int | None:
    try:
        return tensor._version
    except RuntimeError:  # inference tensors have no version counter (and cannot be modified in place)
        return None


@dataclass
class _Prepared:
    fingerprint: tuple[Any, ...]
    model: nn.Module
    checked: bool = False  # whether one forward pass showed that no ReLU module is called twice


_PREPARED: weakref.WeakKeyDictionary[nn.Module, _Prepared] = weakref.WeakKeyDictionary()


def _build_prepared(model: nn.Module) -> nn.Module:
    prepared = copy.deepcopy(model)
    _replace_blocks(prepared)
    for name, module in list(prepared.named_modules()):
        if isinstance(module, nn.ReLU) and module.inplace:
            parent_name, _, attr = name.rpartition(".")
            parent = prepared.get_submodule(parent_name) if parent_name else prepared
            setattr(parent, attr, nn.ReLU(inplace=False))
    hook_dicts = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks",
                  "_forward_hooks_with_kwargs", "_forward_pre_hooks_with_kwargs", "_forward_hooks_always_called")
    for module in prepared.modules():  # hooks of the original (e.g. left by an interrupted attribution) stay there
        for hook_dict in hook_dicts:
            getattr(module, hook_dict, {}).clear()
    return prepared.eval()


def prepare_for_relu_hooks(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (same weights, eval mode) in which every ReLU use has its own non-inplace ``nn.ReLU``.

    torchvision ``BasicBlock`` / ``Bottleneck`` blocks are replaced by :class:`HookableBasicBlock` /
    :class:`HookableBottleneck`, and in-place ReLUs (e.g. ``model.relu``) by non-inplace ones; logits are
    unchanged, (N, C, H, W) -> (N, classes). The copy is cached per model and rebuilt when its weights change.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    fingerprint = _fingerprint(model)
    entry = _PREPARED.get(model)
    if entry is None or entry.fingerprint != fingerprint:
        entry = _Prepared(fingerprint, _build_prepared(model))
        _PREPARED[model] = entry
    entry.model.eval()
    return entry.model


def _check_relu_uses(model: nn.Module, prepared: nn.Module, sample: torch.Tensor) -> None:
    """Refuse a model in which a ReLU module is still called more than once per forward pass."""
    entry = _PREPARED.get(model)
    if entry is not None and entry.checked:
        return
    calls: dict[str, int] = {}
    handles = []
    for name, module in prepared.named_modules():
        if isinstance(module, nn.ReLU):
            def count(_m: nn.Module, _i: Any, _o: Any, name: str = name) -> None:
                calls[name] = calls.get(name, 0) + 1
            handles.append(module.register_forward_hook(count))
    try:
        with torch.inference_mode():
            prepared(sample)
    finally:
        for handle in handles:
            handle.remove()
    reused = sorted(name for name, n in calls.items() if n > 1)
    if reused:
        raise ValueError(f"the model calls the ReLU module(s) {reused} more than once per forward pass, which "
                         "Captum's ReLU hooks cannot handle; give each use its own nn.ReLU module")
    if entry is not None:
        entry.checked = True


# --------------------------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------------------------
def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def occlusion_window(size: int) -> tuple[int, int]:
    """Occlusion (window, stride) along an image side of ``size`` pixels: 15 and 5 at 100 pixels, scaled.

    window = round(15 * size / 100) made odd (minus one if even) and at least 3 (at most ``size``);
    stride = max(1, round(5 * size / 100)); halves round up. E.g. 64 -> (9, 3), 32 -> (5, 2).
    """
    size = operator.index(size)
    if size < 1:
        raise ValueError(f"size must be a positive number of pixels, got {size}")
    window = _round_half_up(15 * size / 100)
    if window % 2 == 0:
        window -= 1
    window = min(max(window, 3), size)
    stride = max(1, _round_half_up(5 * size / 100))
    return window, stride


def occlusion_passes(size: int, window: int, stride: int) -> int:
    """Forward passes Captum's Occlusion makes for one square image of side ``size`` (not counting the intact image):
    it slides the window ceil((size - window) / stride) + 1 times per axis, the last position partly outside the
    image when the stride does not divide ``size - window``. E.g. 100, 15, 5 -> 324; 128, 19, 6 -> 400."""
    size, window, stride = operator.index(size), operator.index(window), operator.index(stride)
    if not 1 <= window <= size or stride < 1:
        raise ValueError(f"need 1 <= window <= size and stride >= 1, got size {size}, window {window}, stride {stride}")
    return (math.ceil((size - window) / stride) + 1) ** 2


def _pair(name: str, value: Any) -> tuple[int, int]:
    values = (value, value) if not isinstance(value, (tuple, list)) else tuple(value)
    try:
        if len(values) != 2 or any(isinstance(v, bool) for v in values):
            raise TypeError
        pair = (operator.index(values[0]), operator.index(values[1]))
    except TypeError:
        raise ValueError(f"option {name!r} must be a positive int or a pair of them, got {value!r}") from None
    if min(pair) < 1:
        raise ValueError(f"option {name!r} must be positive, got {value!r}")
    return pair


def _positive_int(name: str, value: Any, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"option {name!r} must be a positive integer, got {value!r}")
    return int(value)


def _baseline(value: Any, images: torch.Tensor) -> float | torch.Tensor:
    """The reference as a float or a (B, C, H, W) tensor on the images' device."""
    if isinstance(value, str):
        named = {"black": BLACK, "zero": MID_WINDOW}
        if value not in named:
            raise ValueError(f"option 'baseline' must be 'black', 'zero', a float or a tensor, got {value!r}")
        return named[value]
    if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
        if not math.isfinite(float(value)):
            raise ValueError(f"option 'baseline' must be finite, got {value!r}")
        return float(value)
    if isinstance(value, torch.Tensor):
        if value.dim() == 0:
            return _baseline(float(value), images)
        shape = tuple(images.shape)
        if value.dim() == 3:
            value = value.unsqueeze(0)
        if value.dim() != 4 or tuple(value.shape[1:]) != shape[1:] or value.shape[0] not in (1, shape[0]):
            raise ValueError(f"option 'baseline' tensor must have shape (C, H, W), (1, C, H, W) or (B, C, H, W) "
                             f"matching images {shape}, got {tuple(value.shape)}")
        value = value.detach().to(device=images.device, dtype=images.dtype).expand(shape)
        if not torch.isfinite(value).all():
            raise ValueError("option 'baseline' contains NaN or inf values")
        return value
    raise ValueError(f"option 'baseline' must be 'black', 'zero', a float or a tensor, got {type(value).__name__}")


def reference_images(baseline: Any, images: torch.Tensor) -> torch.Tensor:
    """The reference images of a ``baseline`` option ("black", "zero", a float or a tensor) for (B, C, H, W)
    ``images``: a (B, C, H, W) tensor on the images' device, as Integrated Gradients and Occlusion use it."""
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        raise ValueError(f"images must be a (B, C, H, W) tensor, got {getattr(images, 'shape', type(images))}")
    value = _baseline(baseline, images)
    if isinstance(value, torch.Tensor):
        return value
    return torch.full_like(images, value)


def _layer_name(model: nn.Module, layer: Any) -> str:
    if isinstance(layer, str):
        try:
            model.get_submodule(layer)
        except AttributeError:
            raise ValueError(f"option 'layer': the model has no submodule {layer!r}") from None
        return layer
    if isinstance(layer, nn.Module):
        for name, module in model.named_modules():
            if module is layer and name:
                return name
        raise ValueError("option 'layer' must be a submodule of the model (or its name, e.g. 'layer4')")
    raise ValueError(f"option 'layer' must be a module name or a submodule of the model, got {layer!r}")


def _interpolate_mode(value: Any) -> str:
    modes = ("nearest", "bilinear", "bicubic", "area", "nearest-exact")
    if value not in modes:
        raise ValueError(f"option 'interpolate_mode' must be one of {list(modes)}, got {value!r}")
    return str(value)


def _settings(method: str, options: dict[str, Any], model: nn.Module, images: torch.Tensor) -> dict[str, Any]:
    """Validated settings with the defaults filled in (baseline tensors cover the whole batch)."""
    allowed = METHODS[method].options
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(f"unknown option(s) {unknown} for method {method!r}; it accepts {list(allowed) or 'none'}")
    if method in CAM_METHODS:
        from . import cam  # imported here: cam imports this module

        return cam.settings(method, options, model, images)
    if method == "saliency":
        value = options.get("abs", True)
        if not isinstance(value, bool):
            raise ValueError(f"option 'abs' must be True or False, got {value!r}")
        return {"abs": value}
    if method == "integrated_gradients":
        return {"baseline": _baseline(options.get("baseline", "black"), images),
                "n_steps": _positive_int("n_steps", options.get("n_steps", IG_STEPS)),
                "internal_batch_size": _positive_int("internal_batch_size",
                                                     options.get("internal_batch_size", IG_INTERNAL_BATCH))}
    if method in ("grad_cam", "guided_grad_cam"):
        settings: dict[str, Any] = {"layer": _layer_name(model, options.get("layer", DEFAULT_LAYER)),
                                    "interpolate_mode": _interpolate_mode(options.get("interpolate_mode", "bilinear"))}
        if method == "grad_cam":
            relu = options.get("relu_attributions", True)
            if not isinstance(relu, bool):
                raise ValueError(f"option 'relu_attributions' must be True or False, got {relu!r}")
            settings["relu_attributions"] = relu
        return settings
    if method == "occlusion":
        height, width = images.shape[-2:]
        (wh, sh), (ww, sw) = occlusion_window(height), occlusion_window(width)
        window = _pair("window", options["window"]) if options.get("window") is not None else (wh, ww)
        stride = _pair("stride", options["stride"]) if options.get("stride") is not None else (sh, sw)
        if window[0] > height or window[1] > width:
            raise ValueError(f"option 'window' {window} is larger than the images ({height} x {width})")
        return {"window": window, "stride": stride,
                "baseline": _baseline(options.get("baseline", "black"), images),
                "perturbations_per_eval": _positive_int("perturbations_per_eval",
                                                        options.get("perturbations_per_eval", 16))}
    return {}


def target_tensor(targets: Any, batch: int, num_classes: int, device: torch.device) -> torch.Tensor:
    """``targets`` (an int, ``batch`` ints or a (B,) integer tensor) as a checked (batch,) long tensor on ``device``."""
    if isinstance(targets, torch.Tensor):
        if targets.is_floating_point() or targets.is_complex() or targets.dtype == torch.bool or targets.dim() > 1:
            raise ValueError(f"targets must be an int, a sequence of ints or a (B,) integer tensor, got a "
                             f"{targets.dtype} tensor of shape {tuple(targets.shape)}")
        values = [int(t) for t in targets.reshape(-1).tolist()]
        scalar = targets.dim() == 0
    elif isinstance(targets, (int, np.integer)) and not isinstance(targets, bool):
        values, scalar = [int(targets)], True
    elif isinstance(targets, Sequence | np.ndarray) and not isinstance(targets, str):
        items = list(np.asarray(targets).reshape(-1)) if isinstance(targets, np.ndarray) else list(targets)
        if any(isinstance(t, bool | np.bool_) or not isinstance(t, int | np.integer) for t in items):
            raise ValueError(f"targets must contain integers, got {items!r}")
        values, scalar = [int(t) for t in items], False
    else:
        raise ValueError(f"targets must be an int, a sequence of ints or a (B,) tensor, got {type(targets).__name__}")
    if scalar:
        values = values * batch
    if len(values) != batch:
        raise ValueError(f"targets has {len(values)} entries but images has {batch}")
    bad = [t for t in values if not 0 <= t < num_classes]
    if bad:
        raise ValueError(f"targets {bad} are out of range: the model has {num_classes} classes (0 ... "
                         f"{num_classes - 1})")
    return torch.tensor(values, dtype=torch.long, device=device)


def num_classes(model: nn.Module, sample: torch.Tensor) -> int:
    """How many class scores ``model`` returns (its ``fc`` width, or one forward pass of ``sample``)."""
    fc = getattr(model, "fc", None)
    if isinstance(fc, nn.Linear):
        return fc.out_features
    with torch.inference_mode():
        out = model(sample)
    if out.dim() != 2:
        raise ValueError(f"the model must return (B, classes) scores, got shape {tuple(out.shape)}")
    return int(out.shape[1])


def model_device(model: nn.Module) -> tuple[torch.device, torch.dtype]:
    """The device and floating dtype of a model's parameters (the CPU and float32 for a model without any)."""
    param = next(model.parameters(), None)
    if param is None:
        return torch.device("cpu"), torch.float32
    return param.device, (param.dtype if param.is_floating_point() else torch.float32)


def input_batch(images: Any, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Checked (B, C, H, W) model-input images (a (C, H, W) image becomes B = 1), detached, on ``device``."""
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"images must be a torch.Tensor of shape (B, C, H, W) or (C, H, W), "
                         f"got {type(images).__name__}")
    if images.dim() == 3:
        images = images.unsqueeze(0)
    if images.dim() != 4 or min(images.shape) == 0:
        raise ValueError(f"images must have shape (B, C, H, W) or (C, H, W), got shape {tuple(images.shape)}")
    if not images.is_floating_point():
        raise ValueError(f"images must be floating point (the models' input space), got {images.dtype}")
    if not torch.isfinite(images).all():
        raise ValueError("images contain NaN or inf values")
    return images.detach().to(device=device, dtype=dtype)


# --------------------------------------------------------------------------------------------------------------
# The public call
# --------------------------------------------------------------------------------------------------------------
def _captum_algorithm(method: str, model: nn.Module, x: torch.Tensor, target: torch.Tensor,
                      settings: dict[str, Any], chunk: slice, copies: int = 1) -> tuple[Attribution, dict[str, Any]]:
    """Captum's attribution object for ``method`` and the keyword arguments of its ``attribute`` call for one
    chunk ``x``; ``copies`` is how many noisy copies of each image NoiseTunnel passes at once."""
    if method == "saliency":
        return Saliency(model), {"target": target, "abs": settings["abs"]}
    if method == "input_x_gradient":
        return InputXGradient(model), {"target": target}
    if method == "integrated_gradients":
        baseline = settings["baseline"]
        baseline = baseline[chunk] if isinstance(baseline, torch.Tensor) else baseline
        # Captum needs at least one scaled copy of every image per internal batch
        return IntegratedGradients(model), {
            "baselines": baseline, "target": target, "n_steps": settings["n_steps"],
            "internal_batch_size": max(settings["internal_batch_size"], len(x) * copies)}
    if method == "guided_backprop":
        return GuidedBackprop(model), {"target": target}
    if method == "deconvolution":
        return Deconvolution(model), {"target": target}
    if method == "grad_cam":
        layer = model.get_submodule(settings["layer"])
        return LayerGradCam(model, layer), {"target": target, "relu_attributions": settings["relu_attributions"]}
    if method == "guided_grad_cam":
        layer = model.get_submodule(settings["layer"])
        return GuidedGradCam(model, layer), {"target": target, "interpolate_mode": settings["interpolate_mode"]}
    if method == "occlusion":
        baseline = settings["baseline"]
        baseline = baseline[chunk] if isinstance(baseline, torch.Tensor) else baseline
        channels = x.shape[1]
        return Occlusion(model), {"sliding_window_shapes": (channels, *settings["window"]),
                                  "strides": (channels, *settings["stride"]), "baselines": baseline,
                                  "target": target, "perturbations_per_eval": settings["perturbations_per_eval"]}
    raise AssertionError(method)  # pragma: no cover - explain() validated the name


def _attribute(method: str, model: nn.Module, x: torch.Tensor, target: torch.Tensor, settings: dict[str, Any],
               chunk: slice, noise_tunnel: dict[str, Any] | None = None) -> torch.Tensor:
    """Captum's (b, C, H, W) attribution of one chunk (through NoiseTunnel when ``noise_tunnel`` holds its
    arguments); (b, 1, H, W) maps for Grad-CAM and, in [0, 1], for the CAM family."""
    if method in CAM_METHODS:
        from . import cam  # imported here: cam imports this module

        return cam.attribute(method, model, x, target, settings)
    copies = 1
    if noise_tunnel is not None:
        copies = noise_tunnel.get("nt_samples_batch_size") or noise_tunnel["nt_samples"]
    algorithm, kwargs = _captum_algorithm(method, model, x, target, settings, chunk, copies)
    if noise_tunnel is None:
        attr = algorithm.attribute(x, **kwargs)
    else:
        attr = NoiseTunnel(algorithm).attribute(x, **noise_tunnel, **kwargs)
    if method == "grad_cam":  # the averaged layer map is upsampled: interpolation is linear, so it commutes
        attr = LayerAttribution.interpolate(attr, tuple(x.shape[-2:]), interpolate_mode=settings["interpolate_mode"])
    return attr


def _noise_tunnel(value: Any, method: str) -> dict[str, Any] | None:
    """Checked arguments of ``NoiseTunnel.attribute`` (nt_type, nt_samples, stdevs, nt_samples_batch_size)."""
    if value is None:
        return None
    if method not in PAPER_METHODS:
        raise ValueError(f"noise_tunnel: Captum's NoiseTunnel wraps Captum's methods {list(PAPER_METHODS)}, not "
                         f"{method!r}; average explain() maps over noisy copies instead (smoothing.noise_average)")
    if not isinstance(value, Mapping):
        raise ValueError(f"noise_tunnel must be a dict of NoiseTunnel.attribute arguments, got {type(value).__name__}")
    unknown = sorted(set(value) - set(NOISE_TUNNEL_ARGS))
    if unknown:
        raise ValueError(f"noise_tunnel: unknown argument(s) {unknown}; it accepts {list(NOISE_TUNNEL_ARGS)}")
    nt_type = value.get("nt_type", "smoothgrad")
    if nt_type not in NOISE_TUNNEL_TYPES:
        raise ValueError(f"noise_tunnel: nt_type must be one of {list(NOISE_TUNNEL_TYPES)}, got {nt_type!r}")
    stdevs = value.get("stdevs", 1.0)
    if isinstance(stdevs, bool) or not isinstance(stdevs, int | float | np.integer | np.floating) \
            or not math.isfinite(stdevs) or stdevs < 0:
        raise ValueError(f"noise_tunnel: stdevs must be a non-negative finite number, got {stdevs!r}")
    out = {"nt_type": nt_type, "nt_samples": _positive_int("nt_samples", value.get("nt_samples", 5)),
           "stdevs": float(stdevs)}
    if value.get("nt_samples_batch_size") is not None:
        out["nt_samples_batch_size"] = _positive_int("nt_samples_batch_size", value["nt_samples_batch_size"])
    return out


def explain(model: nn.Module, images: torch.Tensor, targets: int | Sequence[int] | torch.Tensor, method: str, *,
            batch_size: int = 16, progress: bool | None = None, reduce: str = "sum",
            noise_tunnel: Mapping[str, Any] | None = None, **options: Any) -> torch.Tensor:
    """Attribution maps of ``method`` (a key of METHODS) for the ``targets`` class scores: (B, H, W) float32.

    ``images`` is (B, C, H, W) (or (C, H, W), B = 1) in model input space; ``targets`` an int, B ints or a (B,)
    tensor. Captum's (B, C, H, W) attributions are summed over channels; computed in chunks of ``batch_size``
    (a progress bar when there is more than one chunk and the work outlasts ``config.PROGRESS_DELAY_S``, or at once
    with ``progress=True``) with the model in eval mode (its
    mode is restored). Gradients are taken with ``torch.autograd.grad``: the model's ``.grad`` are not touched.

    Options (``MethodInfo.options``): saliency ``abs`` (True); integrated_gradients ``baseline`` ("black" = -1,
    default; "zero" = 0, mid-window dB; a float or a tensor), ``n_steps`` (IG_STEPS = 200),
    ``internal_batch_size`` (64 scaled images per pass);
    grad_cam ``layer`` ("layer4", a name or submodule), ``relu_attributions`` (True), ``interpolate_mode``
    ("bilinear"); guided_grad_cam ``layer``, ``interpolate_mode`` ("bilinear"; Captum's default is "nearest");
    occlusion ``window`` / ``stride`` (from :func:`occlusion_window`), ``baseline`` ("black"),
    ``perturbations_per_eval`` (16).

    The CAM family (CAM_METHODS: ms_cam, self_matching_cam, grad_cam_pp, xgrad_cam, layer_cam, score_cam) gives
    maps in [0, 1], min-max normalised per image; their options are documented in :mod:`.cam`.

    ``reduce="none"`` keeps the channels: (B, C, H, W) per-channel maps (VV and VH of a dual-pol model) whose sum
    over C is the default map; only for CHANNEL_METHODS (Grad-CAM and the CAM family have one map for all
    channels, and Occlusion occludes every channel at once, so its channels are identical copies).
    ``noise_tunnel`` wraps a Captum method in Captum's ``NoiseTunnel`` (SmoothGrad): a dict of its ``attribute``
    arguments ``nt_type`` ("smoothgrad"), ``nt_samples`` (5), ``stdevs`` (1.0, model-input units) and
    ``nt_samples_batch_size``; its Gaussian noise comes from torch's global generator (seed it, or use
    :func:`.smoothing.smoothgrad`).
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known methods: {list(METHODS)}")
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {list(REDUCTIONS)}, got {reduce!r}")
    if reduce == "none" and method not in CHANNEL_METHODS:
        raise ValueError(f"reduce='none': {METHODS[method].title} has no per-channel input attribution ("
                         + ("it occludes every channel at once, so its channel maps are identical copies"
                            if method == "occlusion" else "one map for all channels, computed at a layer")
                         + f"); per-channel maps exist for {sorted(CHANNEL_METHODS)}")
    tunnel = _noise_tunnel(noise_tunnel, method)
    if torch.is_inference_mode_enabled():
        raise RuntimeError("explain() needs gradients: call it outside torch.inference_mode()")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    batch_size_ = int(batch_size)
    device, dtype = model_device(model)
    x_all = input_batch(images, device, dtype)
    n = x_all.shape[0]
    settings = _settings(method, dict(options), model, x_all)

    modes = [(module, module.training) for module in model.modules()]  # restored module by module
    model.eval()
    try:
        target_all = target_tensor(targets, n, num_classes(model, x_all[:1]), device)
        net = model
        if method in RELU_HOOK_METHODS:
            net = prepare_for_relu_hooks(model)
            _check_relu_uses(model, net, x_all[:1])
            if "layer" in settings:
                try:
                    net.get_submodule(settings["layer"])
                except AttributeError:
                    raise ValueError(f"option 'layer': {settings['layer']!r} is not a submodule of the model "
                                     "prepared for ReLU hooks (its blocks have relu1, relu2, ...)") from None
        starts = range(0, n, batch_size_)
        show = len(starts) > 1 if progress is None else bool(progress)
        shape = (n, *x_all.shape[-2:]) if reduce == "sum" else tuple(x_all.shape)
        out = torch.empty(shape, dtype=torch.float32, device=device)
        with warnings.catch_warnings(), torch.enable_grad():
            warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU activations")
            for start in tqdm(starts, desc=METHODS[method].title, disable=not config.show_progress(show), leave=False,
                              delay=0 if progress else config.PROGRESS_DELAY_S):  # asked for: at once
                chunk = slice(start, min(start + batch_size_, n))
                x = x_all[chunk].clone().requires_grad_(method != "occlusion")  # a leaf of our own
                attr = _attribute(method, net, x, target_all[chunk], settings, chunk, tunnel).detach()
                out[chunk] = (attr.sum(dim=1) if reduce == "sum" else attr).to(torch.float32)
        return out
    finally:
        for module, training in modes:
            module.training = training


EXPLAIN_KEYWORDS: tuple[str, ...] = ("batch_size", "progress", "reduce", "noise_tunnel")  # explain's own keywords
SPEED_ONLY: tuple[str, ...] = ("internal_batch_size", "perturbations_per_eval")  # settings that change no map


def explain_cached(model: nn.Module, images: torch.Tensor, targets: int | Sequence[int] | torch.Tensor, method: str,
                   *, recompute: bool = False, enabled: bool = True, **options: Any) -> torch.Tensor:
    """:func:`explain` through the results cache (:mod:`.results`): the maps, on the CPU, are computed once for a
    model, images, targets, method and settings and loaded after that, in this lesson and in the next ones. The key
    holds the settings with their defaults filled in (``n_steps=200`` is the default call), without those that only
    change the speed (:data:`SPEED_ONLY`)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; known methods: {list(METHODS)}")
    batch = images if images.dim() == 4 else images[None]
    target = torch.as_tensor(targets).detach().cpu().to(torch.int64).reshape(-1)
    if target.numel() == 1:
        target = target.expand(len(batch)).contiguous()
    given = {k: v for k, v in options.items() if k not in EXPLAIN_KEYWORDS}
    settings = {k: v for k, v in _settings(method, given, model, batch).items() if k not in SPEED_ONLY}
    key = {"model": model, "images": batch, "target": target, "method": method, "settings": settings,
           "reduce": options.get("reduce", "sum"), "noise_tunnel": options.get("noise_tunnel")}
    return results.cached(f"maps, {method}", lambda: explain(model, images, targets, method, **options).cpu(), key,
                          recompute=recompute, enabled=enabled)


def to_numpy_maps(attr: torch.Tensor) -> np.ndarray:
    """A (B, H, W) (or any-shaped) attribution tensor as a float32 NumPy array on the CPU."""
    return attr.detach().to("cpu", torch.float32).numpy()
