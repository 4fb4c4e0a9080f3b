"""Layers chosen by name, kept per backbone while the Model page switches between them.

Choosing another backbone sets fine-tuning back to the top N layers (the names were the old
one's); choosing the old one again brought nothing back, and the one line that said so was
soon replaced by the weights check's verdict (a review).  Kept here, the choice returns.
"""

from __future__ import annotations

import copy
from typing import Optional

from core.config import FreezeConfig

NAMED_MODES = ("custom", "from_layer")


class KeptLayers:
    """Named fine-tuning choices by backbone name, for the project open in ``state`` (an
    :class:`gui.state.AppState`); another project forgets them."""

    def __init__(self, state) -> None:
        self.state = state
        self._by_backbone: dict[str, tuple[FreezeConfig, FreezeConfig]] = {}  # kept, reset
        state.config_changed.connect(lambda path: path in ("", "model") and self.forget())

    def forget(self) -> None:
        self._by_backbone.clear()

    def switch(self, old: str, new: str) -> str:
        """Set the backbone ``new`` (``old`` before, both catalogue names) and the
        fine-tuning that goes with it; the note that says what changed ("" for none)."""
        freeze, note = self.freeze_for(self.state.config.model.freeze, old, new)
        if freeze is not None and freeze.mode == "top_n":  # before: no names of another net
            self.state.set("model.freeze", freeze)
        self.state.set("model.backbone", new)
        if freeze is not None and freeze.mode != "top_n":  # after: the names are this one's
            self.state.set("model.freeze", freeze)
        return note

    def freeze_for(self, freeze: FreezeConfig, old: str, new: str
                   ) -> tuple[Optional[FreezeConfig], str]:
        """The fine-tuning to set when the backbone goes from ``old`` to ``new`` (None: keep
        ``freeze``) and the note that says so."""
        if new == old:
            return None, ""
        if freeze.mode in NAMED_MODES:
            reset = FreezeConfig(top_n=freeze.top_n)
            self._by_backbone[old] = (copy.deepcopy(freeze), reset)
            return copy.deepcopy(reset), (
                f"The layers chosen by name were {old}'s: fine-tuning is back to the top "
                f"{freeze.top_n} layers of {new} (choosing {old} again brings them back).")
        kept, reset = self._by_backbone.pop(new, (None, None))
        if kept is None or freeze != reset:
            return None, ""  # nothing kept, or fine-tuning was chosen anew since
        return kept, f"The layers chosen on {new} before are back."
