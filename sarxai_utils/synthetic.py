"""The embedded SAR data: physically motivated generators of urban scenes (VV + VH) and vehicle-like targets.

Every image is rendered from a *clean scene* of backscatter (linear intensity, per polarization) built
from materials with approximate C-band Sentinel-1 values, then multiplied by independent L-look Gamma
speckle per channel. Each class is made by spatial structure inside a known region (its evidence mask);
clutter, distractors and a random gain are common to all classes, so global brightness does not give the
class away. The sensor looks from the left (near range at x = 0): layover falls towards the left, radar
shadow towards the right.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.fft

from . import sar
from .readers import OPENSARURBAN_CLASSES

GENERATOR_VERSION = "2.0"  # with the hash of this file, part of every cache key (see generator_version)
URBAN_CLASSES: tuple[str, ...] = OPENSARURBAN_CLASSES  # the embedded scenes mimic the real dataset
TARGET_CLASSES: tuple[str, ...] = (
    "box_truck",
    "tanker",
    "turret_tracked",
    "low_tracked",
    "six_wheeler",
    "eight_wheeler",
    "launcher",
    "dish_carrier",
    "dozer",
    "compact_van",
)



def generator_version() -> str:
    """The generator's version plus a hash of this module's source: any change to the code changes cache keys."""
    import hashlib
    from pathlib import Path

    digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:10]
    return f"{GENERATOR_VERSION}+{digest}"


# Approximate C-band backscatter of each material in dB: (VV, VH). See COURSE_DESIGN.md for the anchors.
# Surface scattering (asphalt, soil, gravel, lawns, flat roofs) has weak VH, 7.5-9.5 dB below VV; volume
# scattering (crops, forest) depolarises, VH only 4-5 dB below VV; the wall-ground dihedral of a wall parallel
# to the flight track is very bright in VV and weak in VH (about 15 dB apart); walls turned away from the track
# depolarise (``_Scene.buildings``).
MATERIALS_DB: dict[str, tuple[float, float]] = {
    "asphalt": (-20.5, -28.0),
    "soil": (-12.5, -20.0),
    "gravel": (-14.0, -21.5),
    "grass": (-9.5, -18.0),  # short vegetation, lawns: mostly surface scattering
    "vegetation": (-8.5, -13.5),  # crops: volume scattering
    "forest": (-7.5, -12.0),  # tree crowns: volume scattering, relatively strong in VH
    "roof": (-8.5, -18.0),  # flat roofs: as bright as trees in VV, as dark as lawns in VH
    "double_bounce": (4.0, -11.0),  # dihedral wall-ground facing the radar: very bright VV, weak VH
    "shadow": (-27.0, -31.0),
    "point": (10.0, 0.0),
    "metal": (2.0, -11.0),
    "tank_roof": (-6.0, -15.0),
}


@dataclass
class SyntheticSAR:
    """A generated dataset: images in linear intensity, labels, evidence masks, class names and metadata."""

    images: np.ndarray  # float32 (N, C, H, W), linear intensity
    labels: np.ndarray  # int64 (N,)
    masks: np.ndarray  # bool (N, H, W): the pixels that make the class
    classes: list[str]
    polarizations: tuple[str, ...]  # channel names, e.g. ("VV", "VH")
    params: dict = field(default_factory=dict)
    boxes: np.ndarray | None = None  # int64 (N, 4) x0, y0, x1, y1 inclusive (targets only)
    shadow_masks: np.ndarray | None = None  # bool (N, H, W) radar shadow (targets only)
    clean: np.ndarray | None = None  # float32 (N, C, H, W) the scene before speckle, when asked for

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, index: np.ndarray | list[int] | slice) -> SyntheticSAR:
        """The samples at ``index`` as a new dataset (arrays are views where numpy allows)."""

        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[index]

        return SyntheticSAR(
            images=self.images[index],
            labels=self.labels[index],
            masks=self.masks[index],
            classes=self.classes,
            polarizations=self.polarizations,
            params=dict(self.params),
            boxes=pick(self.boxes),
            shadow_masks=pick(self.shadow_masks),
            clean=pick(self.clean),
        )


# --------------------------------------------------------------------------------------------------------
# Small raster tools (numpy only, vectorised over the whole chip)
# --------------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=32)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    return x, y


@functools.lru_cache(maxsize=64)
def _gauss_transfer(size: int, corr: float) -> np.ndarray:
    """Gaussian low-pass transfer function on the rfft2 grid, scaled so that filtered white noise has unit variance."""
    f = np.fft.fftfreq(size)
    fy, fx = np.meshgrid(f, np.fft.rfftfreq(size), indexing="ij")
    transfer = np.exp(-2.0 * (math.pi * corr) ** 2 * (fx**2 + fy**2))
    full_fy, full_fx = np.meshgrid(f, f, indexing="ij")
    power = np.mean(np.exp(-4.0 * (math.pi * corr) ** 2 * (full_fx**2 + full_fy**2)))
    return (transfer / math.sqrt(power)).astype(np.float32)


def smooth_noise(rng: np.random.Generator, size: int, corr: float) -> np.ndarray:
    """Zero-mean, unit-variance Gaussian noise with a Gaussian correlation of ``corr`` pixels (periodic)."""
    white = rng.standard_normal((size, size), dtype=np.float32)
    if corr <= 0.3:
        return white
    spectrum = scipy.fft.rfft2(white) * _gauss_transfer(size, round(2.0 * corr) / 2.0)  # 0.5 px steps: cached
    return scipy.fft.irfft2(spectrum, s=(size, size)).astype(np.float32, copy=False)


def texture(rng: np.random.Generator, size: int, corr: float, db_std: float) -> np.ndarray:
    """A unit-mean multiplicative texture whose dB values have standard deviation ``db_std``."""
    sigma = db_std * math.log(10.0) / 10.0
    return np.exp(sigma * smooth_noise(rng, size, corr) - 0.5 * sigma * sigma).astype(np.float32)


def rotated_coords(size: int, cx: float, cy: float, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates in a frame centred at (cx, cy) and rotated by ``angle`` (radians): (along, across)."""
    x, y = _grid(size)
    c, s = math.cos(angle), math.sin(angle)
    dx, dy = x - cx, y - cy
    return dx * c + dy * s, -dx * s + dy * c


def rect(size: int, cx: float, cy: float, half_len: float, half_wid: float, angle: float) -> np.ndarray:
    """Boolean mask of a rotated rectangle."""
    u, v = rotated_coords(size, cx, cy, angle)
    return (np.abs(u) <= half_len) & (np.abs(v) <= half_wid)


def disk(size: int, cx: float, cy: float, radius: float) -> np.ndarray:
    """Boolean mask of a disk."""
    x, y = _grid(size)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius * radius


def shift_x(mask: np.ndarray, dx: int) -> np.ndarray:
    """The mask moved by ``dx`` pixels along x (positive: away from the sensor), padded with False."""
    out = np.zeros_like(mask)
    if dx > 0:
        out[..., dx:] = mask[..., :-dx]
    elif dx < 0:
        out[..., :dx] = mask[..., -dx:]
    else:
        out[...] = mask
    return out


def sweep_x(mask: np.ndarray, length: float) -> np.ndarray:
    """Union of the mask moved by 0 .. ``length`` pixels along x (sign gives the direction): layover/shadow."""
    n = int(round(abs(length)))
    sign = 1 if length >= 0 else -1
    out = mask.copy()
    for k in range(1, n + 1):
        out |= shift_x(mask, sign * k)
    return out


def near_range_edge(mask: np.ndarray, width: int = 1) -> np.ndarray:
    """Pixels of ``mask`` on its sensor-facing (left) side: where walls meet the ground (double bounce)."""
    edge = mask & ~shift_x(mask, 1)
    for k in range(2, width + 1):
        edge |= mask & ~shift_x(mask, k)
    return edge


def dilate(mask: np.ndarray, radius: int = 1) -> np.ndarray:
    """Binary dilation by a (2 radius + 1) square."""
    out = mask.copy()
    for _ in range(radius):
        grown = out.copy()
        grown[1:, :] |= out[:-1, :]
        grown[:-1, :] |= out[1:, :]
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        out = grown
    return out


class _Scene:
    """A clean two-polarization backscatter scene being painted, material by material."""

    def __init__(self, size: int, rng: np.random.Generator, n_channels: int = 2) -> None:
        self.size = size
        self.f = size / 100.0  # scale of the 100 x 100 reference patch (about 10 m pixels)
        self.rng = rng
        self.sigma = np.zeros((n_channels, size, size), np.float32)
        self.n_channels = n_channels
        self.textured = np.zeros((size, size), bool)  # where vegetation with crown/row texture was painted
        self.field_texture = np.ones((size, size), np.float32)  # the background's texture, reused by distractors

    def level(self, material: str, jitter_db: float = 1.0) -> np.ndarray:
        """Linear backscatter of a material for each channel, with a random per-use jitter in dB."""
        db = np.asarray(MATERIALS_DB[material][: self.n_channels], np.float32)
        db = db + self.rng.uniform(-jitter_db, jitter_db)
        return np.power(10.0, db / 10.0).astype(np.float32)

    def paint(self, mask: np.ndarray, material: str, tex: np.ndarray | None = None, jitter_db: float = 1.0):
        """Set the backscatter under ``mask`` to the material's level (optionally times a texture)."""
        lvl = self.level(material, jitter_db)
        for c in range(self.n_channels):
            values = lvl[c] if tex is None else lvl[c] * tex[mask]
            self.sigma[c][mask] = values
        self.textured = (self.textured | mask) if material == "forest" else (self.textured & ~mask)

    def paint_db(self, mask: np.ndarray, vv_db: float, vh_db: float, tex: np.ndarray | None = None):
        """Set the backscatter under ``mask`` to explicit levels in dB (VV, VH), optionally textured."""
        for c, db in enumerate((vv_db, vh_db)[: self.n_channels]):
            lvl = np.float32(10.0 ** (db / 10.0))
            self.sigma[c][mask] = lvl if tex is None else lvl * tex[mask]
        self.textured &= ~mask

    def points(self, xs: np.ndarray, ys: np.ndarray, material: str, spread_db: float = 3.0):
        """Point scatterers at integer pixel positions (clipped to the chip), each with its own strength."""
        xs = np.clip(np.round(xs).astype(int), 0, self.size - 1)
        ys = np.clip(np.round(ys).astype(int), 0, self.size - 1)
        base = np.asarray(MATERIALS_DB[material][: self.n_channels], np.float32)
        db = base[:, None] + self.rng.uniform(-spread_db, spread_db, size=(1, xs.size)).astype(np.float32)
        for c in range(self.n_channels):
            self.sigma[c, ys, xs] = np.maximum(self.sigma[c, ys, xs], np.power(10.0, db[c] / 10.0))
        mask = np.zeros((self.size, self.size), bool)
        mask[ys, xs] = True
        return mask

    def buildings(self, footprint: np.ndarray, layover: float | np.ndarray, angle: float | np.ndarray) -> np.ndarray:
        """Render buildings from their footprints: roof, layover towards the sensor (``layover`` pixels, per
        pixel or for all), radar shadow away from it (0.6 x the layover: incidence about 37 degrees) and double
        bounce where each wall meets the ground. ``angle`` is the walls' direction (radians from the x axis, per
        pixel or for all): walls parallel to the flight track (the y axis) give the dihedral's bright VV and weak
        VH; walls turned towards 45 degrees lose VV and gain VH (depolarisation). Returns footprint, shadow and
        layover together."""
        n = self.size
        foot = np.asarray(footprint, bool)
        turned = np.broadcast_to(np.sin(2.0 * np.asarray(angle, np.float32)) ** 2, foot.shape)
        turned = np.where(foot, turned, 0.0).astype(np.float32)  # 0 aligned with the track, 1 at 45 degrees
        height = np.where(foot, np.broadcast_to(np.asarray(layover, np.float32), foot.shape), 0.0)
        shadow_len = 0.6 * height
        layover_mask = np.zeros((n, n), bool)
        shadow_mask = np.zeros((n, n), bool)
        layover_turn = np.zeros((n, n), np.float32)
        for k in range(1, int(math.ceil(float(height.max(initial=0.0)))) + 1):
            reach = (shift_x(height, -k) >= k) & ~layover_mask  # the wall of a building k pixels further away
            layover_turn[reach] = shift_x(turned, -k)[reach]
            layover_mask |= reach
            shadow_mask |= shift_x(shadow_len, k) >= k
        layover_mask &= ~foot
        shadow_mask &= ~foot & ~layover_mask
        self.paint(foot, "roof")
        self.paint(shadow_mask, "shadow", jitter_db=1.5)
        jitter = self.rng.uniform(-1.0, 1.0)
        self.add_db(layover_mask, -5.0 - 3.0 * layover_turn + jitter, -14.0 + 5.0 * layover_turn + jitter)
        edge = near_range_edge(foot)
        jitter = self.rng.uniform(-2.0, 2.0)
        self.set_db(edge, 4.0 - 8.0 * turned + jitter, -15.0 + 8.0 * turned + jitter)
        return foot | shadow_mask | layover_mask

    def set_db(self, mask: np.ndarray, vv_db: np.ndarray, vh_db: np.ndarray) -> None:
        """Set the backscatter under ``mask`` to per-pixel levels in dB (full-size arrays, VV and VH)."""
        for c, db in enumerate((vv_db, vh_db)[: self.n_channels]):
            self.sigma[c][mask] = np.power(10.0, np.asarray(db, np.float32)[mask] / 10.0)
        self.textured &= ~mask

    def add_db(self, mask: np.ndarray, vv_db: np.ndarray, vh_db: np.ndarray) -> None:
        """Add per-pixel levels in dB under ``mask`` (layover: wall and ground in the same resolution cell)."""
        for c, db in enumerate((vv_db, vh_db)[: self.n_channels]):
            self.sigma[c][mask] += np.power(10.0, np.asarray(db, np.float32)[mask] / 10.0)


# --------------------------------------------------------------------------------------------------------
# Urban scenes
# --------------------------------------------------------------------------------------------------------


def _urban_background(s: _Scene) -> None:
    """Fields of bare soil and vegetation with a random vegetated share (the canvas of every class)."""
    rng, n, f = s.rng, s.size, s.f
    field_noise = smooth_noise(rng, n, 12.0 * f)
    veg = field_noise > np.quantile(field_noise, 1.0 - rng.uniform(0.1, 0.7))
    s.field_texture = texture(rng, n, 5.0 * f, 1.5)  # within-field roughness and moisture variations
    s.paint(~veg, "soil", tex=s.field_texture)
    s.paint(veg, "vegetation", tex=s.field_texture)


def _blobs(s: _Scene, allowed: np.ndarray, fraction: float, corr: float) -> np.ndarray:
    """Irregular blobs covering about ``fraction`` of the chip, only where ``allowed``."""
    count = int(round(fraction * s.size * s.size))
    if count <= 0 or not allowed.any():
        return np.zeros_like(allowed)
    noise = smooth_noise(s.rng, s.size, corr)[allowed]
    count = min(count, noise.size)
    out = np.zeros_like(allowed)
    out[allowed] = noise >= np.partition(noise, noise.size - count)[noise.size - count]
    return out


def _urban_distractors(s: _Scene, evidence: np.ndarray) -> None:
    """Clutter common to all classes, added outside the evidence until the scene's share of dark,
    textured-vegetation and bright pixels reaches targets drawn independently of the class.

    This is what makes global brightness statistics uninformative: an airport or highway scene is not darker,
    and a dense low-rise scene not brighter, than any other scene on average; only the structure differs.
    """
    rng, n, f = s.rng, s.size, s.f
    free = ~dilate(evidence, 2)
    vv_db = 10.0 * np.log10(s.sigma[0])
    # Dark: smooth wet fields, ponds, parking lots (calm and specular surfaces), as irregular blobs.
    need = rng.uniform(0.05, 0.45) - float((vv_db < -17.0).mean())
    dark = _blobs(s, free & (vv_db >= -17.0), need, rng.uniform(4.0, 10.0) * f)
    vv = rng.uniform(-28.0, -18.0)
    s.paint_db(dark, vv, vv - rng.uniform(5.0, 7.0), tex=s.field_texture)
    # Textured vegetation: tree clumps and woods with crown texture.
    need = rng.uniform(0.0, 0.35) - float(s.textured.mean())
    woods = _blobs(s, free & ~dark, need, rng.uniform(3.0, 8.0) * f)
    s.paint(woods, "forest", tex=texture(rng, n, 1.0 * f, 3.0))
    # Bright: industrial yards and metal clutter, as small rough patches.
    vv_db = 10.0 * np.log10(s.sigma[0])
    need = rng.uniform(0.0, 0.12) - float((vv_db > -3.0).mean())
    bright = _blobs(s, free & ~dark & ~woods, need, rng.uniform(1.0, 2.5) * f)
    vv = rng.uniform(-2.0, 3.0)
    s.paint_db(bright, vv, vv - rng.uniform(9.0, 12.0), tex=texture(rng, n, 0.5, 4.0))
    k = rng.integers(0, 25)  # isolated point scatterers: poles, cars, corner reflectors
    s.points(rng.uniform(0, n, k), rng.uniform(0, n, k), "point", spread_db=6.0)


def _airport(s: _Scene) -> np.ndarray:
    """A runway with edge lights, a parallel taxiway and an apron with a few hangars, on grass."""
    rng, n, f = s.rng, s.size, s.f
    angle = rng.uniform(0, math.pi)
    cx, cy = n / 2 + rng.uniform(-0.2, 0.2, 2) * n
    half_w = rng.uniform(2.5, 4.0) * f  # 50-80 m wide
    runway = rect(n, cx, cy, 2 * n, half_w, angle)
    gap = half_w + rng.uniform(8.0, 13.0) * f
    side = rng.choice([-1.0, 1.0])
    tx, ty = cx - side * gap * math.sin(angle), cy + side * gap * math.cos(angle)
    taxiway = rect(n, tx, ty, rng.uniform(0.25, 0.45) * n, 1.5 * f, angle)
    strip = rect(n, cx, cy, 2 * n, gap + 4.0 * f, angle) & ~runway & ~taxiway
    s.paint(strip, "grass", tex=s.field_texture)
    s.paint(runway | taxiway, "asphalt", jitter_db=2.0)
    # Edge lights: a dotted line of point scatterers along both edges of the runway.
    t = np.arange(-n, n, rng.uniform(4.0, 6.0) * f)
    xs, ys = [], []
    for sgn in (-1.0, 1.0):
        off = sgn * (half_w + 1.0)
        xs.append(cx + t * math.cos(angle) - off * math.sin(angle))
        ys.append(cy + t * math.sin(angle) + off * math.cos(angle))
    xs, ys = np.concatenate(xs), np.concatenate(ys)
    inside = (xs >= 0) & (xs < n) & (ys >= 0) & (ys < n)
    lights = s.points(xs[inside], ys[inside], "metal", spread_db=2.0)
    evidence = runway | taxiway | lights
    if rng.random() < 0.5:  # an apron beyond the taxiway with two or three hangars
        ax, ay = tx - side * 6.0 * f * math.sin(angle), ty + side * 6.0 * f * math.cos(angle)
        apron = rect(n, ax, ay, rng.uniform(8.0, 14.0) * f, 4.0 * f, angle)
        s.paint(apron, "asphalt", jitter_db=1.5)
        hangars = np.zeros((n, n), bool)
        for k in range(int(rng.integers(2, 4))):
            off = (k - 1) * 6.0 * f
            hx = ax + off * math.cos(angle) - side * 5.0 * f * math.sin(angle)
            hy = ay + off * math.sin(angle) + side * 5.0 * f * math.cos(angle)
            hangars |= rect(n, hx, hy, 2.2 * f, 1.6 * f, angle)
        evidence |= apron | s.buildings(hangars, rng.uniform(0.8, 1.5) * f, angle)
    return evidence


def _highway(s: _Scene) -> np.ndarray:
    """One or two dual carriageways (dark asphalt) with guard rails, vehicles and tree-lined embankments."""
    rng, n, f = s.rng, s.size, s.f
    evidence = np.zeros((n, n), bool)
    for _road in range(1 + int(rng.random() < 0.4)):
        angle = rng.uniform(0, math.pi)
        cx, cy = n / 2 + rng.uniform(-0.25, 0.25, 2) * n
        u, v = rotated_coords(n, cx, cy, angle)
        v = v - rng.uniform(-0.006, 0.006) / f * u * u  # a gentle curve
        half_w = rng.uniform(2.0, 3.0) * f
        carriage = np.abs(v) <= half_w
        rails = (np.abs(v) > half_w) & (np.abs(v) <= half_w + 1.0)
        median = np.abs(v) <= 0.5
        verge = (np.abs(v) > half_w + 1.0) & (np.abs(v) <= half_w + 1.0 + rng.uniform(1.0, 3.0) * f)
        if rng.random() < 0.5:
            s.paint(verge, "forest", tex=texture(rng, n, 1.0 * f, 3.0))
        else:
            s.paint(verge, "grass", tex=s.field_texture)
        s.paint(carriage, "asphalt", jitter_db=2.0)
        s.paint(rails | median, "metal", jitter_db=2.0)
        k = rng.integers(2, 8)
        idx = rng.choice(np.flatnonzero(carriage), size=min(k, int(carriage.sum())), replace=False)
        s.points(idx % n, idx // n, "point", spread_db=3.0)
        evidence |= carriage | rails | verge
    return evidence


def _railway(s: _Scene) -> np.ndarray:
    """A gravel bed with two to four tracks (metal rails), catenary masts and sometimes a train."""
    rng, n, f = s.rng, s.size, s.f
    angle = rng.uniform(0, math.pi)
    cx, cy = n / 2 + rng.uniform(-0.25, 0.25, 2) * n
    u, v = rotated_coords(n, cx, cy, angle)
    tracks = int(rng.integers(2, 5))
    pitch = rng.uniform(4.5, 6.0) * f
    half_bed = tracks * pitch / 2 + 1.5 * f
    bed = np.abs(v) <= half_bed
    s.paint(bed, "gravel")
    rails = np.zeros((n, n), bool)
    for k in range(tracks):
        centre = (k - (tracks - 1) / 2) * pitch
        for r in (-1.0, 1.0):
            rails |= np.abs(v - centre - r * 1.2 * f) <= 0.5
    s.paint(rails, "metal", jitter_db=1.5)
    if rng.random() < 0.4:  # a train on one track: a bright line of wagons with gaps
        centre = (int(rng.integers(tracks)) - (tracks - 1) / 2) * pitch
        start = rng.uniform(-n, 0)
        wagons = (np.abs(v - centre) <= 1.2 * f) & (u > start) & (u < start + rng.uniform(0.4, 1.0) * n)
        wagons &= (u % (3.0 * f)) < 2.4 * f
        s.paint(wagons, "metal", jitter_db=1.5)
    t = np.arange(-n, n, rng.uniform(6.0, 9.0) * f)  # catenary masts along one side
    off = half_bed - 0.5
    xs = cx + t * math.cos(angle) - off * math.sin(angle)
    ys = cy + t * math.sin(angle) + off * math.cos(angle)
    inside = (xs >= 0) & (xs < n) & (ys >= 0) & (ys < n)
    s.points(xs[inside], ys[inside], "point", spread_db=2.0)
    return bed


def _vegetation(s: _Scene) -> np.ndarray:
    """Crop parcels and woodland: straight-edged fields, each with its own crop (level) and row direction,
    and a share of forest. Volume scattering: VH is only 4-5 dB below VV."""
    rng, n, f = s.rng, s.size, s.f
    region, u, v, _ = _district(s, 0.3, 0.45)
    pitch = rng.uniform(14.0, 22.0) * f
    cell = np.floor(u / pitch) * 1000 + np.floor(v / pitch)
    hashed = (np.sin(cell * 78.233 + rng.uniform(0, 100)) * 43758.5453) % 1.0
    level_db = -12.0 + 5.0 * hashed  # VV from -12 to -7 dB, one crop per parcel
    period = rng.uniform(2.5, 4.0) * f
    rows = np.where(hashed * 10 % 1.0 > 0.5, u, v)
    tex = (1.0 + 0.6 * np.sin(2 * math.pi * rows / period)) * texture(rng, n, 0.5, 1.5)
    for c, offset in enumerate((0.0, -rng.uniform(4.0, 5.0))):
        s.sigma[c][region] = (10 ** ((level_db + offset) / 10) * tex)[region]
    woods = region & (hashed < rng.uniform(0.2, 0.5))  # some parcels are woodland
    s.paint(woods, "forest", tex=texture(rng, n, 1.0 * f, 3.0))
    boundary = ((u % pitch) < 1.0) | ((v % pitch) < 1.0)  # tracks and hedges between parcels
    s.paint(region & boundary & ~woods, "soil")
    s.textured |= region
    return region


def _district(s: _Scene, low: float = 0.22, high: float = 0.35) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """A rotated rectangular district (half-sides ``low``-``high`` of the chip) and its frame (u, v, angle)."""
    rng, n = s.rng, s.size
    angle = rng.uniform(0, math.pi / 2)
    cx, cy = rng.uniform(0.38, 0.62, 2) * n
    u, v = rotated_coords(n, cx, cy, angle)
    region = (np.abs(u) <= rng.uniform(low, high) * n) & (np.abs(v) <= rng.uniform(low, high) * n)
    return region, u, v, angle


def _built_up(s: _Scene, pitch: float, fill: tuple[float, float], keep: float, height: tuple[float, float],
              trees: float, jitter: float, low: float = 0.25, high: float = 0.38) -> np.ndarray:
    """A built-up district: a lattice of ``pitch`` pixels with one building per kept cell (a share ``keep`` of
    the cells; footprint sides ``fill`` of the pitch; layover ``height`` pixels; turned by up to ``jitter``
    radians from the street grid), lawns and bare ground between them, and trees covering a share ``trees``
    of the open ground. Returns the district (the class's evidence)."""
    rng, n = s.rng, s.size
    region, u, v, angle = _district(s, low, high)
    iu, iv = np.floor(u / pitch).astype(np.int64), np.floor(v / pitch).astype(np.int64)
    iu0, iv0 = int(iu[region].min()), int(iv[region].min())
    shape = (int(iu[region].max()) - iu0 + 1, int(iv[region].max()) - iv0 + 1)
    iu, iv = np.clip(iu - iu0, 0, shape[0] - 1), np.clip(iv - iv0, 0, shape[1] - 1)  # outside: masked below
    kept = rng.random(shape) < keep
    half_u = 0.5 * pitch * rng.uniform(*fill, shape)
    half_v = 0.5 * pitch * rng.uniform(*fill, shape)
    turn = rng.uniform(-jitter, jitter, shape)
    slack_u, slack_v = 0.5 * pitch - half_u, 0.5 * pitch - half_v
    off_u, off_v = rng.uniform(-1, 1, shape) * slack_u, rng.uniform(-1, 1, shape) * slack_v
    du = u - (iu + iu0 + 0.5) * pitch - off_u[iu, iv]
    dv = v - (iv + iv0 + 0.5) * pitch - off_v[iu, iv]
    c, si = np.cos(turn[iu, iv]), np.sin(turn[iu, iv])
    ru, rv = du * c + dv * si, -du * si + dv * c
    footprint = region & kept[iu, iv] & (np.abs(ru) <= half_u[iu, iv]) & (np.abs(rv) <= half_v[iu, iv])
    s.paint(region, "grass", tex=s.field_texture)
    bare = _blobs(s, region, rng.uniform(0.0, 0.3) * float(region.mean()), 2.0 * s.f)
    s.paint(bare & ~footprint, "soil", tex=s.field_texture)
    crowns = _blobs(s, region & ~dilate(footprint, 1), trees * float(region.mean()), 1.2 * s.f)
    s.paint(crowns, "forest", tex=texture(rng, n, 1.0 * s.f, 3.0))
    lengths = rng.uniform(*height, shape)[iu, iv]
    s.buildings(footprint, lengths, angle + turn[iu, iv])
    return region


def _dense_low(s: _Scene) -> np.ndarray:
    """Dense low-rise housing: small houses packed on a fine lattice, few trees, short layover."""
    rng, f = s.rng, s.f
    return _built_up(s, rng.uniform(3.2, 4.6) * f, (0.55, 0.85), rng.uniform(0.75, 0.98),
                     (0.4 * f, 1.5 * f), rng.uniform(0.0, 0.28), rng.uniform(0.0, 0.4))


def _general_residential(s: _Scene) -> np.ndarray:
    """General residential: detached houses on a coarser lattice with gardens and street trees."""
    rng, f = s.rng, s.f
    return _built_up(s, rng.uniform(4.0, 5.6) * f, (0.45, 0.75), rng.uniform(0.6, 0.9),
                     (0.4 * f, 1.5 * f), rng.uniform(0.18, 0.46), rng.uniform(0.0, 0.4))


def _high_buildings(s: _Scene) -> np.ndarray:
    """Mid- and high-rise blocks: slabs on a wide lattice with layover of 4-10 pixels (40-80 m tall)."""
    rng, f = s.rng, s.f
    return _built_up(s, rng.uniform(9.5, 13.5) * f, (0.35, 0.6), rng.uniform(0.4, 0.8),
                     (3.5 * f, rng.uniform(6.5, 11.5) * f), rng.uniform(0.05, 0.3), 0.15, 0.2, 0.3)


def _skyscraper(s: _Scene) -> np.ndarray:
    """Skyscrapers: few towers far apart, layover and shadow reaching 7-20 pixels (100-250 m tall)."""
    rng, f = s.rng, s.f
    return _built_up(s, rng.uniform(10.5, 14.5) * f, (0.3, 0.55), rng.uniform(0.3, 0.7),
                     (rng.uniform(5.5, 8.5) * f, rng.uniform(11.0, 18.0) * f), rng.uniform(0.05, 0.3), 0.15,
                     0.2, 0.3)


def _halls(s: _Scene, count: int, long_side: tuple[float, float], short_side: tuple[float, float],
           spacing: float) -> tuple[np.ndarray, float, float, float, np.ndarray]:
    """``count`` large flat-roofed halls in a row, sides in pixels; returns (footprints, cx, cy, angle, yard)."""
    rng, n = s.rng, s.size
    angle = rng.uniform(0, math.pi)
    cx, cy = rng.uniform(0.38, 0.62, 2) * n
    a = rng.uniform(*long_side)
    footprints = np.zeros((n, n), bool)
    b_all = rng.uniform(*short_side, count)
    total = float(b_all.sum() * 2 + spacing * (count - 1))
    offset = -total / 2
    c, si = math.cos(angle), math.sin(angle)
    for b in b_all:
        centre = offset + b
        hx, hy = cx - centre * si, cy + centre * c
        footprints |= rect(n, hx, hy, a * rng.uniform(0.8, 1.0), b, angle)
        offset += 2 * b + spacing
    yard = rect(n, cx, cy, a + 3.0 * s.f, total / 2 + 3.0 * s.f, angle)
    return footprints, cx, cy, angle, yard


def _hall_site(s: _Scene, count: int, short_side: tuple[float, float], spacing: float, paved: float
               ) -> tuple[np.ndarray, np.ndarray, float, float, float, np.ndarray]:
    """Halls in a row on a paved or gravel yard with parked vehicles or containers and roof furniture: the
    common ground of SingleBuilding and StorageArea. Returns (extent, footprints, cx, cy, angle, yard)."""
    rng, n, f = s.rng, s.size, s.f
    footprint, cx, cy, angle, yard = _halls(s, count, (9.0 * f, 16.0 * f), short_side, spacing)
    s.paint(yard, "asphalt" if rng.random() < paved else "gravel", jitter_db=1.5)
    free = np.flatnonzero(yard & ~footprint)
    idx = rng.choice(free, size=min(int(rng.integers(8, 35)), free.size), replace=False)  # vehicles, containers
    s.points(idx % n, idx // n, "metal", spread_db=4.0)
    extent = s.buildings(footprint, rng.uniform(1.0, 2.5) * f, angle) | yard
    idx = rng.choice(np.flatnonzero(footprint), size=int(rng.integers(4, 12)), replace=False)  # roof furniture
    s.points(idx % n, idx // n, "metal")
    return extent, footprint, cx, cy, angle, yard


def _single_building(s: _Scene) -> np.ndarray:
    """One large low building (a hall, a mall, a factory), sometimes with an annex, on its car park."""
    f = s.f
    count = 1 + int(s.rng.random() < 0.4)
    extent, *_ = _hall_site(s, count, (4.5 * f, 9.5 * f), 2.5 * f, paved=0.7)
    return extent


def _storage_area(s: _Scene) -> np.ndarray:
    """A storage area: rows of warehouses on a yard of containers, and in about half of them a group of tanks."""
    rng, n, f = s.rng, s.size, s.f
    extent, footprint, cx, cy, angle, yard = _hall_site(s, int(rng.integers(2, 5)), (2.5 * f, 6.0 * f), 3.0 * f,
                                                        paved=0.3)
    if rng.random() < 0.45:
        radius = rng.uniform(2.5, 4.5) * f
        c, si = math.cos(angle), math.sin(angle)
        side = rng.choice([-1.0, 1.0])
        base = (yard.sum() ** 0.5) * 0.5 + radius + 2.0 * f
        tanks = np.zeros((n, n), bool)
        for k in range(int(rng.integers(2, 5))):
            along = (k - 1) * 2.6 * radius
            tx = cx + along * c - side * base * si
            ty = cy + along * si + side * base * c
            tanks |= disk(n, tx, ty, radius * rng.uniform(0.85, 1.0))
        shadow = sweep_x(tanks, rng.uniform(1.0, 2.5) * f) & ~tanks
        s.paint(tanks, "tank_roof", jitter_db=1.0)
        s.paint(shadow, "shadow")
        s.paint(near_range_edge(tanks, 1), "double_bounce", jitter_db=1.5)
        extent |= tanks | shadow
    return extent


_URBAN_PAINTERS: dict[str, Callable[[_Scene], np.ndarray]] = {
    "Airport": _airport,
    "DenseLow": _dense_low,
    "GeneralResidential": _general_residential,
    "HighBuildings": _high_buildings,
    "Highway": _highway,
    "Railway": _railway,
    "SingleBuilding": _single_building,
    "Skyscraper": _skyscraper,
    "StorageArea": _storage_area,
    "Vegetation": _vegetation,
}


def _image_rngs(kind: str, seed: int, index: int, speckle_seed: int | None) -> tuple:
    """Independent random streams per image: one for the scene, one for its speckle realisation."""
    tag = sum(ord(ch) for ch in kind)
    scene = np.random.default_rng([seed, index, tag, 0])
    speck = np.random.default_rng([seed, index, tag, 1] + ([] if speckle_seed is None else [2, speckle_seed]))
    return scene, speck


NOISE_FLOOR_DB = -26.0  # Sentinel-1 IW's noise-equivalent sigma0: the darkest VH (ponds, asphalt, shadow) sinks into it


def _calibrate(sigma: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The scene as the sensor records it: a random calibration gain (common, plus a small VH offset) and the
    thermal noise floor added to every pixel of both channels (before speckle, as the noise is speckled too)."""
    gain = rng.uniform(-3.0, 3.0) + np.array([0.0, rng.uniform(-1.0, 1.0)], np.float32)
    clean = sigma * np.power(10.0, gain / 10.0).astype(np.float32)[:, None, None]
    return (clean + np.float32(10.0 ** (NOISE_FLOOR_DB / 10.0))).astype(np.float32)


def _urban_scene(kind: str, label: int | None, size: int, seed: int, index: int,
                 speckle_seed: int | None) -> tuple[np.ndarray, np.ndarray, np.random.Generator]:
    """The calibrated clean scene of class ``label`` (None: background and distractors only), its evidence mask
    and the random stream of its speckle."""
    rng, speck_rng = _image_rngs(kind, seed, index, speckle_seed)
    scene = _Scene(size, rng, n_channels=2)
    _urban_background(scene)
    evidence = np.zeros((size, size), bool) if label is None else _URBAN_PAINTERS[URBAN_CLASSES[label]](scene)
    _urban_distractors(scene, evidence)
    return _calibrate(scene.sigma, rng), evidence, speck_rng


def render_urban_background(size: int, seed: int, index: int, looks: float = 4.4) -> np.ndarray:
    """A scene of background and distractors only (no class painted), speckled: (2, H, W) linear intensity.

    It is what every class is painted on, so pasting it over a scene's evidence (or around it) changes the class
    content and nothing else: the interventions that test the evidence masks (``data.replace_region``)."""
    clean, _, speck_rng = _urban_scene("urban-background", None, size, seed, index, None)
    return sar.speckle(clean, looks, speck_rng).astype(np.float32)


def class_sequence(counts: list[int] | np.ndarray) -> np.ndarray:
    """Labels with ``counts[k]`` samples of class k, interleaved so that every prefix holds the classes in about
    the same proportions (class k's j-th sample sits at (j + 0.5) / counts[k] of the way)."""
    counts = np.asarray(counts, np.int64)
    if counts.ndim != 1 or counts.size == 0 or (counts < 0).any() or counts.sum() == 0:
        raise ValueError(f"counts must be non-negative per-class counts with a positive total, got {counts.tolist()}")
    labels = np.repeat(np.arange(counts.size), counts)
    position = np.concatenate([(np.arange(c) + 0.5) / c for c in counts if c > 0])
    return labels[np.lexsort((labels, position))].astype(np.int64)


def render_urban(label: int, size: int, seed: int, index: int, looks: float = 4.4,
                 speckle_seed: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One urban scene of class ``label``: (speckled image (2, H, W), clean scene (2, H, W), evidence mask)."""
    clean, evidence, speck_rng = _urban_scene("urban", label, size, seed, index, speckle_seed)
    image = sar.speckle(clean, looks, speck_rng)
    return image, clean.astype(np.float32), evidence


# --------------------------------------------------------------------------------------------------------
# Vehicle-like targets (MSTAR-like chips: one channel, X-band spotlight, single look)
# --------------------------------------------------------------------------------------------------------

# Per class: body half-length and half-width (pixels at 128 x 128, about 0.3 m), height (shadow length),
# and the parts: ("pt", u, v) point, ("line", u0, v0, u1, v1) line, ("ring", u, v, r) ring, ("disk", u, v, r),
# in body units (u, v in [-1, 1] span the body; r in units of the half-width).
_TARGET_SHAPES: dict[str, dict] = {
    "box_truck": dict(L=24, W=10, h=12, parts=[("pt", -1, -1), ("pt", -1, 1), ("pt", 1, -1), ("pt", 1, 1),
                                                ("line", 0.45, -1, 0.45, 1)]),
    "tanker": dict(L=26, W=9, h=9, parts=[("line", -0.85, 0, 0.5, 0), ("pt", 0.8, -0.9), ("pt", 0.8, 0.9)]),
    "turret_tracked": dict(L=20, W=11, h=8, parts=[("ring", -0.1, 0, 0.55), ("line", -0.1, 0, 1.7, 0)]),
    "low_tracked": dict(L=20, W=11, h=6, parts=[("pt", u, s) for u in np.linspace(-0.9, 0.9, 6)
                                                 for s in (-0.95, 0.95)]),
    "six_wheeler": dict(L=22, W=8, h=9, parts=[("pt", u, s) for u in (-0.7, -0.35, 0.7) for s in (-1.1, 1.1)]),
    "eight_wheeler": dict(L=28, W=9, h=10, parts=[("pt", u, s) for u in (-0.75, -0.45, 0.45, 0.75)
                                                   for s in (-1.1, 1.1)]),
    "launcher": dict(L=24, W=10, h=14, parts=[("line", -0.9, -0.35, 0.95, -0.35),
                                              ("line", -0.9, 0.35, 0.95, 0.35)]),
    "dish_carrier": dict(L=16, W=9, h=16, parts=[("disk", -0.45, 0, 0.8), ("pt", 0.6, 0)]),
    "dozer": dict(L=14, W=12, h=8, parts=[("line", 1.2, -1.2, 1.2, 1.2), ("pt", -0.8, 0)]),
    "compact_van": dict(L=12, W=7, h=7, parts=[("pt", 1, -1), ("pt", 1, 1)]),
}


TARGET_CLUTTER_SHARE = 0.7  # share of chips with bright man-made or natural clutter beside the target


def _target_clutter(s: _Scene, keep_out: np.ndarray, f: float) -> None:
    """One or two pieces of the bright clutter real chips contain, kept off the target and its shadow: a building
    edge (double-bounce line, roof and shadow), a tree line (bright crowns with a shadow), corner reflectors
    or poles (very bright points with sidelobes), or part of another vehicle at the chip's edge."""
    rng, n = s.rng, s.size
    x, y = _grid(n)
    for kind in rng.choice(4, size=int(rng.integers(1, 3)), replace=False):
        if kind == 0:  # a building: its radar-facing wall is a bright line
            bx, by = rng.uniform(0, n, 2)
            roof = rect(n, bx, by, rng.uniform(10, 40) * f, rng.uniform(8, 20) * f, rng.uniform(0, math.pi))
            shadow = sweep_x(roof, rng.uniform(4, 12) * f) & ~roof
            wall = near_range_edge(roof, 2)
            s.sigma[0][(roof | shadow) & ~keep_out] = 0.0
            s.sigma[0][roof & ~keep_out] = 10 ** (rng.uniform(-12, -6) / 10) * texture(rng, n, 1.0, 3.0)[
                roof & ~keep_out]
            s.sigma[0][shadow & ~keep_out] = 10 ** (-29.0 / 10)
            s.sigma[0][wall & ~keep_out] = 10 ** (rng.uniform(2, 12) / 10) * texture(rng, n, 0.5, 3.0)[
                wall & ~keep_out]
        elif kind == 1:  # a tree line: volume scattering with a shadow behind it
            strip = rect(n, *rng.uniform(0, n, 2), rng.uniform(30, 90) * f, rng.uniform(2, 6) * f,
                         rng.uniform(0, math.pi))
            shadow = sweep_x(strip, rng.uniform(3, 8) * f) & ~strip
            s.sigma[0][shadow & ~keep_out] = 10 ** (-27.0 / 10)
            crowns = strip & ~keep_out
            s.sigma[0][crowns] = 10 ** (rng.uniform(-7, -1) / 10) * texture(rng, n, 1.0 * f, 4.0)[crowns]
        elif kind == 2:  # corner reflectors or poles: very bright points with cross-shaped sidelobes
            for _ in range(int(rng.integers(1, 4))):
                px, py = rng.uniform(0, n, 2)
                peak = 10 ** (rng.uniform(12, 24) / 10)
                level = peak * 10 ** (-np.maximum(np.abs(x - px), np.abs(y - py)) * rng.uniform(3, 6) / 10)
                arms = ((np.abs(x - px) < 0.5) | (np.abs(y - py) < 0.5)) & (level > s.sigma[0]) & ~keep_out
                s.sigma[0][arms] = level[arms]
        else:  # part of another vehicle at an edge of the chip
            side = int(rng.integers(4))
            depth = rng.uniform(-4, 8) * f  # how far the vehicle's centre is inside the chip
            along = rng.uniform(0.15, 0.85) * n
            vx, vy = [(depth, along), (n - depth, along), (along, depth), (along, n - depth)][side]
            body = rect(n, vx, vy, rng.uniform(14, 24) * f, rng.uniform(7, 11) * f, rng.uniform(0, math.pi)) & ~keep_out
            s.sigma[0][body] = 10 ** (rng.uniform(-9, -4) / 10) * texture(rng, n, 1.0, 3.0)[body]
            if body.any():
                idx = rng.choice(np.flatnonzero(body), size=min(int(rng.integers(4, 12)), int(body.sum())),
                                 replace=False)
                s.points(idx % n, idx // n, "point", spread_db=5.0)


def _target_scene(s: _Scene, label: int) -> tuple[np.ndarray, np.ndarray]:
    """Clutter, distractors and one target of class ``label``; returns (target mask, shadow mask)."""
    rng, n = s.rng, s.size
    f = n / 128.0
    s.sigma[0] = 10 ** (-16.0 / 10) * texture(rng, n, 2.0 * f, 2.5) * texture(rng, n, 14.0 * f, 1.5)
    for _ in range(rng.integers(0, 4)):  # bushes and berms: brighter clutter clumps
        cx, cy = rng.uniform(0, n, 2)
        clump = disk(n, cx, cy, rng.uniform(3.0, 8.0) * f)
        s.sigma[0][clump] *= 10 ** (rng.uniform(3.0, 7.0) / 10)
    k = rng.integers(0, 8)  # rocks, posts: isolated point scatterers
    s.points(rng.uniform(0, n, k), rng.uniform(0, n, k), "point", spread_db=5.0)

    shape = _TARGET_SHAPES[TARGET_CLASSES[label]]
    half_len, half_wid = shape["L"] * f * rng.uniform(0.93, 1.07), shape["W"] * f * rng.uniform(0.93, 1.07)
    shadow_len = shape["h"] * f * rng.uniform(0.9, 1.2)
    reach = 1.75 * half_len  # the longest part (a barrel) reaches about this far from the centre
    margin = reach + 2
    cx = rng.uniform(margin, n - margin - shadow_len)
    cy = rng.uniform(margin, n - margin)
    keep_out = disk(n, cx + shadow_len / 2, cy, reach + shadow_len / 2 + 4 * f)
    if rng.random() < TARGET_CLUTTER_SHARE:
        _target_clutter(s, keep_out, f)
    angle = rng.uniform(0, 2 * math.pi)
    c, si = math.cos(angle), math.sin(angle)

    def to_xy(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        uu, vv = np.asarray(u) * half_len, np.asarray(v) * half_wid
        return cx + uu * c - vv * si, cy + uu * si + vv * c

    body = rect(n, cx, cy, half_len, half_wid, angle)
    parts = np.zeros((n, n), bool)
    for part in shape["parts"]:
        kind = part[0]
        if kind == "pt":
            xs, ys = to_xy(np.array([part[1]]), np.array([part[2]]))
        elif kind == "line":
            t = np.linspace(0, 1, int(4 * max(half_len, half_wid)))
            xs, ys = to_xy(part[1] + t * (part[3] - part[1]), part[2] + t * (part[4] - part[2]))
        else:  # ring or disk, radius in half-widths
            r = part[3] * half_wid / half_len
            if kind == "ring":
                t = np.linspace(0, 2 * math.pi, 40)
                xs, ys = to_xy(part[1] + r * np.cos(t), part[2] + r * np.sin(t) * half_len / half_wid)
            else:
                m = disk(n, *to_xy(part[1], part[2]), part[3] * half_wid)
                ys, xs = np.nonzero(m)
        xs = np.concatenate([xs, xs + 0.5 * c])  # two pixels thick along the body axis
        ys = np.concatenate([ys, ys + 0.5 * si])
        parts |= s.points(xs, ys, "point", spread_db=3.0)
    target = body | parts
    shadow = sweep_x(target, shadow_len) & ~target
    s.sigma[0][shadow] = 10 ** (-30.0 / 10) * rng.uniform(0.7, 1.4)
    s.sigma[0][body] = 10 ** (rng.uniform(-9.0, -5.0) / 10) * texture(rng, n, 1.0, 3.0)[body]
    k = rng.integers(4, 9)  # random bright facets all over the body
    idx = rng.choice(np.flatnonzero(body), size=min(k, int(body.sum())), replace=False)
    s.points(idx % n, idx // n, "point", spread_db=6.0)
    s.points(*np.nonzero(parts)[::-1], "point", spread_db=3.0)  # the class's parts stay on top
    s.sigma[0][target] *= np.float32(10 ** (rng.uniform(-7.0, 2.0) / 10))  # dim and bright vehicles alike
    return target, shadow


def render_target(label: int, size: int, seed: int, index: int, looks: float = 1.0,
                  speckle_seed: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One target chip of class ``label``: (speckled image (1, H, W), clean (1, H, W), target mask, shadow)."""
    rng, speck_rng = _image_rngs("targets", seed, index, speckle_seed)
    scene = _Scene(size, rng, n_channels=1)
    target, shadow = _target_scene(scene, label)
    clean = scene.sigma * np.float32(10 ** (rng.uniform(-3.0, 3.0) / 10))
    return sar.speckle(clean, looks, speck_rng), clean.astype(np.float32), target, shadow


def mask_box(mask: np.ndarray) -> np.ndarray:
    """Inclusive bounding box (x0, y0, x1, y1) of the True pixels of a 2-D mask; (-1, -1, -1, -1) if empty."""
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return np.array([-1, -1, -1, -1], np.int64)
    return np.array([xs.min(), ys.min(), xs.max(), ys.max()], np.int64)
