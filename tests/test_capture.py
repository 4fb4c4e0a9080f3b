"""Camera capture without a camera: a video file through the same frames, JPEGs, journal, Undo."""

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from core.capture.frames import (CaptureError, FrameSource, encode_jpeg, fit_longest,
                                 list_cameras, no_camera_message, squash)
from core.errors import UserError
from core.label.capture import CaptureWriter, check_class_name


def write_video(path: Path, frames: int = 12, size=(96, 64), fps: float = 30.0,
                value=None) -> Path:
    """A small MJPG .avi whose frames get brighter one by one (frame i has value ~10*i+20),
    or are all of one grey ``value``."""
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert out.isOpened()
    for i in range(frames):
        grey = (10 * i + 20) % 255 if value is None else value
        out.write(np.full((size[1], size[0], 3), grey, np.uint8))
    out.release()
    return path


def test_a_video_file_plays_as_rgb_frames_and_loops(tmp_path):
    video = write_video(tmp_path / "clip.avi", frames=5)
    with FrameSource(video) as src:
        assert not src.is_camera and src.size == (96, 64) and src.fps == pytest.approx(30)
        frames = [src.read() for _ in range(7)]  # 5 frames, then from the start again
    assert all(f.shape == (64, 96, 3) and f.dtype == np.uint8 for f in frames)
    assert abs(int(frames[5].mean()) - int(frames[0].mean())) <= 3
    with FrameSource(video, loop=False) as src:
        assert len(list(src.frames(1000.0))) == 5  # then it ends


def test_frames_are_paced_and_stop_when_cancelled(tmp_path):
    from core.events import CancelToken

    token = CancelToken()
    with FrameSource(write_video(tmp_path / "clip.avi", frames=3)) as src:
        got = []
        for frame in src.frames(1000.0, token):  # a file plays at most at its own rate
            got.append(frame)
            if len(got) == 4:
                token.cancel()
    assert len(got) == 4


def test_a_video_faster_than_the_pace_keeps_its_time(tmp_path):
    """A 30 fps clip shown at 15 frames a second played every frame, at half speed (a 60 fps
    phone clip at a quarter): frames are now left out to keep the clip's own time."""
    with FrameSource(write_video(tmp_path / "fast.avi", frames=24, fps=200.0), loop=False) as src:
        got = [int(f.mean()) for f in src.frames(50.0)]  # a quarter of the clip's rate
    assert len(got) == 6  # its 0.12 s at 50 a second, not 24 frames in 0.48 s
    assert [round((g - 20) / 40) for g in got] == [0, 1, 2, 3, 4, 5]  # frames 0, 4, 8...


def test_bad_sources_say_which_and_what_to_do(tmp_path):
    with pytest.raises(CaptureError, match="missing.avi: no such video file"):
        FrameSource(tmp_path / "missing.avi")
    bad = tmp_path / "notes.avi"
    bad.write_bytes(b"this is not a video" * 50)
    with pytest.raises(CaptureError, match="notes.avi: cannot be played as a video"):
        FrameSource(bad)
    assert isinstance(CaptureError("x"), UserError)


def test_no_camera_here_is_an_empty_list_and_a_clear_message(capfd):
    cams = list_cameras(2)
    assert isinstance(cams, list)
    if not cams:
        with pytest.raises(CaptureError, match="No camera found at index 1"):
            FrameSource(1)
    assert "No camera found" in no_camera_message()
    assert "can't open camera" not in capfd.readouterr().err  # OpenCV's warnings are silenced


@pytest.mark.parametrize("platform, switch", [("darwin", "Privacy & Security → Camera"),
                                              ("win32", "Let desktop apps access your camera"),
                                              ("linux", "/dev/video0")])
def test_no_camera_names_the_systems_permission_too(monkeypatch, platform, switch):
    """A camera the system refuses (macOS asks once per program) looks to OpenCV like no
    camera; the message said only "not connected or in use" (a portability review)."""
    from core.capture import frames

    monkeypatch.setattr(frames.sys, "platform", platform)
    assert switch in frames.no_camera_message()
    if not list_cameras(2):
        with pytest.raises(CaptureError, match="not connected") as err:
            FrameSource(1)
        assert switch in str(err.value)
    monkeypatch.setattr(frames.sys, "platform", "sunos5")
    assert frames.no_camera_message().endswith("play a video file instead.")


def test_resizing_and_jpeg():
    frame = np.zeros((300, 400, 3), np.uint8)
    assert fit_longest(frame, 100).shape == (75, 100, 3)
    assert fit_longest(frame, 1000) is frame  # never enlarged
    assert squash(frame, 32).shape == (32, 32, 3)
    assert encode_jpeg(frame)[:2] == b"\xff\xd8"


def test_a_burst_is_saved_as_jpegs_at_the_size_never_overwriting_and_undone(tmp_path):
    data = tmp_path / "data"
    (data / "ok").mkdir(parents=True)
    existing = data / "ok" / "mine.jpg"
    existing.write_bytes(b"not touched")
    writer = CaptureWriter(data, side=48)
    assert writer.classes() == ["ok"]
    with FrameSource(write_video(tmp_path / "clip.avi")) as src:
        frames = [src.read() for _ in range(4)]
    burst = writer.start_burst("ok")
    saved = [writer.save(f, burst) for f in frames[:3]]
    second = writer.start_burst("new class")
    saved.append(writer.save(frames[3], second))
    paths = [s.path for s in saved]
    assert len(set(paths)) == 4 and all(p.exists() for p in paths)
    for p in paths:
        with Image.open(p) as im:
            assert im.format == "JPEG" and max(im.size) == 48 and im.size == (48, 32)
    assert {p.parent.name for p in paths} == {"ok", "new class"}
    assert writer.classes() == ["new class", "ok"]
    assert not [n for n in os.listdir(data / "ok") if n.endswith(".tmp")]
    # Undo removes the newest burst, then the one before, and nothing else
    cls, outcome = writer.undo_last_burst()
    assert cls == "new class" and not paths[3].exists() and not outcome.refused
    assert not (data / "new class").exists()  # the folder the burst made went with it
    cls, outcome = writer.undo_last_burst()
    assert cls == "ok" and len(outcome.moved) == 3 and not any(p.exists() for p in paths[:3])
    assert (data / "ok").is_dir()  # a folder that was there before stays
    assert existing.read_bytes() == b"not touched"
    with pytest.raises(UserError, match="Nothing of this capture to undo"):
        writer.undo_last_burst()


def test_undo_leaves_an_edited_capture_and_another_session_s_fix_alone(tmp_path):
    from core.audit.fixes import FixJournal

    data = tmp_path / "data"
    (data / "a").mkdir(parents=True)
    writer = CaptureWriter(data, side=0)
    burst = writer.start_burst("a")
    frame = np.full((20, 30, 3), 128, np.uint8)
    first, second = writer.save(frame, burst).path, writer.save(frame, burst).path
    second.write_bytes(b"edited by hand")
    assert len(FixJournal(data).pending_batches()) == 1  # two parts, one batch
    _, outcome = writer.undo_last_burst()
    assert not first.exists() and second.read_bytes() == b"edited by hand"
    assert outcome.refused and "changed since it was captured" in outcome.refused[0][1]
    other = CaptureWriter(data)
    other.save(frame, other.start_burst("a"))
    with pytest.raises(UserError, match="not one of its bursts"):
        writer.undo_last_burst()


def test_an_existing_class_with_a_long_name_takes_bursts(tmp_path):
    """A class folder named with 240 bytes (any file system takes 255) refused every frame:
    its name plus the capture's date did not fit in a file name."""
    name = "é" * 120  # 240 bytes
    (tmp_path / "data" / name).mkdir(parents=True)
    (tmp_path / "data" / "other").mkdir()
    writer = CaptureWriter(tmp_path / "data", side=0)
    burst = writer.start_burst(name)
    frame = np.full((20, 30, 3), 128, np.uint8)
    saved = [writer.save(frame, burst).path for _ in range(2)]
    assert all(p.parent.name == name and p.is_file() for p in saved)
    assert all(len(p.name.encode()) <= 255 and p.name.startswith("é" * 50) for p in saved)


def test_class_names_that_cannot_be_folders_are_refused():
    assert check_class_name("  good ") == "good"
    for bad in ("", ".hidden", "a/b", "_x"):
        with pytest.raises(UserError):
            check_class_name(bad)


def test_write_new_never_overwrites(tmp_path):
    from core.fsutil import write_new

    target = tmp_path / "sub" / "a.jpg"
    write_new(target, b"first")
    with pytest.raises(FileExistsError):
        write_new(target, b"second")
    assert target.read_bytes() == b"first" and os.listdir(target.parent) == ["a.jpg"]


def test_existing_classes_of_any_name_take_bursts_and_new_names_follow_the_rule(tmp_path):
    """A class folder "none" (the scan trains on it) took no picture, silently; "Bright"
    beside "bright" became a second class."""
    for name in ("none", "bright"):
        (tmp_path / name).mkdir()
    writer = CaptureWriter(tmp_path)
    burst = writer.start_burst("none")
    assert writer.save(np.zeros((8, 8, 3), np.uint8), burst).path.parent == tmp_path / "none"
    with pytest.raises(UserError, match="already a class 'bright'"):
        writer.start_burst("Bright")
    with pytest.raises(UserError):
        check_class_name("unknown")  # a new class may not be called that


def test_a_data_folder_gone_while_capturing_is_named_as_such(tmp_path):
    """It said ".fts-journal.jsonl (No such file or directory); choose another folder"."""
    import shutil

    data = tmp_path / "data"
    (data / "cat").mkdir(parents=True)
    writer = CaptureWriter(data, 64)
    burst = writer.start_burst("cat")
    shutil.rmtree(data)
    with pytest.raises(UserError) as err:
        writer.save(np.zeros((48, 64, 3), np.uint8), burst)
    assert str(err.value).startswith(f"{data}: the data folder is not there any more")
    assert "journal" not in str(err.value) and not data.exists()
