#!/usr/bin/python3
"""Reads knob's TensorBoard event files independently of knob's code.

TFRecord framing and CRC-32C are checked here in Python; Events are decoded by message
classes protoc builds from event.proto (TensorFlow's published field numbers) for
python3-protobuf. The values must equal the per-epoch metrics the writer reported as JSON lines:

  --writer PROG      runs PROG DIR (tensorboard_writer.cc), which prints those lines;
  --knob KNOB        runs `knob train CONFIG --tensorboard DIR --metrics DIR/metrics.jsonl`
                     (needs the trainer plugin) with --config and --set overrides;
  --knob-refusal KNOB  only checks that `knob train --tensorboard` refuses an unusable DIR.
"""
import argparse
import glob
import importlib
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

TAGS = {"train/loss": "train_loss", "val/loss": "val_loss", "val/accuracy": "val_accuracy",
        "lr": "lr", "batch_size": "batch_size"}


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


def same_float(got, want):
    want = struct.unpack("<f", struct.pack("<f", want))[0]  # simple_value is a float
    return (math.isnan(got) and math.isnan(want)) or got == want


def check(logdir, epochs, Event):
    files = glob.glob(os.path.join(logdir, "events.out.tfevents.*"))
    assert len(files) == 1, f"expected one event file in {logdir}: {files}"
    events = [Event.FromString(r) for r in records(files[0])]
    assert events[0].file_version == "brain.Event:2", events[0]
    assert events[0].wall_time > 1.6e9, events[0].wall_time
    seen = {}
    for e in events[1:]:
        assert e.WhichOneof("what") == "summary", e
        assert e.wall_time >= events[0].wall_time
        for v in e.summary.value:
            assert v.tag in TAGS, v.tag
            assert (v.tag, e.step) not in seen, f"{v.tag} twice at step {e.step}"
            seen[(v.tag, e.step)] = v.simple_value
    assert len(seen) == len(TAGS) * len(epochs), sorted(seen)
    for m in epochs:
        step = m["epoch"] + 1
        for tag, field in TAGS.items():
            got = seen[(tag, step)]
            assert same_float(got, m[field]), f"{tag} at step {step}: {got} != {m[field]}"
    print(f"{files[0]}: {len(events)} events, steps "
          f"{sorted({s for _, s in seen})}, tags {sorted({t for t, _ in seen})}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--writer")
    p.add_argument("--knob")
    p.add_argument("--knob-refusal")
    p.add_argument("--config")
    p.add_argument("--set", action="append", default=[])
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        Event = event_class(tmp)
        logdir = os.path.join(tmp, "runs", "a")
        if a.writer:
            out = subprocess.run([a.writer, logdir], check=True, capture_output=True, text=True)
            epochs = [json.loads(line) for line in out.stdout.splitlines()]
            assert any(math.isnan(m["val_loss"]) for m in epochs)  # the NaN case is exercised
            check(logdir, epochs, Event)
        if a.knob:
            metrics = os.path.join(tmp, "metrics.jsonl")
            cmd = [a.knob, "train", a.config, "--quiet", "--tensorboard", logdir,
                   "--metrics", metrics]
            for s in a.set:
                cmd += ["--set", s]
            subprocess.run(cmd, check=True)
            with open(metrics) as f:
                epochs = [json.loads(line) for line in f]
            assert epochs, "knob train wrote no epochs"
            check(logdir, epochs, Event)
        if a.knob_refusal:
            blocker = os.path.join(tmp, "file")
            open(blocker, "w").close()
            bad = os.path.join(blocker, "sub")
            here = os.path.dirname(os.path.abspath(__file__))
            config = os.path.join(here, "..", "..", "examples", "fashion_mnist_mlp.toml")
            r = subprocess.run([a.knob_refusal, "train", config, "--tensorboard", bad],
                               capture_output=True, text=True)
            assert r.returncode == 2, (r.returncode, r.stderr)
            assert bad in r.stderr and "tensorboard" in r.stderr, r.stderr
            print("refused:", r.stderr.strip())
    print("ok")


if __name__ == "__main__":
    main()
