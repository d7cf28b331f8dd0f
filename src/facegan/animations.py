"""Animations written with imageio: small GIFs (few frames, bounded size, one palette per frame) and MP4 videos
(imageio's ffmpeg plugin, which brings its own ffmpeg binary)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facegan.files import atomic_output

MAX_FRAMES = 24
MAX_SIDE = 400  # frames larger than this are halved (2x2 means) until they fit
MACRO_BLOCK = 16  # H.264 frames are padded to a multiple of this


def pick_frames(count: int, most: int = MAX_FRAMES) -> list[int]:
    """Indices of at most ``most`` frames, evenly spread, always the first and the last."""
    if count <= most:
        return list(range(count))
    return sorted({round(i * (count - 1) / (most - 1)) for i in range(most)})


def shrink(frame: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """``frame`` halved (2x2 box means) until neither side exceeds ``max_side``."""
    while max(frame.shape[:2]) > max_side:
        h, w = (frame.shape[0] // 2) * 2, (frame.shape[1] // 2) * 2
        frame = frame[:h, :w].reshape(h // 2, 2, w // 2, 2, -1).mean(axis=(1, 3)).round().astype(np.uint8)
    return frame


def write_gif(frames: list[np.ndarray], out: str | Path, *, fps: float, hold_last: int = 1) -> None:
    """An endlessly looping GIF; the last frame shown ``hold_last`` times as long."""
    import imageio.v3 as iio

    durations = [1000 / fps] * len(frames)
    durations[-1] *= hold_last
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(out) as tmp:
        # Pillow takes a list of durations only for several frames (train.epochs: 1 makes one)
        iio.imwrite(tmp, np.stack(frames), extension=".gif", duration=durations if len(frames) > 1 else durations[0],
                    loop=0)


def _pad(frame: np.ndarray) -> np.ndarray:
    h, w = frame.shape[:2]
    ph, pw = -h % MACRO_BLOCK, -w % MACRO_BLOCK
    return np.pad(frame, ((0, ph), (0, pw), (0, 0)), constant_values=255) if ph or pw else frame


def write_mp4(frames: list[np.ndarray], out: str | Path, *, fps: float, hold_last: int = 1) -> None:
    """An H.264 MP4 (yuv420p, CRF 23: plays in every browser); white padding to whole macro blocks."""
    import imageio.v2 as iio2

    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(out) as tmp:
        writer = iio2.get_writer(tmp, format="FFMPEG", fps=fps, codec="libx264", quality=None, pixelformat="yuv420p",
                                 macro_block_size=1, ffmpeg_params=["-crf", "23"], ffmpeg_log_level="error")
        try:
            for frame in [*frames, *[frames[-1]] * (hold_last - 1)]:
                writer.append_data(_pad(frame))
        finally:
            writer.close()
