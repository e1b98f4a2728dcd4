"""The operating system's limits on a console worker: Landlock for files and network, rlimits
for memory, CPU time and files written.

Landlock (Linux 5.13+) is a ruleset a process puts on itself and can never take off; the kernel
then refuses every file open outside the paths it allowed, whatever code asks: Python, the
engine's native library, or an engine bug. The `landlock` package knows the file-system half;
the network (ABI 4: TCP bind and connect) and scope (ABI 6: signals and abstract UNIX sockets
stay inside the sandbox) fields are added here with the same system calls.

A ruleset binds the thread that applies it and the threads it starts afterwards, so a worker
must apply it before the engine starts its thread pool (before opening the database).
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
from collections.abc import Iterable
from pathlib import Path

from landlock.plumbing import (
    FSAccess,
    PathBeneathAttr,
    get_add_rule,
    get_prctl,
    get_restrict_self,
    landlock_abi_version,
)

__all__ = ["SandboxError", "confine", "landlock_abi", "limit_cpu", "limit_files_and_cores", "limit_memory", "VmSize"]

PR_SET_NO_NEW_PRIVS = 38
_CREATE_RULESET, _ADD_RULE = 444, 445
_RULE_NET_PORT = 2
_NET_BIND_TCP, _NET_CONNECT_TCP = 1, 2
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1, 2
READ = FSAccess.READ_FILE | FSAccess.READ_DIR
READ_EXEC = READ | FSAccess.EXECUTE
FILE_RIGHTS = FSAccess.READ_FILE | FSAccess.EXECUTE  # the rights a rule on a single file may carry


class SandboxError(RuntimeError):
    """The confinement could not be applied; the worker must not run queries then."""


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _NetPortAttr(ctypes.Structure):
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when it has none."""
    try:
        return int(landlock_abi_version())
    except Exception:  # no such system call, disabled at boot, not Linux
        return 0


def confine(read: Iterable[Path], read_exec: Iterable[Path] = (), connect_ports: Iterable[int] = ()) -> int:
    """Allow reading (files and listings) beneath `read`, reading and executing beneath
    `read_exec`, TCP connections to `connect_ports` only; nothing else, for this thread and every
    thread and process it starts from now on. Returns the ABI used; SandboxError if unavailable."""
    abi = landlock_abi()
    if abi < 1:
        raise SandboxError("the kernel has no Landlock (Linux 5.13 or newer with Landlock enabled is needed)")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    attr = _RulesetAttr(int(FSAccess.all()), 0, 0)
    size = 8
    if abi >= 4:
        attr.handled_access_net, size = _NET_BIND_TCP | _NET_CONNECT_TCP, 16
    if abi >= 6:
        attr.scoped, size = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL, 24
    fd = libc.syscall(ctypes.c_long(_CREATE_RULESET), ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if fd < 0:
        raise SandboxError(f"landlock_create_ruleset failed: {os.strerror(ctypes.get_errno())}")
    try:
        add_rule = get_add_rule()
        for rights, paths in ((READ, read), (READ_EXEC, read_exec)):
            for path in paths:
                path_fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                try:
                    allowed = rights if os.path.isdir(path) else rights & FILE_RIGHTS
                    add_rule(fd, 1, ctypes.byref(PathBeneathAttr(int(allowed), path_fd)), 0)
                finally:
                    os.close(path_fd)
        for port in connect_ports if abi >= 4 else ():
            rule = _NetPortAttr(_NET_CONNECT_TCP, int(port))
            if libc.syscall(ctypes.c_long(_ADD_RULE), fd, _RULE_NET_PORT, ctypes.byref(rule), ctypes.c_uint32(0)) < 0:
                raise SandboxError(f"landlock_add_rule (port {port}) failed: {os.strerror(ctypes.get_errno())}")
        get_prctl()(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        get_restrict_self()(fd, 0)
    except OSError as exc:
        raise SandboxError(f"Landlock could not be applied: {exc}") from exc
    finally:
        os.close(fd)
    return abi


def limit_files_and_cores() -> None:
    """No core files (a crash must not write the worker's memory to disk) and no file bigger
    than 0 bytes written; SIGXFSZ ignored so that such a write fails instead of killing."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def limit_memory(total_bytes: int) -> None:
    """Cap the address space: an allocation beyond it fails (the engine raises bad_alloc)."""
    resource.setrlimit(resource.RLIMIT_AS, (total_bytes, total_bytes))


def limit_cpu(seconds: float) -> None:
    """Let the process use at most `seconds` more CPU time (all threads together); past it the
    kernel sends SIGXCPU, which ends it. The parent's kill at the time limit comes first; this is
    the backstop when the parent cannot act."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(used + seconds) + 1
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


class VmSize:
    """The process's virtual memory size, read through a /proc file opened before confinement
    (after it, /proc is out of reach)."""

    def __init__(self) -> None:
        self._fd = os.open("/proc/self/status", os.O_RDONLY | os.O_CLOEXEC)

    def __call__(self) -> int:
        text = os.pread(self._fd, 1 << 16, 0).decode("ascii", "replace")
        for line in text.splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
        raise SandboxError("VmSize missing from /proc/self/status")
