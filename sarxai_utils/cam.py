"""Class activation maps (CAMs): MS-CAM, Self-Matching CAM and the CAM baselines, all as (B, H, W) maps in [0, 1].

Every function here takes ``(model, images, targets, **options)`` with (B, C, H, W) images in the models' input
space ([-1, 1], the dB window, see :mod:`.sar`) and returns one (B, H, W) float32 map per image: the class
activation map of the target class score (the logit, before softmax) at a layer (``layer``, default
``"layer4"``), upsampled bilinearly to the input size and min-max normalised PER IMAGE to [0, 1] (a constant map
becomes all zeros). The functions go through :func:`.explain.explain` under the names of :data:`CAM_METHODS`,
so ``explain(model, images, targets, "ms_cam", **options)`` is the same call (with its ``batch_size`` chunks,
eval mode restored afterwards, and no ``.grad`` left on the model). No map depends on which other images share
the batch (the model runs in eval mode and every normalisation is per image).

Baselines, from torchcam (chosen over pytorch-grad-cam for its light dependencies: torch, numpy, pillow and
matplotlib; pytorch-grad-cam pulls OpenCV):

- :func:`xgrad_cam` (``torchcam.methods.XGradCAM``), :func:`layer_cam` (``LayerCAM``), :func:`score_cam`
  (``ScoreCAM``: each channel's min-max scaled, upsampled map multiplies the input, so masked-out pixels become
  x = 0, the middle of the dB window);
- :func:`grad_cam_pp`: torchcam's ``GradCAMpp`` with its weight formula replaced by the paper's Eq. 19
  (``variant="paper"``, default). torchcam 0.5.0 divides its alpha coefficients in place on a boolean-indexed
  COPY (``alpha[mask].div_(...)``), which leaves them undivided, and sums ``A * g^3`` over positions where the
  paper has ``(sum A) * g^3``; ``variant="torchcam"`` gives torchcam's own output unchanged.
- :func:`grad_cam`: Captum's Grad-CAM through ``explain(..., "grad_cam")``, normalised in the same way.

Hand-written (Self-Matching CAM, Feng et al. 2021, and the course's reconstruction of MS-CAM, Sun et al. 2025, of
which only the abstract is available: see ``shared/papers/ms-cam-notes.md``). With ``g_k = d y_c / d A_k`` the
gradient of the class score with respect to the K feature maps ``A_k`` (h x w) of the layer:

- the image to match ``I`` is the model input averaged over its channels (VV and VH count equally), brought to the
  matching size Q with an anti-aliased bilinear resize (a plain bilinear resize from 100 to 4 pixels would sample
  4 x 4 single speckled pixels), and min-max scaled to [0, 1]: ``I_Q = s(Down(I))``; a constant image has no
  contrast to match and gives ``I_Q = 1`` (the matching then changes nothing);
- ``A_k,Q = s(Up(A_k))`` per image and channel (``scale_features=True``; a constant channel gives 0), and the
  matched maps ``Â_k = A_k,Q ∘ I_Q``;
- channel weight ``w_k``: Grad-CAM's ``mean_ij g_k`` (``channel_weight="gradcam"``) or XGrad-CAM's
  ``sum_ij A_k g_k / (sum_ij A_k + 1e-8)`` (``"xgradcam"``, torchcam's formula), always from the unmatched
  gradients at the layer's resolution;
- MS-CAM's element-wise weight ``W_k = ReLU(g_k)`` (LayerCAM's; ``element_weight=True``), brought to Q and, with
  ``match_gradients=True``, matched with the image as the feature maps are: ``Ŵ_k = Up_Q(W_k) ∘ I_Q``;
- ``MS = ReLU(sum_k w_k Ŵ_k ∘ Â_k)`` at Q, then upsampled to the input and min-max normalised.
  Self-Matching CAM is the same without the element-wise weight and with XGrad-CAM's channel weights
  (``ReLU(sum_k w_k Â_k)``; Feng et al.'s formula has no ReLU, the course keeps it as every CAM here does).

The matching size ``q`` defaults to the layer's own size (Q = M, Feng et al.'s "pure" version): the cheapest
choice (its cost is Grad-CAM's), and the one in which MS-CAM differs from Grad-CAM / LayerCAM only by the image
matching and the weights, not by a change of resolution; ``q`` between M and the input size matches finer.
With ``scale_features=False``, a constant image and ``element_weight=False``, MS-CAM reduces exactly to Grad-CAM
and Self-Matching CAM to XGrad-CAM (the tests check both against Captum and torchcam).

At layer4 of the course's ResNets (then global average pooling and ``fc``) the gradient is the same at every
position, ``g_k = fc.weight[c, k] / (h w)``: there Grad-CAM and XGrad-CAM coincide, and LayerCAM's (and MS-CAM's)
element-wise weight ``ReLU(g_k)`` is one number per channel (it drops the channels of negative weight and squares
the others' weights). The element-wise weight varies over the map only at earlier layers (``layer="layer3"``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn
from torchcam.methods import GradCAMpp, LayerCAM, ScoreCAM, XGradCAM

from .explain import CAM_METHODS, DEFAULT_LAYER, _layer_name, _pair, _positive_int, explain

CHANNEL_WEIGHTS: tuple[str, ...] = ("gradcam", "xgradcam")
GRAD_CAM_PP_VARIANTS: tuple[str, ...] = ("paper", "torchcam")
SCORE_CAM_BATCH: int = 32  # masked images per forward pass inside Score-CAM (torchcam's default)
XGRAD_EPS: float = 1e-8  # torchcam's epsilon in XGrad-CAM's denominator
GRAD_CAM_PP_EPS: float = 1e-8  # torchcam's epsilon in Grad-CAM++'s denominator
FLAT_ULPS: int = 64  # a map whose spread is below 64 float steps of its magnitude counts as constant
CHANNEL_CHUNK: int = 64  # feature maps matched at a time in the self-matching CAMs (memory at large Q)


# --------------------------------------------------------------------------------------------------------------
# Resizing and scaling
# --------------------------------------------------------------------------------------------------------------
def _minmax(t: torch.Tensor, dims: tuple[int, ...], constant: float) -> torch.Tensor:
    """(t - min) / (max - min) over ``dims``; slices that are constant (up to float rounding) become ``constant``.

    "Constant" means a spread of at most FLAT_ULPS float steps of the values' magnitude: resizing a constant
    image leaves up to 8 such steps of rounding noise, which min-max scaling must not blow up to [0, 1].
    """
    low = t.amin(dim=dims, keepdim=True)
    high = t.amax(dim=dims, keepdim=True)
    span = high - low
    scale = torch.maximum(high.abs(), low.abs())
    flat = span <= FLAT_ULPS * torch.finfo(t.dtype).eps * scale
    out = (t - low) / torch.where(flat, torch.ones_like(span), span)
    return torch.where(flat, torch.full_like(t, constant), out)


def normalize(maps: torch.Tensor) -> torch.Tensor:
    """(B, H, W) maps min-max scaled per image to [0, 1], same dtype; a constant map (up to rounding: FLAT_ULPS)
    becomes all zeros."""
    if not isinstance(maps, torch.Tensor) or maps.dim() != 3:
        raise ValueError(f"maps must be a (B, H, W) tensor, got {getattr(maps, 'shape', type(maps))}")
    if not maps.is_floating_point():
        maps = maps.float()
    return _minmax(maps, (1, 2), 0.0)


def upsample(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, h, w) maps resized bilinearly (``align_corners=False``, as Captum and torchcam) to (B, *size)."""
    if not isinstance(maps, torch.Tensor) or maps.dim() != 3:
        raise ValueError(f"maps must be a (B, h, w) tensor, got {getattr(maps, 'shape', type(maps))}")
    size = (int(size[0]), int(size[1]))
    if tuple(maps.shape[-2:]) == size:
        return maps
    return F.interpolate(maps[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]


def _resize(t: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, K, h, w) -> (B, K, *size), bilinear; anti-aliased where it shrinks."""
    if tuple(t.shape[-2:]) == size:
        return t
    shrinks = size[0] < t.shape[-2] or size[1] < t.shape[-1]
    return F.interpolate(t, size=size, mode="bilinear", align_corners=False, antialias=shrinks)


def matching_image(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The image the self-matching CAMs multiply with: (B, C, H, W) inputs -> (B, 1, *size) in [0, 1].

    The channel mean of the model input, resized (anti-aliased bilinear) to ``size`` and min-max scaled per
    image; a constant image gives all ones.
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        raise ValueError(f"images must be a (B, C, H, W) tensor, got {getattr(images, 'shape', type(images))}")
    image = images.detach().mean(dim=1, keepdim=True)
    return _minmax(_resize(image, (int(size[0]), int(size[1]))), (1, 2, 3), 1.0)


# --------------------------------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------------------------------
def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"option {name!r} must be True or False, got {value!r}")
    return value


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"option {name!r} must be one of {list(choices)}, got {value!r}")
    return str(value)


def settings(method: str, options: dict[str, Any], model: nn.Module, images: torch.Tensor) -> dict[str, Any]:
    """Validated options of a CAM ``method`` (a name of CAM_METHODS) with the defaults filled in.

    ``explain`` has already refused unknown option names; values are checked here (ValueError naming the option).
    """
    if method not in CAM_METHODS:
        raise ValueError(f"unknown CAM method {method!r}; known: {list(CAM_METHODS)}")
    out: dict[str, Any] = {"layer": _layer_name(model, options.get("layer", DEFAULT_LAYER))}
    if method in ("ms_cam", "self_matching_cam"):
        q = options.get("q")
        out["q"] = None if q is None else _pair("q", q)
        default_weight = "gradcam" if method == "ms_cam" else "xgradcam"
        out["channel_weight"] = _choice("channel_weight", options.get("channel_weight", default_weight),
                                        CHANNEL_WEIGHTS)
        out["scale_features"] = _flag("scale_features", options.get("scale_features", True))
        out["element_weight"] = (_flag("element_weight", options.get("element_weight", True))
                                 if method == "ms_cam" else False)
        out["match_gradients"] = (_flag("match_gradients", options.get("match_gradients", True))
                                  if method == "ms_cam" else False)
        if out["q"] is not None:
            height, width = images.shape[-2:]
            if out["q"][0] > height or out["q"][1] > width:
                raise ValueError(f"option 'q' {out['q']} is larger than the images ({height} x {width})")
    elif method == "grad_cam_pp":
        out["variant"] = _choice("variant", options.get("variant", "paper"), GRAD_CAM_PP_VARIANTS)
    elif method == "score_cam":
        out["internal_batch_size"] = _positive_int("internal_batch_size",
                                                   options.get("internal_batch_size", SCORE_CAM_BATCH))
    return out


# --------------------------------------------------------------------------------------------------------------
# Hand-written: Self-Matching CAM and MS-CAM
# --------------------------------------------------------------------------------------------------------------
def features_and_gradients(model: nn.Module, layer: str, images: torch.Tensor, targets: torch.Tensor
                           ) -> tuple[torch.Tensor, torch.Tensor]:
    """The (B, K, h, w) feature maps of ``layer`` and the gradients of the target logits with respect to them.

    One forward pass with a forward hook on the layer (removed afterwards) and ``torch.autograd.grad`` (no
    ``.grad`` is left on the model); both results are detached. Run it with the model in eval mode.
    """
    module = model.get_submodule(layer)
    store: list[torch.Tensor] = []

    def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
        store.append(output)

    handle = module.register_forward_hook(hook)
    try:
        with torch.enable_grad():
            scores = model(images)
    finally:
        handle.remove()
    if not store:
        raise ValueError(f"option 'layer': {layer!r} is not called in the model's forward pass")
    features = store[-1]
    if not isinstance(features, torch.Tensor) or features.dim() != 4:
        raise ValueError(f"option 'layer': {layer!r} must output (B, K, h, w) feature maps, got "
                         f"{getattr(features, 'shape', type(features))}")
    if not features.requires_grad:
        raise ValueError(f"option 'layer': the class scores do not depend on {layer!r} through autograd (give "
                         "the images requires_grad=True, or unfreeze the model)")
    score = scores.gather(1, targets.view(-1, 1)).sum()
    (gradients,) = torch.autograd.grad(score, features)
    return features.detach(), gradients.detach()


def self_matching_map(features: torch.Tensor, gradients: torch.Tensor, images: torch.Tensor, *,
                      q: tuple[int, int] | None = None, channel_weight: str = "gradcam",
                      element_weight: bool = True, match_gradients: bool = True,
                      scale_features: bool = True) -> torch.Tensor:
    """MS-CAM (defaults) or Self-Matching CAM (``element_weight=False``, ``channel_weight="xgradcam"``) from
    (B, K, h, w) feature maps and gradients and the (B, C, H, W) inputs: (B, H, W) maps in [0, 1].

    ``MS = ReLU(sum_k w_k (Up_Q(W_k) [∘ I_Q]) ∘ s(Up_Q(A_k)) ∘ I_Q)`` at the matching size ``q`` (default: the
    feature maps' size), upsampled bilinearly to (H, W) and min-max normalised per image (see the module text).
    """
    if features.shape != gradients.shape or features.dim() != 4:
        raise ValueError(f"features and gradients must be (B, K, h, w) tensors of one shape, got "
                         f"{tuple(features.shape)} and {tuple(gradients.shape)}")
    h, w = features.shape[-2:]
    height, width = images.shape[-2:]
    size = (h, w) if q is None else (int(q[0]), int(q[1]))
    if not (h <= size[0] <= height and w <= size[1] <= width):
        raise ValueError(f"option 'q' {size} must lie between the feature maps' size {(h, w)} and the images' "
                         f"size {(height, width)}")
    if channel_weight == "gradcam":
        weights = gradients.mean(dim=(2, 3))
    elif channel_weight == "xgradcam":
        weights = (gradients * features).sum(dim=(2, 3)) / (features.sum(dim=(2, 3)) + XGRAD_EPS)
    else:
        raise ValueError(f"option 'channel_weight' must be one of {list(CHANNEL_WEIGHTS)}, got {channel_weight!r}")
    image = matching_image(images, size)  # (B, 1, Q, Q) in [0, 1]
    total = features.new_zeros(features.shape[0], *size)
    for start in range(0, features.shape[1], CHANNEL_CHUNK):  # bounds memory when Q is large
        channels = slice(start, start + CHANNEL_CHUNK)
        matched = _resize(features[:, channels], size)
        if scale_features:
            matched = _minmax(matched, (2, 3), 0.0)
        matched = matched * image
        if element_weight:
            element = _resize(torch.relu(gradients[:, channels]), size)
            if match_gradients:
                element = element * image
            matched = element * matched
        total += (weights[:, channels, None, None] * matched).sum(dim=1)
    return normalize(upsample(torch.relu(total), (height, width)))


# --------------------------------------------------------------------------------------------------------------
# torchcam baselines
# --------------------------------------------------------------------------------------------------------------
class PaperGradCAMpp(GradCAMpp):
    """torchcam's Grad-CAM++ extractor with the weights of Chattopadhay et al. (2018), Eq. 19:
    ``alpha_ij = g_ij^2 / (2 g_ij^2 + (sum_ab A_ab) g_ij^3)`` (0 where g_ij = 0), ``w_k = sum_ij alpha_ij ReLU(g_ij)``.

    Hooks, backpropagation, the weighted sum and the final ReLU are torchcam's; only ``_get_weights`` differs.
    """

    def _get_weights(self, class_idx: int | list[int], scores: torch.Tensor, eps: float = GRAD_CAM_PP_EPS,
                     **kwargs: Any) -> list[torch.Tensor]:
        self._backprop(scores, class_idx, **kwargs)
        weights = []
        activations = cast(list[torch.Tensor], self.hook_a)  # set by the forward pass and _backprop
        for activation, grad in zip(activations, cast(list[torch.Tensor], self.hook_g), strict=True):
            grad_2 = grad.pow(2)
            grad_3 = grad_2 * grad
            summed = activation.flatten(2).sum(-1)[..., None, None]
            alpha = torch.where(grad_2 > 0, grad_2 / (2 * grad_2 + summed * grad_3 + eps), torch.zeros_like(grad_2))
            weights.append((alpha * torch.relu(grad)).flatten(2).sum(-1))
        return weights


def _extractor_class(method: str, options: dict[str, Any]) -> type:
    if method == "grad_cam_pp":
        return PaperGradCAMpp if options.get("variant", "paper") == "paper" else GradCAMpp
    return {"xgrad_cam": XGradCAM, "layer_cam": LayerCAM, "score_cam": ScoreCAM}[method]


def torchcam_map(method: str, model: nn.Module, images: torch.Tensor, targets: torch.Tensor,
                 settings: dict[str, Any]) -> torch.Tensor:
    """The raw (B, h, w) map of a torchcam baseline (``grad_cam_pp``, ``xgrad_cam``, ``layer_cam``,
    ``score_cam``) at its layer, before upsampling and normalisation (torchcam's ``normalized=False``).

    One extractor per call; its hooks are removed afterwards even on error. Run with the model in eval mode.
    """
    cls = _extractor_class(method, settings)
    kwargs: dict[str, Any] = {}
    if method == "score_cam":
        kwargs["batch_size"] = settings.get("internal_batch_size", SCORE_CAM_BATCH)
    extractor = cls(model, target_layer=settings["layer"], input_shape=tuple(images.shape[1:]), **kwargs)
    try:
        class_idx = [int(t) for t in targets.tolist()]
        if method == "score_cam":  # gradient-free: the forward pass only records the activations and the input
            with torch.no_grad():
                model(images)
            maps = extractor(class_idx, normalized=False)[0]
        else:
            with torch.enable_grad():
                scores = model(images)
            maps = extractor(class_idx, scores, normalized=False)[0]
    finally:
        extractor.remove_hooks()
        extractor.reset_hooks()
    return maps.detach()


# --------------------------------------------------------------------------------------------------------------
# Dispatch (called by explain) and the public functions
# --------------------------------------------------------------------------------------------------------------
def attribute(method: str, model: nn.Module, images: torch.Tensor, targets: torch.Tensor,
              settings: dict[str, Any]) -> torch.Tensor:
    """The (B, 1, H, W) CAM of ``method`` for one chunk, in [0, 1] per image (``explain`` sums the one channel).

    ``settings`` come from :func:`settings`; the model must be in eval mode (``explain`` sees to it).
    """
    if method in ("ms_cam", "self_matching_cam"):
        features, gradients = features_and_gradients(model, settings["layer"], images, targets)
        maps = self_matching_map(features, gradients, images, q=settings["q"],
                                 channel_weight=settings["channel_weight"],
                                 element_weight=settings["element_weight"],
                                 match_gradients=settings["match_gradients"],
                                 scale_features=settings["scale_features"])
    elif method in CAM_METHODS:
        raw = torchcam_map(method, model, images, targets, settings)
        maps = normalize(upsample(raw, tuple(images.shape[-2:])))
    else:
        raise ValueError(f"unknown CAM method {method!r}; known: {list(CAM_METHODS)}")
    return maps[:, None]


def ms_cam(model: nn.Module, images: torch.Tensor, targets: Any, **options: Any) -> torch.Tensor:
    """MS-CAM as the course reconstructs it: (B, C, H, W) inputs, (B,) targets -> (B, H, W) float32 in [0, 1].

    Options: ``layer`` ("layer4"), ``q`` (None = the layer's size; an int or (h, w) up to the input size),
    ``channel_weight`` ("gradcam" | "xgradcam"), ``element_weight`` (True), ``match_gradients`` (True),
    ``scale_features`` (True), plus explain's ``batch_size`` and ``progress``.
    """
    return explain(model, images, targets, "ms_cam", **options)


def self_matching_cam(model: nn.Module, images: torch.Tensor, targets: Any, **options: Any) -> torch.Tensor:
    """Self-Matching CAM (Feng et al. 2021): (B, C, H, W) inputs, (B,) targets -> (B, H, W) float32 in [0, 1].

    Options: ``layer`` ("layer4"), ``q`` (None = the layer's size), ``channel_weight`` ("xgradcam" | "gradcam"),
    ``scale_features`` (True), plus explain's ``batch_size`` and ``progress``.
    """
    return explain(model, images, targets, "self_matching_cam", **options)


def grad_cam_pp(model: nn.Module, images: torch.Tensor, targets: Any, **options: Any) -> torch.Tensor:
    """Grad-CAM++ (torchcam's extractor, the paper's weights): (B, C, H, W), (B,) -> (B, H, W) float32 in [0, 1].

    Options: ``layer`` ("layer4"), ``variant`` ("paper" | "torchcam": torchcam 0.5's own, undivided weights).
    """
    return explain(model, images, targets, "grad_cam_pp", **options)


def xgrad_cam(model: nn.Module, images: torch.Tensor, targets: Any, **options: Any) -> torch.Tensor:
    """XGrad-CAM (torchcam): (B, C, H, W) inputs, (B,) targets -> (B, H, W) float32 in [0, 1]; option ``layer``."""
    return explain(model, images, targets, "xgrad_cam", **options)


def layer_cam(model: nn.Module, images: torch.Tensor, targets: Any, **options: Any) -> torch.Tensor:
    """LayerCAM (torchcam): (B, C, H, W) inputs, (B,) targets -> (B, H, W) float32 in [0, 1]; option ``layer``."""
    return explain(model, images, targets, "layer_cam", **options)


def score_cam(model: nn.Module, images: torch.Tensor, targets: Any, **options: Any) -> torch.Tensor:
    """Score-CAM (torchcam): (B, C, H, W) inputs, (B,) targets -> (B, H, W) float32 in [0, 1].

    K forward passes per image (K channels of the layer: 128 for resnet10_slim, 512 for resnet18). Options:
    ``layer`` ("layer4"), ``internal_batch_size`` (masked images per forward pass, 32).
    """
    return explain(model, images, targets, "score_cam", **options)


def grad_cam(model: nn.Module, images: torch.Tensor, targets: Any, **options: Any) -> torch.Tensor:
    """Captum's Grad-CAM (``explain(..., "grad_cam")``, upsampled bilinearly) min-max normalised per image:
    (B, C, H, W) inputs, (B,) targets -> (B, H, W) float32 in [0, 1]; options as explain's ``grad_cam``."""
    return normalize(explain(model, images, targets, "grad_cam", **options))


# the public functions by method name (grad_cam: Captum's, normalised), e.g. to loop over them in a lesson
FUNCTIONS: dict[str, Callable[..., torch.Tensor]] = {
    "ms_cam": ms_cam, "self_matching_cam": self_matching_cam, "grad_cam_pp": grad_cam_pp, "xgrad_cam": xgrad_cam,
    "layer_cam": layer_cam, "score_cam": score_cam, "grad_cam": grad_cam,
}
