"""Step 9: look inside the network — shapes, filters, feature maps, a kernel playground
and the activation functions, all on the user's own model.

Which model: the one the user last trained or opened (``state.last_model``, or
the current run's ``model.keras``); before any training, the architecture the
Model page describes, built with random weights (shapes and parameter counts
are exact; filters and maps only mean something after training, and the page
says so).  Loading or building a model, reading its filters and running an
image through it all happen in worker threads, strictly one at a time
(:class:`SerialJobs`): a Keras model is not meant to be used by two threads at
once, and a user clicking "Next layer" quickly only needs the last answer.
Loaded models are cached, so going back and forth costs nothing.

The numbers come from ``core`` (:mod:`core.insight.layers`, :mod:`core.insight.kernels`,
:mod:`core.insight.feature_maps`, :mod:`core.insight.activations`); the tabs in
``gui/pages/network/*_tab.py`` only draw them.  The tabs, and pyqtgraph with
them, are built the first time the page is opened.
"""

from __future__ import annotations

import copy
import os
from collections import OrderedDict
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QTabWidget

from gui.jobs import SerialJobs
from gui.pages.base import Page
from gui.pages.network.maps_tab import ANY_SIZE_DRAWN
from gui.state import touches
from gui.widgets.compact import MinimumTabs

TAB_KEYS = ("layers", "kernels", "maps", "playground", "activations")
TAB_TITLES = ("Layers", "Kernels", "Feature maps", "Playground", "Activations")
CACHE_SIZE = 2      # models kept loaded (a large backbone holds ~100 MB)


@dataclass
class ModelSource:
    """Where the page's model comes from; ``key`` changes whenever the model would."""

    spec: Any                  # core.insight.explorer.NetworkSpec: what the worker opens
    key: tuple
    note: str = ""             # why the model the user might expect is not the one shown
    run_name: str = ""         # the run whose model.keras the file is ("" for another file)
    flags: tuple = ()          # the freeze settings the trainable counts follow (not in key)

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def images(self) -> list:
        return self.spec.images

    def describe(self, model: Any) -> str:
        """The source line (rich text): every name in it escaped, as a run or file named
        "<b>B" was shown in bold and cut from the rest of its path."""
        dims = tuple(model.inputs[0].shape)[1:3]
        size = (f"any size (the maps are drawn at {ANY_SIZE_DRAWN}×{ANY_SIZE_DRAWN})"
                if None in dims  # it said "None×None"
                else "×".join(str(d) for d in dims))
        n_out = int(model.outputs[0].shape[-1])
        note = f" {escape(self.note)}" if self.note else ""
        if self.kind == "file":
            where = (f"the model of run <b>{escape(self.run_name)}</b>" if self.run_name
                     else f"<b>{escape(Path(self.spec.path).name)}</b>")
            return (f"Showing {where} ({escape(model.name)}, input {size}, {n_out} classes) — "
                    f"its trained weights.{note} <span style='color:#9aa3ad'>"
                    f"{escape(str(self.spec.path))}</span>")
        return (f"Showing the <b>untrained</b> {escape(self.spec.model_cfg.backbone)} the "
                f"Model page describes (input {size}, {n_out} classes, random weights). "
                "Shapes and parameters are exact; filters and feature maps become meaningful "
                f"once a model is trained.{note}")


def load_job(source: ModelSource, listener=None, cancel=None):
    """Worker: :func:`core.insight.explorer.load_network` for the source's spec."""
    from core.insight.explorer import load_network

    return load_network(source.spec, listener, cancel)


# ---------------------------------------------------------------------- the page
class NetworkPage(Page):
    key = "network"
    title = "9 · Inside the network"
    intro = ("How your model turns a picture into an answer: the shape of every layer, the "
             "filters it learned, what each layer sees in one of your images, and the maths "
             "behind it — to explore, nothing here changes the model.")
    next_text = "Next: all runs"

    model_ready = Signal(int)          # rows in the layer table
    kernels_shown = Signal(int)        # tiles in the kernel view
    maps_shown = Signal(str, int)      # layer, tiles
    playground_shown = Signal(str)     # the size text, e.g. "Input 40×40 → output 38×38"
    trainable_shown = Signal(int)      # trainable parameters, counted again for new settings

    def __init__(self, state, runner, parent=None):
        super().__init__(state, runner, parent)
        self.network: Any = None  # core.insight.explorer.NetworkModel shown
        self.source: Optional[ModelSource] = None  # where it came from
        self.tabs: Optional[QTabWidget] = None
        self._cache: "OrderedDict[tuple, tuple]" = OrderedDict()  # key -> (source, network)
        self._loading_key: Optional[tuple] = None
        self._maps_current = False
        self._play_current = False
        self._tab_errors: dict = {}  # tab -> the banner text its failed request put up
        self.work = SerialJobs(self, "Inside the network")
        self.play_work = SerialJobs(self, "Inside the network")

        self.source_label = QLabel("The model appears here when this page is opened.")
        self.source_label.setWordWrap(True)
        self.source_label.setTextFormat(Qt.RichText)
        self.body.addWidget(self.source_label)

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(300)
        self._refresh_timer.timeout.connect(self.refresh)
        self.state.model_changed.connect(lambda _p: self._source_may_have_changed())
        self.state.run_changed.connect(lambda _r: self._source_may_have_changed())
        self.state.dataset_changed.connect(lambda _r: self._source_may_have_changed())
        self.state.config_changed.connect(self._on_config_changed)

    # ------------------------------------------------------------------ building
    def ensure_built(self) -> None:
        if self.tabs is not None:
            return
        from gui.pages.network.activations_tab import ActivationsTab
        from gui.pages.network.kernels_tab import KernelsTab
        from gui.pages.network.layers_tab import LayersTab
        from gui.pages.network.maps_tab import FeatureMapsTab
        from gui.pages.network.playground_tab import PlaygroundTab

        self.layers_tab = LayersTab()
        self.kernels_tab = KernelsTab()
        self.maps_tab = FeatureMapsTab()
        self.playground_tab = PlaygroundTab()
        self.activations_tab = ActivationsTab()
        self.tabs = MinimumTabs()
        for widget, title in zip((self.layers_tab, self.kernels_tab, self.maps_tab,
                                  self.playground_tab, self.activations_tab), TAB_TITLES):
            self.tabs.addTab(widget, title)
        self.tabs.setEnabled(False)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.kernels_tab.requested.connect(self._request_kernels)
        self.maps_tab.requested.connect(self._request_maps)
        self.playground_tab.requested.connect(self._request_playground)
        self.body.addWidget(self.tabs, 1)

    def on_shown(self) -> None:
        self.ensure_built()
        self.refresh()

    def show_tab(self, which) -> None:
        """Switch to a tab by index or key ("layers", "kernels", "maps", ...)."""
        self.ensure_built()
        index = TAB_KEYS.index(which) if isinstance(which, str) else int(which)
        self.tabs.setCurrentIndex(index)

    def is_ready(self) -> bool:
        """A model is shown and no work is running or waiting (for screenshots and tests)."""
        return (self.network is not None and self._loading_key is None
                and not self.work.busy() and not self.play_work.busy())

    # ------------------------------------------------------------------ which model
    def current_source(self) -> ModelSource:
        from core.insight.explorer import (NetworkSpec, dataset_images, freeze_key,
                                           keras_model_file)
        from core.runs.folder import find_run_folder

        images = dataset_images(self.state.dataset_report)
        last = self.state.last_model
        note = ""
        if last and not os.path.exists(last):  # not "an exported model", as it said
            from core.runs.unfinished import gone_text

            note = f"({gone_text(last)})"
        elif last and keras_model_file(last) is None:
            note = (f"({Path(last).name} is an exported model, which this page cannot look "
                    "into; it shows the Keras model instead.)")
        path = keras_model_file(last) or keras_model_file(self.state.run_dir)
        if path:
            try:
                mtime = os.stat(path).st_mtime_ns
            except OSError:
                mtime = 0
            run = find_run_folder(path)
            run_name = run.path.name if run is not None and run.model_path == Path(path) else ""
            return ModelSource(NetworkSpec("file", path=path, images=images),
                               ("file", path, mtime), note, run_name)
        m = self.state.config.model
        report = self.state.dataset_report
        n = max(2, len(report.classes)) if report is not None else 2
        spec = NetworkSpec("config", model_cfg=copy.deepcopy(m), n_classes=n, images=images)
        return ModelSource(spec, ("config", m.backbone, m.image_size, m.weights, m.dense_units,
                                  m.dropout, n), note,  # ImageNet EfficientNets add a layer
                           flags=freeze_key(m))

    def _on_config_changed(self, path: str) -> None:
        if touches(path, "model") and self.source is not None and self.source.kind == "config":
            self._source_may_have_changed()

    def _source_may_have_changed(self) -> None:
        if self.tabs is not None and self.isVisible():
            self._refresh_timer.start()

    def refresh(self) -> None:
        """Show the current model: from the cache, or load it in a worker."""
        self.ensure_built()
        source = self.current_source()
        if self.network is not None and self.source.key == source.key:
            if self._loading_key is not None:  # back to the model shown: a load under way
                self._loading_key = None       # for another one must not replace it
                self.source_label.setText(self.source.describe(self.network.model))
            if source.note != self.source.note:
                self.source.note = source.note
                self.source_label.setText(self.source.describe(self.network.model))
            if source.images and source.images != self.network.images:
                self.network.images = source.images
                self._set_images(source.images)
            self._reflag_if_changed(source)
            return
        if source.key == self._loading_key:
            return
        cached = self._cache.get(source.key)
        if cached is not None:
            self._loading_key = None  # the load under way, if any, is of a model left behind
            self._cache.move_to_end(source.key)
            cached_source, network = cached
            cached_source.note = source.note
            if source.images:
                network.images = source.images
            self._apply(cached_source, network)
            self._reflag_if_changed(source)
            return
        self._loading_key = source.key
        what = (Path(source.spec.path).parent.name if source.kind == "file"
                else source.spec.model_cfg.backbone)
        self.source_label.setText(f"Loading {escape(what)}…")  # rich text: a folder name
        self.clear_message()
        self.work.submit("load", load_job, (source,),
                         lambda net, s=source: self._on_loaded(s, net),
                         lambda msg, k=source.key: self._on_load_failed(k, msg))

    def _on_loaded(self, source: ModelSource, network) -> None:
        self._cache[source.key] = (source, network)  # kept even when no longer wanted
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        if source.key != self._loading_key:
            return
        self._loading_key = None
        self._apply(source, network)
        if source.kind == "config":  # "Layers that fine-tune" changed while it loaded
            self._reflag_if_changed(self.current_source())

    def _reflag_if_changed(self, source: ModelSource) -> None:
        """Count the trainable weights again when only the freeze settings changed: they are
        not in the key, as they change no layer (a rebuild for each would be slow)."""
        from core.insight.explorer import reflag

        shown, net = self.source, self.network
        if net is None or shown.key != source.key or shown.flags == source.flags:
            return
        shown.flags = source.flags
        shown.spec.model_cfg = copy.deepcopy(source.spec.model_cfg)
        self.work.submit("flags", reflag, (net, shown.spec.model_cfg),
                         lambda out, n=net: self._on_reflagged(n, out),
                         lambda msg, n=net: n is self.network and self.show_error(msg))

    def _on_reflagged(self, net, out) -> None:
        net.spec, net.phase, net.inspection = out
        if net is self.network:
            self.layers_tab.show_inspection(net.inspection, net.phase, net.from_scratch)
            self.trainable_shown.emit(net.inspection.trainable_params)

    def _on_load_failed(self, key: tuple, message: str) -> None:
        if key != self._loading_key:
            return
        self._loading_key = None
        # The model shown before is not this one: its layers and filters must not stay usable
        # under the failed model's message.
        self.network = self.source = None
        self.tabs.setEnabled(False)
        self.source_label.setText("No model to show.")
        self.show_error(message)

    def _apply(self, source: ModelSource, network) -> None:
        from core.insight.explorer import start_layer

        self.network, self.source = network, source
        self.clear_message()
        self.source_label.setText(source.describe(network.model))
        self.tabs.setEnabled(True)
        self.layers_tab.show_inspection(network.inspection, network.phase,
                                        network.from_scratch)
        self._maps_current = self._play_current = False
        self.maps_tab.set_layers(network.probe.layers, start_layer(network.probe.layers))
        self._set_images(network.images)
        self.playground_tab.set_learned(network.first_filters, network.first_conv)
        self.activations_tab.set_used(network.activations)
        note = "" if source.kind == "file" else (
            "Random weights: train a model to see learned filters.")
        self.kernels_tab.set_layers(network.convs, note)  # asks for the first layer's filters
        self._on_tab_changed(self.tabs.currentIndex())
        self.model_ready.emit(self.layers_tab.row_count())

    def _set_images(self, paths: list) -> None:
        for picker in (self.maps_tab.images, self.playground_tab.images):
            picker.set_paths(paths)
        self._maps_current = self._play_current = False
        self._on_tab_changed(self.tabs.currentIndex())

    def _on_tab_changed(self, index: int) -> None:
        if self.network is None or index < 0:
            return
        key = TAB_KEYS[index]
        if key == "maps" and not self._maps_current:
            self._maps_current = self.maps_tab.request()
        elif key == "playground" and not self._play_current:
            self._play_current = self.playground_tab.request()

    # ------------------------------------------------------------------ tab requests
    def _request_kernels(self, layer: str, mode: str) -> None:
        from gui.pages.network.kernels_tab import kernel_view

        net = self.network
        if net is None:
            return
        self.work.submit("kernels", kernel_view, (net.model, layer, mode),
                         lambda view, n=net: self._show_kernels(n, view),
                         lambda msg, n=net: self._tab_failed(n, self.kernels_tab, msg))

    def _show_kernels(self, net, view) -> None:
        if net is self.network:
            self._clear_tab_error(self.kernels_tab)
            self.kernels_tab.show_view(view)
            self.kernels_shown.emit(view.layout.count)

    def _request_maps(self, path: str, index: int) -> None:
        from gui.pages.network.maps_tab import feature_map_view

        net = self.network
        if net is None:
            return
        self._maps_current = True
        self.work.submit("maps", feature_map_view, (net.probe, path, index),
                         lambda view, n=net: self._show_maps(n, view),
                         lambda msg, n=net: self._tab_failed(n, self.maps_tab, msg))

    def _show_maps(self, net, view) -> None:
        if net is self.network:
            self._clear_tab_error(self.maps_tab)
            self.maps_tab.show_view(view)
            self.maps_shown.emit(view.layer, view.shown)

    def _request_playground(self, kwargs: dict) -> None:
        from gui.pages.network.playground_work import playground_run

        self._play_current = True
        self.play_work.submit("play", playground_run, (), self._show_playground,
                              self.playground_tab.show_failure, kwargs=kwargs)

    def _show_playground(self, outcome) -> None:
        self.playground_tab.show_outcome(outcome)
        self.playground_shown.emit(outcome.size_text())

    def _tab_failed(self, net, tab, message: str) -> None:
        if net is self.network:  # a failure of the model shown before is not this one's
            tab.show_failure()
            self.show_error(message)
            self._tab_errors[tab] = self.banner.text()

    def _clear_tab_error(self, tab) -> None:
        """A tab's view came: its earlier failure's banner goes (another image's "not an
        image this app can read" had stayed over the maps of a good one: a review)."""
        shown = self._tab_errors.pop(tab, None)
        if shown is not None:
            self.clear_message(only=shown)

    # ------------------------------------------------------------------ lifecycle
    def shutdown(self) -> None:
        self._refresh_timer.stop()
        self.work.shutdown()
        self.play_work.shutdown()
        if self.tabs is not None:
            self.playground_tab.shutdown()
