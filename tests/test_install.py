"""`make install` picks the right PyTorch build: the Makefile's recipe run with stand-ins for
python, pip and nvidia-smi that record what they are asked to do (nothing is downloaded)."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CPU_INDEX = "https://download.pytorch.org/whl/cpu"

# `python -m venv DIR` makes DIR/bin/{pip,python}: pip logs its arguments (and fails for PyTorch's
# index when PIP_INDEX_FAILS is set); python answers the reachability probe with $FAKE_REACHABLE.
FAKE_PYTHON = r"""#!/bin/sh
[ "$1" = -m ] && [ "$2" = venv ] || exit 9
mkdir -p "$3/bin"
cat > "$3/bin/pip" <<'PIP'
#!/bin/sh
echo "pip $*" >> "$INSTALL_LOG"
case "$*" in *--index-url*) [ -n "$PIP_INDEX_FAILS" ] && exit 1;; esac
exit 0
PIP
cat > "$3/bin/python" <<'PYTHON'
#!/bin/sh
echo "probe $3" >> "$INSTALL_LOG"
exit "$FAKE_REACHABLE"
PYTHON
chmod +x "$3/bin/pip" "$3/bin/python"
"""


def install(tmp_path, *, gpu: bool, reachable: bool, index_fails: bool = False) -> list[str]:
    if shutil.which("make") is None:
        pytest.fail("these tests need `make` (apt-get install make)")
    fake = tmp_path / "python"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    smi = tmp_path / "nvidia-smi"
    if gpu:
        smi.write_text("#!/bin/sh\nexit 0\n")
        smi.chmod(0o755)
    log = tmp_path / "log"
    env = {"PATH": "/usr/bin:/bin", "INSTALL_LOG": str(log), "FAKE_REACHABLE": "0" if reachable else "1",
           "PIP_INDEX_FAILS": "1" if index_fails else ""}
    r = subprocess.run(["make", "-C", str(ROOT), "install", f"PY={fake}", f"VENV={tmp_path / 'venv'}",
                        f"NVIDIA_SMI={smi}"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "venv" / "bin" / "nn2gpt").exists()
    return log.read_text().splitlines()


def torch_installs(lines: list[str]) -> list[str]:
    return [line for line in lines if "torch==" in line]


def test_with_an_nvidia_gpu_the_cuda_build_from_the_configured_index(tmp_path):
    lines = install(tmp_path, gpu=True, reachable=True)
    assert torch_installs(lines) == ["pip install -q torch==2.13.0"]
    assert not any(line.startswith("probe") for line in lines)
    assert lines[-1] == "pip install -q -e .[dev]"                 # the package after torch


def test_without_a_gpu_the_cpu_build_from_pytorchs_cpu_index(tmp_path):
    lines = install(tmp_path, gpu=False, reachable=True)
    assert f"probe {CPU_INDEX}" in lines
    assert torch_installs(lines) == [f"pip install -q --index-url {CPU_INDEX} torch==2.13.0"]
    assert lines[-1] == "pip install -q -e .[dev]"


def test_without_pytorchs_index_the_pinned_torch_from_the_configured_index(tmp_path):
    assert torch_installs(install(tmp_path, gpu=False, reachable=False)) == ["pip install -q torch==2.13.0"]


def test_a_failed_install_from_pytorchs_index_falls_back_to_the_configured_index(tmp_path):
    lines = install(tmp_path, gpu=False, reachable=True, index_fails=True)
    assert torch_installs(lines) == [f"pip install -q --index-url {CPU_INDEX} torch==2.13.0",
                                     "pip install -q torch==2.13.0"]
