"""Run a command as on a kernel that refuses Landlock and namespaces.

    python tests/without_kernel_protections.py COMMAND [ARGS...]

A seccomp filter makes ``unshare`` and ``landlock_create_ruleset`` fail with
EPERM, as Docker's default profile or an old kernel does, then the command
runs with it (the filter is inherited by every process it starts). Used by
tests/test_hostile.py to check that the grader fails closed there.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

# linux/audit.h, asm/unistd.h, linux/seccomp.h, linux/filter.h, linux/prctl.h
ARCHES = {"x86_64": (0xC000003E, {"unshare": 272, "landlock_create_ruleset": 444}),
          "aarch64": (0xC00000B7, {"unshare": 97, "landlock_create_ruleset": 444})}
BPF_LD_W_ABS, BPF_JEQ_K, BPF_RET_K = 0x20, 0x15, 0x06
SECCOMP_DATA_NR, SECCOMP_DATA_ARCH = 0, 4
SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS = 0x7FFF0000, 0x00050000, 0x80000000
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
EPERM = 1


class SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]


def refuse(names: tuple[str, ...] = ("unshare", "landlock_create_ruleset")) -> None:
    """Install a filter on this process: the syscalls ``names`` fail with EPERM."""
    arch, numbers = ARCHES[platform.machine()]
    program = [SockFilter(BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_ARCH),
               SockFilter(BPF_JEQ_K, 1, 0, arch),
               SockFilter(BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS),
               SockFilter(BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_NR)]
    for name in names:  # equal: fall through to the EPERM below; else skip it
        program += [SockFilter(BPF_JEQ_K, 0, 1, numbers[name]),
                    SockFilter(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | EPERM)]
    program.append(SockFilter(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW))
    filters = (SockFilter * len(program))(*program)
    fprog = SockFprog(len(program), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    refuse()
    os.execvp(sys.argv[1], sys.argv[1:])
