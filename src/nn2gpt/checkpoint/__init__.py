"""Checkpoints that are safe to load and safe to write (the format, and what it promises).

Safe to load: weights and optimizer state are safetensors (raw arrays plus a JSON header),
everything else is plain JSON. Nothing here ever unpickles, so a checkpoint from a stranger
cannot run code on your machine.

Safe to write: a kill at any moment leaves the previous checkpoint loadable. A run directory
looks like this::

    run/
      latest                 one line: the name of the current checkpoint directory
      config.json            a readable copy of the checkpoint's config, written after each save
      ckpt-00000500/
        weights.safetensors  model weights, float32 numpy arrays
        optimizer.safetensors  (optional) optimizer moments, for --resume
        meta.json            config, tokenizer, training state, sha256 of each file

A save writes a *new* directory under a temporary name, fsyncs every file, renames the
directory to `ckpt-<step>` (atomic), then atomically replaces `latest` (one small file written
by `os.replace`). Only then are older checkpoints deleted (all but the newest `keep`). Until
`latest` changes, loaders see the old checkpoint; afterwards, the new one, complete.

Safe to read while a run trains: readers take no writer's lock, but each load holds a *shared*
`flock` on the run directory from reading `latest` to opening the last file, and the writer
deletes old checkpoints only under an *exclusive* one (nn2gpt.dirlock). So a checkpoint
disappears only when no reader can be opening it; when readers keep the run busy for longer
than a moment, the old checkpoints simply go at the next save. A reader that still finds its
checkpoint gone (a file system without flock) reads `latest` again and loads the new one.

Trust nothing unchecked. The sha256 of each array file is in meta.json, and meta.json has its
own (`meta_sha256`, over everything else in it: config, tokenizer, state), so a file damaged
later (a truncated copy, a flipped byte) is named. Its `format` must be one this code knows.
Format 1 (the first release) had no `meta_sha256`; such a checkpoint still loads, guarded by
the checks every load makes whatever its format: every weight finite, and (in the loaders of
each chapter) the tokenizer, the config and every tensor's shape agreeing with each other.
A checksum catches accidents, not forgeries (anyone can recompute one): those checks are what
keeps a hand-edited checkpoint from ending in a traceback or in silent nonsense.

The config that counts is the one inside the checkpoint (meta.json): it changes together with
the weights, in the same rename. `config.json` beside it is a copy for people and is written
only after the switch, so a new run started with --overwrite and killed before its first save
leaves the old run whole: its checkpoint, its config, its metrics. A save that fails (a full
disk, a permission) is one UserError that says the previous checkpoint is intact.

The package in three parts, each read on its own:

    save.py      writing a checkpoint: save_checkpoint, the atomic switch, old checkpoints deleted
    load.py      reading and checking one: load_checkpoint, read_config, latest_checkpoint_dir,
                 the names of its files and formats; run_kind, a directory's kind
    nn2gpt.runkinds  the kinds of run directory (KINDS, EXPORT_MARK, refuse_kind, ...): below
                 the checkpoint, since reading one refuses a folder of another kind

Every name other modules use is importable from here, as before the split. The package imports
numpy, json, safetensors.numpy and nn2gpt's base modules only, never torch nor a chapter, so the
numpy GPT (chapter 5) reads and writes the same files as the PyTorch one.
"""

from nn2gpt.checkpoint.load import (FORMAT, FORMATS, LATEST, META, OPTIMIZER, WEIGHTS, Checkpoint, checkpoint_dir,
                                    has_checkpoint, latest_checkpoint_dir, load_checkpoint, meta_digest, read_config,
                                    require_vocab, run_kind)
from nn2gpt.checkpoint.save import save_checkpoint
from nn2gpt.runkinds import EXPORT_MARK, KINDS, config_kind, describe, refuse_kind, require_kind

__all__ = ["FORMAT", "FORMATS", "LATEST", "META", "OPTIMIZER", "WEIGHTS", "Checkpoint", "checkpoint_dir",
           "has_checkpoint", "latest_checkpoint_dir", "load_checkpoint", "meta_digest", "read_config", "require_vocab",
           "run_kind", "save_checkpoint", "EXPORT_MARK", "KINDS", "config_kind", "describe",
           "refuse_kind", "require_kind"]
