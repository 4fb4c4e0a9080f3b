"""The Keras callbacks of a training phase: the engine's hooks, and TensorBoard logs.

Keras checks ``model.stop_training`` after every batch, so cancelling and early
stopping are requested from inside these callbacks (see
:class:`core.train.loop.TrainingLoop`).  A distributed step hands back logs
shaped ``[1]``; both callbacks get plain floats (:func:`scalar_logs`).
"""

from __future__ import annotations

from core.train.distributed import scalar_logs


def phase_callbacks(loop) -> list:
    """The loop's callback, and TensorBoard logs (RUN_DIR/logs/PHASE) if it is installed."""
    callbacks = [engine_callback(loop)]
    logs = phase_logs(loop)
    return callbacks + ([logs] if logs is not None else [])


def phase_logs(loop):
    """The phase's TensorBoard callback (RUN_DIR/logs/PHASE); None when tensorboard is not
    installed or this machine is not the chief (only the chief writes logs)."""
    if not loop.cluster.is_chief:
        return None
    try:
        import tensorboard  # noqa: F401  (keras' callback needs its summary writer)
    except ImportError:
        return None
    return tensorboard_callback(str(loop.run.logs_dir / loop.phase), loop.listener)


def log_one_epoch(loop, model, epoch: int, logs: dict) -> None:
    """TensorBoard's point for an epoch that no ``fit`` ran (the head's exact fit): a
    head-only run had no logs, and its greyed button blamed a missing tensorboard."""
    callback = phase_logs(loop)
    if callback is None:
        return
    callback.set_model(model)
    callback.on_train_begin()
    callback.on_epoch_end(epoch, logs)
    callback.on_train_end()


def engine_callback(loop):
    """A Keras callback bridging fit's hooks to the loop's events, checkpoints and stops."""
    import keras

    class EngineCallback(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            loop.on_epoch_begin(epoch)

        def on_train_batch_end(self, batch, logs=None):
            loop.on_batch_end(batch, scalar_logs(logs))

        def on_test_batch_end(self, batch, logs=None):
            loop.cancel.raise_if_cancelled()

        def on_epoch_end(self, epoch, logs=None):
            loop.on_epoch_end(epoch, scalar_logs(logs))

    return EngineCallback()


#: Summary writers whose file could not be written, kept until the process ends.  Such a
#: writer destroyed in the thread that trained aborted the whole process when that thread
#: ended ("PyEval_SaveThread: ... the GIL is released", seen in the window's QThread when the
#: run folder turned read-only); one freed at exit, on the main thread, is harmless.
_FAILED_WRITERS: list = []


def tensorboard_callback(log_dir: str, listener=None):
    """Keras' TensorBoard callback, given plain float logs, once per epoch, no graph.

    The logs are an extra: when they cannot be written (a full disk, a folder turned
    read-only) the run is told once and goes on without them; the checkpoint written next
    says what stops it.  TensorFlow's raw ``FlushSummaryWriter`` error ended the run before."""
    import keras
    import tensorflow as tf

    from core.events import Log, emit

    class TensorBoard(keras.callbacks.TensorBoard):
        _given_up = False

        def _safely(self, write, *args) -> None:
            if self._given_up:
                return
            try:
                write(*args)
            except (tf.errors.OpError, ValueError) as exc:  # ValueError: a non-UTF-8 name
                self._given_up = True
                _FAILED_WRITERS.extend(getattr(self, "_writers", {}).values())
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                reason = first.split("; ", 1)[-1] if "; " in first else type(exc).__name__
                emit(listener, Log(f"TensorBoard logs in {log_dir} could not be written "
                                   f"({reason}); training goes on without them", "warning"))

        def on_train_begin(self, logs=None):
            self._safely(super().on_train_begin, logs)

        def on_train_batch_end(self, batch, logs=None):
            self._safely(super().on_train_batch_end, batch, scalar_logs(logs))

        def on_test_begin(self, logs=None):
            self._safely(super().on_test_begin, logs)

        def on_test_end(self, logs=None):
            self._safely(super().on_test_end, scalar_logs(logs))

        def on_epoch_end(self, epoch, logs=None):
            self._safely(super().on_epoch_end, epoch, scalar_logs(logs))

        def on_train_end(self, logs=None):
            if self._given_up:  # closing flushes again, and fails again
                return
            self._safely(super().on_train_end, logs)

    return TensorBoard(log_dir=log_dir, update_freq="epoch", profile_batch=0, write_graph=False)
