"""A small results tree made by the project's real writers, for the table and figure tests:
synthetic outputs (blends of scikit-image's public-domain photos) -> sidecars -> metrics files."""

import torch
from skimage import data

from dtp_core.images import resize, save_png, to_tensor
from dtp_core.method import StylizeResult
from dtp_core.outputs import save_result, save_status
from dtp_bench.metrics.evaluate import evaluate_many

SIZE = 48
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
DATASETS = {"Photo-R": ["dpst", "photonas"], "CelebA-HQ": ["celeba-hq"], "FFHQ": ["ffhq"]}
SETTINGS = {"enabled": ["ssim", "pieapp", "histogram"]}  # no VGG: fast; PieAPP absent: unavailable


def _make_output(method, content, style):
    if method in ("identity",):
        return content
    if method == "dtp_lc1_5":
        return content * 0.8 + style * 0.2
    if method == "dtp_no_cycle":
        return content * 0.5 + style * 0.5
    raise ValueError(method)


def make_run(root):
    """Write outputs and metrics files under `root`; returns the metrics files. PieAPP is unavailable."""
    old_hub = torch.hub.get_dir()
    torch.hub.set_dir(str(root / "hub"))  # empty hub cache: PieAPP is unavailable
    images = {}
    for name in PHOTOS:
        images[name] = root / "data" / f"{name}.png"
        save_png(images[name], resize(getattr(data, name)(), (SIZE, SIZE)))
    pairs = {"dpst": [("1", "astronaut", "coffee"), ("2", "chelsea", "rocket")],
             "photonas": [("7", "coffee", "chelsea")],
             "celeba-hq": [("a", "rocket", "astronaut"), ("b", "astronaut", "chelsea"), ("c", "coffee", "rocket")],
             "ffhq": [("x", "chelsea", "coffee")]}
    jobs = []
    for dataset, rows in pairs.items():
        for pair_id, c, s in rows:
            context = {"dataset": dataset, "pair_id": pair_id, "content_file": str(images[c]), "style_file": str(images[s])}
            content, style = to_tensor(resize(getattr(data, c)(), (SIZE, SIZE))), to_tensor(resize(getattr(data, s)(), (SIZE, SIZE)))
            for method in ("identity", "dtp_lc1_5", "dtp_no_cycle", "wct"):
                context["method"] = method
                out = root / "results" / "outputs" / dataset / method / f"{pair_id}.png"
                if method == "wct":
                    save_status(out, "unavailable", "unavailable: needs WCT.t7 from https://example.org (fetch it)", context)
                elif method == "dtp_lc1_5" and (dataset, pair_id) == ("celeba-hq", "c"):
                    save_status(out, "failed", "RuntimeError: CUDA out of memory", context)
                else:
                    facts = {"seconds": 1.5 if method.startswith("dtp") else 0.01, "peak_rss_mib": 100.0,
                             "backbone": "vgg16" if method.startswith("dtp") else None,
                             "backbone_note": "stand-in" if method.startswith("dtp") else ""}
                    save_result(StylizeResult(_make_output(method, content, style), facts), out, extra_facts=context)
                jobs.append({"sidecar": out.with_suffix(".json"),
                             "out": root / "results" / "metrics" / dataset / method / f"{pair_id}.json"})
    evaluate_many(jobs, SETTINGS)
    torch.hub.set_dir(old_hub)
    return sorted((root / "results" / "metrics").glob("*/*/*.json"))
