"""Real models from the Hugging Face Hub, or from a folder copied by hand: safetensors only.

    model_folder("gpt2", None, files)          the repository's files, downloaded once and cached
                                               where huggingface_hub caches (~/.cache/huggingface)
    model_folder(None, "path/to/folder", ...)  a folder with the same files (--from DIR)
    read_tensors(folder)                       its weights: {name: float32 torch tensor}

Only `*.safetensors` weights are ever read. The older `pytorch_model.bin` (and `.pt`, `.ckpt`,
`.pkl`) are Python pickles: loading one runs whatever code it was made to run, so a folder or
repository that has nothing else is refused, with the reason. The two importers
(gpt/pretrained.py for GPT-2, translate/marian.py for opus-mt) share this module and
`TensorTable`, which turns every missing, left-over or misshapen tensor into one line naming it.
"""

from __future__ import annotations

import json
from pathlib import Path

from nn2gpt.errors import UserError

PICKLES = ("*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl")
HF_FILES = ["*.json", "*.safetensors", "*.spm", "merges.txt"]  # what either importer reads


def model_folder(repo: str | None, from_dir: str | None, needed: tuple[str, ...]) -> Path:
    """The folder that holds `repo`'s files (downloaded through the Hub's cache) or `from_dir`
    itself; UserError when it cannot be reached, lacks one of `needed` or has only pickled weights."""
    if from_dir is not None:
        folder = Path(from_dir)
        if not folder.is_dir():
            raise UserError(f"--from {from_dir} is not a directory; give the folder that holds config.json "
                            f"and model.safetensors")
        where = f"--from {from_dir}"
    else:
        folder, where = _download(repo), repo
    if not list(folder.glob("*.safetensors")):
        pickled = sorted(p.name for pattern in PICKLES for p in folder.glob(pattern))
        has = f"has only pickled weights ({', '.join(pickled)})" if pickled else "has no model.safetensors"
        raise UserError(f"{where} {has}: nn2gpt reads safetensors only, since loading a pickle can run any code; "
                        f"use a repository or folder that has model.safetensors")
    for name in needed:
        if not (folder / name).is_file():
            raise UserError(f"{where} has no {name}; copy the repository's {name} into the folder as well")
    return folder


def _download(repo: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import GatedRepoError, HFValidationError, RepositoryNotFoundError

    by_hand = (f"copy its files (config.json, model.safetensors and the tokenizer's) into a folder by hand "
               f"and pass --from FOLDER")
    try:
        return Path(snapshot_download(repo_id=repo, allow_patterns=HF_FILES))
    except GatedRepoError:
        raise UserError(f"{repo} is gated on the Hugging Face Hub (log in with `hf auth login`), or {by_hand}") from None
    except RepositoryNotFoundError:
        raise UserError(f"there is no repository {repo} on the Hugging Face Hub; check the name "
                        f"(e.g. gpt2, Helsinki-NLP/opus-mt-es-en)") from None
    except HFValidationError:  # e.g. `gpt import ./my-gpt2`: a folder given where a repository name goes
        raise UserError(f"{repo!r} is not a Hugging Face Hub repository name; to import a folder, "
                        f"pass --from FOLDER") from None
    except _unreachable() as e:  # offline (HF_HUB_OFFLINE=1), an HTTP error, no cache, a proxy, a lost connection
        raise UserError(f"cannot reach {repo} on the Hugging Face Hub and it is not in the cache "
                        f"({type(e).__name__}); {by_hand}") from None


def _unreachable() -> tuple[type, ...]:
    """The errors that mean "the Hub cannot be reached": its own HTTP and offline errors are OSErrors
    (as are those of `requests`, which older huggingface_hub versions use); newer versions talk
    through httpx2, whose proxy and connection errors (raised mid-download too) are not."""
    try:
        import httpx2
    except ImportError:
        return (OSError,)
    return (OSError, httpx2.TransportError)


def positive_ints(obj: dict, where: str, keys, least: int = 1, file: str = "config.json") -> None:
    """UserError naming the first of `keys` whose value in `obj` (read from `file`) is not a whole
    number >= `least`: a size of 0, null or "512" would otherwise end in a traceback deep inside."""
    for key in keys:
        if key not in obj:
            raise UserError(f"{where}/{file} has no {key}; it is not a model nn2gpt can import")
        value = obj[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            need = "a positive whole number" if least == 1 else f"a whole number >= {least}"
            raise UserError(f"{where}/{file}: {key} is {value!r}, not {need}; it is not a model nn2gpt can import")


def read_json(folder: Path, name: str) -> dict:
    try:
        obj = json.loads((folder / name).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UserError(f"{folder / name} cannot be read ({e}); copy it again") from None
    if not isinstance(obj, dict):
        raise UserError(f"{folder / name} is not a JSON object; copy it again")
    return obj


def read_tensors(folder: Path) -> dict:
    """Every tensor of the folder's *.safetensors files (one, or a sharded set), as float32, each
    checked as a checkpoint's are (nn2gpt.checkpoint) before the import saves anything: a model's
    weights are floating-point numbers, so an integer or boolean tensor is refused by name (a cast
    would silently turn it into other numbers), and so is any NaN or inf (a diverged or altered
    model would otherwise replace a good run and be blamed on training later). Dtypes are read
    from each file's header, before any tensor is loaded."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    tensors = {}
    for path in sorted(folder.glob("*.safetensors")):
        try:
            with safe_open(str(path), framework="pt") as f:
                dtypes = {name: f.get_slice(name).get_dtype() for name in f.keys()}
            bad = next((n for n, d in sorted(dtypes.items()) if not d.startswith(("F", "BF"))), None)
            if bad is None:
                tensors.update(load_file(str(path)))
        except Exception as e:  # safetensors raises its own SafetensorError for a damaged file
            raise UserError(f"{path} cannot be read as safetensors ({type(e).__name__}: {str(e)[:100]}); "
                            f"download or copy it again") from None
        if bad is not None:
            raise UserError(f"{path}: tensor {bad} holds {dtypes[bad]} numbers, not floating-point weights; "
                            f"it is not a model's weights file (or it was altered), copy the model again")
    out = {}
    for name, t in tensors.items():
        t = t.float()
        if not bool(t.isfinite().all()):
            raise UserError(f"{folder}: tensor {name} holds NaN or inf; the model diverged or its file was "
                            f"altered, so nothing was imported: copy or download the model again")
        out[name] = t
    return out


class TensorTable:
    """The tensors of a checkpoint, taken one by one by name; what is left over or missing is an error."""

    def __init__(self, tensors: dict, where: str, prefixes: tuple[str, ...] = ()):
        # one repository spells "model.encoder..." where another spells "encoder...": drop the prefix
        self.tensors = {}
        for k, v in tensors.items():
            for p in prefixes:
                if k.startswith(p):
                    k = k[len(p):]
                    break
            self.tensors[k] = v
        self.where, self.taken = where, set()

    def has(self, name: str) -> bool:
        return name in self.tensors

    def take(self, name: str, shape: tuple[int, ...]):
        """The tensor `name`, which must have `shape`."""
        if name not in self.tensors:
            raise UserError(f"{self.where} has no tensor {name}; it is not a complete model of this kind")
        t = self.tensors[name]
        if tuple(t.shape) != tuple(shape):
            raise UserError(f"{self.where}: tensor {name} has shape {tuple(t.shape)}, but its config.json "
                            f"asks for {tuple(shape)}; the weights and the config do not belong together")
        self.taken.add(name)
        return t

    def done(self, ignore=lambda name: False) -> None:
        """UserError naming the first tensor nothing took (unless `ignore(name)`)."""
        left = sorted(k for k in self.tensors if k not in self.taken and not ignore(k))
        if left:
            more = f" (and {len(left) - 1} more)" if len(left) > 1 else ""
            raise UserError(f"{self.where} has a tensor nn2gpt's model has no place for: {left[0]}{more}; "
                            f"it is not a model of this kind, or one with a feature nn2gpt does not build")
