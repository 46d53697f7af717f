"""The command line as a user runs it (`python -m zcgpt ...` in a subprocess, tiny files, few steps).

Every mistake must end with one line on stderr, the right exit status (2 command line, 1 input
file) and no traceback.
"""

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from zcgpt import checkpoint as ck
from zcgpt.cli import build_parser, config_from_args, main
from zcgpt.config import Config, presets

ROOT = Path(__file__).resolve().parent.parent
NAMES = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "charlotte", "amelia", "harper",
         "evelyn", "abigail", "emily", "ella", "elizabeth", "camila", "luna", "sofia", "avery",
         "mila", "aria", "scarlett", "penelope", "layla", "chloe", "victoria", "madison", "eleanor",
         "grace", "nora", "riley", "zoey", "hannah", "hazel", "lily", "ellie", "violet", "lillian",
         "zoe", "stella", "aurora", "natalie", "emilia", "everly", "leah", "aubrey", "willow",
         "addison", "lucy", "audrey", "bella", "nova", "brooklyn", "paisley", "savannah", "claire"]
FAST = ["--steps", "6", "--batch-size", "8", "--samples", "3"]


def run(*args, cwd, ok=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, "-m", "zcgpt", *map(str, args)], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=120)
    if ok is not None:
        assert (r.returncode == 0) == ok, r.stderr
    return r


def assert_one_line_error(r, code, pattern):
    assert r.returncode == code, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert re.search(pattern, lines[0]), lines[0]
    assert "error:" in lines[0]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    (d / "names.txt").write_text("\n".join(NAMES) + "\n")
    return d


@pytest.fixture(scope="module")
def trained(work):
    """One small run shared by the sample/eval tests: (summary dict, checkpoint path)."""
    r = run("train", *FAST, "--seed", 3, "--out", "m.json", "--json", "--eval-every", 3, cwd=work,
            ok=True)
    return json.loads(r.stdout.strip().splitlines()[-1]), work / "m.json"


# --- train ---------------------------------------------------------------------------------

def test_train_json_last_line(trained):
    summary, path = trained
    for key in ("train_loss", "val_loss", "steps", "seconds", "tokens_per_s", "params", "preset",
                "seed", "novelty", "samples"):
        assert key in summary, key
    assert summary["steps"] == 6 and summary["preset"] == "tiny" and summary["seed"] == 3
    assert summary["n_val"] == round(0.1 * len(NAMES)) and summary["n_train"] + summary["n_val"] == len(NAMES)
    assert 0 < summary["train_loss"] < 5 and 0 < summary["val_loss"] < 5
    assert 0 < summary["bigram_val_loss"] < 5
    assert len(summary["samples"]) == 3
    model, vocab, meta = ck.load(path)
    assert meta["step"] == 6 and meta["seed"] == 3 and model.num_params() == summary["params"]
    assert model.config.batch_size == 8 and model.config.steps == 6


def test_train_human_output_and_val_frac_zero(work):
    r = run("train", *FAST, "--val-frac", 0, "--out", "z.json", "--log-every", 2, cwd=work, ok=True)
    out = r.stdout
    assert "0 validation" in out and "step 6/6" in out and "tok/s" in out and "eta" in out
    assert "val loss n/a" in out and "saved z.json" in out
    marks = [line.split()[-1] for line in out.splitlines() if line.startswith("  ")]
    assert len(marks) == 3 and set(marks) <= {"new", "train", "val"}  # "in train" / "in val" / "new"


def test_train_json_without_validation_has_null_val_loss(work):
    r = run("train", *FAST, "--val-frac", 0, "--out", "z2.json", "--json", cwd=work, ok=True)
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["val_loss"] is None and summary["bigram_val_loss"] is None and summary["n_val"] == 0
    assert len(r.stdout.strip().splitlines()) == 1  # with --json, stdout holds only the summary
    assert "step 6/6" in r.stderr


def test_train_says_when_items_are_cut_to_the_block(work):
    r = run("train", *FAST, "--val-frac", 0, "--block-size", 6, "--out", "cut.json", cwd=work, ok=True)
    n_long = sum(len(x) + 1 > 6 for x in NAMES)  # a block of 6 predicts 5 letters + EOS
    assert f"note: {n_long} training items do not fit block_size 6" in r.stdout


def test_train_same_seed_same_checkpoint(work):
    run("train", *FAST, "--seed", 5, "--out", "a.json", cwd=work, ok=True)
    run("train", *FAST, "--seed", 5, "--out", "b.json", cwd=work, ok=True)
    a, b = ck.load(work / "a.json")[0], ck.load(work / "b.json")[0]
    assert a.flat.tobytes() == b.flat.tobytes()


BAD_FILES = {
    "empty.txt": (b"", r"empty\.txt is empty"),
    "blank.txt": (b"\n \n", r"blank\.txt has only blank lines"),
    "one.txt": (b"anna\nanna\n", r"one\.txt has only 1 distinct non-blank line"),
    "bin.txt": (b"anna\n\x89PNG\x00\x00", r"bin\.txt looks binary: line 2"),
    "latin1.txt": (b"anna\nbob\nren\xe9e\n", r"latin1\.txt is not UTF-8 text: line 3"),
    "long.txt": (b"anna\nbob\n" + b"z" * 300 + b"\n", r"long\.txt line 3 is 300 characters long"),
    "chars.txt": ("\n".join(chr(0x3400 + i) * 2 for i in range(300)).encode(),
                  r"chars\.txt has more than 256 distinct characters .*line 257"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_train_bad_data_file(work, name):
    data, pattern = BAD_FILES[name]
    (work / name).write_bytes(data)
    r = run("train", *FAST, "--data", name, cwd=work)
    assert_one_line_error(r, 1, pattern)
    assert r.stdout == ""


@pytest.mark.parametrize("args, code, pattern", [
    (["--data", "missing.txt"], 1, r"missing\.txt: no such file"),
    (["--data", "."], 1, r"is a directory"),
    (["--out", "no/such/dir/m.json"], 1, r"cannot write the checkpoint .*no directory"),
    (["--steps", "-5"], 2, r"steps must be at least 1"),
    (["--steps", "ten"], 2, r"argument --steps: invalid int value"),
    (["--preset", "huge"], 2, r"invalid choice: 'huge'"),
    (["--val-frac", "1"], 2, r"--val-frac must be in \[0, 1\)"),
    (["--val-frac", "-0.1"], 2, r"--val-frac must be in \[0, 1\)"),
    (["--n-embd", "16", "--n-head", "5"], 2, r"n_embd 16 is not divisible by n_head 5"),
    (["--lr", "inf"], 2, r"--lr: must be a finite number"),
    (["--lr", "0"], 2, r"lr must be positive"),
    (["--warmup-steps", "50"], 2, r"warmup_steps must be in \[0, steps\)"),
    (["--activation", "tanh"], 2, r"--activation: invalid choice"),
    (["--seed", "-1"], 2, r"--seed must be a non-negative integer"),
    (["--eval-every", "-1"], 2, r"--eval-every must be 0 or more"),
    (["--frobnicate"], 2, r"unrecognized arguments: --frobnicate"),
    (["--n-embd", "4096"], 2, r"this configuration has [\d,]+ parameters; zcgpt is made for models under"),
])
def test_train_bad_command_line(work, args, code, pattern):
    r = run("train", *FAST, *args, cwd=work)
    assert_one_line_error(r, code, pattern)


def test_diverged_training_is_one_sentence(work):
    r = run("train", "--preset", "zeroclaw", "--steps", "5", "--lr", "1e30", cwd=work)
    assert_one_line_error(r, 1, r"training diverged at step \d+ \(the loss is nan\)")


def test_default_data_is_names_txt_in_cwd(tmp_path):
    r = run("train", "--steps", "1", cwd=tmp_path)
    assert_one_line_error(r, 1, r"names\.txt: no such file")


def test_no_command_shows_help_and_exits_2(tmp_path):
    r = run(cwd=tmp_path)
    assert r.returncode == 2 and "train" in r.stderr and "Traceback" not in r.stderr


# --- flags mirror the config -----------------------------------------------------------------

def help_text(monkeypatch, capsys, *command):
    """What `python -m zcgpt *command --help` prints, one line per entry (no wrapping)."""
    monkeypatch.setenv("COLUMNS", "1000")
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args([*command, "--help"])
    assert e.value.code == 0
    return capsys.readouterr().out


def help_entries(text):
    """Each option in a --help text -> the help shown for it ("" when none)."""
    entries, last = {}, None
    for line in text.splitlines():
        m = re.match(r"  (-\S+(?: [^-\s]\S*)?(?:, -\S+(?: [^-\s]\S*)?)*)(?:\s{2,}(.*))?$", line)
        if m:
            last = m.group(1).split()[0].rstrip(",")
            entries[last] = m.group(2) or ""
        elif last and re.match(r" {3,}\S", line):     # the help on a line of its own
            entries[last] += line.strip()
        else:
            last = None
    return entries


def test_every_config_field_has_a_flag_with_help(monkeypatch, capsys):
    train = help_entries(help_text(monkeypatch, capsys, "train"))
    for f in dataclasses.fields(Config):
        flag = "--" + f.name.replace("_", "-")
        assert flag in train, flag
        assert train[flag] and not train[flag].startswith("Config."), flag
        assert "---" not in train[flag], flag  # a section comment is not help
    commands = re.findall(r"^    (\w+)  ", help_text(monkeypatch, capsys), re.M)
    assert commands == ["train", "sample", "eval", "bench"]
    for command in [[], *([c] for c in commands)]:
        entries = help_entries(help_text(monkeypatch, capsys, *command))
        assert "-h" in entries and len(entries) > 1, command
        for option, text in entries.items():
            assert text, (command, option)


def test_flags_override_the_preset():
    args = build_parser().parse_args(["train", "--preset", "small", "--n-embd", "32", "--lr", "0.003",
                                      "--no-tied-head", "--activation", "gelu", "--batch-size", "7"])
    c = config_from_args(args)
    assert c == presets["small"].replace(n_embd=32, lr=0.003, tied_head=False, activation="gelu",
                                         batch_size=7)
    assert config_from_args(build_parser().parse_args(["train"])) == presets["tiny"]


def test_help_runs(tmp_path):
    r = run("train", "--help", cwd=tmp_path, ok=True)
    assert "--n-embd" in r.stdout and "--weight-decay" in r.stdout and "--val-frac" in r.stdout



# --- train --init: on from a model file, as the page's backend does ----------------------------

def page_run(names, msg, load=None, snapshot_at=None, monkeypatch=None):
    """The page's backend (zcgpt.app) training on `names`: after loading the model file `load`,
    if any -> (its messages to "done", the saved model file's text); or, with `snapshot_at`,
    the text of its first snapshot (a saved run) instead."""
    from zcgpt import driver
    from zcgpt.app import App
    app = App()
    app.start("\n".join(names), "names.txt")
    if load is not None:
        assert app.handle({"type": "load_model", "name": "m.json", "text": load})[0]["type"] == "model_loaded"
    if snapshot_at:
        monkeypatch.setattr(driver, "SNAPSHOT_S", 0.0)
    assert app.handle(msg)[0]["type"] == "start"
    msgs = []
    while app.has_work():
        msgs += app.work(0.0 if snapshot_at else 10.0)
        snap = next((m for m in msgs if m["type"] == "snapshot"), None)
        if snapshot_at and snap:
            return msgs, snap["text"]
    assert msgs[-1]["type"] == "done", msgs[-1]
    return msgs, app.handle({"type": "save"})[0]["text"]


def cli_train(folder, monkeypatch, capsys, *args):
    """`python -m zcgpt train --json ...` in-process in `folder` -> its JSON summary."""
    monkeypatch.chdir(folder)
    status = main(["train", "--data", "names.txt", "--json", "--samples", "0", *map(str, args)])
    out, err = capsys.readouterr()
    assert status == 0, err
    return json.loads(out.strip().splitlines()[-1]), err


def test_init_trains_on_from_a_model_file_as_the_page_does(work, tmp_path, monkeypatch, capsys):
    """The same model file, list, seed, steps and lr: the CLI's --init and the page's "Train on
    from the loaded model" give the same bits and the same validation loss."""
    (tmp_path / "names.txt").write_text("\n".join(NAMES) + "\n")
    base, _ = cli_train(tmp_path, monkeypatch, capsys, "--steps", 6, "--batch-size", 8, "--seed", 3,
                        "--out", "base.json")
    text = (tmp_path / "base.json").read_text()
    msgs, page = page_run(NAMES, {"type": "train", "preset": "tiny", "seed": 5, "from_model": True,
                                  "changes": {"steps": 9, "lr": 0.004}}, load=text)
    summary, err = cli_train(tmp_path, monkeypatch, capsys, "--init", "base.json", "--seed", 5, "--steps", 9,
                             "--lr", 0.004, "--out", "on.json")
    assert "on from base.json (6 steps trained before): a fresh optimizer" in err
    want, _, want_meta = ck.loads(page)
    got, _, meta = ck.load(tmp_path / "on.json")
    assert got.flat.tobytes() == want.flat.tobytes()
    assert summary["val_loss"] == msgs[-1]["val"]
    assert meta["step"] == want_meta["step"] == 6 + 9 and meta["seed"] == 5
    assert summary["init"] == "base.json" and summary["continued"] is False
    assert summary["base_step"] == 6 and summary["steps"] == 9 and summary["model_step"] == 15
    # and not by chance: a fresh model with the same settings ends elsewhere
    fresh = ck.load(tmp_path / "base.json")[0]
    assert fresh.flat.tobytes() != got.flat.tobytes()


def test_init_goes_on_with_a_saved_run_bit_for_bit(tmp_path, monkeypatch, capsys):
    """A run the page saved mid-way (a snapshot) goes on in the CLI: Adam's moments, the batch
    order, the steps, lr and seed from the file; the end is the uninterrupted run's, bit for bit."""
    (tmp_path / "names.txt").write_text("\n".join(NAMES) + "\n")
    msg = {"type": "train", "preset": "tiny", "seed": 7, "changes": {"steps": 24, "lr": 0.01}}
    whole, text = page_run(NAMES, msg)
    want, _, want_meta = ck.loads(text)
    _, snap = page_run(NAMES, msg, snapshot_at=True, monkeypatch=monkeypatch)
    at = ck.loads(snap)[2]["resume"]["trainer"]["step"]
    assert 0 < at < 24
    (tmp_path / "saved.json").write_text(snap)
    summary, err = cli_train(tmp_path, monkeypatch, capsys, "--init", "saved.json", "--out", "end.json")
    assert f"continuing the saved run in saved.json at step {at} of 24: Adam's moments" in err
    got, _, meta = ck.load(tmp_path / "end.json")
    assert got.flat.tobytes() == want.flat.tobytes()
    assert summary["val_loss"] == whole[-1]["val"]
    assert meta["step"] == want_meta["step"] == 24 and meta["seed"] == 7
    assert summary["continued"] is True and summary["base_step"] == at and summary["steps"] == 24
    # the same file as a plain model (its saved run left out) trains on with a fresh optimizer
    d = json.loads(snap)
    del d["resume"]
    (tmp_path / "plain.json").write_text(json.dumps(d))
    summary, err = cli_train(tmp_path, monkeypatch, capsys, "--init", "plain.json", "--seed", 7,
                             "--steps", 24 - at, "--out", "fresh.json")
    assert "a fresh optimizer" in err and summary["continued"] is False
    assert ck.load(tmp_path / "fresh.json")[0].flat.tobytes() != want.flat.tobytes()


def test_init_goes_on_with_a_saved_run_that_started_from_a_model(tmp_path, monkeypatch, capsys):
    """A page run on from a model file (its own steps and lr, another width than tiny's), saved
    mid-way: the CLI ends on the uninterrupted page run's bits, and counts the model's steps."""
    (tmp_path / "names.txt").write_text("\n".join(NAMES) + "\n")
    cli_train(tmp_path, monkeypatch, capsys, "--steps", 6, "--batch-size", 8, "--n-embd", 24, "--out", "base.json")
    base = (tmp_path / "base.json").read_text()
    msg = {"type": "train", "preset": "tiny", "seed": 5, "from_model": True, "changes": {"steps": 20, "lr": 0.004}}
    whole, text = page_run(NAMES, msg, load=base)
    want, _, want_meta = ck.loads(text)
    _, snap = page_run(NAMES, msg, load=base, snapshot_at=True, monkeypatch=monkeypatch)
    (tmp_path / "saved.json").write_text(snap)
    summary, err = cli_train(tmp_path, monkeypatch, capsys, "--init", "saved.json", "--out", "end.json")
    got, _, meta = ck.load(tmp_path / "end.json")
    assert got.flat.tobytes() == want.flat.tobytes() and summary["val_loss"] == whole[-1]["val"]
    assert meta["step"] == want_meta["step"] == 6 + 20 and summary["steps"] == 20


def test_init_keeps_the_page_split_of_saved_runs():
    from zcgpt import cli, driver
    assert cli.PAGE_VAL_FRAC == driver.VAL_FRAC


# --- sample ----------------------------------------------------------------------------------

def test_sample_prints_only_names_and_is_seeded(trained, work):
    _, path = trained
    a = run("sample", "--model", path, "-n", 7, "--seed", 1, cwd=work, ok=True)
    b = run("sample", "--model", path, "-n", 7, "--seed", 1, cwd=work, ok=True)
    assert a.stdout == b.stdout and a.stderr == ""
    lines = a.stdout.split("\n")
    assert len(lines) == 8 and lines[-1] == ""
    p = run("sample", "--model", path, "-n", 5, "--prefix", "em", "--top-k", 3,
            "--temperature", 0.5, cwd=work, ok=True)
    names = p.stdout.splitlines()
    assert len(names) == 5 and all(n.startswith("em") for n in names)


def test_sample_matches_in_process_generate_after_reload(trained, work):
    from zcgpt.prng import Rng
    from zcgpt.sample import generate
    _, path = trained
    model, vocab, _ = ck.load(path)
    expected = generate(model, vocab, 6, Rng(9))
    r = run("sample", "--model", path, "-n", 6, "--seed", 9, cwd=work, ok=True)
    assert r.stdout.splitlines() == expected


@pytest.mark.parametrize("args, code, pattern", [
    (["--prefix", "Q"], 2, r"--prefix 'Q' has characters the model has never seen: 'Q'"),
    (["--prefix", "a" * 40], 2, r"--prefix .* is too long"),
    (["-n", "0"], 2, r"-n must be between 1 and 100000"),
    (["-n", "1000001"], 2, r"-n must be between 1 and 100000"),
    (["--temperature", "0"], 2, r"--temperature must be between 1e-06 and 1e\+06, got 0"),
    (["--top-k", "-2"], 2, r"--top-k must be 0"),
])
def test_sample_bad_values(trained, work, args, code, pattern):
    r = run("sample", "--model", trained[1], *args, cwd=work)
    assert_one_line_error(r, code, pattern)
    assert r.stdout == ""


def test_sample_bad_checkpoints(trained, work):
    text = trained[1].read_text()
    (work / "cut.json").write_text(text[: len(text) // 3])
    d = json.loads(text)
    (work / "v9.json").write_text(json.dumps(dict(d, version=9)))
    (work / "other.json").write_text(json.dumps({"hello": "world"}))
    d["params"]["wte"]["shape"] = [3, 3]
    (work / "shape.json").write_text(json.dumps(d))
    for name, pattern in [("nothere.json", r"nothere\.json: no such checkpoint file"),
                          ("cut.json", r"cut\.json: .*invalid JSON .*truncated"),
                          ("v9.json", r"checkpoint version 9 is not supported"),
                          ("other.json", r"format is None, expected 'zcgpt-checkpoint'"),
                          ("shape.json", r"parameter wte has shape \[3, 3\]"),
                          ("names.txt", r"names\.txt: not a zcgpt checkpoint: invalid JSON")]:
        r = run("sample", "--model", name, cwd=work)
        assert_one_line_error(r, 1, pattern)


# --- eval ------------------------------------------------------------------------------------

def test_eval_json(trained, work):
    from zcgpt.train import evaluate
    (work / "few.txt").write_text("emma\n\nava\nemma\n")  # duplicates count, blanks do not
    r = run("eval", "--model", trained[1], "--data", "few.txt", "--json", cwd=work, ok=True)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["tokens"] == 5 + 4 + 5  # letters + EOS of each line
    assert out["lines"] == 3 and out["lines_cut"] == 0
    model, vocab, _ = ck.load(trained[1])
    assert out["loss"] == pytest.approx(evaluate(model, vocab, ["emma", "ava", "emma"]), rel=1e-6)
    r = run("eval", "--model", trained[1], "--data", "few.txt", cwd=work, ok=True)
    assert "nats per token" in r.stdout


def test_eval_unknown_characters_name_the_line(trained, work):
    (work / "odd.txt").write_text("emma\nava\n\nZoë\n")
    r = run("eval", "--model", trained[1], "--data", "odd.txt", cwd=work)
    assert_one_line_error(r, 1, r"odd\.txt line 4: 'Z' 'ë' not in the model's vocabulary")
    r = run("eval", "--model", trained[1], "--data", "gone.txt", cwd=work)
    assert_one_line_error(r, 1, r"gone\.txt: no such file")


# --- bench -----------------------------------------------------------------------------------

def test_bench_json_quick(work):
    r = run("bench", "--seconds", 0.05, "--zeroclaw-steps", 20, "--json", cwd=work, ok=True)
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert set(out["presets"]) == set(presets)
    assert all(p["tokens_per_s"] > 0 for p in out["presets"].values())
    assert out["zeroclaw"]["steps"] == 20 and out["zeroclaw"]["seconds"] > 0
    # run from elsewhere, the checkout's own copy of the reference figures is found
    assert out["zeroclaw"]["names"] == str(ROOT / "tests" / "data" / "zeroclaw_reference.json")
    assert "max_abs_diff_first_100" in out["zeroclaw"]


def test_bench_without_the_reference_takes_the_first_300_names(work, monkeypatch, capsys):
    from zcgpt import bench
    monkeypatch.setattr(bench, "REFERENCE", Path("no") / "such.json")  # as an installed wheel
    monkeypatch.chdir(work)
    assert bench.find_reference(None) is None
    monkeypatch.setattr(bench, "presets", {"zeroclaw": presets["zeroclaw"]})  # only the zeroclaw run
    assert main(["bench", "--seconds", "0.01", "--zeroclaw-steps", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["zeroclaw"]["names"] == "first 300 of names.txt"


# --- interruptions ---------------------------------------------------------------------------

def default_sigint():
    """Popen's preexec_fn for a CLI this test interrupts: Ctrl-C acts as in a terminal. Tests
    started in the background of a non-interactive shell inherit SIGINT ignored, and so would
    the CLI (Python installs no KeyboardInterrupt handler then)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_saves_the_checkpoint_and_exits_130(work):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    p = subprocess.Popen([sys.executable, "-m", "zcgpt", "train", "--steps", "100000", "--batch-size",
                          "4", "--log-every", "1", "--out", "int.json"], cwd=work, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)
    try:
        for line in p.stdout:
            if line.startswith("step"):
                break
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, err
    assert "Traceback" not in err and "interrupted at step" in out
    _, _, meta = ck.load(work / "int.json")
    assert 1 <= meta["step"] < 100000


def test_sample_into_a_closed_pipe_is_quiet(trained, work):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    cmd = f"'{sys.executable}' -m zcgpt sample --model m.json -n 30000 | head -n 2"
    r = subprocess.run(cmd, shell=True, cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert len(r.stdout.splitlines()) == 2
    assert "Traceback" not in r.stderr and "Error" not in r.stderr, r.stderr
