"""The run cache: one JSON file per trained run, keyed by everything that decides its result, so
that no run is trained twice.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .. import __version__
from ..architectures import arch_info
from ..arithmetic.determinism import ARITHMETIC_ENV, arithmetic, is_pinned
from ..config import TrainConfig
from .results import (
    ResultsError,
    read_json,
    result_from_dict,
    result_to_dict,
    write_json_atomic,
)
from .schema import Run, RunResult

__all__ = [
    "RunCache",
]


#: Bump to invalidate every cached run (e.g. after a change to the trainer's arithmetic).
# 4: products by richneuron::bmm (richneuron.arithmetic.products); 5: per-member evaluation
CACHE_VERSION = 5


class RunCache:
    """One JSON file per trained run, keyed by everything that decides its result.

    The key hashes the canonical architecture (aliases such as ``v4_glu`` and ``singlu`` share
    entries), task, seed, every :class:`TrainConfig` field, the package version and
    :data:`CACHE_VERSION`. A result read back carries the architecture id it was asked for.
    """

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)

    @staticmethod
    def key_material(run: Run, config: TrainConfig) -> dict:
        return {
            "arch": arch_info(run.arch).canonical,
            "task": run.task,
            "seed": run.seed,
            "config": config.to_dict(),
            "version": __version__,
            "cache": CACHE_VERSION,
            "arithmetic": {"pinned": ARITHMETIC_ENV} if is_pinned() else arithmetic(),
        }

    def path(self, run: Run, config: TrainConfig) -> Path:
        """The cache file of ``run`` under ``config``."""
        text = json.dumps(self.key_material(run, config), sort_keys=True)
        return self.directory / f"{hashlib.sha256(text.encode()).hexdigest()[:24]}.json"

    def get(self, run: Run, config: TrainConfig) -> RunResult | None:
        """The cached result of ``run``, or ``None``; a corrupt entry is deleted and missed."""
        path = self.path(run, config)
        try:
            doc = read_json(path)
            if not isinstance(doc, dict) or doc.get("key") != self.key_material(run, config):
                raise ResultsError(f"{path}: key: does not match the run")
            result = result_from_dict(doc.get("result"), f"{path}: result")
        except FileNotFoundError:
            return None
        except ResultsError:
            path.unlink(missing_ok=True)
            return None
        result.run = run
        return result

    def put(self, result: RunResult, config: TrainConfig) -> None:
        """Store ``result`` (atomically) under its run and ``config``."""
        doc = {"key": self.key_material(result.run, config), "result": result_to_dict(result)}
        write_json_atomic(self.path(result.run, config), doc)
