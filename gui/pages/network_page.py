"""Step 8: look inside the network — shapes, filters, feature maps, a kernel playground
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
``gui/widgets/network_*.py`` only draw them.  The tabs, and pyqtgraph with
them, are built the first time the page is opened.
"""

from __future__ import annotations

import copy
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QTabWidget

from gui.jobs import Job
from gui.pages.base import Page
from gui.state import touches

TAB_KEYS = ("layers", "kernels", "maps", "playground", "activations")
TAB_TITLES = ("Layers", "Kernels", "Feature maps", "Playground", "Activations")
SAMPLE_IMAGES = 12  # images offered in the pickers, spread over the classes
CACHE_SIZE = 2      # models kept loaded (a large backbone holds ~100 MB)


# ---------------------------------------------------------------------- one job at a time
class SerialJobs(QObject):
    """Run page work one job at a time; per kind, only the newest request matters.

    ``submit(kind, fn, args, on_result, on_error)`` queues ``fn(*args)`` as a
    :class:`gui.jobs.Job`.  A second request of the same kind replaces the one
    still waiting, and an answer is dropped when a newer request of its kind is
    waiting (it would be overwritten a moment later anyway).  ``idle`` fires
    when nothing is running or waiting.
    """

    idle = Signal()

    def __init__(self, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self._pending: "OrderedDict[str, tuple]" = OrderedDict()
        self._running: Optional[Job] = None
        self._generation = 0

    def submit(self, kind: str, fn: Callable, args: tuple, on_result: Callable[[Any], None],
               on_error: Callable[[str], None], kwargs: Optional[dict] = None) -> None:
        self._pending.pop(kind, None)
        self._pending[kind] = (fn, args, kwargs or {}, on_result, on_error)
        if self._running is None:
            self._next()

    def busy(self) -> bool:
        return self._running is not None or bool(self._pending)

    def clear(self) -> None:
        """Forget waiting requests and ignore the running one's answer."""
        self._pending.clear()
        self._generation += 1
        if self._running is not None:
            self._running.cancel()

    def shutdown(self) -> None:
        self.clear()

    def _next(self) -> None:
        if not self._pending:
            self.idle.emit()
            return
        kind, (fn, args, kwargs, on_result, on_error) = self._pending.popitem(last=False)
        job = Job(fn, *args, name=f"Inside the network: {kind}", **kwargs)
        self._running = job
        gen = self._generation
        job.finished.connect(lambda result, k=kind, g=gen: self._deliver(k, g, on_result, result))
        job.failed.connect(lambda msg, _tb, k=kind, g=gen: self._deliver(k, g, on_error, msg))
        job.done.connect(self._on_done)
        job.start()

    def _deliver(self, kind: str, generation: int, callback: Callable, payload: Any) -> None:
        if generation == self._generation and kind not in self._pending:
            callback(payload)

    def _on_done(self) -> None:
        self._running = None
        self._next()


# ---------------------------------------------------------------------- which model
@dataclass
class ModelSource:
    """Where the page's model comes from; ``key`` changes whenever the model would."""

    kind: str                  # "file": a saved model; "config": built from config.model
    key: tuple
    path: str = ""             # the .keras file for "file"
    model_cfg: Any = None      # config.model for "config"
    n_classes: int = 2
    images: list = field(default_factory=list)  # sample images known on the UI side
    note: str = ""             # why the model the user might expect is not the one shown

    def describe(self, model: Any) -> str:
        size = "×".join(str(d) for d in tuple(model.inputs[0].shape)[1:3])
        n_out = int(model.outputs[0].shape[-1])
        note = f" {self.note}" if self.note else ""
        if self.kind == "file":
            p = Path(self.path)
            where = (f"the model of run <b>{p.parent.name}</b>" if p.name == "model.keras"
                     else f"<b>{p.name}</b>")
            return (f"Showing {where} ({model.name}, input {size}, {n_out} classes) — its "
                    f"trained weights.{note} <span style='color:#9aa3ad'>{self.path}</span>")
        return (f"Showing the <b>untrained</b> {self.model_cfg.backbone} the Model page "
                f"describes (input {size}, {n_out} classes, random weights). Shapes and "
                f"parameters are exact; filters and feature maps become meaningful once a "
                f"model is trained.{note}")


def keras_model_file(path: Optional[str]) -> Optional[str]:
    """The .keras/.h5 file behind a run folder or model path, or None (exports, missing)."""
    if not path:
        return None
    p = Path(path)
    if p.is_dir() and (p / "model.keras").is_file():
        return str(p / "model.keras")
    if p.is_file() and p.suffix.lower() in (".keras", ".h5"):
        return str(p)
    return None


def dataset_images(report: Any, limit: int = SAMPLE_IMAGES) -> list[str]:
    """A few images from a scanned dataset, taking the classes in turn."""
    if report is None:
        return []
    by_class: "OrderedDict[str, list[str]]" = OrderedDict()
    for rec in getattr(report, "records", []):
        by_class.setdefault(rec.class_name, []).append(rec.path)
    return _round_robin(list(by_class.values()), limit)


def _round_robin(groups: list, limit: int) -> list:
    out: list = []
    i = 0
    while len(out) < limit and any(i < len(g) for g in groups):
        out += [g[i] for g in groups if i < len(g)][:limit - len(out)]
        i += 1
    return out


def images_in(data_dir: str, limit: int = SAMPLE_IMAGES) -> list[str]:
    """Sample images of a data folder (worker side: lists the folder), classes in turn."""
    from core.infer.predictor import expand_image_paths

    if not data_dir or not os.path.isdir(data_dir):
        return []
    groups: "OrderedDict[str, list[str]]" = OrderedDict()
    for p in expand_image_paths([data_dir]):
        groups.setdefault(os.path.dirname(p), []).append(p)
    return _round_robin(list(groups.values()), limit)


def _run_data_dir(model_path: str) -> str:
    """The data folder a run was trained on, from the config.json next to its model."""
    cfg_path = Path(model_path).parent / "config.json"
    if not cfg_path.is_file():
        return ""
    try:
        from core.config import StudioConfig

        return StudioConfig.load(cfg_path).data.data_dir or ""
    except Exception:  # an unreadable config only costs the sample images
        return ""


@dataclass
class NetworkModel:
    """A loaded model and everything the tabs need from it (all computed in the worker)."""

    source: ModelSource
    model: Any
    inspection: Any
    convs: list
    probe: Any
    first_conv: str
    first_filters: Any  # (out, in, kh, kw) numpy or None
    activations: list
    images: list


def load_network(source: ModelSource, listener=None, cancel=None) -> NetworkModel:
    """Worker: load or build the model and read what every tab shows first."""
    from core.insight.activations import activations_in
    from core.insight.layers import inspect_layers
    from core.errors import ConfigError
    from core.events import Progress, emit
    from core.insight.feature_maps import FeatureMapProbe
    from core.insight.kernels import filter_channels, first_conv_layer
    from gui.widgets.network_kernels import conv_layers

    if source.kind == "file":
        from core.model.build import load_model_file

        emit(listener, Progress(0, 0, f"Loading {Path(source.path).name}…"))
        model = load_model_file(source.path)
    else:
        from core.model.backbones import get_backbone, resolve_image_size
        from core.model.build import build_model

        emit(listener, Progress(0, 0, f"Building {source.model_cfg.backbone}…"))
        spec = get_backbone(source.model_cfg.backbone)
        size = resolve_image_size(spec, source.model_cfg.image_size, "none")
        model = build_model(source.model_cfg, source.n_classes, size, None)
    if cancel is not None:
        cancel.raise_if_cancelled()
    inspection = inspect_layers(model)
    probe = FeatureMapProbe(model)
    _ = probe.layers  # listed here, not on the UI thread
    try:
        first, _layer = first_conv_layer(model)
        filters = filter_channels(model, first)
    except ConfigError:
        first, filters = "", None
    images = list(source.images)
    if not images and source.kind == "file":
        images = images_in(_run_data_dir(source.path))
    return NetworkModel(source, model, inspection, conv_layers(inspection), probe, first,
                        filters, activations_in(model), images)


def start_layer(layers: list) -> int:
    """The first activation after a convolution: the first picture worth looking at."""
    kinds = [kind for _path, kind, _shape in layers]
    for want in (("Activation", "ReLU"), ("Conv2D",)):
        for i, kind in enumerate(kinds):
            if kind in want:
                return i
    return 0


# ---------------------------------------------------------------------- the page
class NetworkPage(Page):
    key = "network"
    title = "8 · Inside the network"
    intro = ("How your model turns a picture into an answer: the shape of every layer, the "
             "filters it learned, what each layer sees in one of your images, and the maths "
             "behind it — to explore, nothing here changes the model.")
    next_text = "Next: all runs"

    model_ready = Signal(int)          # rows in the layer table
    kernels_shown = Signal(int)        # tiles in the kernel view
    maps_shown = Signal(str, int)      # layer, tiles
    playground_shown = Signal(str)     # the size text, e.g. "Input 40×40 → output 38×38"

    def __init__(self, state, runner, parent=None):
        super().__init__(state, runner, parent)
        self.network: Optional[NetworkModel] = None
        self.tabs: Optional[QTabWidget] = None
        self._cache: "OrderedDict[tuple, NetworkModel]" = OrderedDict()
        self._loading_key: Optional[tuple] = None
        self._maps_current = False
        self._play_current = False
        self.work = SerialJobs(self)
        self.play_work = SerialJobs(self)

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
        from gui.widgets.network_activations import ActivationsTab
        from gui.widgets.network_kernels import KernelsTab
        from gui.widgets.network_layers import LayersTab
        from gui.widgets.network_maps import FeatureMapsTab
        from gui.widgets.network_playground import PlaygroundTab

        self.layers_tab = LayersTab()
        self.kernels_tab = KernelsTab()
        self.maps_tab = FeatureMapsTab()
        self.playground_tab = PlaygroundTab()
        self.activations_tab = ActivationsTab()
        self.tabs = QTabWidget()
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
        images = dataset_images(self.state.dataset_report)
        last = self.state.last_model
        note = ""
        if last and keras_model_file(last) is None:
            note = (f"({Path(last).name} is an exported model, which this page cannot look "
                    "into; it shows the Keras model instead.)")
        path = keras_model_file(last) or keras_model_file(self.state.run_dir)
        if path:
            try:
                mtime = os.stat(path).st_mtime_ns
            except OSError:
                mtime = 0
            return ModelSource("file", ("file", path, mtime), path=path, images=images,
                               note=note)
        m = self.state.config.model
        report = self.state.dataset_report
        n = max(2, len(report.classes)) if report is not None else 2
        return ModelSource("config", ("config", m.backbone, m.image_size, m.dense_units,
                                      m.dropout, n),
                           model_cfg=copy.deepcopy(m), n_classes=n, images=images,
                           note=note)

    def _on_config_changed(self, path: str) -> None:
        if touches(path, "model") and self.network is not None \
                and self.network.source.kind == "config":
            self._source_may_have_changed()

    def _source_may_have_changed(self) -> None:
        if self.tabs is not None and self.isVisible():
            self._refresh_timer.start()

    def refresh(self) -> None:
        """Show the current model: from the cache, or load it in a worker."""
        self.ensure_built()
        source = self.current_source()
        if self.network is not None and self.network.source.key == source.key:
            if source.note != self.network.source.note:
                self.network.source.note = source.note
                self.source_label.setText(self.network.source.describe(self.network.model))
            if source.images and source.images != self.network.images:
                self.network.images = source.images
                self._set_images(source.images)
            return
        if source.key == self._loading_key:
            return
        cached = self._cache.get(source.key)
        if cached is not None:
            self._cache.move_to_end(source.key)
            cached.source.note = source.note
            if source.images:
                cached.images = source.images
            self._apply(cached)
            return
        self._loading_key = source.key
        what = (Path(source.path).parent.name if source.kind == "file"
                else source.model_cfg.backbone)
        self.source_label.setText(f"Loading {what}…")
        self.clear_message()
        self.work.submit("load", load_network, (source,),
                         lambda net, k=source.key: self._on_loaded(k, net),
                         lambda msg, k=source.key: self._on_load_failed(k, msg))

    def _on_loaded(self, key: tuple, network: NetworkModel) -> None:
        if key != self._loading_key:
            return
        self._loading_key = None
        self._cache[key] = network
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        self._apply(network)

    def _on_load_failed(self, key: tuple, message: str) -> None:
        if key != self._loading_key:
            return
        self._loading_key = None
        self.source_label.setText("No model to show.")
        self.show_error(message)

    def _apply(self, network: NetworkModel) -> None:
        self.network = network
        self.clear_message()
        self.source_label.setText(network.source.describe(network.model))
        self.tabs.setEnabled(True)
        self.layers_tab.show_inspection(network.inspection)
        self._maps_current = self._play_current = False
        self.maps_tab.set_layers(network.probe.layers, start_layer(network.probe.layers))
        self._set_images(network.images)
        self.playground_tab.set_learned(network.first_filters, network.first_conv)
        self.activations_tab.set_used(network.activations)
        note = "" if network.source.kind == "file" else (
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
        from gui.widgets.network_kernels import kernel_view

        net = self.network
        if net is None:
            return
        self.work.submit("kernels", kernel_view, (net.model, layer, mode),
                         lambda view, n=net: self._show_kernels(n, view), self._tab_failed)

    def _show_kernels(self, net: NetworkModel, view) -> None:
        if net is self.network:
            self.kernels_tab.show_view(view)
            self.kernels_shown.emit(view.layout.count)

    def _request_maps(self, path: str, index: int) -> None:
        from gui.widgets.network_maps import feature_map_view

        net = self.network
        if net is None:
            return
        self._maps_current = True
        self.work.submit("maps", feature_map_view, (net.probe, path, index),
                         lambda view, n=net: self._show_maps(n, view), self._tab_failed)

    def _show_maps(self, net: NetworkModel, view) -> None:
        if net is self.network:
            self.maps_tab.show_view(view)
            self.maps_shown.emit(view.layer, view.shown)

    def _request_playground(self, kwargs: dict) -> None:
        from gui.widgets.network_playground import playground_run

        self._play_current = True
        self.play_work.submit("play", playground_run, (), self._show_playground,
                              self.playground_tab.show_error, kwargs=kwargs)

    def _show_playground(self, outcome) -> None:
        self.playground_tab.show_outcome(outcome)
        self.playground_shown.emit(outcome.size_text())

    def _tab_failed(self, message: str) -> None:
        self.show_error(message)

    # ------------------------------------------------------------------ lifecycle
    def shutdown(self) -> None:
        self._refresh_timer.stop()
        self.work.shutdown()
        self.play_work.shutdown()
        if self.tabs is not None:
            self.playground_tab._debounce.stop()
