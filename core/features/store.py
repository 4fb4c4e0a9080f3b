"""The feature store: pooled backbone features of every image, computed once, kept on disk.

Rows are keyed by the file's *content* (:mod:`core.features.hashing`), inside a
folder per model: the backbone, a hash of the weights file's bytes (ImageNet
files too), the image size, whether ImageNet preprocessing applies, the Keras
version and the compute precision (:meth:`FeatureStore.model_id`).  A renamed
file keeps its features; an edited one, or another backbone or weights file,
gets new ones.  Random weights ("none") differ on every build and are never
stored.

Layout: ``<data_dir>/features/<model id>/*.shard`` (:mod:`core.features.shards`),
plus ``file-hashes.json``, a stat cache that saves rereading unchanged files.
New rows are flushed every :data:`FLUSH_ROWS` images, so a cancelled or killed
run keeps what it computed.  Every shard is checksummed; a damaged or foreign
one is deleted and its rows computed again, never trusted.  Memory: the rows
asked for (float16) plus a few decoded batches; never all images.
"""

from __future__ import annotations

import importlib.metadata
import hashlib
import json
import os
import shutil
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

from core.appdirs import data_dir
from core.errors import UserError, WeightsError
from core.events import CancelToken, FileSkipped, Listener, Log, Progress, emit
from core.features import extract
from core.features.extract import FeatureModel, decoded_batches, signature
from core.features.hashing import FileStamp, HashIndex, stamp_files
from core.features.shards import (FORMAT_VERSION, SIGNATURE_SIDE, DamagedShard, Shard,
                                  open_shard, write_shard)
from core.fsutil import atomic_write_text

PathLike = Union[str, os.PathLike]
FLUSH_ROWS = 2048        # rows per shard written while computing
MAX_SHARDS = 24          # more than this many shard files: merge them
COMPACT_ROWS = 16384     # rows per merged shard
_PROGRESS_EVERY = 256

#: Why a file whose features were not kept: it changed after it was hashed.
CHANGED_WHILE_READ = "changed while it was being read; run again"


def _changed(path: str, stamp: FileStamp) -> bool:
    """Whether ``path`` is no longer the file ``stamp`` describes (size or mtime moved)."""
    try:
        st = os.stat(path)
    except OSError:
        return True
    return (st.st_size, st.st_mtime_ns) != (stamp.size, stamp.mtime_ns)


@dataclass
class Embeddings:
    """Features of the images that could be read, in the order asked for.

    ``vectors`` (float16, one row per path) are the classifier's pooled
    backbone features; ``signatures`` the 32x32 grey pixels of each image;
    ``stamps`` what each file was when read (size, mtime, content hash);
    ``skipped`` (path, reason) for files that could not be read;
    ``computed`` how many images the backbone ran on in this call (0 when the
    store held them all).
    """

    paths: list[str]
    stamps: list[FileStamp]
    vectors: np.ndarray
    signatures: np.ndarray
    skipped: list[tuple[str, str]] = field(default_factory=list)
    computed: int = 0
    model_id: Optional[str] = None

    def __len__(self) -> int:
        return len(self.paths)

    def position(self) -> dict[str, int]:
        """path -> row."""
        return {p: i for i, p in enumerate(self.paths)}


def _keras_policy() -> str:
    keras = sys.modules.get("keras")  # not imported yet: the default policy applies
    if keras is None:
        return "float32"
    try:
        return str(keras.config.dtype_policy().name)
    except Exception:
        return "unknown"


class _Table:
    """The verified shards of one model and where each content hash's row is."""

    def __init__(self, folder: Optional[Path], model_id: Optional[str],
                 listener: Optional[Listener]) -> None:
        self.folder, self.model_id = folder, model_id
        self.shards: list[Shard] = []
        self.rows: dict[bytes, tuple[int, int]] = {}
        if folder is None or not folder.is_dir():
            return
        for path in sorted(folder.glob("*.shard")):
            try:
                shard = open_shard(path, model_id)
            except DamagedShard as exc:
                emit(listener, Log(f"feature store: {exc}; removed, its features will be "
                                   "computed again", "warning"))
                path.unlink(missing_ok=True)
                continue
            no = len(self.shards)
            self.shards.append(shard)
            for row, key in enumerate(shard.keys):
                self.rows[key.tobytes()] = (no, row)

    @property
    def dim(self) -> int:
        return int(self.shards[0].vectors.shape[1]) if self.shards else 0


class _Writer:
    """Buffers new rows and writes them as shards every FLUSH_ROWS rows (or at the end)."""

    def __init__(self, folder: Optional[Path], model_id: Optional[str],
                 listener: Optional[Listener]) -> None:
        self.folder, self.model_id, self.listener = folder, model_id, listener
        self.keys: list[bytes] = []
        self.vectors: list[np.ndarray] = []
        self.signatures: list[np.ndarray] = []

    def add(self, key: bytes, vector: np.ndarray, sig: np.ndarray) -> None:
        if self.folder is None:
            return
        self.keys.append(key)
        self.vectors.append(vector)
        self.signatures.append(sig)
        if len(self.keys) >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.folder is None or not self.keys:
            return
        keys = np.frombuffer(b"".join(self.keys), dtype=np.uint8).reshape(-1, 16)
        name = f"{time.time_ns():x}-{os.getpid()}-{uuid.uuid4().hex[:8]}.shard"
        try:
            write_shard(self.folder / name, self.model_id, keys, np.stack(self.vectors),
                        np.stack(self.signatures))
        except (OSError, UserError) as exc:  # a full or read-only disk: returned, not kept
            emit(self.listener, Log(f"feature store: cannot save features in {self.folder} "
                                    f"({exc}); they will be computed again next time",
                                    "warning"))
            self.folder = None
        self.keys, self.vectors, self.signatures = [], [], []


class FeatureStore:
    """Backbone features of image files, on disk under ``root`` (default: the app's data folder).

    Safe to use from several threads or processes at once: files are only ever
    added whole (atomic renames) and a row present twice is harmless.
    """

    def __init__(self, root: Optional[PathLike] = None) -> None:
        self.root = Path(root) if root is not None else data_dir() / "features"
        self.hashes = HashIndex(self.root / "file-hashes.json")

    # -- identity -------------------------------------------------------------
    def model_id(self, model: FeatureModel, listener: Optional[Listener] = None,
                 cancel: Optional[CancelToken] = None) -> Optional[str]:
        """The folder name of ``model``'s rows; None for random weights (never stored).

        ImageNet weights are downloaded first when missing (with progress), since
        their bytes are part of the identity.
        """
        if model.random_weights:
            return None
        from core.model.backbones import get_backbone
        from core.model.imagenet_download import ensure_imagenet_weights

        name, size = model.resolved()
        choice = model.weights.strip()
        imagenet = choice.lower() == "imagenet"
        if imagenet:
            path = ensure_imagenet_weights(get_backbone(name), listener, cancel, image_size=size)
        else:
            from core.model.weights import weights_file_there

            path = weights_file_there(choice)  # the words train uses: a folder, a device
        stamp = stamp_files([str(path.resolve())], self.hashes, lambda n: None)[0][0]
        if stamp is None:
            raise WeightsError(f"{path}: cannot read the weights file; make it readable or "
                               "choose another file")
        try:
            keras_version = importlib.metadata.version("keras")
        except importlib.metadata.PackageNotFoundError:
            keras_version = "?"
        key = json.dumps({"format": FORMAT_VERSION, "backbone": name, "size": size,
                          "weights": stamp.digest, "imagenet": imagenet,
                          "keras": keras_version, "policy": _keras_policy(),
                          "signature": SIGNATURE_SIDE}, sort_keys=True)
        return hashlib.blake2b(key.encode(), digest_size=16).hexdigest()

    # -- the one public operation ---------------------------------------------
    def embed(self, paths: Sequence[PathLike], model: FeatureModel, *,
              listener: Optional[Listener] = None, cancel: Optional[CancelToken] = None,
              batch_size: int = 32) -> Embeddings:
        """Features of ``paths`` with ``model``: from the store, computing only what is missing.

        Emits Progress ("reading files", "computing features"), FileSkipped
        (stage "features") once per unreadable file, and raises
        :class:`core.events.Cancelled` when ``cancel`` is set (rows computed so
        far are kept).  Raises WeightsError / ConfigError for a bad model.
        """
        cancel = cancel or CancelToken()
        paths = [os.path.abspath(os.fspath(p)) for p in paths]
        stamps = self.stamp(paths, listener, cancel)
        model_id = self.model_id(model, listener, cancel)
        folder = self.root / model_id if model_id else None
        table = _Table(folder, model_id, listener)
        fresh: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        failed: dict[bytes, str] = {}
        missing: dict[bytes, tuple[str, FileStamp]] = {}
        for path, (stamp, _) in zip(paths, stamps):
            if stamp is not None:
                key = bytes.fromhex(stamp.digest)
                if key not in table.rows and key not in missing:
                    missing[key] = (path, stamp)
        if missing:
            self._compute(missing, model, folder, model_id, fresh, failed, listener, cancel,
                          batch_size)
        result = self._assemble(paths, stamps, table, fresh, failed, listener)
        result.computed, result.model_id = len(fresh), model_id
        emit(listener, Log(f"features: {len(fresh)} image(s) computed, "
                           f"{len(result) - len(fresh)} known already"))
        shards = len(table.shards)
        del table  # its memory maps: Windows deletes no mapped file, so compaction only grew
        if folder is not None and shards + 1 > MAX_SHARDS:
            self._compact(folder, model_id)
        return result

    def stamp(self, paths: list[str], listener=None, cancel=None) -> list:
        """(FileStamp, "") or (None, reason) per path; unchanged files are not read again."""
        cancel = cancel or CancelToken()
        total = len(paths)
        emit(listener, Progress(0, total, "reading files"))

        def tick(done: int) -> None:
            if done % _PROGRESS_EVERY == 0 or done == total:
                cancel.raise_if_cancelled()
                emit(listener, Progress(done, total, "reading files"))

        try:
            return stamp_files(paths, self.hashes, tick)
        finally:
            self.hashes.save()

    def _compute(self, missing: dict[bytes, tuple[str, FileStamp]], model: FeatureModel,
                 folder, model_id, fresh, failed, listener, cancel, batch_size: int) -> None:
        """Run the backbone over one file per missing content hash; keep rows as they come.

        The pixels are decoded a while after the file was hashed; a file changed in
        between (or during the decode) would file another image's features under the
        hash, for good.  So a file whose size or modification time moved is skipped.
        """
        if folder is not None:
            self._describe(folder, model)
        extractor = extract.build_extractor(model, listener, cancel)
        keys = list(missing)
        files = [path for path, _ in missing.values()]
        writer = _Writer(folder, model_id, listener)
        total = len(files)
        emit(listener, Progress(0, total, "computing features"))
        try:
            for batch in decoded_batches(files, extractor.image_size, batch_size, cancel):
                for i, rgb, reason in batch:
                    if rgb is not None and _changed(*missing[keys[i]]):
                        reason = CHANGED_WHILE_READ
                    if reason:
                        failed[keys[i]] = reason
                good = [(i, rgb) for i, rgb, _ in batch if keys[i] not in failed]
                if good:
                    vectors = extractor(np.stack([rgb for _, rgb in good])).astype(np.float16)
                    for (i, rgb), vector in zip(good, vectors):
                        sig = signature(rgb)
                        fresh[keys[i]] = (vector, sig)
                        writer.add(keys[i], vector, sig)
                emit(listener, Progress(batch[-1][0] + 1, total, "computing features"))
        finally:
            writer.flush()  # cancelled or not, what was computed is kept

    def _assemble(self, paths, stamps, table: _Table, fresh, failed, listener) -> Embeddings:
        dim = table.dim or next((int(v.shape[0]) for v, _ in fresh.values()), 0)
        ok_paths, ok_stamps, skipped, sources = [], [], [], []
        for path, (stamp, reason) in zip(paths, stamps):
            key = bytes.fromhex(stamp.digest) if stamp is not None else b""
            if stamp is None or key in failed:
                why = reason or failed[key]
                skipped.append((path, why))
                emit(listener, FileSkipped(path, why, "features"))
                continue
            ok_paths.append(path)
            ok_stamps.append(stamp)
            sources.append(key)
        vectors = np.empty((len(ok_paths), dim), dtype=np.float16)
        sigs = np.empty((len(ok_paths), SIGNATURE_SIDE, SIGNATURE_SIDE), dtype=np.uint8)
        by_shard: dict[int, tuple[list[int], list[int]]] = {}
        for i, key in enumerate(sources):
            if key in fresh:
                vectors[i], sigs[i] = fresh[key]
            else:
                no, row = table.rows[key]
                out, rows = by_shard.setdefault(no, ([], []))
                out.append(i)
                rows.append(row)
        for no, (out, rows) in by_shard.items():
            order = np.argsort(rows)  # memory maps read best in file order
            out_idx, row_idx = np.asarray(out)[order], np.asarray(rows)[order]
            vectors[out_idx] = table.shards[no].vectors[row_idx]
            sigs[out_idx] = table.shards[no].signatures[row_idx]
        return Embeddings(ok_paths, ok_stamps, vectors, sigs, skipped)

    # -- housekeeping -----------------------------------------------------------
    def _describe(self, folder: Path, model: FeatureModel) -> None:
        """A human-readable note of what the folder holds (never read back)."""
        note = folder / "model.json"
        if not note.exists():
            try:  # makes the folder too; a read-only store is read, not written (_Writer)
                atomic_write_text(note, json.dumps({"backbone": model.backbone,
                                                    "weights": model.weights,
                                                    "image_size": model.image_size}, indent=1))
            except (OSError, UserError):
                pass

    def _compact(self, folder: Path, model_id: str) -> None:
        """Merge many small shards into few big ones (the old ones are removed afterwards)."""
        table = _Table(folder, model_id, None)
        old = [s.path for s in table.shards]
        writer = _Writer(folder, model_id, None)
        seen: set[bytes] = set()
        for shard in table.shards:
            for row, key in enumerate(shard.keys):
                k = key.tobytes()
                if k in seen:
                    continue
                seen.add(k)
                writer.keys.append(k)
                writer.vectors.append(np.array(shard.vectors[row]))  # copies, not views
                writer.signatures.append(np.array(shard.signatures[row]))
                if len(writer.keys) >= COMPACT_ROWS:
                    writer.flush()
        writer.flush()
        if writer.folder is None:
            return  # could not write: keep the old shards
        table = shard = key = None  # no view of a map left: Windows deletes no mapped file
        for path in old:
            try:
                path.unlink()
            except OSError:
                pass

    def pair_cache(self):
        """The cache of near-duplicate fine checks kept beside the features."""
        from core.features.fine_check import PairCache

        return PairCache(self.root / "pair-checks.bin")

    def neighbour_cache(self):
        """The near-duplicate pixel search kept beside the features (a second check of
        the same folder pays only for what changed)."""
        from core.features.pixel_neighbours import NeighbourCache

        return NeighbourCache(self.root)

    def size_bytes(self) -> int:
        """Disk space the store takes."""
        if not self.root.is_dir():
            return 0
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())

    def clear(self) -> None:
        """Delete every stored feature (they are recomputed when needed)."""
        shutil.rmtree(self.root, ignore_errors=True)
        self.hashes = HashIndex(self.root / "file-hashes.json")
