"""The paper's Table 1 (Kim, Kim, Kim, AAAI 2022; SPEC.md), as published: PieAPP (PE, lower is
better) and SSIM (higher is better) between output and content. None = not reported ("-")."""

from __future__ import annotations

DATASETS = ("Photo-R", "CelebA-HQ", "FFHQ")
METRICS = ("pieapp", "ssim")  # PE, SSIM

# row label -> {(dataset, metric): value}; row labels are what `MethodSpec.paper_row` names.
_ROWS = {
    "Gatys et al.":        (3.09, 0.44, 4.37, 0.66, 1.97, 0.69),
    "WCT":                 (2.48, 0.22, None, None, None, None),
    "WCT2":                (1.99, 0.70, None, None, None, None),
    "STROTSS":             (3.23, 0.37, 1.81, 0.60, 1.65, 0.66),
    "Swapping AE":         (2.92, 0.22, 0.89, 0.60, 1.13, 0.58),
    "CoCosNet":            (None, None, 1.56, 0.43, None, None),
    "SinIR":               (1.00, 0.84, 1.56, 0.84, 1.28, 0.93),
    "DTP, lambda_c = 4/5": (1.36, 0.75, 0.79, 0.86, 1.4, 0.93),
    "DTP, lambda_c = 1/5": (1.09, 0.82, 0.47, 0.96, 1.21, 0.98),
}
_CELLS = [(dataset, metric) for dataset in DATASETS for metric in METRICS]
TABLE1: dict[str, dict[tuple[str, str], float | None]] = {
    row: dict(zip(_CELLS, values)) for row, values in _ROWS.items()}
ROWS = tuple(_ROWS)


def value(row: str, dataset: str, metric: str) -> float | None:
    return TABLE1.get(row, {}).get((dataset, metric))
