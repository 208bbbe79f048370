"""The light label table the tables and figures read agrees with the method registry, and loads no torch."""

import subprocess
import sys

from dtp_bench import methods
from dtp_bench.method_labels import KINDS, LABELS, method_info, sort_key


def test_every_registered_method_has_its_row_in_the_registry_order():
    assert list(LABELS) == list(methods.METHODS)  # the tables' order within a kind is this order
    for name, spec in methods.METHODS.items():
        row = LABELS[name]
        assert (spec.kind, spec.description, spec.table_label, spec.paper_row) == \
               (row.kind, row.description, row.table_label, row.paper_row), name
        assert row.kind in KINDS and row.description


def test_labels_of_methods_their_delivered_variants_and_unknown_names():
    assert method_info("gatys")["label"] == "Gatys et al." and method_info("gatys")["paper_row"] == "Gatys et al."
    assert method_info("dtp_no_fma") == {"method": "dtp_no_fma", "label": "dtp_no_fma", "kind": "ablation",
                                         "paper_row": None, "description": LABELS["dtp_no_fma"].description}
    delivered = method_info("dtp_lc1_5@512")
    assert delivered["label"] == "DTP, lambda_c = 1/5, delivered at 512" and delivered["paper_row"] is None
    assert method_info("mine")["kind"] == "unknown"
    order = sorted(["mine", "identity", "dtp_lc1_5@512", "dtp_no_fma", "gatys", "dtp_lc1_5"],
                   key=lambda m: sort_key(method_info(m)))
    assert order == ["dtp_lc1_5", "dtp_lc1_5@512", "gatys", "dtp_no_fma", "identity", "mine"]


def test_the_gather_stage_reads_labels_without_torch():
    code = ("import sys, dtp_bench.tables as t; t.method_info('gatys'); t.table1_methods(t.load_metrics([])); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
