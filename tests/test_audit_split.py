"""split_dataset(groups=...): near-duplicate groups land on one side, stratified and seeded."""

import numpy as np
from PIL import Image

from core.data.dataset import Split, scan_dataset, split_dataset


def _folder(root, per_class=20):
    rng = np.random.default_rng(0)
    for name in ("cat", "dog", "owl"):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            arr = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
            Image.fromarray(arr).save(root / name / f"{name}{i:02d}.png")
    return scan_dataset(root)


def _groups(report):
    paths = sorted(r.path for r in report.records)
    # groups of 2-4 images, some across classes (a cat copy filed under dog)
    return [paths[0:3], paths[10:12], paths[19:22], paths[30:34], [paths[5], paths[45]]]


def test_groups_are_kept_on_one_side(tmp_path):
    report = _folder(tmp_path)
    groups = _groups(report)
    split = split_dataset(report, 0.25, seed=3, groups=groups)
    val = {r.path for r in split.val}
    for g in groups:
        assert len({p in val for p in g}) == 1, g
    assert split.kept_together == len(groups)
    assert len(split.train) + len(split.val) == len(report.records)
    per_class = {c: sum(r.class_name == c for r in split.val) for c in report.classes}
    assert all(3 <= n <= 7 for n in per_class.values()), per_class  # ~5 each, stratified


def test_grouped_split_is_seeded_and_saved(tmp_path):
    report = _folder(tmp_path)
    groups = _groups(report)
    a = split_dataset(report, 0.25, seed=3, groups=groups)
    b = split_dataset(scan_dataset(tmp_path), 0.25, seed=3, groups=list(reversed(groups)))
    assert [r.path for r in a.val] == [r.path for r in b.val]
    assert [r.path for r in split_dataset(report, 0.25, seed=4, groups=groups).val] \
        != [r.path for r in a.val]
    again = Split.from_dict(a.to_dict())
    assert again.kept_together == a.kept_together and len(again.val) == len(a.val)


def test_without_groups_the_split_is_the_plain_one(tmp_path):
    report = _folder(tmp_path)
    plain = split_dataset(report, 0.25, seed=3)
    assert plain.kept_together == 0
    for groups in (None, [], [[report.records[0].path]]):  # no group of 2+: nothing changes
        same = split_dataset(report, 0.25, seed=3, groups=groups)
        assert [r.path for r in same.val] == [r.path for r in plain.val]


def test_a_class_that_is_one_group_stays_in_training(tmp_path):
    report = _folder(tmp_path, per_class=4)
    owls = [r.path for r in report.records if r.class_name == "owl"]
    split = split_dataset(report, 0.5, seed=0, groups=[owls])
    assert not any(r.class_name == "owl" for r in split.val)
    assert all(any(r.class_name == c for r in split.val) for c in ("cat", "dog"))


def test_a_group_across_classes_never_takes_another_class_s_last_training_image():
    """B's only way into validation was a group with C's two images: C then had no training
    image at all, and the run trained on, with C's recall 0 and no warning."""
    from core.data.grouped_split import pick_validation

    paths = [f"A/a{i}.png" for i in range(10)] + ["B/b_a1.jpg", "B/b_c1.jpg",
                                                  "C/c1.png", "C/c1_copy.png"]
    classes = [p.split("/")[0] for p in paths]
    groups = [["A/a1.png", "A/a2.png", "B/b_a1.jpg"], ["B/b_c1.jpg", "C/c1.png", "C/c1_copy.png"]]
    for seed in range(8):
        val, _ = pick_validation(classes, paths, groups, 0.2, seed)
        train = set(range(len(paths))) - val
        assert {classes[i] for i in train} == {"A", "B", "C"}, (seed, sorted(val))
