"""The plain reference path (the authors' structure, kept for comparison) now lives in
`dtp_core.reference`, so that benchmarks/ imports no test code; this name stays for tests that
import it by its old place."""

from dtp_core.reference import ReferenceStep, reference_forward  # noqa: F401
