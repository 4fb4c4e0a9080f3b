"""Projects in the window: save, reopen in a new window with every setting equal,
recent projects, and the unsaved-changes prompt."""

import os

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from core.config import StudioConfig
from core.data.sample_data import generate_sample_dataset
from gui import plain_text, recent
from gui.main_window import MainWindow


def new_window(qtbot):
    w = MainWindow(load_tensorflow=False)
    qtbot.addWidget(w, before_close_func=lambda w: (w.state.mark_saved(), w.shutdown()))
    w.show()
    return w


def test_save_then_open_in_a_new_window_restores_every_setting(qtbot, tmp_path):
    root = generate_sample_dataset(tmp_path / "shapes", per_class=4, size=32, seed=3)
    first = new_window(qtbot)
    with qtbot.waitSignal(first.data_page.scan_finished, timeout=60000):
        first.data_page.open_folder(str(root))
    first.data_page.val_spin.setValue(25)
    first.data_page.seed_spin.setValue(99)
    first.model_page.select_backbone("MobileNetV3Small")
    first.model_page.size_spin.setValue(96)
    first.model_page.dropout_spin.setValue(0.35)
    first.model_page.set_top_n(12)
    first.augment_page.set_preset("medium")
    first.augment_page._p_spins["HorizontalFlip"].setValue(70)
    cfg = first.state.config
    assert cfg != StudioConfig()
    assert "[*]" in first.windowTitle() and first.isWindowModified()

    path = tmp_path / "projects" / "shapes.ftsproj"
    assert first.save_project_as(str(path))
    assert path.is_file() and not first.state.dirty
    assert first.windowTitle().startswith("shapes.ftsproj")
    assert recent.recent_projects()[0] == str(path)

    second = new_window(qtbot)
    with qtbot.waitSignal(second.data_page.scan_finished, timeout=60000):
        assert second.open_project(str(path))  # reopening rescans the image folder
    assert second.state.config == cfg
    assert second.state.config is not cfg
    assert not second.state.dirty
    # the widgets show the restored settings
    assert second.data_page.val_spin.value() == 25
    assert second.data_page.seed_spin.value() == 99
    assert second.model_page.size_spin.value() == 96
    assert second.model_page.mode_combo.currentData() == "top_n"
    assert second.model_page.top_n_spin.value() == 12
    rows = second.model_page.table.selectionModel().selectedRows()
    assert second.model_page.table.item(rows[0].row(), 0).data(Qt.UserRole) == "MobileNetV3Small"
    second.show_page(2)
    assert second.augment_page.preset_combo.currentData() == "custom"
    assert second.augment_page._p_spins["HorizontalFlip"].value() == 70
    assert second.data_page.class_table.rowCount() == 3
    # nothing the pages did on opening counts as a change
    assert second.state.config == cfg and not second.state.dirty


def test_broken_project_is_reported_not_opened(qtbot, tmp_path, monkeypatch):
    w = new_window(qtbot)
    bad = tmp_path / "bad.ftsproj"
    bad.write_text('{"format": "fine-tune-studio-project", "config": {"data": {"seed": "x"}}}')
    warned = []
    monkeypatch.setattr(MainWindow, "_warn", lambda self, title, text: warned.append(text))
    before = w.state.config.copy()
    assert not w.open_project(str(bad))
    assert warned and str(bad) in warned[0] and "data.seed" in warned[0]
    assert w.state.config == before


@pytest.mark.parametrize("answer", ["cancel", "discard", "save"])
def test_unsaved_changes_prompt(qtbot, tmp_path, monkeypatch, answer):
    w = new_window(qtbot)
    path = tmp_path / "p.ftsproj"
    assert w.save_project_as(str(path))
    w.data_page.seed_spin.setValue(5)
    assert w.state.dirty
    asked = []
    buttons = {"cancel": QMessageBox.Cancel, "discard": QMessageBox.Discard,
               "save": QMessageBox.Save}
    monkeypatch.setattr(plain_text, "question",
                        lambda *a, **k: asked.append(a[1]) or buttons[answer])
    result = w.new_project()
    assert asked == ["Unsaved changes"]
    if answer == "cancel":
        assert not result and w.state.config.data.seed == 5 and w.state.dirty
    else:
        assert result and w.state.config == StudioConfig() and not w.state.dirty
        assert w.state.project_path is None
        saved_seed = StudioConfig.from_json(
            __import__("json").dumps(__import__("json").loads(path.read_text())["config"]))
        assert saved_seed.data.seed == (5 if answer == "save" else StudioConfig().data.seed)
    # a saved state closes without asking
    asked.clear()
    w.state.mark_saved()
    w.close()
    assert not asked


def test_a_setting_changed_and_changed_back_is_no_change(qtbot, tmp_path, monkeypatch):
    """The project stayed "modified" and closing asked to save it though every setting was
    as in the file (a review): the project is compared with the file as opened or saved."""
    w = new_window(qtbot)
    path = tmp_path / "p.ftsproj"
    assert w.save_project_as(str(path))
    w.data_page.seed_spin.setValue(5)
    assert w.state.dirty and w.isWindowModified()
    w.data_page.seed_spin.setValue(StudioConfig().data.seed)
    assert not w.state.dirty and not w.isWindowModified()
    w.state.set("train.epochs", 11)
    assert w.save_project()
    w.state.set("train.epochs", 10)
    assert w.state.dirty  # the file has 11 now
    w.state.set("train.epochs", 11)
    asked = []
    monkeypatch.setattr(plain_text, "question", lambda *a, **k: asked.append(a[1]))
    w.close()
    assert not asked


@pytest.mark.parametrize("answer", [QMessageBox.No, QMessageBox.Yes])
def test_saving_over_a_write_protected_project_asks_first(qtbot, tmp_path, monkeypatch, answer):
    """File → Save replaced a project the user had made read-only (a template) without a
    word: the folder allows the rename (a review)."""
    w = new_window(qtbot)
    path = tmp_path / "template.ftsproj"
    assert w.save_project_as(str(path))
    path.chmod(0o444)
    before = path.read_text()
    w.state.set("train.epochs", 11)
    asked = []
    monkeypatch.setattr(plain_text, "question", lambda *a, **k: asked.append(a[2]) or answer)
    assert w.save_project() == (answer == QMessageBox.Yes)
    assert asked == [f"{path} is write-protected. Replace it with this window's project "
                     "anyway? (No keeps it as it is: save this one under another name with "
                     "File → Save project as.)"]
    assert (path.read_text() == before) == (answer == QMessageBox.No)
    assert w.state.dirty == (answer == QMessageBox.No)


def test_save_writes_a_project_opened_under_another_name_to_that_file(qtbot, tmp_path):
    """Ctrl+S on a project opened from renamed.json wrote renamed.json.ftsproj beside it and
    left the file opened with the old settings (a review)."""
    from core.project import Project, load_project, save_project

    path = save_project(Project(), tmp_path / "p.ftsproj").rename(tmp_path / "renamed.json")
    w = new_window(qtbot)
    assert w.open_project(str(path))
    w.state.set("train.epochs", 11)
    assert w.save_project()
    assert load_project(path).config.train.epochs == 11
    assert sorted(p.name for p in tmp_path.iterdir()) == ["renamed.json"]


def test_save_as_onto_a_folder_says_so_without_asking_to_replace_it(qtbot, tmp_path,
                                                                     monkeypatch):
    """Save As onto a folder named x.ftsproj asked "Replace the project?" first, then
    failed with "Choose another folder" (a review)."""
    (tmp_path / "x.ftsproj").mkdir()
    w = new_window(qtbot)
    asked, warned = [], []
    monkeypatch.setattr(plain_text, "question", lambda *a, **k: asked.append(a[1]))
    monkeypatch.setattr(MainWindow, "_warn", lambda self, title, text: warned.append(text))
    for given in ("x", "x.ftsproj"):
        assert not w.save_project_as(str(tmp_path / given))
    assert not asked
    assert warned == [f"{tmp_path / 'x.ftsproj'} is a folder: give the project a file name "
                      "(File → Save project as)."] * 2


def test_a_save_that_fails_warns_and_the_window_stays_open_with_its_changes(qtbot, tmp_path,
                                                                            monkeypatch):
    """A place that takes no file raised an uncaught error out of closeEvent, and the window
    closed with the changes lost."""
    w = new_window(qtbot)
    (tmp_path / "blk").write_text("a file where a folder should be")
    target = tmp_path / "blk" / "p.ftsproj"
    warned = []
    monkeypatch.setattr(MainWindow, "_warn", lambda self, title, text: warned.append(text))
    assert not w.save_project_as(str(target))
    assert warned and "blk is a file, not a folder" in warned[0]
    w.state.set_project_path(str(target))  # as if it had been saved there before
    w.data_page.seed_spin.setValue(7)
    monkeypatch.setattr(plain_text, "question", lambda *a, **k: QMessageBox.Save)
    warned.clear()
    assert not w.close()
    assert w.isVisible() and w.state.dirty and w.state.config.data.seed == 7
    assert warned and str(target) in warned[0]


def test_reopening_a_project_of_the_folder_shown_keeps_its_images_everywhere(qtbot, tmp_path):
    """The Data page kept showing the folder, but every other page lost it ("Open an image
    folder on the Data page") and the sidebar lost its tick."""
    root = generate_sample_dataset(tmp_path / "shapes", per_class=4, size=32, seed=3)
    w = new_window(qtbot)
    with qtbot.waitSignal(w.data_page.scan_finished, timeout=60000):
        w.data_page.open_folder(str(root))
    path = tmp_path / "p.ftsproj"
    assert w.save_project_as(str(path))
    assert w.open_project(str(path))
    assert w.state.dataset_report is not None and w.state.dataset_report.root == str(root)
    assert "✓" in w.sidebar.item(0).text()


def _until_cancelled(listener=None, cancel=None):
    import time

    while True:
        cancel.raise_if_cancelled()
        time.sleep(0.01)


def test_projects_and_the_data_folder_do_not_change_while_a_job_runs(qtbot, tmp_path,
                                                                     monkeypatch):
    """A run that ends goes into the project open then: opening or starting another one
    mid-run gave the run to the wrong project, and a folder dropped mid-run changed the
    setting training reads while the pages still showed the old folder."""
    w = new_window(qtbot)
    a, b = tmp_path / "a", tmp_path / "b"
    generate_sample_dataset(a, ["circle", "square"], per_class=3, size=32)
    generate_sample_dataset(b, per_class=3, size=32)
    with qtbot.waitSignal(w.runner.busy_changed, check_params_cb=lambda busy: not busy,
                          timeout=30000):
        assert w.data_page.open_folder(str(a))
    other = tmp_path / "other.ftsproj"
    assert w.save_project_as(str(other))
    warned = []
    monkeypatch.setattr(MainWindow, "_warn", lambda self, title, text: warned.append(text))
    job = w.runner.start(_until_cancelled, name="Training")
    assert not w.open_project(str(other)) and not w.new_project()
    assert len(warned) == 2 and "“Training” is still running" in warned[0]
    assert not w.data_page.open_folder(str(b))
    assert w.state.config.data.data_dir == str(a)
    assert "Please wait" in w.data_page.banner.text()
    asked = []  # File → Choose image folder… is refused before its dialog, not after
    monkeypatch.setattr("PySide6.QtWidgets.QFileDialog.getExistingDirectory",
                        lambda *a, **k: asked.append(a) or str(b))
    w._choose_image_folder()
    assert not asked and len(warned) == 3 and "choose another image folder" in warned[2]
    with qtbot.waitSignal(job.done, timeout=10000):
        job.cancel()
    assert w.open_project(str(other))


def test_save_as_without_the_suffix_asks_before_replacing_a_project(qtbot, tmp_path,
                                                                    monkeypatch):
    """Typing "parts" replaced parts.ftsproj without a question: the dialog had only
    checked "parts"."""
    w = new_window(qtbot)
    existing = tmp_path / "parts.ftsproj"
    assert w.save_project_as(str(existing))
    before = existing.read_bytes()
    w.new_project()
    w.data_page.seed_spin.setValue(9)
    asked = []
    monkeypatch.setattr(plain_text, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.No)
    assert not w.save_project_as(str(tmp_path / "parts"))
    assert asked and str(existing) in asked[0] and existing.read_bytes() == before
    monkeypatch.setattr(plain_text, "question", lambda *a, **k: QMessageBox.Yes)
    assert w.save_project_as(str(tmp_path / "parts"))
    assert existing.read_bytes() != before
    asked.clear()
    w.data_page.seed_spin.setValue(10)
    assert w.save_project_as(str(tmp_path / "parts"))  # its own file: no question


def test_open_recent_keeps_a_project_that_still_exists_and_shows_ampersands(
        qtbot, tmp_path, monkeypatch):
    """A project from a newer version was dropped from Open recent (it opens after the
    update the message asks for); "R&D" was shown as "RD" with D underlined."""
    w = new_window(qtbot)
    folder = tmp_path / "R&D"
    folder.mkdir()
    newer = folder / "newer.ftsproj"
    newer.write_text('{"format": "fine-tune-studio-project", "version": 99, "config": {}}')
    recent.add_recent_project(str(newer))
    monkeypatch.setattr(MainWindow, "_warn", lambda self, title, text: None)
    assert not w.open_project(str(newer))
    assert str(newer) in recent.recent_projects()
    w._fill_recent_menu()
    texts = [a.text() for a in w.recent_menu.actions()]
    assert str(newer).replace("&", "&&") in texts
    newer.unlink()  # gone: then it leaves the list
    assert not w.open_project(str(newer))
    assert str(newer) not in recent.recent_projects()


def test_a_project_that_cannot_be_opened_is_said_so_before_asking_about_changes(
        qtbot, tmp_path, monkeypatch):
    """Open recent of a deleted project (or a broken one) first asked "Save the changes
    first?", and only after the answer said "project file not found" (a review)."""
    w = new_window(qtbot)
    w.data_page.seed_spin.setValue(5)
    assert w.state.dirty
    said = []
    monkeypatch.setattr(plain_text, "question", lambda *a, **k: said.append(a[1]) or
                        QMessageBox.Discard)
    monkeypatch.setattr(MainWindow, "_warn", lambda self, title, text: said.append(text))
    broken = tmp_path / "broken.ftsproj"
    broken.write_text("{")
    for path in (tmp_path / "gone.ftsproj", broken):
        said.clear()
        assert not w.open_project(str(path))
        assert len(said) == 1 and said[0].startswith(str(path))  # the reason, no question
    assert w.state.dirty and w.state.config.data.seed == 5
    from core.project import Project, save_project

    good = save_project(Project(), tmp_path / "good.ftsproj")
    said.clear()
    assert w.open_project(str(good))
    assert said == ["Unsaved changes"] and w.state.config == StudioConfig()


def test_closing_hides_the_window_before_waiting_for_the_tensorflow_import(qtbot, monkeypatch):
    """Closed soon after start, the window stayed on screen, frozen, until the import ended."""
    from gui import tf_loader

    w = new_window(qtbot)
    seen = []
    monkeypatch.setattr(tf_loader, "wait_loaded", lambda *a, **k: seen.append(w.isVisible()))
    w.state.mark_saved()
    w.close()
    assert seen == [False]


def test_a_message_about_the_last_project_goes_when_another_opens(qtbot, window, tmp_path):
    """'The project's weights file .../gone.weights.h5 is not there' stayed on the Model page
    over the next, clean project."""
    import json as _json

    from core.project import Project

    d = Project().to_dict()
    d["config"]["model"]["weights"] = str(tmp_path / "gone.weights.h5")
    gone = tmp_path / "gone.ftsproj"
    gone.write_text(_json.dumps(d))
    clean = tmp_path / "clean.ftsproj"
    clean.write_text(_json.dumps(Project().to_dict()))
    model_page = next(p for p in window.pages if p.key == "model")
    assert window.open_project(str(gone))
    assert "gone.weights.h5" in model_page.banner.text()
    window.state.mark_saved()
    assert window.open_project(str(clean))
    assert model_page.banner.isHidden() and "gone.weights.h5" not in model_page.banner.text()


def test_reopening_keeps_the_run_of_the_model_opened_current(qtbot, tmp_path):
    """Runs [A, B], A's model opened and saved: reopened, Evaluate and Runs showed B while
    Predict, Export and Network used A's model (a review)."""
    from core.project import Project, save_project

    a, b = str(tmp_path / "runA"), str(tmp_path / "runB")
    path = save_project(Project(runs=[a, b], last_model=os.path.join(a, "model.keras")),
                        tmp_path / "p.ftsproj")
    w = new_window(qtbot)
    assert w.open_project(str(path))
    assert w.state.run_dir == a and not w.state.dirty
    save_project(Project(runs=[a, b]), path)
    assert w.open_project(str(path))
    assert w.state.run_dir == b  # no model opened: the newest run, as before
