"""Turn a real picture of a digit into an MNIST-like input, the way MNIST itself was made.

MNIST digits are white strokes on black, size-normalized to fit a 20x20 box (keeping the
aspect ratio, anti-aliased, hence grey levels) and placed in a 28x28 image so that their
centre of mass sits at the centre. A photo or a drawing is different in every respect: any
size, often dark ink on light paper, off-centre. So:
    1. grayscale; transparent parts count as paper
    2. polarity: if the border (the background) is brighter than the image mean, invert,
       so that the digit is bright on black
    3. subtract the background level, scale the brightest pixel to 1
    4. crop to the bounding box of the ink, fit the longer side into 20 px (Lanczos)
    5. paste into 28x28 with the centre of mass at (14, 14)
"""

from __future__ import annotations

import os

import numpy as np

from nn2gpt.errors import UserError


MAX_SIDE = 4096  # pixels: a photo of a digit needs far fewer (MNIST is 28x28); decoding is checked first


def open_gray(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as a float (H, W) array in [0, 255].

    The size comes from the file's header, before any pixel is decoded: a 12000x12000 PNG is
    157 KB on disk but 4.5 GB as float arrays, so anything wider or taller than MAX_SIDE is
    refused with a one-line error instead of filling the memory."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    from nn2gpt.files import check_file

    path = check_file(path, "image", "give the path of a PNG/JPEG picture of a digit")
    try:
        with warnings.catch_warnings():  # Pillow's own "decompression bomb" warning: our check comes first
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
    except Image.DecompressionBombError:
        raise UserError(f"image {path} is far too large to decode; shrink it to at most "
                        f"{MAX_SIDE}x{MAX_SIDE} pixels first") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise UserError(f"{path} is not an image Pillow can read ({e.__class__.__name__}); "
                        f"give a PNG or JPEG picture of a digit") from None
    width, height = im.size
    if max(width, height) > MAX_SIDE:
        im.close()
        raise UserError(f"image {path} is {width}x{height} pixels, more than the {MAX_SIDE}x{MAX_SIDE} this "
                        f"command reads; shrink it first (a digit needs only a few hundred pixels a side)")
    try:
        with im:
            im.load()
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                im = im.convert("RGBA")
                paper = Image.new("RGBA", im.size, (255, 255, 255, 255))
                im = Image.alpha_composite(paper, im)
            return np.asarray(im.convert("L"), dtype=np.float64)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise UserError(f"{path} is not an image Pillow can read ({e.__class__.__name__}); "
                        f"give a PNG or JPEG picture of a digit") from None


def mnist_like(gray: np.ndarray, trace=None) -> np.ndarray:
    """(H, W) grayscale in [0, 255] -> (784,) pixels in [0, 1], bright digit on black, centred.

    `trace(name, array)`, if given, sees the image at every stage.
    """
    from PIL import Image

    g = gray.astype(np.float64)
    if trace:
        trace("image, grayscale", g)
    border = np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
    if np.median(border) > g.mean():                    # light paper, dark ink: invert
        g = 255.0 - g
        border = 255.0 - border
    g = np.clip(g - np.median(border), 0, None)         # background -> 0
    if g.max() <= 0:
        raise UserError("the image is blank (one flat colour); give a picture with a digit on it")
    g /= g.max()
    ink = g > 0.2                                       # ignore faint noise when finding the box
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    g = g[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]   # (h, w) bounding box
    if trace:
        trace("cropped to the ink's bounding box", g)
    h, w = g.shape
    scale = 20.0 / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))  # PIL wants (width, height)
    small = Image.fromarray((g * 255).astype(np.uint8)).resize(size, Image.Resampling.LANCZOS)
    digit = np.asarray(small, dtype=np.float64) / 255.0  # (<=20, <=20)
    if trace:
        trace("fitted into 20x20, aspect kept", digit)
    # centre of mass -> (14, 14); np.roll-free: compute the top-left corner and paste
    total = digit.sum()
    ys, xs = np.indices(digit.shape)
    cy, cx = (ys * digit).sum() / total, (xs * digit).sum() / total
    top, left = int(round(14 - cy)), int(round(14 - cx))
    top = min(max(top, 0), 28 - digit.shape[0])         # keep the whole digit inside
    left = min(max(left, 0), 28 - digit.shape[1])
    canvas = np.zeros((28, 28))
    canvas[top:top + digit.shape[0], left:left + digit.shape[1]] = digit
    if trace:
        trace("centred by mass in 28x28", canvas)
    return canvas.reshape(784)


def load_digit(path: str | os.PathLike, trace=None) -> np.ndarray:
    """Image file -> (784,) MNIST-like input."""
    return mnist_like(open_gray(path), trace)
