"""Every dataset the project uses, declared once: where it lives, where it comes from, its hash.

A file's `path` is relative to a data directory (e.g. `mnist/train-images-idx3-ubyte.gz`),
the same layout as ../shared/data, the `NN2GPT_DATA` directory and the user cache.
`urls` are tried in order; the sha256 is checked before a file is ever used.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RemoteFile:
    path: str  # relative to a data directory
    urls: tuple[str, ...]  # canonical public source first, then mirrors
    sha256: str
    size: int  # bytes, for the progress bar and a quick truncation check


def _mnist(name: str, sha: str, size: int) -> RemoteFile:
    return RemoteFile(
        f"mnist/{name}",
        (f"https://ossci-datasets.s3.amazonaws.com/mnist/{name}",  # torchvision's mirror of the originals
         f"http://yann.lecun.com/exdb/mnist/{name}"),
        sha, size)


def _multi30k(name: str, sha: str, size: int) -> RemoteFile:
    return RemoteFile(
        f"multi30k/{name}",
        (f"https://raw.githubusercontent.com/multi30k/dataset/a3d2e0d26b56f3846f66a952536ffed4e401d05a/data/task1/raw/{name}",),
        sha, size)


_GPT2 = "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main"

DATASETS: dict[str, dict[str, RemoteFile]] = {
    "mnist": {f.path.split("/")[-1]: f for f in [
        _mnist("train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422),
        _mnist("train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881),
        _mnist("t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877),
        _mnist("t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542),
    ]},
    "tinyshakespeare": {"input.txt": RemoteFile(
        "tinyshakespeare/input.txt",
        ("https://raw.githubusercontent.com/karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare/input.txt",),
        "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed", 1115394)},
    "multi30k": {f.path.split("/")[-1]: f for f in [
        _multi30k("train.de.gz", "726e39b2fa9eb9ffb6dc763fb35a179f80fae06ffc5d28b6ace5faa883de28a6", 637044),
        _multi30k("train.en.gz", "d79cfa999dd4c51d2cb42499b6796d5a882c3a8a961923c25a898c90f8bbd56f", 568929),
        _multi30k("val.de.gz", "f0cba2f995189cf5770f29a8a9a537a3ad3f51657ad873405082ff6863a5e75a", 24681),
        _multi30k("val.en.gz", "14f7d25ddd868909a9213e361768460edcacdd6ab9d1e77b92560dc10c10dc28", 21650),
        _multi30k("test_2016_flickr.de.gz", "9204244e408ccb38d2a55cfcd344df15005fc42a07a6e55ca6c52b6ababb8cc8", 22890),
        _multi30k("test_2016_flickr.en.gz", "611d361c6334bc7246101d48097c13cf5c4413c5befc793cc629934359d532d9", 21077),
    ]},
    "spa-eng": {"spa-eng.zip": RemoteFile(
        "spa-eng/spa-eng.zip",
        ("http://storage.googleapis.com/download.tensorflow.org/data/spa-eng.zip",),
        "0c4fd7825d3d872488d38c157f784e035edab4f2ff0df25a2a208790ecb5b58f", 2638744)},
    "gpt2": {
        "encoder.json": RemoteFile("gpt2/encoder.json", (f"{_GPT2}/encoder.json",),
                                   "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783", 1042301),
        "vocab.bpe": RemoteFile("gpt2/vocab.bpe", (f"{_GPT2}/vocab.bpe",),
                                "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5", 456318),
    },
}
