"""Class names beside a model (labels.txt, labels.json): a damaged one is named, with the fix,
in words a non-programmer reads (a message review found codec and parser text)."""

from pathlib import Path

import pytest

from core.errors import ModelFileError
from core.infer.labels import check_label_count, labels_near


def test_a_labels_txt_saved_in_another_encoding_says_save_it_as_utf8(tmp_path):
    (tmp_path / "labels.txt").write_bytes("chats félins\nchiens\n".encode("cp1252"))
    with pytest.raises(ModelFileError) as err:
        labels_near(tmp_path / "model.keras")
    text = str(err.value)
    assert text.startswith(str(tmp_path / "labels.txt")) and "save it as UTF-8" in text
    assert "codec" not in text and "0xe9" not in text


def test_a_damaged_labels_json_says_where_and_what_it_must_be(tmp_path):
    (tmp_path / "labels.json").write_text('["cats", "dogs"', encoding="utf-8")
    with pytest.raises(ModelFileError, match=r'damaged \(not valid JSON at line 1, column 16: a '
                                             r'comma, or a closing \] or }, is missing\); it '
                                             r'must be a list of class names such as '
                                             r'\["cats", "dogs"\]') as err:
        labels_near(tmp_path / "model.keras")
    assert "delimiter" not in str(err.value)
    (tmp_path / "labels.json").write_text('{"a": 1}', encoding="utf-8")
    with pytest.raises(ModelFileError, match="fix it, or put back a copy"):
        labels_near(tmp_path / "model.keras")


def test_a_labels_file_with_another_count_is_the_file_named(tmp_path):
    """It said "model.keras: the model has 2 outputs but the labels file lists 3 classes"."""
    (tmp_path / "labels.txt").write_text("a\nb\nc\n", encoding="utf-8")
    labels = labels_near(tmp_path / "model.keras")
    check_label_count(tmp_path / "model.keras", labels, 3)  # the same count: fine
    with pytest.raises(ModelFileError) as err:
        check_label_count(tmp_path / "model.keras", labels, 2)
    text = str(err.value)
    assert text.startswith(f"{tmp_path / 'labels.txt'}: lists 3 classes")
    assert "tells 2 apart; put the labels file that was exported with this model" in text
    with pytest.raises(ModelFileError, match=str(Path(tmp_path / "sub")).replace("/", ".")):
        check_label_count(tmp_path / "sub" / "model.keras", ["a"], 2)


def test_a_labels_file_saved_with_a_byte_order_mark_reads_as_written(tmp_path):
    """"UTF-8 with BOM" (Notepad): labels.json was "damaged near line 1" and labels.txt gave
    the class '\\ufeffcats' (a diff review)."""
    (tmp_path / "labels.txt").write_bytes("\ufeffcats\ndogs\n".encode("utf-8"))
    assert labels_near(tmp_path / "model.keras") == ["cats", "dogs"]
    (tmp_path / "labels.txt").unlink()
    (tmp_path / "labels.json").write_bytes('\ufeff["cats", "dogs"]'.encode("utf-8"))
    assert labels_near(tmp_path / "model.keras") == ["cats", "dogs"]
