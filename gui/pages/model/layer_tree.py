"""The Model page's layer tree: every layer grouped by block, ticks for the fine-tuned ones.

Rows come from :func:`core.insight.architecture.freeze_preview`: the layers in
order, which of them train in fine-tuning, and which a user may choose.  Only
choosable layers get a box, so a block's box (tri-state by hand: Qt's
auto-tristate gives up when some children have no box) summarises exactly
those.  Ticking by hand emits :attr:`LayerTree.ticked`; the page turns that
into ``config.model.freeze`` ("exactly these layers").
"""

from __future__ import annotations

from typing import Any, Optional

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from gui.plain_text import plain_tip

PART_LABELS = {"preprocessing": "Input preprocessing (never trained)",
               "head": "New head (always trained)"}
FIXED_TIP = ("This layer never learns in fine-tuning: the engine keeps it as it is "
             "(BatchNormalization keeps its ImageNet statistics, as the Keras transfer-learning "
             "guide advises)")


#: Which part of the model (backbone, head, preprocessing) a layer item belongs to.
PART_ROLE = Qt.UserRole + 1


class LayerTree(QTreeWidget):
    """Blocks of layers with check boxes; ``ticked`` fires after a tick by hand."""

    ticked = Signal()

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Backbone layers, ticked to fine-tune")
        self._filling = False
        self.setHeaderLabels(["Layer", "Type", "Output", "Parameters"])
        self.setUniformRowHeights(True)
        self.setTextElideMode(Qt.ElideMiddle)  # "block_16_…_BN": both ends tell layers apart
        self.header().setStretchLastSection(False)
        self.header().setSectionResizeMode(0, QHeaderView.Stretch)
        for col in (1, 2, 3):
            self.header().setSectionResizeMode(col, QHeaderView.ResizeToContents)
        self.itemChanged.connect(self._on_item_changed)

    #: Under these widths (px) the Output, then the Type column give way to the names: at the
    #: smallest window an opened block left the Layer column some 20 px ("Lay").
    NARROW = {2: 480, 1: 360}

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        for col, width in self.NARROW.items():
            self.setColumnHidden(col, self.viewport().width() < width)

    # ------------------------------------------------------------------ reading
    def layer_items(self) -> list[QTreeWidgetItem]:
        items = []
        for i in range(self.topLevelItemCount()):
            block = self.topLevelItem(i)
            items += [block.child(j) for j in range(block.childCount())]
        return items

    def checked_layers(self) -> list[str]:
        """Names of the ticked layers, in model order."""
        return [item.data(0, Qt.UserRole) for item in self.layer_items()
                if item.flags() & Qt.ItemIsUserCheckable and item.checkState(0) == Qt.Checked]

    def selected_layer(self) -> Optional[str]:
        """The current backbone layer; for a backbone block, its first layer ("from
        block_12" is from block_12_expand: a selected block had been refused as nothing
        selected, though blocks are what the list shows, a review).  None for the head or
        the preprocessing: "fine-tune from 'probabilities'" was accepted and failed only at
        Start."""
        item = self.currentItem()
        if item is not None and item.parent() is None and item.childCount():
            item = item.child(0)
        if item is None or item.parent() is None or item.data(0, PART_ROLE) != "backbone":
            return None
        return item.data(0, Qt.UserRole)

    # ------------------------------------------------------------------ filling
    def build(self, rows: list[Any], choosable: frozenset) -> None:
        """One top-level item per block, one child per layer (``rows``: LayerRow).  Rows of
        the same layers again (hidden units or image size changed: other shapes) keep the
        open blocks, the selected layer and the scroll position; each change collapsed the
        tree and dropped the layer selected for "Fine-tune from the selected layer" (a
        review)."""
        names = [r.name for r in rows if r.part == "backbone"]
        view = self._view_state() if names and names == getattr(self, "_names", None) else None
        self._names = names
        self._filling = True
        try:
            self.clear()
            blocks: dict[tuple, QTreeWidgetItem] = {}
            for row in rows:
                key = (row.part, row.block)
                if key not in blocks:
                    blocks[key] = self._block_item(row)
                    self.addTopLevelItem(blocks[key])
                blocks[key].addChild(self._layer_item(row, row.name in choosable))
        finally:
            self._filling = False
        if view is not None:
            self._restore_view(*view)

    def _view_state(self) -> tuple:
        blocks = [self.topLevelItem(i) for i in range(self.topLevelItemCount())]
        current = self.currentItem()
        return ({b.text(0) for b in blocks if b.isExpanded()},
                current.data(0, Qt.UserRole) if current is not None else None,
                self.verticalScrollBar().value())

    def _restore_view(self, expanded: set, current: Any, scroll: int) -> None:
        for i in range(self.topLevelItemCount()):
            block = self.topLevelItem(i)
            block.setExpanded(block.text(0) in expanded)
            for j in range(block.childCount()):
                if current is not None and block.child(j).data(0, Qt.UserRole) == current:
                    self.setCurrentItem(block.child(j))
        self.doItemsLayout()  # the scroll range of the rows just added
        self.verticalScrollBar().setValue(scroll)

    @staticmethod
    def _block_item(row: Any) -> QTreeWidgetItem:
        block = QTreeWidgetItem([PART_LABELS.get(row.part, row.block) or "(other)", "", "", ""])
        if row.part == "backbone":
            block.setFlags(block.flags() | Qt.ItemIsUserCheckable)
            block.setCheckState(0, Qt.Unchecked)
        return block

    @staticmethod
    def _layer_item(row: Any, choosable: bool) -> QTreeWidgetItem:
        item = QTreeWidgetItem([row.name, row.type, row.output_shape, f"{row.params:,}"])
        item.setData(0, Qt.UserRole, row.name)
        item.setData(0, PART_ROLE, row.part)
        item.setTextAlignment(3, Qt.AlignRight | Qt.AlignVCenter)
        # The whole name and figures, however narrow the column (a small window elides them).
        tip = f"{row.name}\n{row.type} → {row.output_shape}, {row.params:,} parameters"
        if choosable:
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(0, Qt.Unchecked)
        else:
            item.setFlags(item.flags() & ~Qt.ItemIsUserCheckable)
            if row.part == "backbone" and row.params > 0:
                tip += "\n" + FIXED_TIP
        for col in range(4):
            item.setToolTip(col, plain_tip(tip))
        return item

    def show_trainable(self, rows: list[Any]) -> None:
        """Tick exactly the layers that train in fine-tuning; blocks summarise their layers."""
        trainable = {r.name: r.trainable for r in rows}
        self._filling = True
        try:
            for i in range(self.topLevelItemCount()):
                self._tick_block(self.topLevelItem(i), trainable)
        finally:
            self._filling = False

    @staticmethod
    def _tick_block(block: QTreeWidgetItem, trainable: dict) -> None:
        choosable = n_on = 0
        for j in range(block.childCount()):
            child = block.child(j)
            if child.flags() & Qt.ItemIsUserCheckable:
                on = bool(trainable.get(child.data(0, Qt.UserRole)))
                child.setCheckState(0, Qt.Checked if on else Qt.Unchecked)
                choosable += 1
                n_on += on
        if choosable:
            block.setCheckState(0, Qt.Checked if n_on == choosable else
                                Qt.PartiallyChecked if n_on else Qt.Unchecked)
        else:
            block.setFlags(block.flags() & ~Qt.ItemIsUserCheckable)
            block.setData(0, Qt.CheckStateRole, None)

    # ------------------------------------------------------------------ ticking
    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._filling or column != 0:
            return
        if item.parent() is None and item.flags() & Qt.ItemIsUserCheckable:
            # A block's box ticks or clears every choosable layer in it.
            on = item.checkState(0) != Qt.Unchecked
            self._filling = True
            try:
                for j in range(item.childCount()):
                    child = item.child(j)
                    if child.flags() & Qt.ItemIsUserCheckable:
                        child.setCheckState(0, Qt.Checked if on else Qt.Unchecked)
            finally:
                self._filling = False
        # Any tick by hand means "exactly these layers" (after the block's children changed).
        QTimer.singleShot(0, self._emit_ticked)

    def _emit_ticked(self) -> None:
        if not self._filling:
            self.ticked.emit()
