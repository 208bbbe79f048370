"""Shared fixtures. Tests never reach the network: downloads are switched off and any socket
connection to a non-loopback address fails the test that makes it."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest
import torch

os.environ["DTP_OFFLINE"] = "1"
# Two threads, as on CI; DTP_TEST_THREADS=1 checks that no result depends on the thread count.
torch.set_num_threads(int(os.environ.get("DTP_TEST_THREADS", min(2, os.cpu_count() or 1))))

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()

_real_connect = socket.socket.connect


def _loopback_only(self, address):
    host = address[0] if isinstance(address, tuple) else None
    if host is not None:
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise RuntimeError(f"test tried to reach the network ({address}); tests must stay offline")
    return _real_connect(self, address)


socket.socket.connect = _loopback_only


def shared(relative: str) -> Path:
    """A file of the benchmark mirror; the test is skipped, saying why, when the mirror is absent."""
    path = SHARED_DATA / relative
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the benchmark mirror {SHARED_DATA} is not beside the checkout (CI provides ../shared)")
    return path


@pytest.fixture(scope="session")
def resolved_weights():
    from dtp_core.backbone import resolve_weights

    return resolve_weights("vgg19", allow_download=False)


@pytest.fixture(scope="session")
def dpst_pair():
    """DPST pair 1 (content in1, style tar1) from the mirror, as file paths."""
    return shared("dpst/in/in1.png"), shared("dpst/tar/tar1.png")


@pytest.fixture(scope="session")
def face_pair():
    return shared("dtp/input/in_celeb_0.png"), shared("dtp/style/tar_celeb_0.png")
