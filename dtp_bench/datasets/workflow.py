"""Parse-time helpers for Snakemake: targets, and what each job's wildcards stand for.

    DATASETS = DatasetsWorkflow.from_config(config)
    DATASETS.targets()                       # every pair list, summary and resized image configured
    DATASETS.pair_ids("photo-r")             # for the stylisation fan-out
    DATASETS.resized("photo-r", "dpst-1", "content", "256x256")

Everything is computed from the definitions and the config, so the DAG is known before anything
is fetched (no checkpoints).
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from dtp_core.errors import ConfigError
from dtp_core.fetch import Expected

from . import layout
from .definitions import DatasetDefinition, load_definitions
from .plan import DatasetPlan, Image, Pair, dataset_names, plan_dataset, with_custom
from .settings import DatasetsSettings
from .sources import Location, locate


class DatasetsWorkflow:
    def __init__(self, settings: DatasetsSettings):
        self.settings = settings
        self.definitions: dict[str, DatasetDefinition] = with_custom(load_definitions(settings.definitions), settings)
        # the user's own pairs (datasets.custom) are built whenever they are configured
        self.names = list(dict.fromkeys([*settings.names, *settings.custom]))
        self._raw_files = {(definition.name, f"{file.id}{file.suffix}"): file
                           for definition in self.definitions.values() for file in definition.files.values()}
        for name in self.names:
            self.plan(name)   # every configured name checked now, with one clear error

    @classmethod
    def from_config(cls, config: dict | None) -> "DatasetsWorkflow":
        return cls(DatasetsSettings.from_config(config))

    # --- what to build -------------------------------------------------------------------------
    @functools.lru_cache(maxsize=None)
    def plan(self, name: str) -> DatasetPlan:
        return plan_dataset(name, self.settings, self.definitions)

    def targets(self, names: list[str] | None = None) -> list[str]:
        files = []
        for name in names or self.names:
            files += [str(layout.pair_list_path(name)), str(layout.summary_path(name))]
            files += [str(layout.resized_path(token, key)) for token in self.settings.sizes for key in self.plan(name).images()]
        return list(dict.fromkeys(files))

    def pair_ids(self, name: str) -> list[str]:
        return [pair.id for pair in self.plan(name).pairs]

    def pair(self, name: str, pair_id: str) -> Pair:
        for pair in self.plan(name).pairs:
            if pair.id == pair_id:
                return pair
        raise ConfigError(f"pair {pair_id}", f"is not a pair of {name}", f"see {layout.pair_list_path(name)}")

    def resized(self, name: str, pair_id: str, role: str, size_token: str) -> str:
        pair = self.pair(name, pair_id)
        return str(layout.resized_path(size_token, {"content": pair.content, "style": pair.style}[role].key))

    # --- what a job's wildcards stand for ------------------------------------------------------
    def location(self, definition: str, file: str) -> Location:
        """The source of `data/raw/<definition>/<file>` under the current mirror setting."""
        return locate(self._source_file(definition, file), self.settings.mirror)

    def resize_source(self, definition: str, image: str) -> str:
        """The file `data/resized/<size>/<definition>/<image>.png` is made from."""
        return str(self._resize_source(definition, image)[0])

    def resize_pin(self, definition: str, image: str) -> Expected | None:
        """What that file must still be when it is resized (None: the user's own file, not fetched)."""
        return self._resize_source(definition, image)[1]

    def _resize_source(self, definition: str, image: str) -> tuple[Path, Expected | None]:
        found = self._images().get(f"{definition}/{image}")
        if found is not None:
            return found.raw, found.location.expected if found.location else None
        files = self.definitions[definition].files if definition in self.definitions else {}
        if image in files:
            suffix = files[image].suffix
            return layout.raw_path(definition, image, suffix), self.location(definition, f"{image}{suffix}").expected
        raise ConfigError(f"data/resized/.../{definition}/{image}.png", "is no image of a configured dataset",
                          "check the path; images are <definition>/<file id> as in config/datasets/*.yaml")

    def pair_list_inputs(self, name: str) -> list[str]:
        return sorted(str(path) for path in self.plan(name).fetches()) + sorted(
            {str(image.raw) for image in self.plan(name).images().values() if image.location is None})

    def fingerprint(self, name: str) -> str:
        """Changes whenever the pair list would: a Snakemake param, so such changes re-run it."""
        plan = self.plan(name)
        facts = {"pairs": [[p.id, p.content.key, p.style.key, p.content.source, p.style.source] for p in plan.pairs],
                 "origin": plan.origin, "pairing": plan.pairing, "dropped": [d.pair_id for d in plan.dropped]}
        return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:16]

    def wildcard_constraints(self) -> dict[str, str]:
        return {"dataset": "|".join(map(_escape, dataset_names(self.definitions))),
                "definition": "|".join(map(_escape, self.definitions)),
                "size": r"\d+x\d+|long\d+"}

    @functools.lru_cache(maxsize=None)
    def _images(self) -> dict[str, Image]:
        return {key: image for name in self.names for key, image in self.plan(name).images().items()}

    def _source_file(self, definition: str, file: str):
        if (definition, file) in self._raw_files:
            return self._raw_files[(definition, file)]
        raise ConfigError(f"data/raw/{definition}/{file}", "is no file of a dataset definition",
                          f"check the path against {self.settings.definitions}/{definition}.yaml")


def _escape(name: str) -> str:
    return name.replace(".", r"\.").replace("+", r"\+")
