"""scripts/system_deps.sh: plan first, then stop with one message when nothing can provide a part."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "system_deps.sh"


def _run(tmp_path: Path, *tools: str, purpose: str = "test") -> subprocess.CompletedProcess[str]:
    """Run the script with only ``tools`` on PATH, apt switched off and a cached llama wheel."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("ls", "id", "ln", *tools):
        found = shutil.which(tool)
        assert found is not None, f"{tool} is needed to run this test"
        (bin_dir / tool).symlink_to(found)
    (bin_dir / "python3").symlink_to(sys.executable)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "llama_cpp_python-0.3.36-py3-none-linux_x86_64.whl").touch()
    env = {
        "PATH": str(bin_dir),
        "HOME": str(tmp_path),
        "CADENCE_NO_APT": "1",
        "CADENCE_WHEEL_DIR": str(wheels),
    }
    bash = shutil.which("bash")
    assert bash is not None
    return subprocess.run(
        [bash, str(SCRIPT), purpose, str(tmp_path / "venv")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_part_nothing_can_provide_stops_before_any_setup(tmp_path: Path) -> None:
    """Without apt and without Chromium: exit 1 naming Chromium and its install command, nothing installed."""
    result = _run(tmp_path)
    assert result.returncode == 1
    assert "Chromium" in result.stderr
    assert "sudo apt-get install chromium" in result.stderr
    assert "make test" in result.stderr
    # Planned first: no venv was created and no wheel was installed for the other parts.
    assert not (tmp_path / "venv").exists()
    assert "installing" not in result.stdout


def test_everything_present_is_a_silent_no_op(tmp_path: Path) -> None:
    """With every component on PATH the script prints nothing and succeeds."""
    tools = [t for t in ("redis-server", "dot", "chromium", "c++") if shutil.which(t)]
    assert len(tools) == 4, "this test runs where make test provided the components"
    for tool in ("initdb", "pg_ctl"):
        if shutil.which(tool):
            tools.append(tool)
    result = _run(tmp_path, *tools)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_demo_needs_no_servers(tmp_path: Path) -> None:
    """make demo's check passes with no server, browser or Graphviz on the machine."""
    result = _run(tmp_path, purpose="demo")
    assert result.returncode == 0, result.stderr


def test_an_unknown_purpose_is_a_usage_error(tmp_path: Path) -> None:
    """A purpose other than test or demo exits 2 with the usage line."""
    result = _run(tmp_path, purpose="deploy")
    assert result.returncode == 2
    assert "usage: scripts/system_deps.sh test|demo" in result.stderr
