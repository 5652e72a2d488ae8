"""A tiny filesystem layer over ``pyarrow.fs``: local paths and ``s3://`` / ``gs://`` alike.

Only what the registry needs: read / write whole files, list sub-directories, and the one
operation that differs between the two worlds, publishing a directory atomically. On a
local disk that is a rename of a finished temporary directory; object stores have no
atomic directory rename, so there the files are written in place and the caller writes its
completion marker (the manifest) last.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pyarrow.fs as pafs

from models.errors import ConfigError

TEMP_PREFIX = ".tmp-"
"""Names of unfinished directories / files; readers skip anything starting with a dot."""


class Store:
    """Files under one root, addressed by '/'-joined relative paths."""

    def __init__(self, root: str | Path) -> None:
        root_str = str(root)
        if "://" in root_str:
            try:
                self.fs, base = pafs.FileSystem.from_uri(root_str)
            except Exception as exc:  # pyarrow raises several types for bad URIs
                raise ConfigError(f"registry root: cannot open {root_str!r} ({exc})") from None
        else:
            self.fs, base = pafs.LocalFileSystem(), str(Path(root_str).expanduser().resolve())
        self.base = base.rstrip("/")
        self.uri = root_str
        self.is_local = isinstance(self.fs, pafs.LocalFileSystem)

    def path(self, *parts: str) -> str:
        return "/".join([self.base, *parts])

    def read_bytes(self, path: str) -> bytes:
        with self.fs.open_input_stream(path) as stream:
            data: bytes = stream.read()
            return data

    def write_bytes(self, path: str, data: bytes) -> None:
        with self.fs.open_output_stream(path) as stream:
            stream.write(data)

    def info(self, path: str) -> pafs.FileInfo:
        return self.fs.get_file_info(path)

    def is_file(self, path: str) -> bool:
        return bool(self.info(path).type == pafs.FileType.File)

    def is_dir(self, path: str) -> bool:
        return bool(self.info(path).type == pafs.FileType.Directory)

    def list_dirs(self, path: str) -> list[str]:
        """Names of the visible sub-directories of ``path`` (none when it does not exist)."""
        if not self.is_dir(path):
            return []
        infos = self.fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
        return sorted(
            i.base_name
            for i in infos
            if i.type == pafs.FileType.Directory and not i.base_name.startswith(".")
        )

    def make_dirs(self, path: str) -> None:
        self.fs.create_dir(path, recursive=True)

    def temp_dir(self, parent: str, name: str) -> str:
        """A fresh hidden directory in ``parent`` to assemble ``name`` in (local stores)."""
        path = f"{parent}/{TEMP_PREFIX}{name}-{uuid.uuid4().hex[:8]}"
        self.make_dirs(path)
        return path

    def rename(self, src: str, dst: str) -> None:
        """Atomic on a local disk (POSIX rename); replaces a file ``dst``, never a directory."""
        self.fs.move(src, dst)

    def write_atomic(self, path: str, data: bytes) -> None:
        """Readers see the old or the new content of ``path``, never a partial file."""
        if not self.is_local:
            self.write_bytes(path, data)  # a single object PUT is atomic
            return
        parent, _, name = path.rpartition("/")
        tmp = f"{parent}/{TEMP_PREFIX}{name}-{uuid.uuid4().hex[:8]}"
        self.write_bytes(tmp, data)
        self.rename(tmp, path)

    def delete_dir(self, path: str) -> None:
        self.fs.delete_dir(path)
