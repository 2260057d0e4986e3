"""Datasets: declared once (registry), found or downloaded and verified (fetch), parsed (loaders)."""

from nn2gpt.data.fetch import cache_dir, fetch, fetch_all, search_dirs
from nn2gpt.data.registry import DATASETS, RemoteFile

__all__ = ["DATASETS", "RemoteFile", "cache_dir", "fetch", "fetch_all", "search_dirs"]
