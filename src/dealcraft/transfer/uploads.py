"""Files uploaded for an import: checked, stored under the media directory, read back.

Each import keeps its own folder, `$DEALCRAFT_HOME/media/imports/<random>/`, holding the
uploaded files (a Salesforce zip is unpacked there), the live progress of the running import
(`progress.json`) and the importer's row-level error report (`errors.csv`).
"""

from __future__ import annotations

import secrets
import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from dealcraft.errors import InvalidInput

#: The largest file accepted in one upload, and the most a Salesforce zip may unpack to.
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
MAX_UNPACKED_BYTES = 2 * 1024 * 1024 * 1024
MAX_ZIP_MEMBERS = 200
SPREADSHEET = (".csv", ".xlsx")
ERROR_REPORT = "errors.csv"


def imports_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def new_folder() -> Path:
    folder = imports_root() / secrets.token_hex(8)
    folder.mkdir(parents=True)
    return folder


def _suffix(upload: UploadedFile) -> str:
    return PurePosixPath((upload.name or "").lower()).suffix


def _safe_name(name: str) -> str:
    base = PurePosixPath(name.replace("\\", "/")).name
    cleaned = "".join(ch for ch in base if ch.isalnum() or ch in "._- ()").strip(" .")
    return cleaned[:120] or "upload"


def _head(upload: UploadedFile, n: int = 4096) -> bytes:
    upload.seek(0)
    data = upload.read(n)
    upload.seek(0)
    return bytes(data)


def _check(upload: UploadedFile, allowed: Sequence[str], what: str) -> str:
    suffix = _suffix(upload)
    name = upload.name or "the file"
    if suffix not in allowed:
        raise InvalidInput(f"{name} is not {what} (expected {' or '.join(allowed)})", "files")
    if (upload.size or 0) > MAX_UPLOAD_BYTES:
        raise InvalidInput(f"{name} is larger than the {MAX_UPLOAD_BYTES // 2**20} MB accepted",
                           "files")
    if (upload.size or 0) == 0:
        raise InvalidInput(f"{name} is empty", "files")
    head = _head(upload)
    if suffix in (".zip", ".xlsx") and not head.startswith(b"PK"):
        raise InvalidInput(f"{name} is not a {suffix[1:].upper()} file (its content is not a "
                           "zip archive)", "files")
    if suffix in (".csv", ".yaml", ".yml") and b"\x00" in head:
        raise InvalidInput(f"{name} is not a text file (it holds binary data)", "files")
    return suffix


def _store(upload: UploadedFile, folder: Path) -> Path:
    target = folder / _safe_name(upload.name or "upload")
    with target.open("wb") as out:
        for chunk in upload.chunks():
            out.write(chunk)
    return target


def _unpack_salesforce(archive: Path, folder: Path) -> Path:
    """Unpack a zip of a Salesforce export folder; returns the folder holding Opportunity.csv."""
    target = folder / "export"
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            if len(members) > MAX_ZIP_MEMBERS:
                raise InvalidInput(f"the zip holds {len(members)} files; a Salesforce export "
                                   f"has far fewer (at most {MAX_ZIP_MEMBERS} are accepted)",
                                   "files")
            if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
                raise InvalidInput("the zip unpacks to more than "
                                   f"{MAX_UNPACKED_BYTES // 2**30} GB", "files")
            found: list[PurePosixPath] = []
            for member in members:
                path = PurePosixPath(member.filename.replace("\\", "/"))
                if path.is_absolute() or ".." in path.parts:
                    raise InvalidInput(f"the zip holds an unsafe path: {member.filename}",
                                       "files")
                if path.suffix.lower() != ".csv" or path.name.startswith("._"):
                    continue  # attachments, documents, macOS resource forks: not needed
                out = target.joinpath(*path.parts)
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, out.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
                found.append(path)
    except zipfile.BadZipFile:
        raise InvalidInput("the zip file is damaged or truncated", "files") from None
    homes = sorted({p.parent for p in found if p.name.lower() == "opportunity.csv"},
                   key=lambda p: len(p.parts))
    if not homes:
        raise InvalidInput("the zip has no Opportunity.csv: upload the folder of a Salesforce "
                           "data export (Setup → Data Export), zipped", "files")
    return target.joinpath(*homes[0].parts)


def store_uploads(source: str, uploads: Sequence[UploadedFile], folder: Path) -> list[str]:
    """Check and store an import's uploads; returns the paths (relative to `folder`) that the
    reader takes. Raises InvalidInput, saying which file and why, for anything refused."""
    if not uploads:
        raise InvalidInput("choose the file(s) to import", "files")
    if source == "salesforce":
        if len(uploads) != 1:
            raise InvalidInput("upload the Salesforce export as one zip file", "files")
        _check(uploads[0], (".zip",), "a zip file")
        home = _unpack_salesforce(_store(uploads[0], folder), folder)
        return [str(home.relative_to(folder))]
    if source in ("hubspot", "pipedrive"):
        for upload in uploads:
            _check(upload, SPREADSHEET, "a CSV or XLSX export")
        return [str(_store(u, folder).relative_to(folder)) for u in uploads]
    if source == "csv":
        data = [u for u in uploads if _suffix(u) not in (".yaml", ".yml")]
        maps = [u for u in uploads if _suffix(u) in (".yaml", ".yml")]
        if not data or len(maps) != 1:
            raise InvalidInput("upload the CSV file (and the history CSV its mapping names, "
                               "if any) with its mapping file (.yaml)", "files")
        for upload in data:
            _check(upload, (".csv",), "a CSV file")
        _check(maps[0], (".yaml", ".yml"), "a mapping file")
        stored = [_store(u, folder) for u in data]
        mapping = _store(maps[0], folder)
        history = _history_file(mapping)
        deals = [p for p in stored if p.name != history]
        if len(deals) != 1:
            raise InvalidInput("upload one CSV of deals (and only the history CSV its mapping "
                               "names besides)", "files")
        return [deals[0].name, mapping.name]
    raise InvalidInput(f"unknown source '{source}'", "source")


def _history_file(mapping: Path) -> str:
    """The name of the history CSV a mapping file names, or "" when it names none."""
    from dealcraft.imports.csvmap import MappingInvalid, load_mapping

    try:
        loaded = load_mapping(mapping)
    except MappingInvalid as exc:
        problems = "; ".join(f"line {p.row or '?'}: {p.message}" for p in exc.problems[:5])
        raise InvalidInput(f"the mapping file has problems: {problems}", "files") from None
    return PurePosixPath(loaded.history.file).name if loaded.history else ""


def read_export(source: str, folder: Path, files: Sequence[str],
                date_format: str = "") -> tuple[Any, dict[str, Any]]:
    """The reader's export of stored uploads (read lazily: deals stream from the files), and
    what a CSV mapping file adds to the import (its stage, owner and value maps)."""
    from django.utils import timezone

    order: Any = date_format or None
    paths = [folder / name for name in files]
    if source == "salesforce":
        from dealcraft.imports.salesforce import read_salesforce

        return read_salesforce(paths[0], date_format=order), {}
    if source == "hubspot":
        from dealcraft.imports.hubspot import read_hubspot

        return read_hubspot(paths, date_format=order, zone=timezone.get_current_timezone()), {}
    if source == "pipedrive":
        from dealcraft.imports.pipedrive import read_pipedrive

        return read_pipedrive(paths, date_format=order,
                              zone=timezone.get_current_timezone()), {}
    from dealcraft.imports.csvmap import MappingInvalid, load_mapping, read_csv

    try:
        mapping = load_mapping(paths[1], date_format=order)
    except MappingInvalid as exc:
        problems = "; ".join(f"line {p.row or '?'}: {p.message}" for p in exc.problems[:5])
        raise InvalidInput(f"the mapping file has problems: {problems}", "files") from None
    return read_csv(paths[0], mapping), {
        "stage_map": mapping.stage_map, "owner_map": mapping.owner_map,
        "value_maps": mapping.value_maps, "map_file": paths[1].name}
