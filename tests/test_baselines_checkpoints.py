"""baselines.checkpoints: the released files fetched through dtp_core.fetch from a loopback server
(direct URLs and zip members, pinned and unpinned), the messages' fixes, the fetch CLI, and the
reader's handling of a wrapped state dict."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest
import torch

from baselines import checkpoints
from baselines.checkpoints import WeightFile
from dtp_core.errors import FetchError, MethodUnavailable, WeightsFileError
from loopback import serve

PAYLOAD = bytes(range(256)) * 800   # 200 kB


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture()
def host(tmp_path):
    folder = tmp_path / "host"
    folder.mkdir()
    (folder / "enc.pth").write_bytes(PAYLOAD)
    with zipfile.ZipFile(folder / "models.zip", "w") as bundle:
        bundle.writestr("models/a.pth", PAYLOAD)
        bundle.writestr("models/b.pth", PAYLOAD[::-1])
    with serve(folder) as server:
        yield server


def _direct(host, **pins) -> WeightFile:
    return WeightFile(method="wct2", name="enc.pth", source="https://example.org/wct2", url=f"{host.url}/enc.pth",
                      **pins)


def _member(host, member: str, **pins) -> WeightFile:
    return WeightFile(method="wct", name=member, source="https://example.org/wct", archive=f"{host.url}/models.zip",
                      member=member, **pins)


def test_a_direct_file_unpinned_is_fetched_and_its_sha256_returned(host, tmp_path):
    target = tmp_path / "weights" / "wct2" / "enc.pth"
    fetched = checkpoints.fetch(_direct(host), target, attempts=1)
    assert target.read_bytes() == PAYLOAD and fetched.sha256 == _sha(PAYLOAD) and fetched.bytes == len(PAYLOAD)


def test_a_pinned_file_that_differs_is_refused_naming_it_and_the_fix(host, tmp_path):
    target = tmp_path / "wct2" / "enc.pth"
    host.fail("enc.pth", "corrupt")
    with pytest.raises(FetchError, match=r"enc\.pth: has sha256 .* not the pinned .*Fix: .*"
                                         r"put it at .*enc\.pth by hand .*baselines/weights\.yaml") as caught:
        checkpoints.fetch(_direct(host, sha256=_sha(PAYLOAD), bytes=len(PAYLOAD)), target, attempts=3)
    assert host.requests["enc.pth"] == 1 and not target.exists() and _leftovers(target.parent) == []
    assert str(caught.value).count("Fix:") == 1


def test_transient_failures_are_retried_and_then_name_the_rule(host, tmp_path):
    host.fail("enc.pth", "503", "truncate")
    delays: list[float] = []
    fetched = checkpoints.fetch(_direct(host, sha256=_sha(PAYLOAD)), tmp_path / "enc.pth", attempts=3, backoff_s=0.5,
                                sleep=delays.append, report=lambda line: None)
    assert fetched.attempts == 3 and delays == [0.5, 1.0]
    host.fail("enc.pth", "503", "503")
    with pytest.raises(FetchError, match=r"failed 2 times.*Fix: check the connection, then run "
                                         r"`snakemake -- weights_wct2` again"):
        checkpoints.fetch(_direct(host), tmp_path / "again.pth", attempts=2, sleep=delays.append,
                          report=lambda line: None)
    assert not (tmp_path / "again.pth").exists()


def test_a_missing_file_is_a_permanent_error(host, tmp_path):
    info = WeightFile(method="wct2", name="gone.pth", source="s", url=f"{host.url}/gone.pth")
    with pytest.raises(FetchError, match=r"gone\.pth: answers HTTP 404.*Fix: the file is not there: check its url "
                                         r"or archive in baselines/weights\.yaml"):
        checkpoints.fetch(info, tmp_path / "gone.pth", attempts=4)
    assert host.requests["gone.pth"] == 1


def test_zip_members_come_out_of_one_download_and_are_checked(host, tmp_path):
    archive = tmp_path / ".archives" / "wct.zip"
    a = checkpoints.fetch(_member(host, "a.pth", sha256=_sha(PAYLOAD), bytes=len(PAYLOAD)), tmp_path / "wct" / "a.pth",
                          archive=archive, attempts=1)
    b = checkpoints.fetch(_member(host, "b.pth"), tmp_path / "wct" / "b.pth", archive=archive, attempts=1)
    assert host.requests["models.zip"] == 1   # the second member is read from the zip already there
    assert a.sha256 == _sha(PAYLOAD) and b.sha256 == _sha(PAYLOAD[::-1])
    assert a.url == f"{archive}:models/a.pth"
    with pytest.raises(FetchError, match=r"wct\.zip:models/a\.pth: has sha256 .* not the pinned 0{64}.*"
                                         r"nothing written to .*c\.pth.*Fix: "):
        checkpoints.fetch(_member(host, "a.pth", sha256="0" * 64), tmp_path / "wct" / "c.pth", archive=archive)
    with pytest.raises(WeightsFileError, match=r"wct\.zip: holds 0 entries named like 'z\.pth'.*Fix: check "
                                               r"baselines/weights\.yaml's member"):
        checkpoints.fetch(_member(host, "z.pth"), tmp_path / "wct" / "z.pth", archive=archive)
    assert _leftovers(tmp_path / "wct") == ["a.pth", "b.pth"]


def test_a_file_with_no_download_is_unavailable_with_how(tmp_path):
    info = WeightFile(method="cocosnet", name="latest_net_G.pth", source="https://drive.example/folder",
                      how="download the folder by hand")
    with pytest.raises(MethodUnavailable, match=r"needs latest_net_G\.pth from https://drive\.example/folder "
                                                r"\(download the folder by hand\)"):
        checkpoints.fetch(info, tmp_path / "latest_net_G.pth")


def test_the_cli_records_the_sha256_of_an_unpinned_file(host, tmp_path, monkeypatch, capsys):
    files = {"enc.pth": _direct(host), "pinned.pth": _direct(host, sha256=_sha(PAYLOAD))}
    monkeypatch.setattr(checkpoints, "catalogue", lambda method: files)
    assert checkpoints.main(["wct2", "enc.pth", "--dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"{tmp_path / 'wct2' / 'enc.pth'}: {_sha(PAYLOAD)} ({len(PAYLOAD)} bytes from ")
    assert "not pinned: baselines/weights.yaml gives no sha256 for wct2/enc.pth" in printed
    assert f"add sha256: {_sha(PAYLOAD)} and bytes: {len(PAYLOAD)}" in printed
    assert checkpoints.main(["wct2", "pinned.pth", "--dir", str(tmp_path)]) == 0
    assert "not pinned" not in capsys.readouterr().out
    host.fail("enc.pth", "corrupt")
    files["enc.pth"] = _direct(host, sha256=_sha(PAYLOAD))
    assert checkpoints.main(["wct2", "enc.pth", "--dir", str(tmp_path / "other")]) == 1
    assert "wct2/enc.pth: " in capsys.readouterr().err and not (tmp_path / "other" / "wct2" / "enc.pth").exists()


def test_the_cli_fetches_only_the_archive(host, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(checkpoints, "catalogue", lambda method: {"a.pth": _member(host, "a.pth")})
    archive = tmp_path / "wct.zip"
    assert checkpoints.main(["wct", "--archive", str(archive)]) == 0
    assert zipfile.ZipFile(archive).namelist() == ["models/a.pth", "models/b.pth"]
    assert "the zip is not pinned" in capsys.readouterr().out


def test_read_checkpoint_opens_a_state_dict_wrapper_and_names_a_bad_file(tmp_path):
    torch.save({"state_dict": {"w": torch.ones(2)}, "epoch": 4}, tmp_path / "wrapped.pth")
    assert list(checkpoints.read_checkpoint(tmp_path / "wrapped.pth")) == ["w"]
    (tmp_path / "bad.pth").write_bytes(b"junk")
    with pytest.raises(WeightsFileError, match=r"bad\.pth: cannot be read as PyTorch weights .*Fix: download the "
                                               r"authors' file again"):
        checkpoints.read_checkpoint(tmp_path / "bad.pth")
