"""SAR radiometry: linear intensity, amplitude and dB; multiplicative L-look Gamma speckle; equivalent looks.

Conventions used across the course: images are stored in LINEAR INTENSITY (sigma0-like, >= 0); dB means
``10 * log10(intensity)``; amplitude is ``sqrt(intensity)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

# The dB window the course shows and feeds to models: Sentinel-1 backscatter lives roughly in [-35, +10] dB.
DB_MIN: float = -35.0
DB_MAX: float = 10.0
_FLOOR = 10.0 ** (DB_MIN / 10.0) / 1000.0  # avoids log(0) far below the display window


def to_db(intensity: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """Linear intensity to dB (``10 log10``), with a tiny floor so that zero intensity stays finite."""
    if isinstance(intensity, torch.Tensor):
        return 10.0 * torch.log10(torch.clamp(intensity, min=_FLOOR))
    return (10.0 * np.log10(np.maximum(intensity, _FLOOR))).astype(np.float32, copy=False)


def from_db(db: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """dB to linear intensity (``10 ** (dB / 10)``)."""
    if isinstance(db, torch.Tensor):
        return torch.pow(10.0, db / 10.0)
    return np.power(10.0, np.asarray(db, dtype=np.float32) / 10.0).astype(np.float32, copy=False)


def normalize_db(db: np.ndarray | torch.Tensor, db_min: float = DB_MIN, db_max: float = DB_MAX):
    """Clip dB values to ``[db_min, db_max]`` and map them linearly to ``[-1, 1]`` (the models' input space).

    Zero intensity (a black image) maps to -1, which is the "black baseline" of Integrated Gradients.
    """
    if not db_max > db_min:
        raise ValueError(f"db_max ({db_max}) must be larger than db_min ({db_min})")
    centre, half = (db_max + db_min) / 2.0, (db_max - db_min) / 2.0
    if isinstance(db, torch.Tensor):
        return (torch.clamp(db, db_min, db_max) - centre) / half
    return ((np.clip(db, db_min, db_max) - centre) / half).astype(np.float32, copy=False)


def denormalize_db(x: np.ndarray | torch.Tensor, db_min: float = DB_MIN, db_max: float = DB_MAX):
    """Inverse of :func:`normalize_db` inside the window: model input in ``[-1, 1]`` back to dB."""
    if not db_max > db_min:
        raise ValueError(f"db_max ({db_max}) must be larger than db_min ({db_min})")
    centre, half = (db_max + db_min) / 2.0, (db_max - db_min) / 2.0
    return x * half + centre


def speckle(intensity: np.ndarray, looks: float, rng: np.random.Generator) -> np.ndarray:
    """Multiply a clean intensity image by independent unit-mean Gamma(L, 1/L) noise (L-look speckle)."""
    if not looks > 0:
        raise ValueError(f"looks must be positive, got {looks}")
    noise = rng.standard_gamma(looks, size=np.shape(intensity), dtype=np.float32) / np.float32(looks)
    return (intensity * noise).astype(np.float32, copy=False)


def speckle_db_std(looks: float) -> float:
    """Standard deviation in dB of unit-mean L-look Gamma speckle: ``10 / ln(10) * sqrt(trigamma(L))`` (5.57 dB for
    one look, 2.2 dB for 4.4 looks); the spread speckle adds to every pixel of a dB image, whatever its level."""
    from scipy.special import polygamma

    if isinstance(looks, bool) or not isinstance(looks, int | float | np.integer | np.floating) \
            or not math.isfinite(looks) or looks <= 0:
        raise ValueError(f"looks must be a positive finite number, got {looks!r}")
    return float(10.0 / math.log(10.0) * math.sqrt(polygamma(1, float(looks))))


def gamma_pdf(x: np.ndarray, looks: float, mean: float = 1.0) -> np.ndarray:
    """Probability density of L-look speckled intensity with the given mean (the Gamma law of SAR intensity)."""
    x = np.asarray(x, dtype=np.float64)
    scale = mean / looks
    with np.errstate(divide="ignore", invalid="ignore"):
        logp = (looks - 1) * np.log(x) - x / scale - math.lgamma(looks) - looks * math.log(scale)
    # At x = 0 the density is 1 / mean for one look (exponential law), infinite below one look, 0 above.
    at_zero = 1.0 / mean if looks == 1 else (np.inf if looks < 1 else 0.0)
    return np.where(x > 0, np.exp(logp), np.where(x == 0, at_zero, 0.0))


def equivalent_number_of_looks(intensity: np.ndarray) -> float:
    """ENL = mean^2 / variance of the intensity of a homogeneous region (the number of looks, for pure speckle)."""
    values = np.asarray(intensity, dtype=np.float64).ravel()
    if values.size < 2:
        raise ValueError(f"need at least 2 pixels to estimate the ENL, got {values.size}")
    var = values.var(ddof=1)
    if var <= 0:
        raise ValueError("the region has zero variance: the ENL is undefined (is it speckled at all?)")
    return float(values.mean() ** 2 / var)


def local_enl(intensity: np.ndarray, window: int = 7) -> np.ndarray:
    """ENL in a sliding ``window`` x ``window`` box around each pixel of a 2-D intensity image (same shape).

    Homogeneous areas give about the number of looks; edges, point targets and texture give less.
    """
    from scipy.ndimage import uniform_filter

    image = np.asarray(intensity, dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"local_enl expects a 2-D image, got shape {image.shape}")
    if window < 2:
        raise ValueError(f"window must be at least 2 pixels, got {window}")
    mean = uniform_filter(image, window, mode="reflect")
    var = uniform_filter(image * image, window, mode="reflect") - mean * mean
    var *= window * window / (window * window - 1.0)  # unbiased
    with np.errstate(divide="ignore", invalid="ignore"):
        enl = np.where(var > 0, mean * mean / var, np.inf)
    return enl.astype(np.float32)


def _dual_pol(images: np.ndarray) -> np.ndarray:
    """``images`` as an array, checked to be (N, 2, H, W) [VV, VH] positive, finite linear intensity."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1] != 2:
        raise ValueError(f"images must be (N, 2, H, W) [VV, VH], got shape {images.shape}")
    if not np.isfinite(images).all() or (images <= 0).any():
        raise ValueError("images must be positive, finite linear intensity")
    return images


def co_cross_ratio_db(images: np.ndarray, masks: np.ndarray, window: int = 5) -> np.ndarray:
    """Per scene, the median over its mask of VV - VH in dB, from the ``window`` x ``window``-averaged intensity:
    (N, 2, H, W) [VV, VH] linear intensity and (N, H, W) boolean masks -> (N,) float64 (NaN where a mask is empty).

    Averaging first (as a multilooked product does) keeps speckle and single pixels from deciding the ratio: what
    remains is the scattering mechanism (double bounce high, volume scattering low)."""
    from scipy.ndimage import uniform_filter

    images, masks = _dual_pol(images), np.asarray(masks)
    if masks.shape != (images.shape[0], *images.shape[2:]) or masks.dtype != bool:
        raise ValueError(f"masks must be boolean (N, H, W) = {(images.shape[0], *images.shape[2:])}, got "
                         f"{masks.dtype} {masks.shape}")
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 1:
        raise ValueError(f"window must be a positive integer, got {window!r}")
    smooth = uniform_filter(images.astype(np.float64), size=(1, 1, window, window), mode="reflect")
    ratio = 10.0 * np.log10(smooth[:, 0] / smooth[:, 1])
    return np.array([np.median(r[m]) if m.any() else np.nan for r, m in zip(ratio, masks, strict=True)])


def replace_channel(images: np.ndarray, channel: int) -> np.ndarray:
    """(N, 2, H, W) linear intensity with ``channel`` (0 = VV, 1 = VH) replaced by the other channel, shifted by
    the median dB difference between the two: a plausible-looking channel that carries nothing of its own. The
    accuracy a two-channel model loses on it measures how much the model needs that channel's own information."""
    images = _dual_pol(images)
    if channel not in (0, 1):
        raise ValueError(f"channel must be 0 (VV) or 1 (VH), got {channel!r}")
    other = 1 - channel
    shift_db = float(np.median(to_db(images[:, channel])) - np.median(to_db(images[:, other])))
    out = images.astype(np.float32, copy=True)
    out[:, channel] = images[:, other] * np.float32(10.0 ** (shift_db / 10.0))
    return out
