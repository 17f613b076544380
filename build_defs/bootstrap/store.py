"""The one door to the network: a content-addressed store of pinned artifacts.

Every third-party file the build uses (wheels, sdists, the Pants bootstrap) is
listed in `3rdparty/artifacts.json` with its sha256 and size. `ensure` brings
missing ones in from the package index that pip is configured to use, verifies
them before they get their final name, and re-verifies files already stored
(cheaply: a file whose size/mtime/inode is unchanged since it was last hashed
is not hashed again).

Layout of the store:
    sha256/<hex>        the bytes, named by their digest
    files/<filename>    a relative symlink to ../sha256/<hex> (what pip/pex see)
    verified.json       stat fingerprints of files already hashed

Only the standard library (and, to find the index, pip's own configuration
reader) is used: this runs before any virtualenv exists.

It is longer than the plugin's other modules (about 560 lines) on purpose: the launcher
runs it as one script before anything is installed, and the store and its fetcher share
each download's verification (a short read, a lying index, a full disk) step by step, which
a split would spread across a module boundary.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import hashlib
import http.client
import json
import os
import ssl
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

try:
    from . import debian, wheel_tags
except ImportError:  # run as a script, before any venv exists
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import debian  # type: ignore[no-redef]  # pants: no-infer-dep (a sibling script; BUILD names it)
    import wheel_tags  # type: ignore[no-redef]  # pants: no-infer-dep (a sibling script; BUILD names it)

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
CHUNK = 1 << 20


class StoreError(Exception):
    """A problem with one artifact; the message says which and what to do."""


class TruncatedDownload(OSError):
    """Fewer bytes arrived than the pin says: the connection dropped, so try again."""


# Writes that fail for want of space say so, instead of looking like a network error.
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
# A store the user may only read: verify it, but keep the (optional) records unwritten.
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def _no_space(art: "Artifact", where: Path, e: OSError) -> StoreError:
    return StoreError(
        f"no space left to store {art.filename} ({art.size / 1e6:.1f} MB) in {where}: {e.strerror}.\n"
        "  Free some space, or point NUMPY_RELEASE_STORE at a disk that has it."
    )


@dataclass(frozen=True)
class Artifact:
    project: str
    filename: str
    sha256: str
    size: int
    sets: tuple[str, ...]
    # Set only where the file name cannot say it (a source archive one platform builds).
    platforms: tuple[str, ...] = ()
    # A Debian package: its path in the archive's pool, fetched from apt's mirror.
    debian_path: str = ""

    @classmethod
    def from_json(cls, obj: dict) -> "Artifact":
        return cls(
            project=obj["project"],
            filename=obj["filename"],
            sha256=obj["sha256"],
            size=int(obj["size"]),
            sets=tuple(obj.get("sets", ())),
            platforms=tuple(obj.get("platforms", ())),
            debian_path=obj.get("debian_path", ""),
        )

    def used_on(self, plat: wheel_tags.Platform) -> bool:
        """Whether a host of platform `plat` fetches this file."""
        if self.platforms:
            return plat.name in self.platforms
        return wheel_tags.runs_on(self.filename, plat)


def load_manifest(path: Path) -> list[Artifact]:
    with open(path) as f:
        return [Artifact.from_json(a) for a in json.load(f)["artifacts"]]


def load_platforms(path: Path) -> dict[str, wheel_tags.Platform]:
    with open(path) as f:
        return platforms_of(json.load(f))


def platforms_of(manifest: dict) -> dict[str, wheel_tags.Platform]:
    """The platforms a parsed manifest declares."""
    return {
        name: wheel_tags.Platform.from_json(name, obj)
        for name, obj in manifest.get("platforms", {}).items()
    }


def for_platforms(
    artifacts: list[Artifact], platforms: list[wheel_tags.Platform]
) -> list[Artifact]:
    return [a for a in artifacts if any(a.used_on(p) for p in platforms)]


def cross_build_inputs(
    sets: dict,
    artifacts: list[Artifact],
    own: list[Artifact],
    declared: dict[str, wheel_tags.Platform],
    hosts: list[str],
) -> list[Artifact]:
    """The files (among `artifacts`, beyond the host's `own`) that hosts of `hosts` fetch
    because they build for another platform: a set's `"fetch_on": {"<target platform>":
    ["<host platform>", ...]}` (e.g. the aarch64 OpenBLAS wheel on x86_64 hosts, which
    cross-build aarch64 wheels)."""
    have = {a.sha256 for a in own}
    extra: list[Artifact] = []
    for name, spec in sets.items():
        for target, on_hosts in spec.get("fetch_on", {}).items():
            if target not in declared or not set(on_hosts) & set(hosts):
                continue
            for art in artifacts:
                if name in art.sets and art.used_on(declared[target]) and art.sha256 not in have:
                    have.add(art.sha256)
                    extra.append(art)
    return extra


def default_store_dir() -> Path:
    if os.environ.get("NUMPY_RELEASE_STORE"):
        return Path(os.environ["NUMPY_RELEASE_STORE"])
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "numpy-release" / "store"


def normalize(project: str) -> str:
    out = []
    for ch in project.lower():
        out.append("-" if ch in "._-" else ch)
    name = "".join(out)
    while "--" in name:
        name = name.replace("--", "-")
    return name


# ---------------------------------------------------------------------------
# pip configuration: which index, which CA bundle


def _pip_config() -> dict[str, str]:
    """pip's merged configuration (files + PIP_* environment), or {} without pip."""
    try:
        from pip._internal.configuration import (
            Configuration,  # type: ignore  # pants: no-infer-dep (pip comes with CPython)
        )
    except Exception:  # pragma: no cover - pip is part of every CPython we use
        return {}
    config = Configuration(isolated=False)
    try:
        config.load()
    except Exception:
        return {}
    return dict(config.items())


def _first(config: dict[str, str], key: str) -> str | None:
    for section in (":env:", "download", "install", "global"):
        value = config.get(f"{section}.{key}")
        if value:
            return value.split()[0]
    return None


def index_url(config: dict[str, str] | None = None) -> str:
    """The index pip would use: PIP_INDEX_URL, pip's config files, else pip's default."""
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"]
    config = _pip_config() if config is None else config
    url = _first(config, "index-url")
    if url:
        return url
    from pip._internal.models.index import (
        PyPI,  # type: ignore  # pants: no-infer-dep (pip comes with CPython)
    )

    return PyPI.simple_url


def ssl_context(config: dict[str, str] | None = None) -> ssl.SSLContext:
    config = _pip_config() if config is None else config
    cafile = os.environ.get("PIP_CERT") or _first(config, "cert")
    return ssl.create_default_context(cafile=cafile if cafile and os.path.exists(cafile) else None)


# ---------------------------------------------------------------------------
# hashing and verification


def sha256_of(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while True:
            block = f.read(CHUNK)
            if not block:
                break
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def _fingerprint(st: os.stat_result) -> list[int]:
    # ctime too: it changes on any write or chmod, and cannot be set back by `touch`.
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


class Store:
    def __init__(self, root: Path):
        self.root = Path(root)

    def blob(self, art: Artifact) -> Path:
        return self.root / "sha256" / art.sha256

    def link(self, art: Artifact) -> Path:
        return self.root / "files" / art.filename

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _load_verified(self) -> dict[str, list[int]]:
        try:
            with open(self.root / "verified.json") as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def _save_verified(self, verified: dict[str, list[int]]) -> None:
        try:
            _atomic_write(
                self.root / "verified.json", json.dumps(verified, sort_keys=True).encode()
            )
        except OSError as e:
            # Only a cache of hashes already checked: a read-only store is verified every run.
            if e.errno not in _READ_ONLY:
                raise

    def check(self, art: Artifact, verified: dict[str, list[int]]) -> bool:
        """True if stored and intact, False if absent; raises if stored but wrong."""
        path = self.blob(art)
        try:
            st = path.stat()
        except FileNotFoundError:
            return False
        if verified.get(art.sha256) == _fingerprint(st):
            return True
        digest, size = sha256_of(path)
        if digest != art.sha256 or size != art.size:
            raise StoreError(
                f"stored artifact {art.filename} is corrupt: {path}\n"
                f"  expected sha256 {art.sha256} ({art.size} bytes)\n"
                f"  actual   sha256 {digest} ({size} bytes)\n"
                f"  Delete that file and run again to fetch it anew."
            )
        verified[art.sha256] = _fingerprint(st)
        return True

    def _ensure_link(self, art: Artifact) -> None:
        link = self.link(art)
        target = os.path.join("..", "sha256", art.sha256)
        if os.path.islink(link) and os.readlink(link) == target:
            return
        link.parent.mkdir(parents=True, exist_ok=True)
        tmp = link.with_name(f".{art.filename}.{uuid.uuid4().hex}.tmp")
        os.symlink(target, tmp)
        try:
            os.replace(tmp, link)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def ensure(
        self,
        artifacts: Iterable[Artifact],
        fetcher: "Fetcher | None" = None,
        log=lambda msg: print(msg, file=sys.stderr),
    ) -> None:
        artifacts = list(artifacts)
        verified = self._load_verified()
        before = dict(verified)
        missing = [a for a in artifacts if not self.check(a, verified)]
        if missing:
            with self.locked():
                # Another process may have fetched them while we waited for the lock.
                missing = [a for a in missing if not self.check(a, verified)]
                if missing:
                    fetcher = fetcher or Fetcher()
                    total = sum(a.size for a in missing)
                    log(f"store: fetching {len(missing)} artifact(s), {total / 1e6:.1f} MB")
                    for i, art in enumerate(missing, 1):
                        log(f"store: [{i}/{len(missing)}] {art.filename} ({art.size / 1e6:.1f} MB)")
                        fetcher.fetch(art, self)
                        self.check(art, verified)
        for art in artifacts:
            self._ensure_link(art)
        if verified != before:
            self._save_verified(verified)

    def put(self, art: Artifact, chunks: Iterable[bytes]) -> None:
        """Write bytes to a temporary file, verify, then give them their final name."""
        dest = self.blob(art)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(
                prefix=f".{art.sha256[:16]}.", suffix=".part", dir=dest.parent
            )
        except OSError as e:
            if e.errno in _NO_SPACE:
                raise _no_space(art, dest.parent, e) from e
            raise
        try:
            h = hashlib.sha256()
            size = 0
            with os.fdopen(fd, "wb") as out:
                try:
                    for chunk in chunks:
                        h.update(chunk)
                        size += len(chunk)
                        if size > art.size:
                            break
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
                except OSError as e:
                    if e.errno in _NO_SPACE:
                        raise _no_space(art, dest.parent, e) from e
                    raise
            if size < art.size:
                raise TruncatedDownload(
                    f"only {size} of {art.size} bytes of {art.filename} arrived"
                )
            if h.hexdigest() != art.sha256 or size != art.size:
                raise StoreError(
                    f"downloaded {art.filename} does not match its pin; nothing was stored\n"
                    f"  expected sha256 {art.sha256} ({art.size} bytes)\n"
                    f"  actual   sha256 {h.hexdigest()} ({size}{'+' if size > art.size else ''} bytes)"
                )
            os.chmod(tmp, 0o444)
            os.replace(tmp, dest)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


# ---------------------------------------------------------------------------
# fetching through the index's simple API (PEP 691 JSON)


class Fetcher:
    def __init__(self, index: str | None = None, retries: int = 3):
        config = _pip_config()
        self.index = (index or index_url(config)).rstrip("/") + "/"
        self.context = ssl_context(config)
        self.retries = retries
        self._pages: dict[str, tuple[str, dict]] = {}

    def _open(self, url: str, accept: str | None = None):
        headers = {"User-Agent": "numpy-release-store/1"}
        if accept:
            headers["Accept"] = accept
        req = urllib.request.Request(url, headers=headers)
        if url.startswith("file:"):
            return urllib.request.urlopen(req)
        return urllib.request.urlopen(req, context=self.context, timeout=120)

    def project_page(self, project: str, wanted: str | None = None) -> tuple[str, dict]:
        """The index's PEP 691 page of `project`; `wanted` names the file it is for (errors)."""
        name = normalize(project)
        if name not in self._pages:
            url = urllib.parse.urljoin(self.index, f"{name}/")
            try:
                with self._open(url, accept=f"{SIMPLE_JSON}, application/json;q=0.5") as resp:
                    self._pages[name] = (resp.geturl(), json.load(resp))
            except urllib.error.HTTPError as e:
                raise self._refused(e, wanted or project, f"the project {project}") from e
        return self._pages[name]

    def _refused(self, e: urllib.error.HTTPError, filename: str, what: str) -> Exception:
        """HTTP errors that retrying cannot fix become a StoreError naming the file."""
        index = _redact(self.index)
        if e.code == 404:
            return StoreError(
                f"{filename}: {what} is not on the configured package index {index} (HTTP 404).\n"
                "  Check PIP_INDEX_URL / pip's configuration, or that the mirror carries it."
            )
        if e.code in (401, 403):
            return StoreError(
                f"{filename}: the configured package index {index} does not allow access to "
                f"{what} (HTTP {e.code}).\n  Check the credentials pip is configured with."
            )
        return e  # a server error (5xx): worth another try

    def url_for(self, art: Artifact) -> str:
        if art.debian_path:
            try:
                return debian.mirror() + art.debian_path
            except debian.DebianError as e:
                raise StoreError(f"{art.filename}: {e}") from e
        page_url, page = self.project_page(art.project, art.filename)
        for entry in page.get("files", []):
            if entry.get("filename") == art.filename:
                listed = entry.get("hashes", {}).get("sha256")
                if listed and listed != art.sha256:
                    raise StoreError(
                        f"the index lists {art.filename} with sha256 {listed}, "
                        f"but the pin says {art.sha256}; nothing was stored"
                    )
                return urllib.parse.urljoin(page_url, entry["url"])
        raise StoreError(
            f"{art.filename} ({art.project}) is not listed by the package index {_redact(self.index)}"
        )

    def fetch(self, art: Artifact, store: Store) -> None:
        url = self.url_for(art)
        last: Exception | None = None
        for attempt in range(1, self.retries + 1):
            try:
                with self._open(url) as resp:
                    store.put(art, iter(lambda: resp.read(CHUNK), b""))
                return
            except StoreError:
                raise
            except urllib.error.HTTPError as e:
                refused = self._refused(e, art.filename, "the file")
                if isinstance(refused, StoreError):
                    raise refused from e
                last = e
            except (OSError, http.client.HTTPException) as e:
                # A dropped connection or a short read: try again; nothing half-written stays.
                last = e
            if attempt < self.retries:
                time.sleep(attempt)
        raise StoreError(
            f"could not download {art.filename} after {self.retries} attempt(s): {last}"
        )


def _redact(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    netloc = parts.hostname or ""
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


# ---------------------------------------------------------------------------
# command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["ensure", "verify", "path"])
    parser.add_argument("--manifest", type=Path, required=True, help="3rdparty/artifacts.json")
    parser.add_argument("--store", type=Path, default=None, help="store directory")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        help="only artifacts of this set (the only way to fetch an on_demand set)",
    )
    parser.add_argument(
        "--platform",
        action="append",
        default=[],
        help="only what hosts of this declared platform use (repeatable; default: this host's); "
        "'all' for every declared platform, as a maintainer needs to regenerate lockfiles",
    )
    args = parser.parse_args(argv)
    store = Store(args.store or default_store_dir())
    if args.command == "path":
        print(store.root)
        return 0
    with open(args.manifest) as f:
        manifest = json.load(f)  # read once: this runs before every ./pants command
    arts = [Artifact.from_json(a) for a in manifest["artifacts"]]
    declared = platforms_of(manifest)
    # A manifest that declares no platforms has every file for this host.
    if declared or args.platform:
        try:
            names = args.platform or [wheel_tags.host_store_platform_name()]
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return 3
        if "all" in names:
            names = sorted(declared)
        unknown = [n for n in names if n not in declared]
        if unknown:
            print(
                f"error: platform(s) {unknown} are not declared in {args.manifest}; declared: {sorted(declared)}",
                file=sys.stderr,
            )
            return 2
        own = for_platforms(arts, [declared[n] for n in names])
        arts = own + cross_build_inputs(manifest.get("sets", {}), arts, own, declared, names)
    if args.set:
        arts = [a for a in arts if set(a.sets) & set(args.set)]
    else:
        # Sets marked on_demand (e.g. the cache server) are fetched only when named.
        on_demand = {n for n, spec in manifest.get("sets", {}).items() if spec.get("on_demand")}
        arts = [a for a in arts if not a.sets or set(a.sets) - on_demand]
    try:
        if args.command == "verify":
            verified: dict[str, list[int]] = {}
            bad = [a for a in arts if not store.check(a, verified)]
            for a in bad:
                print(f"missing: {a.filename}", file=sys.stderr)
            return 1 if bad else 0
        store.ensure(arts)
    except StoreError as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    except OSError as e:
        print(f"error: the artifact store could not be filled: {e}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
