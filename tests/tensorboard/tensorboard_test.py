#!/usr/bin/python3
"""Reads knob's TensorBoard event files independently of knob's code.

TFRecord framing and CRC-32C are checked here in Python; Events are decoded by message
classes protoc builds from event.proto (TensorFlow's published field numbers) for
python3-protobuf.

  --writer PROG      runs PROG DIR (tensorboard_writer.cc), which prints the scalars it wrote as
                     JSON lines {"tag", "step", "value"}: the file must hold exactly those;
  --knob KNOB        runs a 2-epoch `knob train CONFIG --tensorboard DIR --metrics M.jsonl`
                     (needs the trainer plugin) with a batch size that doubles after epoch 1 and
                     a per-step learning-rate schedule, and checks the per-step scalars against
                     what that config implies and the per-epoch ones against M.jsonl;
  --knob-tune KNOB   runs a 2-trial `knob tune STUDY.toml --tensorboard DIR`, in-process and
                     --isolate: DIR/trial-0 and DIR/trial-1 must each hold one run with every
                     step and epoch of that trial at the lr the study stored for it;
  --knob-refusal KNOB  only checks that `knob train --tensorboard` refuses an unusable DIR.
"""
import argparse
import glob
import importlib
import json
import math
import os
import sqlite3
import struct
import subprocess
import sys
import tempfile

# The --knob run: 2,000 training examples (3,000 less 1,000 for validation), batches of 100 in
# epoch 1 and 200 in epoch 2, lr = 0.002 x 0.5^floor(t / 7) at optimizer step t = 0, 1, ...
TRAIN_EXAMPLES = 2000
BATCH = [100, 200]
LR, STEP_SIZE, GAMMA = 0.002, 7, 0.5
KNOB_SET = ["data.limit=3000", "data.validation=1000", "train.epochs=2", "batch.size=100",
            "batch.grow_at=[1]", "batch.grow_factor=2", f"optimizer.lr={LR}",
            "schedule.kind=step", "schedule.per=step", f"schedule.step_size={STEP_SIZE}",
            f"schedule.gamma={GAMMA}"]
# The --knob-tune study: 2 trials of 2 epochs of 20 steps (2,000 examples, batch 100).
TUNE_STUDY = """
[study]
name = "tb"
direction = "maximize"
seed = 5
pruner = "none"
n_trials = 2
jobs = 1
[search]
"optimizer.lr" = { low = 1e-4, high = 1e-2, log = true }
[data]
limit = 3000
validation = 1000
[batch]
size = 100
[train]
epochs = 2
threads = 1
"""
STEP_TAGS = ["train/loss", "train/accuracy", "lr", "batch_size"]
EPOCH_TAGS = {"epoch/train_loss": "train_loss", "val/loss": "val_loss",
              "val/accuracy": "val_accuracy"}


def crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


TABLE = crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def records(path):
    with open(path, "rb") as f:
        blob = f.read()
    at = 0
    while at < len(blob):
        header = blob[at:at + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack("<I", blob[at + 8:at + 12])
        assert header_crc == masked(header), f"bad length CRC at byte {at}"
        data = blob[at + 12:at + 12 + length]
        assert len(data) == length, f"truncated record at byte {at}"
        (data_crc,) = struct.unpack("<I", blob[at + 12 + length:at + 16 + length])
        assert data_crc == masked(data), f"bad data CRC at byte {at}"
        yield data
        at += 16 + length


def event_class(workdir):
    here = os.path.dirname(os.path.abspath(__file__))
    subprocess.run(["protoc", f"--proto_path={here}", f"--python_out={workdir}",
                    os.path.join(here, "event.proto")], check=True)
    sys.path.insert(0, workdir)
    return importlib.import_module("event_pb2").Event


def as_float(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]  # simple_value is a float


def same_float(got, want):
    want = as_float(want)
    return (math.isnan(got) and math.isnan(want)) or got == want


def read_scalars(logdir, Event):
    """{tag: [(step, value), ...] in file order} of the one event file in logdir."""
    files = glob.glob(os.path.join(logdir, "events.out.tfevents.*"))
    assert len(files) == 1, f"expected one event file in {logdir}: {files}"
    events = [Event.FromString(r) for r in records(files[0])]
    assert events[0].file_version == "brain.Event:2", events[0]
    assert events[0].wall_time > 1.6e9, events[0].wall_time
    scalars = {}
    for e in events[1:]:
        assert e.WhichOneof("what") == "summary", e
        assert e.wall_time >= events[0].wall_time
        for v in e.summary.value:
            scalars.setdefault(v.tag, []).append((e.step, v.simple_value))
    print(f"{files[0]}: {len(events)} events, tags "
          + ", ".join(f"{t} x{len(v)}" for t, v in sorted(scalars.items())))
    return scalars


def check_writer(logdir, lines, Event):
    scalars = read_scalars(logdir, Event)
    want = {}
    for m in lines:
        want.setdefault(m["tag"], []).append((m["step"], m["value"]))
    assert sorted(scalars) == sorted(want), (sorted(scalars), sorted(want))
    for tag, values in want.items():
        got = scalars[tag]
        assert [s for s, _ in got] == [s for s, _ in values], (tag, got, values)
        for (step, g), (_, w) in zip(got, values):
            assert same_float(g, w), f"{tag} at step {step}: {g} != {w}"


def check_knob(logdir, epochs, Event):
    scalars = read_scalars(logdir, Event)
    assert sorted(scalars) == sorted(STEP_TAGS + list(EPOCH_TAGS)), sorted(scalars)
    assert len(epochs) == len(BATCH), epochs
    # Optimizer steps 1..n, each epoch ceil(examples / batch) of them, one value a tag a step.
    epoch_of_step = []
    for e, b in enumerate(BATCH):
        epoch_of_step += [e] * (-(-TRAIN_EXAMPLES // b))
    steps = list(range(1, len(epoch_of_step) + 1))
    for tag in STEP_TAGS:
        assert [s for s, _ in scalars[tag]] == steps, (tag, [s for s, _ in scalars[tag]])
    for (s, lr), (_, bs) in zip(scalars["lr"], scalars["batch_size"]):
        want_lr = LR * GAMMA ** ((s - 1) // STEP_SIZE)
        assert same_float(lr, want_lr), f"lr at step {s}: {lr} != {want_lr}"
        assert bs == BATCH[epoch_of_step[s - 1]], f"batch_size at step {s}: {bs}"
    assert len({lr for _, lr in scalars["lr"]}) == 5, "the schedule halves lr 4 times in 30 steps"
    losses = [v for _, v in scalars["train/loss"]]
    assert all(0 < v < 10 for v in losses), losses
    # A batch accuracy is a count over the batch: a multiple of 1 / batch size.
    for s, acc in scalars["train/accuracy"]:
        b = BATCH[epoch_of_step[s - 1]]
        assert 0 <= acc <= 1 and same_float(acc, round(acc * b) / b), (s, acc)
    # Each epoch's scalars at its last step; epoch/train_loss is the mean of its batch losses.
    for m in epochs:
        end = max(s for s, e in zip(steps, epoch_of_step) if e == m["epoch"])
        for tag, field in EPOCH_TAGS.items():
            got = [(s, v) for s, v in scalars[tag] if s == end]
            assert len(scalars[tag]) == len(epochs), (tag, scalars[tag])
            assert len(got) == 1 and same_float(got[0][1], m[field]), (tag, end, got, m[field])
        batch_losses = [v for (s, v), e in zip(scalars["train/loss"], epoch_of_step)
                        if e == m["epoch"]]
        mean = sum(batch_losses) / len(batch_losses)  # equal batches: the plain mean
        assert abs(mean - m["train_loss"]) < 1e-5, (mean, m["train_loss"])


def check_tune(logdir, db, Event):
    assert sorted(os.listdir(logdir)) == ["trial-0", "trial-1"], os.listdir(logdir)
    with sqlite3.connect(db) as c:
        lrs = dict(c.execute("SELECT t.number, p.param_value FROM trials t JOIN trial_params p "
                             "ON p.trial_id = t.trial_id WHERE p.param_name = 'optimizer.lr'"))
    assert sorted(lrs) == [0, 1] and lrs[0] != lrs[1], lrs
    for number, lr in lrs.items():
        scalars = read_scalars(os.path.join(logdir, f"trial-{number}"), Event)
        assert sorted(scalars) == sorted(STEP_TAGS + list(EPOCH_TAGS)), sorted(scalars)
        for tag in STEP_TAGS:
            assert [s for s, _ in scalars[tag]] == list(range(1, 41)), (number, tag)
        for tag in EPOCH_TAGS:
            assert [s for s, _ in scalars[tag]] == [20, 40], (number, tag, scalars[tag])
        assert all(same_float(v, lr) for _, v in scalars["lr"]), (number, lr, scalars["lr"])
        assert all(v == 100 for _, v in scalars["batch_size"]), (number, scalars["batch_size"])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--writer")
    p.add_argument("--knob")
    p.add_argument("--knob-tune")
    p.add_argument("--knob-refusal")
    p.add_argument("--config")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        Event = event_class(tmp)
        logdir = os.path.join(tmp, "runs", "a")
        if a.writer:
            out = subprocess.run([a.writer, logdir], check=True, capture_output=True, text=True)
            lines = [json.loads(line) for line in out.stdout.splitlines()]
            assert any(math.isnan(m["value"]) for m in lines)  # the NaN case is exercised
            check_writer(logdir, lines, Event)
        if a.knob:
            metrics = os.path.join(tmp, "metrics.jsonl")
            cmd = [a.knob, "train", a.config, "--quiet", "--tensorboard", logdir,
                   "--metrics", metrics]
            for s in KNOB_SET:
                cmd += ["--set", s]
            subprocess.run(cmd, check=True)
            with open(metrics) as f:
                epochs = [json.loads(line) for line in f]
            check_knob(logdir, epochs, Event)
        if a.knob_tune:
            study = os.path.join(tmp, "study.toml")
            with open(study, "w") as f:
                f.write(TUNE_STUDY)
            for mode in ("in-process", "isolate"):
                tune_dir = os.path.join(tmp, "tune-" + mode)
                db = os.path.join(tmp, mode + ".db")
                cmd = [a.knob_tune, "tune", study, "--storage", "sqlite:///" + db, "--quiet",
                       "--tensorboard", tune_dir] + (["--isolate"] if mode == "isolate" else [])
                subprocess.run(cmd, check=True)
                check_tune(tune_dir, db, Event)
        if a.knob_refusal:
            blocker = os.path.join(tmp, "file")
            open(blocker, "w").close()
            bad = os.path.join(blocker, "sub")
            here = os.path.dirname(os.path.abspath(__file__))
            config = os.path.join(here, "..", "..", "examples", "fashion_mnist_mlp.toml")
            study = os.path.join(here, "..", "..", "examples", "fashion_mnist_tune.toml")
            storage = "sqlite:///" + os.path.join(tmp, "refused.db")
            for args in (["train", config, "--tensorboard", bad],
                         ["tune", study, "--storage", storage, "--tensorboard", bad],
                         ["tune", study, "--storage", storage, "--isolate", "--tensorboard", bad],
                         ["tune", "--objective", "branin", "--storage", storage,
                          "--tensorboard", os.path.join(tmp, "unused")]):
                r = subprocess.run([a.knob_refusal] + args, capture_output=True, text=True)
                assert r.returncode == 2, (args, r.returncode, r.stderr)
                assert args[-1] in r.stderr and "tensorboard" in r.stderr, (args, r.stderr)
                print("refused:", r.stderr.strip())
    print("ok")


if __name__ == "__main__":
    main()
