"""python main.py audit DATA_DIR --json: the schema, with the real tiny backbone and the store."""

import io
import json
import shutil

import numpy as np
from PIL import Image

from core.cli import main


def _smooth(rng, base, size=96):
    small = rng.integers(0, 256, (8, 8, 3)).astype(np.uint8)
    arr = np.asarray(Image.fromarray(small).resize((size, size), Image.BICUBIC), np.float32)
    arr = arr * 0.3 + base * 0.7 + rng.normal(0, 2, arr.shape)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _folder(root):
    rng = np.random.default_rng(0)
    for name, base in (("bright", 215), ("dark", 40)):
        (root / name).mkdir(parents=True)
        for i in range(12):
            _smooth(rng, base).save(root / name / f"{name}_{i:02d}.png")
    src = Image.open(root / "bright/bright_00.png")
    src.transpose(Image.FLIP_LEFT_RIGHT).save(root / "bright/copy flipped.png")
    buf = io.BytesIO()
    Image.open(root / "dark/dark_03.png").save(buf, "JPEG", quality=75)
    (root / "bright/copy_of_dark_03.jpg").write_bytes(buf.getvalue())  # a copy, wrong class
    shutil.copyfile(root / "bright/bright_02.png", root / "bright/exact copy.png")
    shutil.move(root / "dark/dark_05.png", root / "bright/dark_05.png")  # a wrong label


def test_audit_json_schema_findings_and_the_store(tmp_path, tiny_weights, capsys):
    data = tmp_path / "data"
    _folder(data)
    (data / "dark" / "empty.png").write_bytes(b"")  # unreadable: listed in "skipped"
    args = ["audit", str(data), "--backbone", "MobileNetV3Small", "--weights", tiny_weights,
            "--image-size", "32", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert [s["path"] for s in out["skipped"]] == ["dark/empty.png"]  # it used to say []
    assert {"label_issues", "near_duplicates", "outliers"} <= set(out)
    for issue in out["label_issues"]:
        assert set(issue) >= {"path", "given", "suggested", "score"}
        assert not issue["path"].startswith("/") and "\\" not in issue["path"]
    groups = [set(g) for g in out["near_duplicates"]]
    assert {"bright/bright_00.png", "bright/copy flipped.png"} in groups
    assert {"bright/bright_02.png", "bright/exact copy.png"} in groups
    assert {"dark/dark_03.png", "bright/copy_of_dark_03.jpg"} in groups
    wrong = {i["path"]: i for i in out["label_issues"]}
    assert wrong["bright/dark_05.png"]["suggested"] == "dark"
    assert wrong["bright/copy_of_dark_03.jpg"]["suggested"] == "dark"
    assert out["label_issues"][0]["path"] in {"bright/dark_05.png", "bright/copy_of_dark_03.jpg"}
    assert all(set(o) == {"path", "score", "kept"} for o in out["outliers"])
    assert out["features_computed"] == 26  # 27 files, one of them an exact copy

    assert main(args[:-1]) == 0  # the text summary, from the store this time
    text = capsys.readouterr().out
    assert "Near-copy groups: 3 (1 across classes)" in text and "computed for 0" in text


def test_a_folder_with_nothing_to_audit_says_why_and_exits_2(tmp_path, tiny_weights, capsys):
    for folder, files in (("broken", {"a/1.png": b"x", "b/1.jpg": b""}),
                          ("loose", {"1.png": None, "2.png": None})):
        for rel, content in files.items():
            path = tmp_path / folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if content is None:
                Image.new("RGB", (8, 8)).save(path)
            else:
                path.write_bytes(content)
        assert main(["audit", str(tmp_path / folder), "--backbone", "MobileNetV3Small",
                     "--weights", tiny_weights, "--image-size", "32", "--json"]) == 2
        err = capsys.readouterr().err
        assert "nothing to audit" in err and "Mean of empty slice" not in err
        assert ("2 file(s) could not be read" if folder == "broken"
                else "belong to no class") in err


def test_random_weights_say_nothing_is_kept_and_no_rest_was_known(tmp_path, monkeypatch,
                                                                   capsys):
    """``audit --weights none``: Ctrl+C said the features so far were kept and a new audit
    would continue, and the summary said "the rest known already" with no rest; random
    features are never stored (a CLI review)."""
    import core.audit.audit as audit_module
    from core.audit.result import AuditResult

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(audit_module, "run_audit", interrupted)
    data = tmp_path / "data"
    _folder(data)
    args = ["audit", str(data), "--backbone", "MobileNetV3Small", "--image-size", "32"]
    assert main(args + ["--weights", "none"]) == 130
    err = capsys.readouterr().err
    assert "nothing is kept" in err and "kept;" not in err and "continue" not in err
    assert main(args + ["--weights", "imagenet"]) == 130
    assert "features computed so far are kept" in capsys.readouterr().err
    all_new = AuditResult(root="/d", classes=["a"], paths=["/d/a/1.png", "/d/a/2.png"],
                          features_computed=2)
    assert "(features computed for 2)" in all_new.to_text()
    assert "known already" not in all_new.to_text()
    all_new.features_computed = 1
    assert "(features computed for 1, the rest known already)" in all_new.to_text()


def test_the_summary_says_which_images_training_leaves_out(tmp_path, tiny_weights, capsys):
    """A review: the Data page said "24 images · 5 files skipped" and the check "26 images
    … 3 unreadable file(s) skipped" for one folder: the check counts the byte copies the scan
    leaves out (filed under two classes) and did not say so."""
    from core.data.dataset import scan_dataset
    from gui.pages.data.audit_findings import summary_text
    from core.audit.audit import run_audit
    from core.features.extract import FeatureModel
    from core.features.store import FeatureStore

    data = tmp_path / "data"
    _folder(data)
    shutil.copyfile(data / "dark/dark_00.png", data / "bright/dark_00 again.png")
    used = len(scan_dataset(data).records)
    result = run_audit(data, FeatureModel("MobileNetV3Small", tiny_weights, 32),
                       store=FeatureStore(tmp_path / "store"))
    assert result.left_out == len(result.paths) - used == 3  # exact copy.png, both dark_00
    note = "(3 of them copies that training leaves out)"
    assert f"{len(result.paths)} images {note}: " in summary_text(result)
    assert f"{len(result.paths)} images {note}, 2 classes" in result.to_text()
    result.left_out = 1
    assert "images (one of them a copy that training leaves out), " in result.to_text()


def test_images_kept_in_the_window_are_listed_last_and_marked(tmp_path, tiny_weights, capsys):
    """A review: after K in the window, ``audit`` listed the kept image first again, as a
    fresh suspect, where the window lists it last, marked kept."""
    from core.audit.kept import remember_kept

    data = tmp_path / "data"
    _folder(data)
    args = ["audit", str(data), "--backbone", "MobileNetV3Small", "--weights", tiny_weights,
            "--image-size", "32"]
    first = "bright/dark_05.png"  # the planted wrong label, listed first or second
    remember_kept(str(data), "labels", [str(data / first)])
    remember_kept(str(data), "groups", [str(data / p) for p in ("bright/bright_00.png",
                                                                "bright/copy flipped.png")])
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Likely wrong labels"))
    assert lines[start].endswith(" (1 kept before)")
    suspects = []
    for line in lines[start + 1:]:
        if not line.startswith("  "):
            break
        suspects.append(line)
    assert len(suspects) >= 2
    assert suspects[-1].startswith(f"  {first}: ") and suspects[-1].endswith(" [kept]")
    assert not any(s.endswith("[kept]") for s in suspects[:-1])
    start = next(i for i, line in enumerate(lines) if line.startswith("Near-copy groups"))
    assert lines[start].endswith(" (1 kept before)")
    assert "bright/copy flipped.png" in lines[start + 3] and lines[start + 3].endswith("[kept all]")


def test_the_json_says_what_was_kept_copies_in_another_class_and_left_out(tmp_path,
                                                                          tiny_weights, capsys):
    """A review: the text summary says which findings were kept in the window, which suspect
    has a copy in another class and how many images training leaves out; --json said none."""
    from core.audit.kept import remember_kept

    data = tmp_path / "data"
    _folder(data)
    everything = [str(p) for p in data.rglob("*.png")] + [str(p) for p in data.rglob("*.jpg")]
    remember_kept(str(data), "labels", [str(data / "bright/dark_05.png")])
    remember_kept(str(data), "outliers", everything)
    remember_kept(str(data), "groups", [str(data / p) for p in ("bright/bright_00.png",
                                                                "bright/copy flipped.png")])
    assert main(["audit", str(data), "--backbone", "MobileNetV3Small", "--weights",
                 tiny_weights, "--image-size", "32", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["left_out"] == 1 and out["images"] == 27  # exact copy.png
    wrong = {i["path"]: i for i in out["label_issues"]}
    assert wrong["bright/dark_05.png"]["kept"] is True
    assert wrong["bright/dark_05.png"]["conflict"] is False
    assert wrong["bright/copy_of_dark_03.jpg"] == dict(wrong["bright/copy_of_dark_03.jpg"],
                                                      conflict=True, kept=False)
    assert all(o["kept"] is True for o in out["outliers"])
    kept = dict(zip(map(frozenset, out["near_duplicates"]), out["near_duplicates_kept"]))
    assert kept == {frozenset({"bright/bright_00.png", "bright/copy flipped.png"}): True,
                    frozenset({"bright/bright_02.png", "bright/exact copy.png"}): False,
                    frozenset({"dark/dark_03.png", "bright/copy_of_dark_03.jpg"}): False}


def test_an_image_size_the_backbone_refuses_is_said_before_the_scan(tmp_path, capsys):
    """(a review) `audit --backbone Xception --image-size 32` scanned the folder, then said
    "model.image_size: 32 px ... use 0 for the default": not the flag given, nor the
    smallest size Xception takes."""
    data = tmp_path / "data"
    for name in ("a", "b"):
        (data / name).mkdir(parents=True)
        Image.new("RGB", (32, 32), (9, 9, 9)).save(data / name / "x.png")
    assert main(["audit", str(data), "--backbone", "Xception", "--weights", "none",
                 "--image-size", "32"]) == 2
    out = capsys.readouterr()
    assert "audit step" not in out.out + out.err  # refused before any work
    assert "--image-size 32 px is outside what Xception accepts (71-1024 px): use 71 px or " \
           "more, or 0 for its default 299 px" in out.err
