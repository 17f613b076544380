"""The artifact store: fetch through a PEP 691 index, verify, never expose a partial file."""

from __future__ import annotations

import errno
import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from build_defs.bootstrap import pin, store

PAYLOAD = b"pretend wheel contents\n" * 1000
OTHER = b"another artifact\n" * 50


def _artifact(name: str, data: bytes, project: str = "demo") -> store.Artifact:
    return store.Artifact(project, name, hashlib.sha256(data).hexdigest(), len(data), ("test",))


class _Index:
    """A tiny PEP 691 index on loopback; `files` maps filename -> bytes actually served."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.listed_hashes: dict[str, str] = {}
        self.truncate_after: int | None = None
        self.truncated_downloads = 0  # how many downloads are cut short (None: all)
        self.status: int | None = None  # answer every file request with this HTTP status
        self.downloads: list[str] = []
        index = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                if self.path.startswith("/simple/demo/"):
                    body = json.dumps(
                        {
                            "meta": {"api-version": "1.1"},
                            "name": "demo",
                            "files": [
                                {
                                    "filename": name,
                                    "size": len(data),
                                    "upload-time": "2023-11-14T22:13:20.000000Z",
                                    "url": f"../../files/{name}",
                                    "hashes": {
                                        "sha256": index.listed_hashes.get(
                                            name, hashlib.sha256(data).hexdigest()
                                        )
                                    },
                                }
                                for name, data in index.files.items()
                            ],
                        }
                    ).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", store.SIMPLE_JSON)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                name = self.path.rsplit("/", 1)[-1]
                if not self.path.startswith("/files/") or name not in index.files:
                    self.send_error(404)
                    return
                if index.status is not None:
                    self.send_error(index.status)
                    return
                index.downloads.append(name)
                data = index.files[name]
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                cut = index.truncate_after is not None and (
                    index.truncated_downloads is None
                    or len(index.downloads) <= index.truncated_downloads
                )
                if cut:
                    self.wfile.write(data[: index.truncate_after])
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/simple/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def index():
    idx = _Index()
    yield idx
    idx.close()


def _final_and_partial_files(root: Path) -> list[str]:
    blobs = root / "sha256"
    return sorted(p.name for p in blobs.iterdir()) if blobs.exists() else []


def test_fetch_verifies_and_links(index: _Index, tmp_path: Path) -> None:
    art = _artifact("demo-1.0-py3-none-any.whl", PAYLOAD)
    index.files[art.filename] = PAYLOAD
    s = store.Store(tmp_path)
    s.ensure([art], fetcher=store.Fetcher(index.url, retries=1), log=lambda m: None)
    assert (tmp_path / "sha256" / art.sha256).read_bytes() == PAYLOAD
    assert (tmp_path / "files" / art.filename).read_bytes() == PAYLOAD
    assert os.readlink(tmp_path / "files" / art.filename) == f"../sha256/{art.sha256}"
    # A second ensure neither downloads nor re-hashes (the fingerprint is recorded).
    s.ensure([art], fetcher=store.Fetcher(index.url, retries=1), log=lambda m: None)
    assert index.downloads == [art.filename]
    assert art.sha256 in json.loads((tmp_path / "verified.json").read_text())


def test_wrong_bytes_from_index_store_nothing(index: _Index, tmp_path: Path) -> None:
    art = _artifact("demo-1.0-py3-none-any.whl", PAYLOAD)
    index.files[art.filename] = PAYLOAD[:-1] + b"X"
    index.listed_hashes[art.filename] = art.sha256  # the index lies too
    with pytest.raises(store.StoreError) as err:
        store.Store(tmp_path).ensure(
            [art], fetcher=store.Fetcher(index.url, retries=1), log=lambda m: None
        )
    message = str(err.value)
    assert art.filename in message and art.sha256 in message
    assert hashlib.sha256(index.files[art.filename]).hexdigest() in message
    assert _final_and_partial_files(tmp_path) == []
    assert not (tmp_path / "files" / art.filename).exists()


def test_index_listing_a_different_hash_is_refused(index: _Index, tmp_path: Path) -> None:
    art = _artifact("demo-1.0-py3-none-any.whl", PAYLOAD)
    index.files[art.filename] = OTHER
    with pytest.raises(store.StoreError, match="the index lists demo-1.0-py3-none-any.whl"):
        store.Store(tmp_path).ensure(
            [art], fetcher=store.Fetcher(index.url, retries=1), log=lambda m: None
        )
    assert index.downloads == []


def test_interrupted_download_leaves_no_file(index: _Index, tmp_path: Path) -> None:
    art = _artifact("demo-1.0-py3-none-any.whl", PAYLOAD)
    index.files[art.filename] = PAYLOAD
    index.truncate_after = 1000
    index.truncated_downloads = None  # every attempt is cut short
    with pytest.raises(store.StoreError) as err:
        store.Store(tmp_path).ensure(
            [art], fetcher=store.Fetcher(index.url, retries=2), log=lambda m: None
        )
    assert _final_and_partial_files(tmp_path) == []
    # Retried, and reported as an interrupted download, not as tampering.
    assert index.downloads == [art.filename] * 2
    assert "after 2 attempt(s)" in str(err.value) and "does not match its pin" not in str(err.value)


def test_truncated_download_is_retried(index: _Index, tmp_path: Path) -> None:
    art = _artifact("demo-1.0-py3-none-any.whl", PAYLOAD)
    index.files[art.filename] = PAYLOAD
    index.truncate_after = 1000
    index.truncated_downloads = 1  # the first attempt is cut short, the second completes
    store.Store(tmp_path).ensure(
        [art], fetcher=store.Fetcher(index.url, retries=3), log=lambda m: None
    )
    assert index.downloads == [art.filename] * 2
    assert (tmp_path / "files" / art.filename).read_bytes() == PAYLOAD


@pytest.mark.parametrize(
    "status, says",
    [
        (404, "is not on the configured package index"),
        (401, "does not allow"),
        (403, "does not allow"),
    ],
)
def test_refusals_from_the_index_name_the_file_and_are_not_retried(
    index: _Index, tmp_path: Path, status: int, says: str
) -> None:
    art = _artifact("demo-1.0-py3-none-any.whl", PAYLOAD)
    index.files[art.filename] = PAYLOAD
    index.status = status
    requests = []
    fetcher = store.Fetcher(index.url, retries=3)
    original = fetcher._open
    fetcher._open = lambda url, accept=None: requests.append(url) or original(url, accept)
    with pytest.raises(store.StoreError) as err:
        store.Store(tmp_path).ensure([art], fetcher=fetcher, log=lambda m: None)
    assert (
        art.filename in str(err.value)
        and says in str(err.value)
        and f"HTTP {status}" in str(err.value)
    )
    assert len([u for u in requests if "/files/" in u]) == 1  # no retry
    assert _final_and_partial_files(tmp_path) == []


def test_a_missing_project_page_says_not_on_the_index(index: _Index, tmp_path: Path) -> None:
    art = _artifact("other-1.0-py3-none-any.whl", PAYLOAD, project="other")
    with pytest.raises(
        store.StoreError, match="other-1.0-py3-none-any.whl: the project other is not on"
    ):
        store.Store(tmp_path).ensure(
            [art], fetcher=store.Fetcher(index.url, retries=3), log=lambda m: None
        )


def test_a_full_disk_says_so(tmp_path: Path) -> None:
    art = _artifact("demo-1.0-py3-none-any.whl", PAYLOAD)

    def chunks():
        yield PAYLOAD[:100]
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(store.StoreError, match="no space left to store demo-1.0-py3-none-any.whl"):
        store.Store(tmp_path).put(art, chunks())
    assert _final_and_partial_files(tmp_path) == []


def test_a_read_only_store_still_verifies(index: _Index, tmp_path: Path) -> None:
    art = _artifact("demo-1.0-py3-none-any.whl", PAYLOAD)
    index.files[art.filename] = PAYLOAD
    root = tmp_path / "store"
    store.Store(root).ensure([art], fetcher=store.Fetcher(index.url, retries=1), log=lambda m: None)
    (root / "verified.json").unlink()  # forces a re-hash, and a record it cannot write
    # Read-only for root too: a read-only bind mount.
    subprocess.run(["mount", "--bind", str(root), str(root)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(root)], check=True)
        with pytest.raises(OSError):
            (root / "probe").write_text("x")
        store.Store(root).ensure([art], fetcher=None, log=lambda m: None)
        assert not (root / "verified.json").exists()
    finally:
        subprocess.run(["umount", str(root)], check=True)


def test_temporary_names_are_not_pid_based() -> None:
    """A PID is reused across containers and machines sharing a store: names must be unique."""
    for path in (Path(store.__file__), Path.cwd() / "pants"):
        source = path.read_text()
        assert "getpid" not in source and "$$" not in source, path


def test_missing_from_index_names_the_file(index: _Index, tmp_path: Path) -> None:
    art = _artifact("demo-2.0-py3-none-any.whl", PAYLOAD)
    with pytest.raises(store.StoreError, match="demo-2.0-py3-none-any.whl .* is not listed"):
        store.Store(tmp_path).ensure(
            [art], fetcher=store.Fetcher(index.url, retries=1), log=lambda m: None
        )


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_damaged_stored_artifact_is_refused(index: _Index, tmp_path: Path, damage: str) -> None:
    art = _artifact("demo-1.0-py3-none-any.whl", PAYLOAD)
    index.files[art.filename] = PAYLOAD
    s = store.Store(tmp_path)
    s.ensure([art], fetcher=store.Fetcher(index.url, retries=1), log=lambda m: None)
    blob = tmp_path / "sha256" / art.sha256
    blob.chmod(0o644)
    data = bytearray(blob.read_bytes())
    if damage == "flip":
        data[100] ^= 0xFF
    else:
        del data[-10:]
    blob.write_bytes(bytes(data))
    with pytest.raises(store.StoreError) as err:
        s.ensure([art], fetcher=store.Fetcher(index.url, retries=1), log=lambda m: None)
    assert f"stored artifact {art.filename} is corrupt" in str(err.value)
    assert hashlib.sha256(bytes(data)).hexdigest() in str(err.value)


def test_two_concurrent_processes_fetch_once(index: _Index, tmp_path: Path) -> None:
    arts = [
        _artifact("demo-1.0-py3-none-any.whl", PAYLOAD),
        _artifact("demo-1.0.tar.gz", OTHER),
    ]
    for art, data in zip(arts, (PAYLOAD, OTHER)):
        index.files[art.filename] = data
    manifest = tmp_path / "artifacts.json"
    manifest.write_text(
        json.dumps(
            {
                "artifacts": [
                    {
                        "project": a.project,
                        "filename": a.filename,
                        "sha256": a.sha256,
                        "size": a.size,
                        "sets": list(a.sets),
                    }
                    for a in arts
                ]
            }
        )
    )
    env = {**os.environ, "PIP_INDEX_URL": index.url, "NUMPY_RELEASE_STORE": str(tmp_path / "s")}
    script = Path(store.__file__)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), "ensure", "--manifest", str(manifest)],
            env=env,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    assert sorted(index.downloads) == sorted(a.filename for a in arts)
    for art, data in zip(arts, (PAYLOAD, OTHER)):
        assert (tmp_path / "s" / "files" / art.filename).read_bytes() == data


def _index_url_with(env: dict[str, str]) -> str:
    """store.index_url() as the launcher runs it: on the base CPython, which has pip."""
    base_python = (
        Path(sys.base_prefix) / "bin" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")} | env
    out = subprocess.run(
        [str(base_python), "-c", "import store; print(store.index_url())"],
        cwd=Path(store.__file__).parent,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def test_index_url_follows_pip_configuration(tmp_path: Path) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = http://127.0.0.1:9/configured/simple\n")
    assert _index_url_with({"PIP_CONFIG_FILE": str(conf)}) == "http://127.0.0.1:9/configured/simple"
    assert (
        _index_url_with({"PIP_CONFIG_FILE": str(conf), "PIP_INDEX_URL": "http://127.0.0.1:9/env"})
        == "http://127.0.0.1:9/env"
    )
    # With no configuration at all, pip's own default is used (and not written in our code).
    default = _index_url_with({"PIP_CONFIG_FILE": os.devnull})
    assert default.startswith("https://") and default.endswith("/simple")


def test_manifest_pins_every_hash_of_the_requirement_files() -> None:
    """Every --hash in a checked-in requirement file must be an artifact the store fetches."""
    root = Path(__file__).resolve().parents[3]
    pinned = {a.sha256 for a in store.load_manifest(root / "3rdparty" / "artifacts.json")}
    hashes = set()
    for req in (root / "3rdparty").rglob("*.txt"):
        hashes |= {
            line.split("sha256:")[1].split()[0]
            for line in req.read_text().splitlines()
            if "--hash=sha256:" in line
        }
    assert hashes and hashes <= pinned


def test_pin_sdist_pins_fetches_and_prints_a_source_release(index: _Index, tmp_path: Path) -> None:
    sdist = b"sdist bytes\n" * 100
    index.files["demo-1.0.tar.gz"] = sdist
    index.files["demo-1.0-py3-none-any.whl"] = PAYLOAD
    index.files["demo-0.9.tar.gz"] = OTHER
    manifest = tmp_path / "artifacts.json"
    manifest.write_text(json.dumps({"sets": {}, "artifacts": []}))
    snippet = pin.pin_sdist(
        "demo==1.0", manifest, store.Fetcher(index.url, retries=1), store.Store(tmp_path / "store")
    )
    sha = hashlib.sha256(sdist).hexdigest()
    declared = {}
    exec(snippet, {"source_release": lambda **kw: declared.update(kw)})  # valid BUILD syntax
    assert declared == {
        "name": "demo",
        "version": "1.0",
        "filename": "demo-1.0.tar.gz",
        "sha256": sha,
        "size": len(sdist),
        "source_date_epoch": 1700000000,  # the listed upload time
    }
    data = json.loads(manifest.read_text())
    assert data["sets"] == {
        "demo-source": {"project": "demo", "version": "1.0", "filename": "demo-1.0.tar.gz"}
    }
    assert [(a["filename"], a["sha256"], a["sets"]) for a in data["artifacts"]] == [
        ("demo-1.0.tar.gz", sha, ["demo-source"])
    ]
    assert (tmp_path / "store/files/demo-1.0.tar.gz").read_bytes() == sdist
    with pytest.raises(SystemExit, match="no source archive of demo 2.0"):
        pin.pin_sdist(
            "demo==2.0",
            manifest,
            store.Fetcher(index.url, retries=1),
            store.Store(tmp_path / "store"),
        )


def test_ensure_fetches_only_what_the_host_platform_uses(index: _Index, tmp_path: Path) -> None:
    """Wheels tagged for another platform stay on the index; `--platform all` brings them."""
    from build_defs.bootstrap import wheel_tags

    host = wheel_tags.host_store_platform_name()
    other = "macos_arm64" if host != "macos_arm64" else "linux_x86_64"
    wheels = {
        "linux_x86_64": "demo-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
        "macos_arm64": "demo-1.0-cp312-cp312-macosx_11_0_arm64.whl",
    }
    arts = [
        _artifact(wheels[host] if host in wheels else wheels["linux_x86_64"], PAYLOAD),
        _artifact(wheels[other], OTHER),
        _artifact(
            "demo-1.0.tar.gz",
            OTHER + b"sdist",
        ),
    ]
    # A source archive only the other platform builds from: fetched only there.
    sdist_only_elsewhere = {"platforms": [other]}
    for art, data in zip(arts, (PAYLOAD, OTHER, OTHER + b"sdist")):
        index.files[art.filename] = data
    manifest = tmp_path / "artifacts.json"
    manifest.write_text(
        json.dumps(
            {
                "platforms": {
                    "linux_x86_64": {"system": "linux", "arch": "x86_64", "os_max": "2.35"},
                    "macos_arm64": {"system": "macos", "arch": "arm64", "os_max": "14.0"},
                    host: {
                        "system": host.split("_", 1)[0],
                        "arch": host.split("_", 1)[1],
                        "os_max": "99.0",
                    },
                },
                "artifacts": [
                    {
                        "project": a.project,
                        "filename": a.filename,
                        "sha256": a.sha256,
                        "size": a.size,
                        "sets": ["test"],
                        **(sdist_only_elsewhere if a.filename.endswith(".tar.gz") else {}),
                    }
                    for a in arts
                ],
            }
        )
    )
    env = {**os.environ, "PIP_INDEX_URL": index.url, "NUMPY_RELEASE_STORE": str(tmp_path / "s")}
    script = str(Path(store.__file__))
    subprocess.run(
        [sys.executable, script, "ensure", "--manifest", str(manifest)], env=env, check=True
    )
    assert index.downloads == [arts[0].filename]
    subprocess.run(
        [sys.executable, script, "ensure", "--manifest", str(manifest), "--platform", "all"],
        env=env,
        check=True,
    )
    assert sorted(index.downloads) == sorted(a.filename for a in arts)
    bad = subprocess.run(
        [
            sys.executable,
            script,
            "ensure",
            "--manifest",
            str(manifest),
            "--platform",
            "windows_x86",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "windows_x86" in bad.stderr and "not declared" in bad.stderr


def test_an_on_demand_set_is_fetched_only_when_named(index: _Index, tmp_path: Path) -> None:
    """The cache server's files stay out of every checkout's bootstrap."""
    always, wanted = _artifact("demo-1.0-py3-none-any.whl", PAYLOAD), _artifact(
        "demo-2.0-py3-none-any.whl", OTHER
    )
    index.files.update({always.filename: PAYLOAD, wanted.filename: OTHER})
    manifest = tmp_path / "artifacts.json"
    manifest.write_text(
        json.dumps(
            {
                "sets": {"base": {}, "server": {"on_demand": True}},
                "artifacts": [
                    {
                        "project": a.project,
                        "filename": a.filename,
                        "sha256": a.sha256,
                        "size": a.size,
                        "sets": [s],
                    }
                    for a, s in ((always, "base"), (wanted, "server"))
                ],
            }
        )
    )
    env = {**os.environ, "PIP_INDEX_URL": index.url, "NUMPY_RELEASE_STORE": str(tmp_path / "s")}
    script = str(Path(store.__file__))
    subprocess.run(
        [sys.executable, script, "ensure", "--manifest", str(manifest)], env=env, check=True
    )
    assert index.downloads == [always.filename]
    subprocess.run(
        [sys.executable, script, "ensure", "--manifest", str(manifest), "--set", "server"],
        env=env,
        check=True,
    )
    assert index.downloads == [always.filename, wanted.filename]


def test_a_host_fetches_what_it_cross_builds_with() -> None:
    """`fetch_on`: x86_64 Linux hosts also fetch the aarch64 wheel of a set that says so
    (what they cross-build aarch64 wheels with), and nothing else of that platform."""
    from build_defs.bootstrap import wheel_tags

    declared = {
        "linux_x86_64": wheel_tags.Platform.from_json(
            "linux_x86_64", {"system": "linux", "arch": "x86_64", "os_max": "2.35"}
        ),
        "linux_arm64": wheel_tags.Platform.from_json(
            "linux_arm64", {"system": "linux", "arch": "arm64", "os_max": "2.35"}
        ),
    }
    files = {
        "blas-1-py3-none-manylinux_2_28_x86_64.whl": "blas",
        "blas-1-py3-none-manylinux_2_28_aarch64.whl": "blas",
        "tool-1-py3-none-manylinux_2_28_aarch64.whl": "tool",
    }
    manifest = {
        "sets": {"blas": {"fetch_on": {"linux_arm64": ["linux_x86_64"]}}, "tool": {}},
        "artifacts": [
            {
                "project": n.split("-")[0],
                "filename": n,
                "sha256": f"{i:064x}",
                "size": 1,
                "sets": [s],
            }
            for i, (n, s) in enumerate(files.items())
        ],
    }
    arts = [store.Artifact.from_json(a) for a in manifest["artifacts"]]
    own = store.for_platforms(arts, [declared["linux_x86_64"]])
    assert [a.filename for a in own] == ["blas-1-py3-none-manylinux_2_28_x86_64.whl"]
    extra = store.cross_build_inputs(manifest["sets"], arts, own, declared, ["linux_x86_64"])
    assert [a.filename for a in extra] == ["blas-1-py3-none-manylinux_2_28_aarch64.whl"]
    assert store.cross_build_inputs(manifest["sets"], arts, own, declared, ["linux_arm64"]) == []
