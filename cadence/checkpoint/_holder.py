"""Who holds a run's lease, and whether that process is provably dead.

A lease names its holder ``<host>|<boot>|<pidns>:<pid>:<process>:<session>``: the machine (host
name, kernel boot id, PID namespace), the process (its pid and a random tag drawn once per
process) and the session. When a worker is killed with ``kill -9`` its leases stay live until
they expire; a worker restarted on the same machine does not have to wait for that, because it
can *prove* the holder is gone:

- the holder ran on this kernel boot, in this PID namespace, and no process has its pid; or
- the holder's pid is our own pid but its process tag is not ours (we reuse the pid of a
  predecessor, as a restarted container's main process does).

Anything else -- another machine, another boot or container, a pid now used by some other live
process, a platform without ``/proc`` -- proves nothing, and the session waits for the lease to
expire instead (a bounded wait, see ``open_session``). A wrong "dead" verdict is impossible under
these rules; even if it happened, fencing tokens would reject the old holder's writes.
"""

from __future__ import annotations

import os
import socket
import uuid

__all__ = ["holder_id", "holder_is_dead", "machine_id"]

_process: tuple[int, str] | None = None
_machine: str | None = None


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii") as f:
            return f.read().strip()
    except (OSError, ValueError):
        return ""


def machine_id() -> str:
    """``<host>|<boot>|<pidns>`` of this process; boot and pidns are empty without ``/proc``."""
    global _machine
    if _machine is None:
        try:
            pidns = os.readlink("/proc/self/ns/pid")
        except OSError:
            pidns = ""
        host = socket.gethostname().replace(":", "_").replace("|", "_")
        _machine = f"{host}|{_read('/proc/sys/kernel/random/boot_id')}|{pidns}"
    return _machine


def _process_tag() -> str:
    """A random tag for this process, drawn again in a forked child (which has a new pid)."""
    global _process
    pid = os.getpid()
    if _process is None or _process[0] != pid:
        _process = (pid, uuid.uuid4().hex[:12])
    return _process[1]


def holder_id() -> str:
    """A new lease holder name for one session of this process."""
    return f"{machine_id()}:{os.getpid()}:{_process_tag()}:{uuid.uuid4().hex[:8]}"


def holder_is_dead(holder: object) -> bool:
    """Whether the process named by ``holder`` is provably not running (see the module doc)."""
    if not isinstance(holder, str) or os.name != "posix":
        return False
    parts = holder.rsplit(":", 3)
    if len(parts) != 4 or not parts[1].isdigit():
        return False
    machine, pid_text, process, _session = parts
    if machine != machine_id() or machine.endswith("|") or "||" in machine:
        return False  # another machine, boot or PID namespace, or no way to tell (no /proc)
    pid = int(pid_text)
    if pid == os.getpid():
        return process != _process_tag()
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: the pid exists (another user's process)
        return False
    return False
