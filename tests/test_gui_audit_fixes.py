"""The data check's fixes in the window, on real files and the real journal (no backbone):
marks that outlived a new check, quick keys that raced for the folder's lock, an Undo
button left disabled, a damaged journal never mentioned, class names read as markup."""

import json
import os
import types

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QItemSelectionModel

from core.audit.fixes import JOURNAL_NAME, FixJournal
from core.audit.result import AuditResult, DuplicateGroup
from core.features.hashing import hash_file
from gui.pages.data.audit_findings import Finding
from gui.pages.data.audit_jobs import AuditOutcome
from gui.pages.data.audit_view import AuditView


class _Runner:
    def is_busy(self):
        return False


def _png(path, level):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), level, np.uint8)).save(path)
    return str(path)


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "data"
    paths = [_png(root / "cat" / f"c{i}.png", 10 * i + 1) for i in range(4)]
    paths += [_png(root / "dog" / f"d{i}.png", 100 + 10 * i) for i in range(2)]
    return root, paths


def _outcome(root, paths, groups=()):
    result = AuditResult(root=str(root), classes=["cat", "dog"], paths=list(paths),
                         image_classes=[p.split("/")[-2] for p in paths],
                         stamps={p: hash_file(p) for p in paths},
                         near_duplicates=[DuplicateGroup(list(g), ["cat"] * len(g), False)
                                          for g in groups])
    return AuditOutcome(result, np.zeros((len(paths), 2), np.float32), "")


@pytest.fixture
def view(qtbot, folder):
    root, paths = folder
    v = AuditView(types.SimpleNamespace(set_near_copies=lambda *a: None), _Runner())
    qtbot.addWidget(v)
    v.messages = []
    v.message.connect(lambda text, kind: v.messages.append((kind, text)))
    v.set_folder(str(root))
    qtbot.waitUntil(lambda: not v.small_jobs, timeout=10000)
    return v


def _settle(qtbot, v):
    qtbot.waitUntil(lambda: not v.busy(), timeout=20000)


def test_quick_decisions_each_wait_for_the_one_before(qtbot, folder, view):
    """Three presses of S before the first fix finished ran side by side; one was refused
    ("another change to this folder is under way") though the grid had passed it."""
    root, paths = folder
    view._on_checked(_outcome(root, paths))
    for p in paths[:3]:
        view.apply([(p, "set_aside", "")])
    assert len(view.small_jobs) == 1 and len(view._queue) == 2  # one change at a time
    _settle(qtbot, view)
    assert sorted(q.name for q in (root / "_set_aside/cat").iterdir()) == [
        "c0.png", "c1.png", "c2.png"]
    assert not [m for m in view.messages if m[0] == "error"]
    qtbot.waitUntil(lambda: view.pending_undo == 3, timeout=10000)


def test_an_undo_refused_while_the_folder_is_busy_can_be_tried_again(qtbot, folder, view):
    root, paths = folder
    view._on_checked(_outcome(root, paths))
    view.apply([(paths[0], "set_aside", "")])
    _settle(qtbot, view)
    qtbot.waitUntil(view.undo_button.isEnabled, timeout=10000)
    with FixJournal(root).changing("test"):  # a `label` command holds the folder
        view.undo_button.click()
        qtbot.waitUntil(lambda: any("under way" in t for _k, t in view.messages), timeout=10000)
        _settle(qtbot, view)
    qtbot.waitUntil(view.undo_button.isEnabled, timeout=10000)
    view.undo_button.click()
    _settle(qtbot, view)
    assert (root / "cat/c0.png").is_file() and view.pending_undo == 0

def _keep_the_first_of_a_pair(qtbot, folder, view):
    """A check finding the folder's first two images a near-copy pair, and "keep one" of
    it (the first): the second is set aside.  (root, paths, the pair)."""
    root, paths = folder
    group = [paths[0], paths[1]]
    view._on_checked(_outcome(root, paths, [group]))
    view.groups_panel.list.setCurrentRow(0)
    view.groups_panel.members.setCurrentIndex(view.groups_panel.model.index(0))
    view.groups_panel.keep_selected()
    _settle(qtbot, view)
    assert view.groups_panel.model.mark(paths[1]) == "set aside"
    return root, paths, group


def test_marks_of_fixes_go_with_a_new_check(qtbot, folder, view):
    """A copy set aside, a new check, Undo, a new check: the copy still showed "set aside",
    so "keep one" of its group set nothing aside and said it had."""
    root, paths, group = _keep_the_first_of_a_pair(qtbot, folder, view)
    view._on_checked(_outcome(root, [p for p in paths if p != paths[1]]))  # checked again
    view.undo()
    _settle(qtbot, view)
    assert (root / "cat/c1.png").is_file()
    view._on_checked(_outcome(root, paths, [group]))  # the copy is found again
    assert view.groups_panel.model.mark(paths[1]) == ""
    view.groups_panel.list.setCurrentRow(0)
    view.groups_panel.members.setCurrentIndex(view.groups_panel.model.index(0))
    view.groups_panel.keep_selected()
    _settle(qtbot, view)
    assert (root / "_set_aside/cat/c1.png").is_file()


def test_a_damaged_journal_is_named_once(qtbot, folder, view):
    root, _paths = folder
    (root / JOURNAL_NAME).write_text(json.dumps({"type": "batch", "id": "x", "moves": []})
                                     + "\n{\"type\": \"batch\", \"id\n")
    view.set_folder(str(root.parent))
    view.set_folder(str(root))
    _settle(qtbot, view)
    view.refresh_undo()
    _settle(qtbot, view)
    warned = [t for k, t in view.messages if "could not be read" in t]
    assert len(warned) == 1 and JOURNAL_NAME in warned[0]


def test_class_names_are_shown_as_written(qtbot, folder, view):
    root, paths = folder
    panel = view.labels_panel
    panel.set_findings([Finding(paths[0], "a<b", "c<d", 0.9)], "")
    panel.grid.setCurrentIndex(panel.model.index(0))
    assert "a&lt;b" in panel.info.text() and "c&lt;d" in panel.info.text()
    view.map_panel.set_points(np.zeros((1, 2)), [paths[0]], ["a<b"], ["a<b"], str(root))
    view.map_panel.hover(0)
    assert view.map_panel.caption.text() == "<b>a&lt;b</b><br>cat/c0.png"
    view.map_panel.clear()  # another folder: its last hovered name goes
    assert "cat/c0.png" not in view.map_panel.caption.text()


def test_a_skipped_file_during_the_check_is_no_step(qtbot, view):
    """A FileSkipped has a stage ("scan") too: the handler read it as a step and raised
    AttributeError, so "Step 1 of 5" never showed."""
    from core.audit.result import AuditStage
    from core.events import FileSkipped

    view._on_progress(AuditStage("scan", 1, 5))
    view._on_progress(FileSkipped("/data/cat/bad.jpg", "the JPEG is cut off", "scan"))
    assert view.status.text() == "Step 1 of 5: reading the folder"


def test_long_names_do_not_widen_the_pages(qtbot):
    """A 34-character class name made the Sort page wider than a 900 px window; the Data
    page's empty chart hint did the same."""
    from gui.pages.data.class_chart import ClassBarChart
    from gui.pages.sort.viewer import ImageView

    viewer = ImageView()
    qtbot.addWidget(viewer)
    viewer.resize(300, 400)
    name = "medium_grey_with_a_long_class_name"
    viewer.set_classes(["bright", name])
    viewer.show()
    qtbot.waitExposed(viewer)
    assert viewer.class_scroll.widget().minimumSizeHint().width() < 200  # no wider for a name
    button = viewer.class_buttons[name]
    assert "…" in button.text() and button.text().endswith("(2 / M)")  # the key stays whole
    assert button.fontMetrics().horizontalAdvance(button.text()) < button.width()
    assert name in button.toolTip()
    chart = ClassBarChart()
    qtbot.addWidget(chart)
    assert chart._empty.wordWrap()


def test_fixes_still_queued_when_the_window_closes_are_applied(qtbot, folder, view):
    root, paths = folder
    view._on_checked(_outcome(root, paths))
    for p in paths[:3]:
        view.apply([(p, "set_aside", "")])
    view.shutdown()
    assert sorted(q.name for q in (root / "_set_aside/cat").iterdir()) == [
        "c0.png", "c1.png", "c2.png"]
    _settle(qtbot, view)  # the journal read the first fix's end asked for


def test_an_undo_made_outside_the_window_takes_the_marks_away(qtbot, folder, view):
    """(a review) A copy set aside here, then `audit DATA --undo` in a terminal, then Scan
    again: the Undo button was right again but the copy kept its "set aside" mark, so
    "keep one" passed over it until a new check.  Marks of a fix made after the journal was
    read stay (the answer of a read that began before it must not take them)."""
    root, paths, _pair = _keep_the_first_of_a_pair(qtbot, folder, view)
    assert FixJournal(root).undo_last().moved  # outside the window
    view.set_folder(str(root))  # the page scanned the folder again
    _settle(qtbot, view)
    assert view.groups_panel.model.mark(paths[1]) == "" and view.pending_undo == 0
    view.groups_panel.members.setCurrentIndex(view.groups_panel.model.index(0))
    view.groups_panel.keep_selected()
    _settle(qtbot, view)
    assert (root / "_set_aside/cat/c1.png").is_file()
    assert view.groups_panel.model.mark(paths[1]) == "set aside"
    view._on_pending((0, "", "", set()), known=())  # a read begun before that fix
    assert view.groups_panel.model.mark(paths[1]) == "set aside"


def test_an_undo_that_finds_its_file_put_back_by_hand_says_so(qtbot, folder, view):
    """(a review) c0 set aside, then c1; the user drags c1 back by hand; Undo found nothing
    to put back and said nothing at all, while the button went from 2 left to 1 left."""
    root, paths = folder
    view._on_checked(_outcome(root, paths))
    view.apply([(paths[0], "set_aside", "")])
    view.apply([(paths[1], "set_aside", "")])
    _settle(qtbot, view)
    qtbot.waitUntil(lambda: view.pending_undo == 2, timeout=10000)
    os.replace(root / "_set_aside/cat/c1.png", root / "cat/c1.png")
    view.messages.clear()
    view.undo()
    _settle(qtbot, view)
    [(kind, text)] = view.messages
    assert kind == "info" and text.startswith("Undone (a Check data fix: 1 image(s) set aside")
    assert text.endswith("): nothing to put back — cat/c1.png already where they were before "
                         "that change (put back by hand?). The next Undo takes back the "
                         "change before it.")
    assert view.pending_undo == 1 and (root / "_set_aside/cat/c0.png").is_file()


def test_the_move_button_says_where_several_selected_images_go(qtbot, folder, view):
    """A review: with four suspects selected the button still read "Move to sky (M)" (the
    last single selection's words) while it moved each to the class it looks like."""
    root, paths = folder
    panel = view.labels_panel
    view.sections.setEnabled(True)  # as after a check
    panel.set_findings([Finding(paths[0], "cat", "dog", 0.9), Finding(paths[1], "cat", "dog", 0.8),
                        Finding(paths[4], "dog", "cat", 0.7)], "")
    panel.select_row(2)
    assert panel.move_button.text() == "Move to cat (M)"
    panel.grid.selectAll()
    assert panel.move_button.text() == "Move each to the class it looks like (M)"
    with qtbot.waitSignal(panel.decided) as sig:
        panel.move_button.click()
    assert sig.args[0] == [(paths[0], "move", "dog"), (paths[1], "move", "dog"),
                           (paths[4], "move", "cat")]
    panel.select_row(0)
    panel.grid.selectionModel().select(panel.model.index(1), QItemSelectionModel.Select)
    assert panel.move_button.text() == "Move to dog (M)"
    assert panel.move_button.shortcut().toString() == "M"


def test_a_suspect_with_a_copy_in_another_class_says_so(qtbot, folder, view):
    """A review: the CLI said "(a copy of it is in another class)", the window only "91 %
    likely wrong", though such a suspect is listed whatever its score."""
    from core.audit.result import LabelIssue

    root, paths = folder
    outcome = _outcome(root, paths, groups=[(paths[0], paths[4])])
    outcome.result.label_issues = [LabelIssue(paths[0], "cat", "dog", 0.31, conflict=True),
                                   LabelIssue(paths[1], "cat", "dog", 0.9)]
    view._on_checked(outcome)
    panel = view.labels_panel
    panel.select_row(0)
    assert panel.info.text().endswith("31% likely wrong; a copy of it is in another class.")
    panel.select_row(1)
    assert panel.info.text().endswith("90% likely wrong.")
    assert "(a copy of it is in another class)" in outcome.result.to_text()


def test_a_group_kept_whole_is_listed_as_kept_by_the_next_check(qtbot, folder, view):
    """A review: "Keep all" was forgotten by the next check, which asked about the same
    near-copies again.  It is remembered like a kept image: listed last, marked kept, asked
    again when a copy changes; one copy may still be kept alone."""
    from core.audit.kept import kept_paths
    from gui.pages.data.audit_groups import KEPT_ALL

    root, paths = folder
    groups = [(paths[0], paths[1]), (paths[2], paths[3])]
    view._on_checked(_outcome(root, paths, groups))
    panel = view.groups_panel
    panel.list.setCurrentRow(0)
    panel.keep_all_button.click()
    assert panel.done == {0: KEPT_ALL} and panel.list.currentRow() == 1
    assert kept_paths(str(root), "groups") == {paths[0], paths[1]}

    view._on_checked(_outcome(root, paths, groups))  # the next check (or after a restart)
    assert [list(g.paths) for g in panel.groups] == [list(groups[1]), list(groups[0])]
    assert panel.done == {1: KEPT_ALL} and panel.list.currentRow() == 0
    assert KEPT_ALL in panel.list.item(1).text()
    panel.list.setCurrentRow(1)
    panel.members.setCurrentIndex(panel.model.index(0))
    assert not panel.keep_all_button.isEnabled() and panel.keep_one_button.isEnabled()
    with qtbot.waitSignal(panel.decided) as sig:
        panel.keep_one_button.click()
    assert sig.args[0] == [(paths[1], "set_aside", "")]
    _settle(qtbot, view)
    assert panel.done[1].startswith("✓ kept one")

    st = os.stat(paths[2])
    os.utime(paths[2], ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    panel.list.setCurrentRow(0)
    panel.keep_all_button.click()
    os.utime(paths[2], ns=(st.st_atime_ns, st.st_mtime_ns + 2 * 10**9))  # changed since
    view._on_checked(_outcome(root, paths[:1] + paths[2:], groups[1:]))
    assert panel.done == {}


def test_the_window_and_the_cli_agree_on_what_was_kept_whatever_way_the_folder_is_written(
        qtbot, folder, view, monkeypatch):
    """The window had its own test of "kept" (paths compared as written), the CLI another
    (absolute paths): a folder named relatively, or with "..", showed a group kept whole
    as still to decide while ``audit`` marked it kept.  One test serves both now."""
    from core.audit.kept import kept_sets, remember_kept
    from gui.pages.data.audit_groups import KEPT_ALL

    root, paths = folder
    remember_kept(str(root), "groups", paths[:2])
    remember_kept(str(root), "labels", paths[2:3])
    monkeypatch.chdir(root.parent)
    written = os.path.join("data", "cat", "..")  # the folder as a user may type it
    result = _outcome(root, paths, [(paths[0], paths[1]), (paths[2], paths[3])]).result
    assert result.to_dict(kept=kept_sets(written))["near_duplicates_kept"] == [True, False]

    panel = view.groups_panel
    panel.set_groups(result.near_duplicates, written, "")
    assert panel.done == {1: KEPT_ALL} and [g.paths[0] for g in panel.groups] == [
        paths[2], paths[0]]
    labels = view.labels_panel
    labels.set_findings([Finding(p, "cat", "dog", 0.9, "caption") for p in paths[2:4]], "",
                        root=written)
    assert [f.path for f in labels.findings] == [paths[3], paths[2]]


def test_the_window_and_the_cli_name_the_near_copy_groups_alike(folder):
    """A review: the CLI said "Near-duplicate groups: 2 (1 spanning classes)" and "(0
    spanning classes)" where the window and README say near-copy groups, across classes."""
    from gui.pages.data.audit_findings import summary_text

    root, paths = folder
    result = _outcome(root, paths, [(paths[0], paths[1])]).result
    assert "1 near-copy group(s), " in summary_text(result)
    assert "Near-copy groups: 1\n" in result.to_text()
    result.near_duplicates.append(DuplicateGroup([paths[2], paths[4]], ["cat", "dog"], False))
    assert "2 near-copy group(s) (1 across classes)" in summary_text(result)
    assert "Near-copy groups: 2 (1 across classes)\n" in result.to_text()


def test_the_next_group_waits_for_the_user_to_pick_the_copy_to_keep(qtbot, folder, view):
    """A review: after a group was decided the next group's first copy was already selected,
    so a second K kept it unchosen while the hint said "Select the copy to keep"."""
    root, paths = folder
    view._on_checked(_outcome(root, paths, [(paths[0], paths[1]), (paths[2], paths[3])]))
    panel = view.groups_panel
    assert not panel.members.selectionModel().selectedIndexes()  # the first group too
    assert not panel.keep_one_button.isEnabled()
    panel.keep_all_button.click()
    assert panel.list.currentRow() == 1 and panel.hint.text().startswith("Select the copy")
    assert not panel.members.selectionModel().selectedIndexes()
    assert not panel.keep_one_button.isEnabled()
    with qtbot.assertNotEmitted(panel.decided):
        panel.keep_selected()  # the K key, pressed again
    panel.members.setCurrentIndex(panel.model.index(1))  # the user picks
    assert panel.keep_one_button.isEnabled()
    with qtbot.waitSignal(panel.decided) as sig:
        panel.keep_one_button.click()
    assert sig.args[0] == [(paths[2], "set_aside", "")]
    _settle(qtbot, view)


def test_both_pages_undo_wait_for_a_running_check_and_say_why(qtbot, folder, monkeypatch):
    """A review: the Data page's Undo waits while a check runs; the Sort page's Undo (the
    same journal) must too, and both say why they are disabled."""
    import threading

    from gui.jobs import JobRunner
    from gui.pages.data import audit_view
    from gui.pages.sort.dataset_box import DataSetBox

    root, paths = folder
    ns = types.SimpleNamespace
    state = ns(set_near_copies=lambda *a: None, config=ns(
        model=ns(backbone="mobilenetv2", weights="none", image_size=8),
        data=ns(data_dir=str(root))))
    runner = JobRunner()
    view = AuditView(state, runner)
    box = DataSetBox(state, runner, lambda: [], lambda: "")
    qtbot.addWidget(view), qtbot.addWidget(box)
    view.set_folder(str(root))
    view._on_checked(_outcome(root, paths))
    view.apply([(paths[0], "set_aside", "")])
    _settle(qtbot, view)
    box.refresh_undo()
    qtbot.waitUntil(lambda: view.undo_button.isEnabled() and box.undo_button.isEnabled(),
                    timeout=10000)
    go = threading.Event()
    monkeypatch.setattr(audit_view, "audit_job",
                        lambda *a, **k: go.wait(20) and _outcome(root, paths[1:]))
    assert view.start_check()
    try:
        for page in (view, box):
            page._on_pending((1, "", "a fix"))  # a journal read that ends meanwhile
            assert not page.undo_button.isEnabled()
            assert "waits until “Checking the data” is done" in page.undo_button.toolTip()
        assert box.undo() is None and (root / "_set_aside/cat/c0.png").is_file()
    finally:
        go.set()
    qtbot.waitUntil(lambda: view.job is None and not runner.is_busy(), timeout=10000)
    qtbot.waitUntil(lambda: view.undo_button.isEnabled() and box.undo_button.isEnabled(),
                    timeout=10000)
    for page in (view, box):
        assert page.undo_button.toolTip().startswith("Take back")
    _settle(qtbot, view)
    qtbot.waitUntil(lambda: not box.small_jobs, timeout=10000)


def test_a_suspect_moved_from_the_labels_tab_can_be_set_aside_from_the_outliers_tab(
        qtbot, folder, view):
    """A review: an image listed both as a suspect and an outlier, moved (M) from the labels
    tab, could not be set aside from the Outliers tab until the next check.  The tab follows
    the file to its new class folder; Undo takes the fixes back one by one."""
    from core.audit.result import LabelIssue, Outlier

    root, paths = folder
    outcome = _outcome(root, paths)
    outcome.result.label_issues = [LabelIssue(paths[0], "cat", "dog", 0.9)]
    outcome.result.outliers = [Outlier(paths[0], 5.0)]
    view._on_checked(outcome)
    view.labels_panel.select_row(0)
    view.labels_panel.move_button.click()
    _settle(qtbot, view)
    assert (root / "dog/c0.png").is_file()
    outliers = view.outliers_panel
    outliers.select_row(0)
    assert outliers.model.mark(paths[0]) == "→ dog" and outliers.aside_button.isEnabled()
    outliers.aside_button.click()
    _settle(qtbot, view)
    assert (root / "_set_aside/dog/c0.png").is_file() and not (root / "dog/c0.png").exists()
    assert outliers.model.mark(paths[0]) == view.labels_panel.model.mark(paths[0]) == "set aside"
    assert not outliers.aside_button.isEnabled()

    view.undo()
    _settle(qtbot, view)
    assert (root / "dog/c0.png").is_file() and outliers.model.mark(paths[0]) == "→ dog"
    assert outliers.aside_button.isEnabled() and not view.labels_panel.move_button.isEnabled()
    view.undo()
    _settle(qtbot, view)
    assert (root / "cat/c0.png").is_file() and outliers.model.mark(paths[0]) == ""
    view.labels_panel.select_row(0)  # again, then both undone outside the window
    view.labels_panel.move_button.click()
    _settle(qtbot, view)
    outliers.select_row(0)
    outliers.aside_button.click()
    _settle(qtbot, view)
    assert FixJournal(root).undo_last().moved and FixJournal(root).undo_last().moved
    view.refresh_undo()
    _settle(qtbot, view)
    assert (root / "cat/c0.png").is_file() and outliers.model.mark(paths[0]) == ""
    outliers.aside_button.click()  # from where the check found it
    _settle(qtbot, view)
    assert (root / "_set_aside/cat/c0.png").is_file()
