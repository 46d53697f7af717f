"""Bad input to the CLI: one row per case, run in-process through zcgpt.cli.main.

Every row must end with one line on stderr (no traceback) that matches its message, the row's
exit status (1 bad input, 2 bad command line), nothing on stdout (refused before any work) and
every file in the folder as it was. To add a case, add a row: files are written to an empty
folder first (bytes, text, a Link to another file, or a function of a valid checkpoint's text).
The cases that need a real process (pipes, signals) follow the table.
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from zcgpt import checkpoint as ck
from zcgpt.cli import main
from zcgpt.config import presets
from zcgpt.data import Vocab

ROOT = Path(__file__).resolve().parent.parent
NAMES = "\n".join(["emma", "olivia", "ava", "isabella", "sophia", "mia", "charlotte", "amelia",
                   "harper", "evelyn", "abigail", "emily", "ella", "luna", "mila", "aria"]) + "\n"
FAST = ["--steps", "3", "--batch-size", "4", "--samples", "2"]


@dataclass
class Link:
    """A symbolic link to another file of the row."""
    target: str


class Fifo:
    """A named pipe: a path that is not a regular file."""


def first_value(v):
    """A valid checkpoint with the first value of wte replaced by the JSON text v."""
    return lambda text: re.sub(r'"data":\[[^,\]]*', '"data":[' + v, text, count=1)


def edited(f):
    """A valid checkpoint with its dict changed by f(d)."""
    def make(text):
        d = json.loads(text)
        f(d)
        return json.dumps(d)
    return make


@dataclass
class Row:
    id: str
    argv: list
    status: int
    message: str                                # regex searched in the one stderr line
    files: dict = field(default_factory=dict)   # name -> bytes | str | Link | f(checkpoint text)


DATA = {"d.txt": NAMES}
CK = ["sample", "--model", "m.json"]
INIT = ["train", "--data", "d.txt", "--init", "m.json", "--out", "out.json", "--samples", "2"]
SAVED_RUN = {"trainer": {}, "run": {}, "data": "0" * 16}   # a saved run of another list

ROWS = [
    # --- train: where the checkpoint goes, checked before any work (issue 13: 1, 6)
    Row("out-is-data", ["train", "--data", "d.txt", "--out", "d.txt", *FAST], 1,
        r"^python -m zcgpt train: error: --out d\.txt is the --data file; choose another name",
        DATA),
    Row("out-is-data-spelt-otherwise", ["train", "--data", "d.txt", "--out", "sub/../d.txt", *FAST],
        1, r"--out sub/\.\./d\.txt is the --data file", {**DATA, "sub/keep": ""}),
    Row("out-links-to-data", ["train", "--data", "d.txt", "--out", "m.json", *FAST], 1,
        r"--out m\.json is the --data file", {**DATA, "m.json": Link("d.txt")}),
    Row("out-in-proc", ["train", "--data", "d.txt", "--out", "/proc/x", "--steps", "100000"], 1,
        r"cannot write the checkpoint to /proc/x: no file can be created in /proc", DATA),
    # never a real device here: a run as root that gets this wrong would replace /dev/null
    Row("out-is-not-a-regular-file", ["train", "--data", "d.txt", "--out", "fifo", *FAST], 1,
        r"cannot write the checkpoint to fifo: it is not a regular file", {**DATA, "fifo": Fifo()}),
    Row("out-is-a-directory", ["train", "--data", "d.txt", "--out", "sub", *FAST], 1,
        r"cannot write the checkpoint to sub: it is a directory", {**DATA, "sub/keep": ""}),
    # --- data files (issue 13: 7)
    Row("data-endless", ["train", "--data", "/dev/zero", *FAST], 1,
        r"/dev/zero is larger than 64 MB, the limit for one-item-per-line text"),
    Row("eval-data-endless", ["eval", "--model", "m.json", "--data", "/dev/zero"], 1,
        r"/dev/zero is larger than 64 MB", {"m.json": lambda text: text}),
    # --- checkpoints (issue 13: 5, 7)
    Row("ck-int-too-large", CK, 1, r"m\.json: .*the integer at line 1 column \d+ has 401 digits",
        {"m.json": first_value("1" + "0" * 400)}),
    Row("ck-int-too-large-step", CK, 1, r"integer at line 1 column \d+ has 401 digits",
        {"m.json": lambda t: t.replace('"step":0', '"step":1' + "0" * 400)}),
    Row("ck-int-5000-digits", CK, 1, r"has 5000 digits", {"m.json": '{"format": ' + "9" * 5000 + "}"}),
    Row("ck-nested-5000-lists", CK, 1, r"m\.json: not a zcgpt checkpoint: the JSON is nested more"
        r" than 16 levels deep", {"m.json": "[" * 5000 + "]" * 5000}),
    Row("ck-nested-objects", CK, 1, r"nested more than 16 levels",
        {"m.json": '{"a":' * 5000 + "1" + "}" * 5000}),
    Row("ck-nested-unclosed", CK, 1, r"nested more than 16 levels", {"m.json": "[" * 100_000}),
    Row("ck-nan", CK, 1, r"it holds NaN, which JSON does not allow", {"m.json": first_value("NaN")}),
    Row("ck-infinity", CK, 1, r"it holds -Infinity", {"m.json": first_value("-Infinity")}),
    Row("ck-beyond-float32", CK, 1, r"parameter wte value 0 is 1e\+300, which float32 cannot hold"
        r" \(finite, at most 3\.4e\+38", {"m.json": first_value("1e300")}),
    Row("ck-beyond-float64", CK, 1, r"parameter wte value 0 is inf, which float32 cannot hold",
        {"m.json": first_value("1e999")}),
    Row("ck-config-infinite", CK, 1, r"config field 'lr' is inf, not a finite number",
        {"m.json": lambda t: t.replace('"lr":0.01', '"lr":1e999')}),
    Row("ck-vocab-control-char", CK, 1, r"vocabulary entries must be single characters \(no control",
        {"m.json": lambda t: t.replace('"<EOS>","a"', '"<EOS>","\\u0007"')}),
    Row("ck-vocab-lone-surrogate", CK, 1, r"lone surrogates\), got '\\ud800'",
        {"m.json": lambda t: t.replace('"<EOS>","a"', '"<EOS>","\\ud800"')}),
    Row("ck-vocab-too-long", CK, 1, r"the vocabulary has 300 characters; the limit is 256",
        {"m.json": edited(lambda d: d["vocab"].extend(chr(0x4e00 + i) for i in range(302 - len(d["vocab"]))))}),
    Row("ck-huge-shape", CK, 1, r"parameter wte has shape \[0, 0, 0, .{0,40}, but the config",
        {"m.json": edited(lambda d: d["params"]["wte"].update(shape=[0] * 100_000))}),
    Row("ck-huge-format", CK, 1, r"format is 'xxxx.{0,40}, expected 'zcgpt-checkpoint'",
        {"m.json": edited(lambda d: d.update(format="x" * 100_000))}),
    Row("ck-top-level-list", CK, 1, r"the top level is not a JSON object", {"m.json": "[1, 2]"}),
    Row("ck-is-a-text-file", CK, 1, r"m\.json: not a zcgpt checkpoint: invalid JSON at line 1"
        r" column 1\.$", {"m.json": NAMES}),
    Row("ck-truncated", CK, 1, r"invalid JSON at line 1 column \d+ \(the file looks truncated\)",
        {"m.json": lambda t: t[: len(t) // 2]}),
    Row("ck-binary", CK, 1, r"m\.json is not a zcgpt checkpoint \(not UTF-8 JSON\)",
        {"m.json": b"\x89PNG\r\n\x1a\n\x00\x00\xff"}),
    Row("ck-empty", CK, 1, r"m\.json: not a zcgpt checkpoint: the file is empty", {"m.json": ""}),
    Row("ck-endless", ["sample", "--model", "/dev/zero"], 1,
        r"/dev/zero is larger than \d+ MB; no zcgpt checkpoint is"),
    # --- bench: a bad reference stops it before the benchmarks run (issue 13: 7)
    Row("bench-reference-missing", ["bench", "--data", "d.txt", "--reference", "r.json"], 1,
        r"r\.json: no such reference file", DATA),
    Row("bench-reference-bad", ["bench", "--data", "d.txt", "--reference", "r.json"], 1,
        r"r\.json is not a usable zeroclaw reference file: 'names' must be a list",
        {**DATA, "r.json": '{"names": "emma"}'}),
    Row("bench-reference-deep", ["bench", "--data", "d.txt", "--reference", "r.json"], 1,
        r"r\.json is not a usable zeroclaw reference file: its JSON is nested too deeply",
        {**DATA, "r.json": "[" * 100_000}),
    Row("bench-zeroclaw-steps", ["bench", "--data", "d.txt", "--zeroclaw-steps", "6000"], 2,
        r"--zeroclaw-steps must be between 0 and 5000", DATA),
    # --- flags
    Row("train-seed-beyond-64-bits", ["train", "--data", "d.txt", "--seed", str(2**64), *FAST], 2,
        r"--seed must be a non-negative integer below 2\*\*64, got 18446744073709551616", DATA),
    Row("train-samples-huge", ["train", "--data", "d.txt", "--samples", "1000000000"], 2,
        r"--samples must be between 0 and 100000", DATA),
    Row("sample-seed-negative", [*CK, "--seed", "-1"], 2, r"--seed must be a non-negative integer",
        {"m.json": lambda text: text}),
    Row("train-float-below-float32", ["train", "--data", "d.txt", "--eps", "1e-320"], 2,
        r"--eps 1e-320 is out of float32's range \(1\.2e-38 to 3\.4e\+38 in size, or 0\)", DATA),
    Row("train-float-beyond-float32", ["train", "--data", "d.txt", "--lr", "1e308"], 2,
        r"--lr 1e\+308 is out of float32's range", DATA),
    Row("train-batch-huge", ["train", "--data", "d.txt", "--batch-size", "1000000000"], 2,
        r"--batch-size 1000000000 of --block-size 16 is 16,000,000,000 positions a step; the"
        r" limit is 32,768", DATA),
    Row("sample-temperature-tiny", [*CK, "--temperature", "1e-320"], 2,
        r"--temperature must be between 1e-06 and 1e\+06, got 1e-320", {"m.json": lambda text: text}),
    Row("unknown-flag", ["train", "--frobnicate"], 2, r"unrecognized arguments: --frobnicate"),
    # --- train --init: on from a model file (issue 20)
    Row("init-missing", INIT, 1, r"^python -m zcgpt train: error: m\.json: no such checkpoint file\.$", DATA),
    Row("init-corrupt", INIT, 1, r"m\.json: not a zcgpt checkpoint: invalid JSON at line 1 column \d+ \(the"
        r" file looks truncated\)", {**DATA, "m.json": lambda t: t[: len(t) // 2]}),
    Row("init-not-a-checkpoint", INIT, 1, r"m\.json: not a zcgpt checkpoint: format is None",
        {**DATA, "m.json": '{"hello": 1}'}),
    Row("init-other-vocabulary", INIT, 1, r"d\.txt: the data has characters the loaded model has never"
        r" seen: q é \(pick the data it was trained on\)\.$",
        {"d.txt": NAMES + "renée\nquinn\n", "m.json": lambda t: t}),
    Row("init-saved-run-other-list", INIT, 1, r"d\.txt is not the list the saved run in m\.json trained on",
        {**DATA, "m.json": edited(lambda d: d.update(seed=1, resume=SAVED_RUN))}),
    Row("init-saved-run-incomplete", INIT, 1, r"m\.json: its saved run is incomplete",
        {**DATA, "m.json": edited(lambda d: d.update(seed=1, resume={"run": {}}))}),
    Row("init-shape-flag", [*INIT, "--n-embd", "64"], 2, r"--n-embd 64: the model in m\.json has n_embd 20,"
        r" and with --init the design comes from the file; leave the flag out", {**DATA, "m.json": lambda t: t}),
    Row("init-preset", [*INIT, "--preset", "small"], 2, r"--preset small has n_embd 32 but the model in"
        r" m\.json has 20", {**DATA, "m.json": lambda t: t}),
    Row("init-bad-steps", [*INIT, "--steps", "0"], 2, r"steps must be at least 1",
        {**DATA, "m.json": lambda t: t}),
    Row("init-saved-run-steps", [*INIT, "--steps", "99"], 2, r"--steps 99: the saved run in m\.json goes on"
        r" with its own steps 10; leave the flag out",
        {**DATA, "m.json": edited(lambda d: d.update(seed=1, resume=SAVED_RUN))}),
    Row("init-saved-run-seed", [*INIT, "--seed", "2"], 2, r"--seed 2: the saved run in m\.json goes on"
        r" with its own seed 1", {**DATA, "m.json": edited(lambda d: d.update(seed=1, resume=SAVED_RUN))}),
    Row("init-out-is-init", ["train", "--data", "d.txt", "--init", "model.json"], 1,
        r"--out model\.json is the --init file", {**DATA, "model.json": lambda t: t}),
]


@pytest.fixture(scope="module")
def good_checkpoint():
    from zcgpt.model import GPT
    vocab = Vocab(sorted(set(NAMES) - {"\n"}))
    return ck.dumps(GPT(presets["tiny"].replace(steps=10), vocab.size, seed=1), vocab)


def write_files(folder, files, checkpoint_text):
    for name, content in files.items():
        p = folder / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Link):
            p.symlink_to(content.target)
            continue
        if isinstance(content, Fifo):
            os.mkfifo(p)
            continue
        if callable(content):
            content = content(checkpoint_text)
        p.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))


def snapshot(folder):
    return {p.relative_to(folder): (p.is_symlink(), p.is_fifo(), p.read_bytes() if p.is_file() else None)
            for p in folder.rglob("*")}


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_bad_input(row, tmp_path, monkeypatch, capsys, good_checkpoint):
    monkeypatch.chdir(tmp_path)
    write_files(tmp_path, row.files, good_checkpoint)
    before = snapshot(tmp_path)
    status = main(row.argv)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert status == row.status, err
    assert len(lines) == 1 and "error:" in lines[0], err
    assert re.search(row.message, lines[0]), lines[0]
    assert len(lines[0]) < 300, lines[0]
    assert out == ""                      # refused before any work: no progress, no result
    assert snapshot(tmp_path) == before   # and nothing written or changed


def test_rows_have_unique_ids():
    assert len({r.id for r in ROWS}) == len(ROWS)


# --- divergence: exit 1, one sentence, no checkpoint (issue 13: 4) ----------------------------

@pytest.mark.parametrize("existing", [False, True])
def test_diverged_run_writes_no_checkpoint(tmp_path, monkeypatch, capsys, existing):
    from zcgpt import train
    real_step = train.Trainer.train_step

    def exploding_step(self, watch=False):  # stands in for the Trainer's own detection of an exploding loss
        if self.step == 2:
            raise train.TrainingDiverged("training diverged at step 3 (the loss went from 3.3 to"
                                         " 2.4e+05); try a smaller learning rate")
        return real_step(self, watch)

    monkeypatch.setattr(train.Trainer, "train_step", exploding_step)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.txt").write_text(NAMES)
    if existing:
        (tmp_path / "m.json").write_text("an older checkpoint")
    status = main(["train", "--data", "d.txt", "--out", "m.json", *FAST, "--log-every", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1
    assert len(err) == 1 and re.search(r"error: training diverged at step 3 .*learning rate \(--lr\)\.$",
                                       err[0]), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.txt"] + ["m.json"] * existing
    if existing:
        assert (tmp_path / "m.json").read_text() == "an older checkpoint"


def test_exploding_loss_is_divergence(tmp_path, monkeypatch, capsys):
    """--lr 1e6 keeps the loss finite but far above where it started: the Trainer calls that
    divergence too."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.txt").write_text(NAMES)
    status = main(["train", "--data", "d.txt", "--out", "m.json", "--lr", "1e6", *FAST])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1
    assert len(err) == 1 and re.search(r"error: training diverged at step \d+ \(the loss rose to", err[0])
    assert not (tmp_path / "m.json").exists()


def test_divergence_outside_train_is_one_sentence_too(tmp_path, monkeypatch, capsys):
    from zcgpt import bench, train

    def diverged(*args):
        raise train.TrainingDiverged("training diverged at step 9 (the loss is nan)")

    monkeypatch.setattr(bench, "bench_preset", diverged)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.txt").write_text(NAMES)
    assert main(["bench", "--data", "d.txt", "--seconds", "0.01", "--zeroclaw-steps", "0"]) == 1
    assert capsys.readouterr().err == ("python -m zcgpt bench: error: training diverged at step 9"
                                       " (the loss is nan).\n")


# --- output is written safely (issue 13: 6) ---------------------------------------------------

def test_save_uses_a_temporary_file_of_its_own(tmp_path, good_checkpoint):
    model, vocab, _ = ck.loads(good_checkpoint)
    (tmp_path / "m.json.tmp").mkdir()  # the old fixed temporary name, taken
    ck.save(tmp_path / "m.json", model, vocab, step=1)
    assert ck.load(tmp_path / "m.json")[2]["step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.json.tmp"]
    assert (tmp_path / "m.json").stat().st_mode & 0o777 == 0o666 & ~current_umask()


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_concurrent_saves_to_one_path(tmp_path, good_checkpoint):
    model, vocab, _ = ck.loads(good_checkpoint)
    errors = []

    def save_many(step):
        for _ in range(20):
            try:
                ck.save(tmp_path / "m.json", model, vocab, step=step)
            except ck.CheckpointError as e:
                errors.append(e)

    threads = [threading.Thread(target=save_many, args=(s,)) for s in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert ck.load(tmp_path / "m.json")[2]["step"] in (1, 2, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]  # no temporary file left behind


# --- real processes: pipes and Ctrl-C -----------------------------------------------------------

def spawn(args, cwd, **kw):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-m", "zcgpt", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def test_train_into_a_closed_pipe_still_trains_and_saves(tmp_path):
    """`train | head -3`: progress stops when the reader leaves; training and saving go on, and
    the exit status is the run's (0), since a reader that has read enough is no error."""
    (tmp_path / "d.txt").write_text(NAMES)
    # 2,000 progress lines are more than a pipe holds: the CLI is still writing when head leaves
    p = spawn(["train", "--data", "d.txt", "--steps", "2000", "--batch-size", "4",
               "--log-every", "1", "--out", "m.json"], tmp_path)
    try:
        head = [p.stdout.readline() for _ in range(3)]
        p.stdout.close()  # what head does after its third line
        err = p.stderr.read()
        p.wait(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    assert head[0].startswith("16 items from d.txt")
    assert p.returncode == 0, err
    assert err == ""
    assert ck.load(tmp_path / "m.json")[2]["step"] == 2000


def wait_until_reading(pid, timeout=10.0):
    """Until the process sleeps in a pipe read (Linux /proc), or half a second elsewhere."""
    wchan = Path(f"/proc/{pid}/wchan")
    if not wchan.exists():
        time.sleep(0.5)
        return
    end = time.monotonic() + timeout
    while "pipe_read" not in wchan.read_text() and time.monotonic() < end:
        time.sleep(0.01)


def default_sigint():
    """Popen's preexec_fn for a CLI this test interrupts: Ctrl-C acts as in a terminal. Tests
    started in the background of a non-interactive shell inherit SIGINT ignored, and so would
    the CLI (Python installs no KeyboardInterrupt handler then)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_while_loading_is_one_line(tmp_path):
    """The data file is a FIFO nobody writes to: the run is stuck loading when Ctrl-C comes."""
    fifo = tmp_path / "d.txt"
    os.mkfifo(fifo)
    p = spawn(["train", "--data", "d.txt"], tmp_path, preexec_fn=default_sigint)
    writer = None
    try:
        while writer is None:  # open succeeds once the CLI has the FIFO open for reading
            try:
                writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                assert p.poll() is None, p.communicate()
                time.sleep(0.01)
        wait_until_reading(p.pid)  # a signal between open() and read() would be seen only later
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        if writer is not None:
            os.close(writer)
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130
    assert err == "python -m zcgpt train: interrupted\n" and out == ""


def test_ctrl_c_during_start_up_is_one_line(monkeypatch, capsys):
    from zcgpt import cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert main(["train"]) == 130
    out, err = capsys.readouterr()
    assert err == "python -m zcgpt: interrupted\n" and out == ""
