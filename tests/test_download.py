"""``mocose data download`` against a local HTTP server on 127.0.0.1 serving a small tar and text
file built here: resumed transfers (HTTP Range), checksum checks, unpacking into DIR/senteval."""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mocose import download as dl

STS_LINE = "a man is playing a guitar .\ta man plays the guitar .\n"


class Server:
    """Serves ``files`` (name -> bytes) with Range support; can cut a response short or ignore
    Range, and records the Range header of every request."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.cut_after: dict[str, int] = {}  # name -> bytes sent before dropping the connection
        self.ignore_range = False
        self.ranges: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                data = server.files.get(name)
                server.ranges.append((name, self.headers.get("Range")))
                if data is None:
                    self.send_error(404)
                    return
                start = 0
                rng = self.headers.get("Range")
                if rng and not server.ignore_range:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                cut = server.cut_after.pop(name, None)
                self.wfile.write(body if cut is None else body[:cut])
                self.wfile.flush()
                if cut is not None:
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/resolve/main"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "Server":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def make_tar(prefix: str = "") -> bytes:
    """A small senteval.tar: STS/ and SICK/ as SentEval's downstream folder has them."""
    members = {
        f"{prefix}STS/STS12-en-test/STS.input.MSRpar.txt": STS_LINE.encode() * 50,
        f"{prefix}STS/STS12-en-test/STS.gs.MSRpar.txt": b"4.2\n" * 50,
        f"{prefix}SICK/SICK_test_annotated.txt": b"pair_ID\tsentence_A\tsentence_B\trelatedness_score\n",
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


WIKI = "".join(f"sentence number {i} of the wiki corpus .\n" for i in range(3000)).encode()


def remotes(tar: bytes, wiki: bytes = WIKI) -> tuple[dl.Remote, ...]:
    return (dl.Remote("senteval.tar", "senteval.tar", sha(tar), len(tar), "senteval"),
            dl.Remote("wiki1m_for_simcse.txt", "wiki/wiki1m_for_simcse.txt", sha(wiki), None))


def test_published_files_are_pinned():
    names = {f.name: f for f in dl.FILES}
    assert set(names) == {"senteval.tar", "wiki1m_for_simcse.txt"}
    assert dl.URL_BASE == ("https://huggingface.co/datasets/princeton-nlp/datasets-for-simcse/resolve/"
                           "e145e8bb659b2aa2669f32ef79cb4cdef6c58fef")
    assert names["senteval.tar"].size == 89825280 and names["senteval.tar"].unpack == "senteval"
    assert names["wiki1m_for_simcse.txt"].target == "wiki/wiki1m_for_simcse.txt"
    assert all(len(f.sha256) == 64 for f in dl.FILES)


def test_download_checks_and_unpacks_into_the_data_layout(tmp_path):
    tar = make_tar()
    with Server({"senteval.tar": tar, "wiki1m_for_simcse.txt": WIKI}) as server:
        folder = dl.download_data(tmp_path / "data", url_base=server.url, files=remotes(tar),
                                  progress=False)
        assert (folder / "senteval" / "STS" / "STS12-en-test" / "STS.input.MSRpar.txt").read_text() \
            == STS_LINE * 50
        assert (folder / "senteval" / "SICK" / "SICK_test_annotated.txt").is_file()
        assert (folder / "wiki" / "wiki1m_for_simcse.txt").read_bytes() == WIKI
        assert not (folder / "senteval.tar").exists()  # removed once unpacked
        assert not list(folder.rglob("*.part"))
        record = json.loads((folder / dl.RECORD).read_text())
        assert record["senteval.tar"]["sha256"] == sha(tar)
        # The data module accepts the folder, and a second call fetches nothing.
        from mocose.data import resolve_data_dir

        assert resolve_data_dir(folder) == folder
        before = len(server.ranges)
        dl.download_data(folder, url_base=server.url, files=remotes(tar), progress=False)
        assert len(server.ranges) == before


def test_a_tar_with_a_top_folder_unpacks_the_same(tmp_path):
    tar = make_tar(prefix="downstream/")
    with Server({"senteval.tar": tar}) as server:
        dl.download_data(tmp_path, url_base=server.url, files=remotes(tar)[:1], progress=False)
    assert (tmp_path / "senteval" / "STS" / "STS12-en-test" / "STS.gs.MSRpar.txt").is_file()
    assert not (tmp_path / "senteval" / "downstream").exists()


def test_interrupted_download_resumes_with_range(tmp_path):
    with Server({"wiki1m_for_simcse.txt": WIKI}) as server:
        server.cut_after["wiki1m_for_simcse.txt"] = 40000
        files = remotes(b"")[1:]
        with pytest.raises(dl.DownloadError, match="40000 of"):
            dl.download_data(tmp_path, url_base=server.url, files=files, progress=False, retries=0)
        part = tmp_path / "wiki" / "wiki1m_for_simcse.txt.part"
        assert part.stat().st_size == 40000 and part.read_bytes() == WIKI[:40000]
        dl.download_data(tmp_path, url_base=server.url, files=files, progress=False, retries=0)
        assert server.ranges[-1] == ("wiki1m_for_simcse.txt", "bytes=40000-")
    assert (tmp_path / "wiki" / "wiki1m_for_simcse.txt").read_bytes() == WIKI
    assert not part.exists()


def test_retries_resume_within_one_call_and_a_server_ignoring_range_restarts(tmp_path, monkeypatch):
    monkeypatch.setattr(dl.time, "sleep", lambda s: None)
    tar = make_tar()
    with Server({"senteval.tar": tar}) as server:
        server.cut_after["senteval.tar"] = 1000
        dl.download_data(tmp_path / "a", url_base=server.url, files=remotes(tar)[:1], progress=False)
        assert [r for _, r in server.ranges] == [None, "bytes=1000-"]
        assert (tmp_path / "a" / "senteval" / "STS").is_dir()

        server.ignore_range = True  # answers 200 with the whole file: the part is rewritten
        part = tmp_path / "b" / "senteval.tar.part"
        part.parent.mkdir()
        part.write_bytes(b"garbage that is not the start of the tar")
        dl.download_data(tmp_path / "b", url_base=server.url, files=remotes(tar)[:1], progress=False)
        assert (tmp_path / "b" / "senteval" / "SICK").is_dir()


def test_checksum_mismatch_is_an_error_and_deletes_the_file(tmp_path):
    tar = make_tar()
    bad = dl.Remote("senteval.tar", "senteval.tar", sha(b"other bytes"), None, "senteval")
    with Server({"senteval.tar": tar}) as server:
        with pytest.raises(dl.DownloadError, match="checksum mismatch") as err:
            dl.download_data(tmp_path, url_base=server.url, files=(bad,), progress=False)
        assert sha(tar) in str(err.value)
        assert not (tmp_path / "senteval.tar").exists() and not (tmp_path / "senteval").exists()
        wrong_size = dl.Remote("senteval.tar", "senteval.tar", None, len(tar) + 1, "senteval")
        server.files["senteval.tar"] = tar + b"x" * 2  # longer than announced: refused by size
        with pytest.raises(dl.DownloadError, match="size"):
            dl.download_data(tmp_path, url_base=server.url, files=(wrong_size,), progress=False, retries=0)


def test_unpublished_checksum_is_recorded_then_enforced(tmp_path, capsys):
    with Server({"wiki1m_for_simcse.txt": WIKI}) as server:
        files = (dl.Remote("wiki1m_for_simcse.txt", "wiki/wiki1m_for_simcse.txt", None),)
        dl.download_data(tmp_path, url_base=server.url, files=files, progress=False)
        assert "recorded sha256 " + sha(WIKI) in capsys.readouterr().err
        server.files["wiki1m_for_simcse.txt"] = WIKI + b"tampered\n"
        with pytest.raises(dl.DownloadError, match="checksum mismatch"):
            dl.download_data(tmp_path, url_base=server.url, files=files, force=True, progress=False)


def test_cli_command_and_unreachable_server(tmp_path, monkeypatch, capsys):
    tar = make_tar()
    monkeypatch.setattr(dl, "FILES", remotes(tar))
    parser = argparse.ArgumentParser()
    dl.register(parser.add_subparsers())
    with Server({"senteval.tar": tar, "wiki1m_for_simcse.txt": WIKI}) as server:
        args = parser.parse_args(["data", "download", "--to", str(tmp_path / "d"), "--url-base",
                                  server.url, "--only", "wiki", "--no-progress"])
        assert args.func(args) == 0
    assert (tmp_path / "d" / "wiki" / "wiki1m_for_simcse.txt").is_file()
    assert not (tmp_path / "d" / "senteval").exists()
    assert "MOCOSE_DATA=" in capsys.readouterr().out
    args = parser.parse_args(["data", "download", "--to", str(tmp_path / "e"), "--url-base",
                              "http://127.0.0.1:9/none", "--retries", "0", "--no-progress"])
    assert args.func(args) == 1
    assert "cannot reach" in capsys.readouterr().err


def test_the_default_data_folder_is_where_download_puts_it_and_every_command_looks(tmp_path, monkeypatch):
    """Without --data and $MOCOSE_DATA: $XDG_CACHE_HOME/mocose/data once it holds senteval/, else
    one line naming --data, $MOCOSE_DATA and that folder."""
    from mocose.data import DataError, default_data_dir, resolve_data_dir

    monkeypatch.delenv("MOCOSE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "cache" / "mocose" / "data"
    assert default_data_dir() == folder
    with pytest.raises(DataError, match="pass --data DIR or set MOCOSE_DATA, or put the data in .*mocose/data"):
        resolve_data_dir(None)
    (folder / "senteval").mkdir(parents=True)
    assert resolve_data_dir(None) == folder.resolve()
    other = tmp_path / "other"
    (other / "senteval").mkdir(parents=True)
    assert resolve_data_dir(other) == other.resolve()
    monkeypatch.setenv("MOCOSE_DATA", str(other))
    assert resolve_data_dir(None) == other.resolve()
