"""The warm checker: `nn2gpt learn check` answers in a fraction of a second, not after torch's import.

A fresh Python spends seconds importing torch before a chapter-2 check can start; the check itself
takes tens of milliseconds. So the first `learn` command in a workbook starts, in the background,
one process per workbook that has numpy and torch imported (runner.Warm) and waits on a Unix
socket. `learn check` asks it first; it forks a child for the check (the same child, time limit
and verdict as `learn watch`'s), and answers. When it is not there - not started yet, busy starting,
gone - `learn check` runs the check in a fresh child as before, and nothing is lost but time.

    nn2gpt learn check  ->  socket /tmp/nn2gpt-learn-UID/HASH.sock  ->  checker: fork, check, answer
                        \\-> (no answer) a fresh child, as runner.check

The checker serves one workbook, for this user only (its folder is private, mode 0700), one
check at a time. It ends by itself after IDLE seconds without a request, when its workbook is
gone (deleted, or replaced by a new folder of the same name), on SIGTERM or Ctrl-C, and when
nn2gpt's checking code has changed since it started (a request names the code it expects; a
checker with older code exits and the request is answered cold). NN2GPT_LEARN_WARM=0 turns it
off. Where there is no fork or no Unix socket (Windows), every check is cold.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nn2gpt.learn.runner import Result, Warm

IDLE = 900.0       # seconds without a request before the checker ends
CONNECT = 0.2      # seconds to wait for a checker to accept
STARTUP = 60.0     # seconds the first check waits for a starting checker's imports


def enabled() -> bool:
    return os.environ.get("NN2GPT_LEARN_WARM", "1") != "0" and hasattr(os, "fork") and hasattr(socket, "AF_UNIX")


def places(root: Path) -> tuple[Path, Path]:
    """(socket, lock file) of the checker of workbook `root`, in a folder only this user can enter.
    The path is short whatever the workbook's (a Unix socket's path is limited to about 100 bytes)."""
    folder = Path(tempfile.gettempdir()) / f"nn2gpt-learn-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    if folder.stat().st_uid != os.getuid() or folder.stat().st_mode & 0o077:
        raise PermissionError(f"{folder} is not private to this user")
    key = hashlib.sha256(str(Path(root).resolve()).encode()).hexdigest()[:16]
    if len(os.fsencode(folder / f"{key}.sock")) > 100:
        raise OSError(f"{folder} is too long a path for a Unix socket")
    return folder / f"{key}.sock", folder / f"{key}.lock"


def code_version() -> str:
    """What the checks are made of: nn2gpt.learn's files, their sizes and times (cheap to take)."""
    here = Path(__file__).resolve().parent
    parts = sorted(f"{p.relative_to(here)}:{s.st_size}:{s.st_mtime_ns}"
                   for p in here.rglob("*") if p.suffix in (".py", ".toml") for s in [p.stat()])
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def ask(root: Path, exercise, path: Path, timeout: float) -> Result | None:
    """The warm checker's verdict on `path`, or None when there is no checker to answer."""
    if not enabled():
        return None
    try:
        sock_path, _ = places(root)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(CONNECT)
            s.connect(str(sock_path))
            s.settimeout(timeout + 10)
            request = {"name": exercise.name, "path": str(Path(path).resolve()), "timeout": timeout,
                       "code": code_version()}
            s.sendall(json.dumps(request).encode() + b"\n")
            answer = json.loads(_read_line(s) or b"{}")
            if answer.get("stale") or "status" not in answer:
                return None
            return Result(answer["status"], answer["message"], answer["output"])
    except (OSError, ValueError, KeyError, AttributeError):   # no checker, a stale socket, one that died mid-answer
        return None


def check(root: Path, exercise, path: Path, timeout: float) -> Result:
    """The verdict on `path`: from the workbook's warm checker, started now if there is none (the
    first check then waits for its imports, as a fresh child would), else from a fresh child."""
    from nn2gpt.learn import runner

    if not enabled():
        return runner.check(exercise, path, timeout)
    result = ask(root, exercise, path, timeout)
    if result is not None:
        return result
    try:
        sock, lock = places(root)
    except OSError:
        return runner.check(exercise, path, timeout)
    proc, failures, deadline = None, 0, time.monotonic() + STARTUP
    while enabled() and failures < 3 and time.monotonic() < deadline:
        if _holds(lock) or (proc is not None and proc.poll() is None):   # a checker runs, or is importing
            if sock.exists():
                result = ask(root, exercise, path, timeout)
                if result is not None:
                    return result
                failures += 1                               # a checker leaving (its code changed), or broken
            time.sleep(0.05)
        elif proc is None:
            proc = start(root)
        else:
            break                                           # ours left without serving: a fresh child, then
    return runner.check(exercise, path, timeout)


def start(root: Path) -> subprocess.Popen | None:
    """Start the checker of workbook `root` in the background (it leaves at once if one runs)."""
    if not enabled():
        return None
    try:
        if _holds(places(root)[1]):
            return None                                     # one runs (or is starting)
    except OSError:
        return None
    return subprocess.Popen([sys.executable, "-m", "nn2gpt.learn.warm", str(Path(root).resolve())],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True,   # Ctrl-C in the terminal that started it is not its end
                            env={**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"})


def stop(root: Path, wait: float = 5.0) -> bool:
    """End the checker of workbook `root` if one runs (its pid is in its lock file); whether one did."""
    try:
        _, lock = places(root)
        pid = int(lock.read_text().strip() or 0)
    except (OSError, ValueError):
        return False
    if not pid or not _holds(lock):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:                                         # gone already, or not ours
        return False
    deadline = time.monotonic() + wait
    while _holds(lock) and time.monotonic() < deadline:
        time.sleep(0.02)
    return True


def _holds(lock: Path) -> bool:
    """Whether some process holds the checker's lock (a checker runs)."""
    import fcntl

    try:
        with open(lock, "a") as f:
            fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.lockf(f, fcntl.LOCK_UN)
            return False
    except OSError as e:
        return e.errno in (errno.EACCES, errno.EAGAIN)      # held by another process


def _read_line(s: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _gone(conn: socket.socket) -> bool:
    """Whether the asker has closed its end (Ctrl-C on `learn check`): nothing to read but the end."""
    import select

    try:
        readable, _, _ = select.select([conn], [], [], 0)
        return bool(readable) and conn.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def serve(root: Path, idle: float = IDLE) -> int:
    """The checker: take the workbook's lock (or leave: one runs), listen, answer until idle."""
    import fcntl

    from nn2gpt.learn.registry import find

    root = Path(root).resolve()
    sock_path, lock_path = places(root)
    lock = open(lock_path, "a+")
    deadline = time.monotonic() + 2.0                       # a stale checker may still be leaving
    while True:
        try:  # a POSIX record lock: not inherited by the children forked for checks, so none outlives us
            fcntl.lockf(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError:
            if time.monotonic() > deadline:
                return 0                                    # another checker serves this workbook
            time.sleep(0.05)
    lock.seek(0), lock.truncate(), lock.write(str(os.getpid())), lock.flush()
    version = code_version()
    warm = Warm(torch=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sock_path.unlink(missing_ok=True)                       # a dead checker's socket
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    folder = os.open(root, os.O_RDONLY)                     # its workbook, held open: see _same_folder
    try:
        server.bind(str(sock_path))
        server.listen(8)
        server.settimeout(5.0)
        last = time.monotonic()
        while time.monotonic() - last < idle and _same_folder(root, folder):
            try:
                conn, _ = server.accept()
            except socket.timeout:
                continue
            last = time.monotonic()
            with conn:
                try:
                    conn.settimeout(5.0)
                    request = json.loads(_read_line(conn) or b"{}")
                    if request.get("code") != version:      # nn2gpt changed under us: answer nothing, end
                        conn.sendall(json.dumps({"stale": True}).encode() + b"\n")
                        return 0
                    path = Path(request["path"]).resolve()
                    if path.parent != root:                 # it checks its own workbook's files only
                        continue
                    result = warm.check(find(request["name"]), path, float(request["timeout"]),
                                        abandoned=lambda: _gone(conn))
                    conn.sendall(json.dumps({"status": result.status, "message": result.message,
                                             "output": result.output}).encode() + b"\n")
                except Exception:                           # a request it cannot answer: the asker checks cold
                    pass
            last = time.monotonic()
    except (KeyboardInterrupt, OSError, ValueError):
        return 0
    finally:
        server.close()
        os.close(folder)
        sock_path.unlink(missing_ok=True)
        lock.close()
    return 0


def _same_folder(root: Path, held: int) -> bool:
    """Whether `root` is still the folder the checker was started for (`held`, open since).

    Deleted, it is gone; deleted and made again under the same name (a new `learn init` there), it
    is another folder: another inode. Holding the old one open keeps its inode number from being
    given to the new folder, so the two can never look the same."""
    try:
        now, then = os.stat(root), os.fstat(held)
    except OSError:
        return False
    return (now.st_dev, now.st_ino) == (then.st_dev, then.st_ino) and then.st_nlink > 0


if __name__ == "__main__":
    idle = float(os.environ.get("NN2GPT_LEARN_IDLE", IDLE))
    raise SystemExit(serve(Path(sys.argv[1]), idle))
