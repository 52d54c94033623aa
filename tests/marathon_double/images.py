"""A tiny local image for tests that start containers through the test double of Marathon's API.

Registries may be unreachable, so the image is assembled from the host's own ``sleep`` and ``sh``
binaries and their shared libraries (``docker import``); it needs nothing but a Docker engine.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

SLEEPER_IMAGE = "cfmt-sleeper:latest"
_BINARIES = ("sleep", "sh", "cat", "env")


def _libraries(binary: str) -> list[str]:
    output = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    libs = []
    for line in output.splitlines():
        parts = line.split()
        for part in parts:
            if part.startswith("/"):
                libs.append(part)
                break
    return libs


def _tarball() -> bytes:
    files: dict[str, str] = {}
    for name in _BINARIES:
        found = shutil.which(name)
        if not found:
            raise FileNotFoundError(f"{name} not found on this host to build {SLEEPER_IMAGE}")
        files[f"/bin/{name}"] = found
        for lib in _libraries(found):
            files[lib] = lib
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for target, source in sorted(files.items()):
            real = Path(source).resolve()
            info = tar.gettarinfo(str(real), arcname=target.lstrip("/"))
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            with real.open("rb") as handle:
                tar.addfile(info, handle)
        for directory in ("tmp", "mnt/mesos/sandbox"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777
            tar.addfile(info)
    return buffer.getvalue()


def ensure_sleeper_image(client: Any, image: str = SLEEPER_IMAGE) -> str:
    """Import the image once (kept between runs; remove it with ``docker rmi cfmt-sleeper``)."""
    import docker.errors

    try:
        client.images.get(image)
        return image
    except docker.errors.ImageNotFound:
        pass
    repository, _, tag = image.partition(":")
    client.api.import_image_from_data(_tarball(), repository=repository, tag=tag or "latest")
    return image
