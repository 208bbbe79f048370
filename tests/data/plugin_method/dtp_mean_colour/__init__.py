"""The declaration dtp-bench reads (entry point `dtp_bench.methods`): plain data, no torch import.
The config class and the stylize function are named by import path and loaded when needed."""

METHOD = {
    "stylize": "dtp_mean_colour.method:stylize",
    "config": "dtp_mean_colour.config:MeanColourConfig",
    "kind": "baseline",
    "description": "example plugin: the content blended with the style's mean colour",
    "table_label": "Mean colour (plugin)",
    "needs_gpu": False,
}
