"""Saving and loading a trained digit network: a directory with two files.

    weights.npz   w1, b1, w2, b2, ... (w_l (n_l, n_{l-1}), b_l (n_l, 1)), and the config as
                  UTF-8 JSON bytes ("config"); no pickle inside
    config.json   {"sizes": [...], "cost": ..., "output": ..., "init": ..., "dtype": ..., plus
                  the training settings and results}: a readable copy
Both are written atomically (nn2gpt.files). The weights file carries its own config, so weights
and config change together in one rename: a crash between the two writes leaves a model that
loads as the new one; config.json is never read back. Loading checks every array against the
config and refuses a NaN or an infinity, so a corrupt or altered model is a clear error, never
a prediction.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from nn2gpt.digits.network import Network
from nn2gpt.errors import UserError
from nn2gpt.files import atomic_write_bytes, atomic_write_json

WEIGHTS, CONFIG = "weights.npz", "config.json"


def save_model(net: Network, out_dir: str | os.PathLike, extra: dict | None = None) -> Path:
    out = Path(out_dir)
    arrays = {}
    for l, (w, b) in enumerate(zip(net.weights, net.biases), start=1):
        arrays[f"w{l}"], arrays[f"b{l}"] = w, b
    config = {"sizes": net.sizes, "cost": net.cost, "output": net.output, "init": net.init,
              "dtype": net.dtype.name, **(extra or {})}
    arrays["config"] = np.frombuffer(json.dumps(config, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(out / WEIGHTS, buf.getvalue())  # the switch: weights and their config at once
    atomic_write_json(out / CONFIG, config)
    return out


def load_model(model_dir: str | os.PathLike) -> tuple[Network, dict]:
    """-> (network with the saved weights, config dict). Any problem is a one-line UserError."""
    d = Path(model_dir)
    fix = f"train one with `nn2gpt digits train --out {d}`"
    if d.exists() and not d.is_dir():
        raise UserError(f"{d} is a file, not a model directory; {fix}")
    if not d.is_dir():
        raise UserError(f"model directory {d} does not exist; {fix}")
    path = d / WEIGHTS
    if not path.is_file():
        from nn2gpt.checkpoint import refuse_kind, run_kind

        if run_kind(d) not in (None, "digits"):
            refuse_kind(d, run_kind(d), "digits")
        raise UserError(f"model weights {path} do not exist; {fix}")
    try:
        with np.load(path, allow_pickle=False) as f:
            saved = {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise UserError(f"model weights {path} are corrupt ({e}); {fix}") from None
    if "config" not in saved:
        raise UserError(f"model weights {path} carry no config: `nn2gpt digits train` did not write them; {fix}")
    try:  # the config saved with the weights is the one they were trained with
        config = json.loads(saved.pop("config").tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise UserError(f"model weights {path} are corrupt (their config: {type(e).__name__} {e}); {fix}") from None
    try:
        net = Network(config["sizes"], cost=config["cost"], output=config["output"], init=config["init"],
                      dtype=config.get("dtype", "float64"))
    except (KeyError, TypeError, ValueError) as e:
        raise UserError(f"the config inside {path} is invalid ({type(e).__name__} {e}); {fix}") from None
    expected = {f"{wb}{l}" for l in range(1, net.num_layers) for wb in "wb"}
    if set(saved) - expected:
        raise UserError(f"model weights {path} hold arrays the config has no place for "
                        f"({', '.join(sorted(set(saved) - expected)[:3])}); {fix}")
    for l in range(1, net.num_layers):
        for name, like in ((f"w{l}", net.weights[l - 1]), (f"b{l}", net.biases[l - 1])):
            if name not in saved or saved[name].shape != like.shape:
                got = saved[name].shape if name in saved else "missing"
                raise UserError(f"model weights {path}: {name} is {got}, the config needs {like.shape}; {fix}")
            if saved[name].dtype.kind not in "fiu" or not np.isfinite(saved[name]).all():
                raise UserError(f"model weights {path}: {name} holds NaN, inf or no numbers at all: the network "
                                f"diverged or the file was altered; {fix}")
    net.weights = [saved[f"w{l}"].astype(net.dtype) for l in range(1, net.num_layers)]
    net.biases = [saved[f"b{l}"].astype(net.dtype) for l in range(1, net.num_layers)]
    return net, config
