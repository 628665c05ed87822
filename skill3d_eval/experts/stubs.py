"""The Python backend's stub processes of a running server, read from /proc.

Why watch them: a stub that dies (Triton 2.51 lets through a request whose declared shape is so
large that its byte size overflows to the size actually sent, and the stub aborts building that
array) is not replaced; Triton keeps the model READY and answers every later request with
"Stub process '<instance>' is not healthy" until the model is loaded again.
"""

from __future__ import annotations

import os
from pathlib import Path

STUB = b"triton_python_backend_stub"


def live_instances(pgid: int) -> dict[str, str]:
    """{instance name: model name} of the live (not zombie) backend stubs in process group `pgid`.

    A stub's command line is `<stub> <repository>/<model>/<version>/model.py <shm region> ...
    <parent pid> <backend dir> <ipc handle> <instance name> <runtime>`.
    """
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                state, _ppid, group = stat.read().rsplit(b")", 1)[1].split()[:3]
            if int(group) != pgid or state == b"Z":
                continue
            with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline:
                argv = cmdline.read().split(b"\0")
        except (OSError, ValueError):
            continue
        if len(argv) > 8 and argv[0].endswith(STUB):
            found[os.fsdecode(argv[8])] = Path(os.fsdecode(argv[1])).parent.parent.name
    return found
