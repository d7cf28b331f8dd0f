"""Image-quality metrics: sliced Wasserstein distance (always), FID and KID (from Inception features).

SWD follows Karras et al. 2018's reference (``metrics/sliced_wasserstein.py`` of
tkarras/progressive_growing_of_gans) step by step: a Laplacian pyramid from full resolution down to
16x16 (Gaussian [1,4,6,4,1]/16 per axis, mirror padding, as cv2.pyrDown/pyrUp), 128 random 7x7
neighbourhoods per image and level (147-value descriptors), each descriptor set normalised per
colour channel by its own mean and std, then 4 repeats x 128 random unit directions: project, sort,
mean absolute difference. Reported x1e3 per level (``SWDx1e3_<res>``) and averaged. Not comparable
with TF-GAN's ``sliced_wasserstein`` (different patches and normalisation).

FID and KID here are the arithmetic on 2048-d features; the features are the FID paper's Inception
graph's (:mod:`facegan.inception_graph`), so the FID is the one papers report (at their image counts).
"""

from __future__ import annotations

import concurrent.futures
import logging
import os

import numpy as np

log = logging.getLogger(__name__)

NHOOD_SIZE = 7
NHOODS_PER_IMAGE = 128
DIR_REPEATS = 4
DIRS_PER_REPEAT = 128
_G1 = np.float32([1, 4, 6, 4, 1]) / 16.0



# ------------------------------------------------------------------------------------------- SWD


def _convolve_axis(x: np.ndarray, kernel: np.ndarray, axis: int) -> np.ndarray:
    """1-D convolution along ``axis`` with mirror padding (scipy's 'mirror' = numpy's 'reflect')."""
    r = len(kernel) // 2
    pad = [(0, 0)] * x.ndim
    pad[axis] = (r, r)
    xp = np.pad(x, pad, mode="reflect")
    n = x.shape[axis]
    out, term = np.zeros_like(x), np.empty_like(x)
    window = [slice(None)] * x.ndim
    for k, w in enumerate(kernel):
        window[axis] = slice(k, k + n)
        out += np.multiply(w, xp[tuple(window)], out=term)
    return out


def _blur(x: np.ndarray, gain: float = 1.0) -> np.ndarray:
    """The 5x5 Gaussian [1,4,6,4,1]^T [1,4,6,4,1] / 256 over the last two axes (NCHW)."""
    return _convolve_axis(_convolve_axis(x, _G1 * gain, 2), _G1, 3)


def pyr_down(x: np.ndarray) -> np.ndarray:
    return _blur(x)[:, :, ::2, ::2]


def pyr_up(x: np.ndarray) -> np.ndarray:
    n, c, h, w = x.shape
    up = np.zeros((n, c, 2 * h, 2 * w), x.dtype)
    up[:, :, ::2, ::2] = x
    return _blur(up, gain=4.0)


def laplacian_pyramid(images_nchw: np.ndarray, levels: int) -> list[np.ndarray]:
    pyramid = [np.float32(images_nchw)]
    for _ in range(1, levels):
        pyramid.append(pyr_down(pyramid[-1]))
        pyramid[-2] = pyramid[-2] - pyr_up(pyramid[-1])
    return pyramid


def swd_resolutions(resolution: int) -> list[int]:
    res, out = resolution, []
    while res >= 16:
        out.append(res)
        res //= 2
    return out


def descriptors(level_nchw: np.ndarray, rng: np.random.Generator, *, nhood_size: int = NHOOD_SIZE,
                nhoods_per_image: int = NHOODS_PER_IMAGE) -> np.ndarray:
    """``nhoods_per_image`` random ``nhood_size``^2 x C patches per image: ``(N, C, k, k)``, each patch
    transposed (width on axis 2, as the original progressive-GAN code indexes it)."""
    n, c, h, w = level_nchw.shape
    count = nhoods_per_image * n
    r = nhood_size // 2
    x = rng.integers(r, w - r, size=count) - r
    y = rng.integers(r, h - r, size=count) - r
    windows = np.lib.stride_tricks.sliding_window_view(level_nchw, (nhood_size, nhood_size), axis=(2, 3))
    return np.ascontiguousarray(windows[np.arange(count) // nhoods_per_image, :, y, x].swapaxes(2, 3))


def finalize_descriptors(desc: np.ndarray) -> np.ndarray:
    desc = desc - desc.mean(axis=(0, 2, 3), keepdims=True)
    desc /= desc.std(axis=(0, 2, 3), keepdims=True)
    return desc.reshape(desc.shape[0], -1).astype(np.float32, copy=False)


def _sorted_rows(x: np.ndarray) -> np.ndarray:
    """``x`` sorted along its rows, the rows split over the CPU cores (numpy's sort releases the GIL)."""
    workers = max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
                         len(x)))
    if workers == 1:
        return np.sort(x, axis=1)
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return np.concatenate(list(pool.map(lambda part: np.sort(part, axis=1), np.array_split(x, workers))))


def _projections(desc: np.ndarray, dirs: np.ndarray) -> np.ndarray:
    """Each descriptor projected on each direction, sorted: ``(directions, descriptors)``."""
    return _sorted_rows(dirs.T @ desc.T)


def sliced_wasserstein_many(a: np.ndarray, others: list[np.ndarray], rng: np.random.Generator,
                            *, dir_repeats: int = DIR_REPEATS, dirs_per_repeat: int = DIRS_PER_REPEAT,
                            a_cache: list | None = None) -> list[float]:
    """:func:`sliced_wasserstein` of ``a`` against each of ``others`` (same directions; ``a`` projected once).

    ``a_cache``: a list that keeps ``a``'s sorted projections between calls made with the same ``rng`` seed
    (they depend only on ``a`` and the directions), so repeated measurements against ``a`` sort half as much.
    """
    results = [[] for _ in others]
    for repeat in range(dir_repeats):
        dirs = rng.standard_normal((a.shape[1], dirs_per_repeat))
        dirs = (dirs / np.sqrt(np.sum(np.square(dirs), axis=0, keepdims=True))).astype(np.float32)
        if a_cache is not None and repeat < len(a_cache):
            pa = a_cache[repeat]
        else:
            pa = _projections(a, dirs)
            if a_cache is not None:
                a_cache.append(pa)
        for k, b in enumerate(others):
            results[k].append(float(np.mean(np.abs(pa - _projections(b, dirs)))))
    return [float(np.mean(r)) for r in results]


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, *, dir_repeats: int = DIR_REPEATS,
                       dirs_per_repeat: int = DIRS_PER_REPEAT) -> float:
    return sliced_wasserstein_many(a, [b], rng, dir_repeats=dir_repeats, dirs_per_repeat=dirs_per_repeat)[0]


def swd_descriptors(images_uint8_nhwc: np.ndarray, seed: int) -> dict[int, np.ndarray]:
    """Finalised descriptors per pyramid level (keyed by resolution) for a set of images."""
    x = np.transpose(images_uint8_nhwc, (0, 3, 1, 2))
    resolutions = swd_resolutions(x.shape[2])
    if not resolutions:
        raise ValueError(f"SWD needs images of at least 16x16, got {x.shape[2]}x{x.shape[3]}")
    rng = np.random.default_rng(seed)
    pyramid = laplacian_pyramid(x, len(resolutions))
    return {res: finalize_descriptors(descriptors(level, rng)) for res, level in zip(resolutions, pyramid)}


def swd_many(real_desc: dict[int, np.ndarray], fake_descs: list[dict[int, np.ndarray]], *, seed: int = 0,
             real_cache: dict | None = None) -> list[dict]:
    """:func:`swd` of the real set against several others, with the real projections computed once (and kept
    in ``real_cache``, a dict, across calls when one is given)."""
    rng = np.random.default_rng(seed)
    per_level = {res: sliced_wasserstein_many(real_desc[res], [f[res] for f in fake_descs], rng,
                                              a_cache=None if real_cache is None else real_cache.setdefault(res, []))
                 for res in real_desc}
    out = []
    for k in range(len(fake_descs)):
        d = {f"SWDx1e3_{res}": 1e3 * per_level[res][k] for res in real_desc}
        d["SWDx1e3_avg"] = float(np.mean(list(d.values())))
        out.append(d)
    return out


def swd(real_desc: dict[int, np.ndarray], fake_desc: dict[int, np.ndarray], seed: int = 0) -> dict[str, float]:
    """``SWDx1e3_<res>`` per level and ``SWDx1e3_avg``."""
    return swd_many(real_desc, [fake_desc], seed=seed)[0]


# --------------------------------------------------------------------------------------- FID/KID


def frechet_distance(*, mu1, sigma1, mu2, sigma2) -> float:
    """||mu1-mu2||^2 + Tr(S1 + S2 - 2 sqrt(S1 S2)), the square root via the eigenvalues of sqrt(S1) S2 sqrt(S1)."""
    w, v = np.linalg.eigh(sigma1)
    sqrt1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = sqrt1 @ sigma2 @ sqrt1
    tr_sqrt = float(np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None))))
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_sqrt)


def kid(real_feats: np.ndarray, fake_feats: np.ndarray, *, subsets: int = 10, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """Unbiased MMD^2 with the kernel (x.y/d + 1)^3, averaged over random subsets: (mean, std error)."""
    rng = np.random.default_rng(seed)
    d = real_feats.shape[1]
    m = min(subset_size, len(real_feats), len(fake_feats))
    values = []
    for _ in range(subsets):
        x = real_feats[rng.choice(len(real_feats), m, replace=False)]
        y = fake_feats[rng.choice(len(fake_feats), m, replace=False)]
        kxx, kyy, kxy = (x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3
        values.append((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                      - 2 * kxy.mean())
    values = np.asarray(values)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0
