"""Undo of a data folder's last change, as the Data and Sort pages both offer it.

The folder has one journal (:class:`core.audit.fixes.FixJournal`): images the Sort step
added, camera frames and Check data fixes are batches alike, and either page's Undo takes
back the last, whichever it is.  So both say which it is, before and after.
"""

from __future__ import annotations


def pending_job(root: str, with_ids: bool = False, listener=None, cancel=None) -> tuple:
    """Worker: (batches in ``root``'s journal that Undo can still reverse, a warning about
    damaged journal lines or "", the next one in a few words[, ``with_ids``: their ids])."""
    from core.audit.fixes import FixJournal

    journal = FixJournal(root)
    state = journal.undo_state()
    if not with_ids:
        return state
    return (*state, {str(b.get("id", "")) for b in journal.pending_batches()})


def undo_job(root: str, listener=None, cancel=None):
    """Worker: reverse the folder's last batch (works after a restart: the journal is on
    disk)."""
    from core.audit.fixes import FixJournal

    return FixJournal(root).undo_last()


def undo_tip(last: str) -> str:
    """The Undo button's tooltip: what it takes back (the change names classes and files,
    shown as written)."""
    from gui.plain_text import plain_tip

    if not last:
        return "Nothing to undo in this data folder"
    return plain_tip(f"Take back the data folder's last change: {last}. The Data and Sort "
                     "pages share one list of changes; it works after a restart too (the "
                     "folder keeps a journal)")


def waiting_tip(job_name: str) -> str:
    """The Undo button's tooltip while the window's long job runs (a check reading the
    folder), on the Data and the Sort page alike: why it is disabled."""
    from gui.plain_text import plain_tip

    return plain_tip(f"Undo waits until “{job_name}” is done: it would move files that the "
                     "job may be reading (a check would report files that moved meanwhile)")


def undone_text(outcome) -> str:
    """What an Undo took back, named: "1 file(s) put back" alone read like the batch the
    user meant, when it was the other page's change."""
    what = f" ({outcome.what})" if outcome.what else ""
    # a copy or a camera picture is removed, not put back: "5 file(s) put back where they
    # were" of the 5 copies Undo had just taken out of the data set (a review)
    removed = sum(1 for m in outcome.moved if m.how)
    back = len(outcome.moved) - removed
    said = [f"{back} file(s) put back where they were before that change"] \
        if back or not removed else []
    if removed:
        said.append(f"{removed} image(s) it had added taken out of the data folder (any "
                    "original elsewhere is untouched)")
    return f"Undone{what}: {'; '.join(said)}."


def nothing_back_text(outcome) -> str:
    """An Undo that found every file of its change already where it was (put back by hand):
    it said nothing, and the button's count went down by one (a review)."""
    what = f" ({outcome.what})" if outcome.what else ""
    names = [m.dst or m.src for m in outcome.already]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return (f"Undone{what}: nothing to put back — {shown or 'its files'} already where "
            "they were before that change (put back by hand?). The next Undo takes back the "
            "change before it.")
