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
    return tensorboard_callback(str(loop.run.logs_dir / loop.phase))


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


def tensorboard_callback(log_dir: str):
    """Keras' TensorBoard callback, given plain float logs, once per epoch, no graph."""
    import keras

    class TensorBoard(keras.callbacks.TensorBoard):
        def on_train_batch_end(self, batch, logs=None):
            super().on_train_batch_end(batch, scalar_logs(logs))

        def on_test_end(self, logs=None):
            super().on_test_end(scalar_logs(logs))

        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, scalar_logs(logs))

    return TensorBoard(log_dir=log_dir, update_freq="epoch", profile_batch=0, write_graph=False)
