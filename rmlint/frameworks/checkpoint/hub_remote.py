"""Checkpoint metadata read from the Hugging Face Hub, only with `--hub` (or `hub = true`): config.json,
adapter_config.json, the safetensors index and the header of each safetensors file, never tensor data.

Only the Hub's file URLs are used, `{endpoint}/{repo}/resolve/{revision}/{file}`, with HEAD and ranged
GET (as huggingface_hub's get_safetensors_metadata reads headers), so mirrors work; HF_ENDPOINT, HF_TOKEN
and HF_HUB_OFFLINE are honoured. What is read is kept on disk by commit, as a folder the checkpoint
readers open like a local one: each weight file is a `<name>.rmlint-header` sidecar holding its size
and header bytes. huggingface_hub is imported here only, so a run without --hub never loads it.
"""

import json
import os
import shutil
import tempfile

from .tensors import HEADER_SUFFIX

MAX_HEADER_READ = 256 * 1024      # bytes read from one weight file, at most
MAX_JSON = 16 * 1024 * 1024       # config/index files larger than this are not read
MAX_SHARDS = 512                  # shards of one index read, at most
DONE = "rmlint-hub.json"          # written last: the folder is complete


class HubError(Exception):
    """Why a model's metadata could not be read from the Hub: `reason`, a kind with its facts (numbers, names,
    the library's own words), worded with the other reasons a checkpoint is skipped (formats.SKIPPED)."""

    def __init__(self, kind: str, **facts):
        from ...problems import skip
        super().__init__(kind)
        self.status, self.reason = facts.get("status", 0), skip(kind, **facts)


def _root() -> str:
    from ...cache_folder import cache_folder
    return os.path.join(str(cache_folder()), "hub")


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in ("1", "ON", "YES", "TRUE")


class _Client:
    def __init__(self, repo: str, revision: str, timeout: float):
        from huggingface_hub import __version__ as hub_version, get_token, hf_hub_url
        from huggingface_hub.utils import get_session
        from ...about import __version__
        self.repo, self.revision, self.timeout = repo, revision, timeout
        self.endpoint = (os.environ.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")
        # headers written here, not by build_hf_headers: its telemetry asks {endpoint}/api/... for an
        # agent registry, and only file URLs may be needed (mirrors serve nothing else)
        self.headers = {"User-Agent": f"rmlint/{__version__}; hf_hub/{hub_version}", "Accept-Encoding": "identity"}
        token = os.environ.get("HF_TOKEN") or get_token()
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.session, self.url_of = get_session(), hf_hub_url

    def url(self, name: str) -> str:
        return self.url_of(self.repo, name, revision=self.revision, endpoint=self.endpoint)

    def head(self, name: str):
        """(commit, size) of a file, or None when the repo has no such file."""
        response = self.session.request("HEAD", self.url(name), headers=self.headers, timeout=self.timeout,
                                        follow_redirects=True)
        if response.status_code == 404:
            return None
        self._check(response, name)
        size = response.headers.get("X-Linked-Size") or response.headers.get("Content-Length")
        return response.headers.get("X-Repo-Commit"), int(size) if size and size.isdigit() else None

    def get(self, name: str, first: int, last: int) -> tuple:
        """(bytes first..last, total size or None): a ranged GET that never reads past `last`, even from a
        server that ignores Range."""
        headers = dict(self.headers, Range=f"bytes={first}-{last}")
        with self.session.stream("GET", self.url(name), headers=headers, timeout=self.timeout,
                                 follow_redirects=True) as response:
            self._check(response, name)
            if response.status_code == 200 and first:
                raise HubError("hub-ignores-range", file=name)
            want, data = last - first + 1, bytearray()
            for chunk in response.iter_bytes():
                data += chunk[: want - len(data)]
                if len(data) >= want:
                    break
            total = response.headers.get("Content-Range", "").rpartition("/")[2]
            size = int(total) if total.isdigit() else None
            if size is None and response.status_code == 200:
                length = response.headers.get("Content-Length", "")
                size = int(length) if length.isdigit() else None
        return bytes(data), size

    def _check(self, response, name: str):
        if response.status_code in (401, 403):
            raise HubError("hub-forbidden", file=name, status=response.status_code)
        if response.status_code >= 400:
            raise HubError("hub-http-error", file=name, status=response.status_code)


def fetch(repo: str, timeout: float = 10.0, revision: str = "main") -> str:
    """A folder holding what the Hub says about `repo`, read once per commit. HubError says why not."""
    base = os.path.join(_root(), "models--" + repo.replace("/", "--"))
    ref = os.path.join(base, "refs", revision.replace("/", "--"))
    if _offline():
        folder = _cached(base, ref)
        if folder:
            return folder
        raise HubError("hub-offline")
    try:
        import huggingface_hub  # noqa: F401
    except ImportError:
        raise HubError("hub-needs-huggingface-hub") from None
    try:
        return _fetch(repo, revision, timeout, base, ref)
    except HubError:
        raise
    except OSError as err:               # the cache folder: disk full, not writable
        raise HubError("hub-cache-unwritable", error=str(err.strerror or err)) from None
    except Exception as err:             # httpx timeouts, refused connections, truncated bodies, bad URLs
        raise _failure(err) from None


def _failure(err: Exception) -> HubError:
    """httpx's exception by its class name (the library's own words kept as a fact, cut at 200 characters)."""
    name = type(err).__name__
    if "Timeout" in name:
        return HubError("hub-timeout", exception=name)
    if "Connect" in name:
        return HubError("hub-cannot-connect", exception=name)
    return HubError("hub-failed", exception=name, error=str(err)[:200])


def _cached(base: str, ref: str):
    from ...sources.files import read_input
    try:   # the safe open: a FIFO or an oversized ref is no commit
        commit = read_input(ref, 100).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    folder = os.path.join(base, "snapshots", commit)
    return folder if commit and os.path.isfile(os.path.join(folder, DONE)) else None


def _fetch(repo: str, revision: str, timeout: float, base: str, ref: str) -> str:
    client = _Client(repo, revision, timeout)
    found = {name: client.head(name) for name in ("config.json", "adapter_config.json")}
    present = {name: meta for name, meta in found.items() if meta}
    if not present:
        raise HubError("hub-no-config", status=404)
    commit = next((meta[0] for meta in present.values() if meta[0]), None)
    folder = os.path.join(base, "snapshots", commit) if commit else None
    if folder and os.path.isfile(os.path.join(folder, DONE)):
        return folder
    os.makedirs(os.path.join(base, "snapshots"), exist_ok=True)
    work = tempfile.mkdtemp(prefix=".partial-", dir=os.path.join(base, "snapshots"))
    try:
        for name in present:
            _json_file(client, name, work)
        adapter = "adapter_config.json" in present
        weights = ["adapter_model.safetensors"] if adapter else []
        if not adapter:
            index = client.head("model.safetensors.index.json")
            if index:
                weights = _shards(_json_file(client, "model.safetensors.index.json", work))
            else:
                weights = ["model.safetensors"]
        for name in weights + ["value_head.safetensors"]:     # LLaMA-Factory keeps its value head apart
            _header(client, name, work, optional=name == "value_head.safetensors")
        with open(os.path.join(work, DONE), "w", encoding="utf-8") as handle:
            json.dump({"repo": repo, "revision": revision, "commit": commit, "endpoint": client.endpoint}, handle)
        if not folder:                   # a mirror that names no commit: nothing to key a cache on
            folder = os.path.join(base, "snapshots", "no-commit")
            shutil.rmtree(folder, ignore_errors=True)
        if os.path.isdir(folder):
            shutil.rmtree(folder, ignore_errors=True)
        os.replace(work, folder)
        if commit:
            os.makedirs(os.path.dirname(ref), exist_ok=True)
            with open(ref + ".tmp", "w", encoding="ascii") as handle:
                handle.write(commit)
            os.replace(ref + ".tmp", ref)
        return folder
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _json_file(client: _Client, name: str, work: str):
    data, size = client.get(name, 0, MAX_JSON - 1)
    if size is not None and size > MAX_JSON:
        raise HubError("hub-file-too-large", file=name, size=size, limit=MAX_JSON)
    with open(os.path.join(work, name), "wb") as handle:
        handle.write(data)
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None       # kept as read: the checkpoint reader reports it with its position


def _shards(index) -> list:
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict):
        return []
    shards = sorted({v for v in weight_map.values() if isinstance(v, str) and "/" not in v and v.endswith(".safetensors")
                     and v != ".."})
    if len(shards) > MAX_SHARDS:
        raise HubError("hub-too-many-shards", shards=len(shards), limit=MAX_SHARDS)
    return shards


def _header(client: _Client, name: str, work: str, optional: bool):
    """`<name>` + HEADER_SUFFIX: 8 bytes of file size, then the file's first 8 + N bytes (its header).
    Two ranged reads, the length and then the header: no byte of tensor data is asked for."""
    try:
        data, size = client.get(name, 0, 7)
    except HubError as err:
        if optional and err.status == 404:
            return
        if err.status == 404:
            raise HubError("hub-weights-missing", file=name, status=404) from None
        raise
    if len(data) < 8:
        raise HubError("hub-short-length", file=name, got=len(data))
    length = int.from_bytes(data[:8], "little")
    if 8 + length > MAX_HEADER_READ:
        raise HubError("hub-header-too-large", file=name, length=length, limit_kb=MAX_HEADER_READ // 1024)
    header, _ = client.get(name, 8, 8 + length - 1) if length else (b"", size)
    if len(header) < length:
        raise HubError("hub-header-cut", file=name, got=8 + len(header))
    if size is None:
        raise HubError("hub-no-size", file=name)
    with open(os.path.join(work, name + HEADER_SUFFIX), "wb") as handle:
        handle.write(size.to_bytes(8, "little") + data[:8] + header[:length])
