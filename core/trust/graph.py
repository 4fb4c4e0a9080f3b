"""The calibration and the unknown score as Keras layers, for exports that carry them.

:func:`trusted_model` wraps a run's classifier into a model with two outputs,
``probabilities`` (calibrated) and ``unknown_score``, built from standard ops
only (log, softmax, L2-normalise, matmul, top-k), so SavedModel, TFLite and
ONNX converters can take it and every export computes what
:class:`core.trust.unknown.TrustModel` computes in the app.
"""

from __future__ import annotations

import numpy as np

from core.trust.calibration import EPS
from core.trust.fit import EMBEDDING_LAYER, embedding_tensor
from core.trust.unknown import TrustModel


def _trust_head_class():
    import keras
    from keras import ops

    @keras.saving.register_keras_serializable(package="fts")
    class TrustHead(keras.layers.Layer):
        """(probabilities, pooled embedding) -> (calibrated probabilities, unknown score)."""

        def __init__(self, temperature, reference, k, weights, means, stds, **kw):
            super().__init__(**kw)
            self.temperature = float(temperature)
            self.reference = np.asarray(reference, np.float32)
            self.k = int(k)
            self.w = [float(v) for v in weights]
            self.means = [float(v) for v in means]
            self.stds = [float(max(v, 1e-6)) for v in stds]

        def call(self, probs, emb):
            logits = ops.log(ops.clip(probs, EPS, 1.0)) / self.temperature
            calibrated = ops.softmax(logits, axis=-1)
            msp = 1.0 - ops.max(calibrated, axis=-1)
            score = self.w[1] * (msp - self.means[1]) / self.stds[1]
            if self.reference.size:
                unit = emb / ops.maximum(ops.norm(emb, axis=-1, keepdims=True), 1e-12)
                sims = ops.matmul(unit, ops.convert_to_tensor(self.reference.T))
                kth = ops.top_k(sims, self.k)[0][:, self.k - 1]
                score = score + self.w[0] * ((1.0 - kth) - self.means[0]) / self.stds[0]
            return calibrated, score

        def get_config(self):
            return {**super().get_config(), "temperature": self.temperature,
                    "reference": self.reference.tolist(), "k": self.k, "weights": self.w,
                    "means": self.means, "stds": self.stds}

    return TrustHead


def trusted_model(model, trust: TrustModel, with_score: bool = True):
    """``model`` with outputs ``{"probabilities": calibrated, "unknown_score": score}``
    (``with_score`` False: the calibrated probabilities alone)."""
    import keras

    pooled = embedding_tensor(model)
    if pooled is None:
        raise ValueError(f"the model has no '{EMBEDDING_LAYER}' layer")
    head = _trust_head_class()(trust.temperature, trust.reference if with_score else
                               np.zeros((0, 0), np.float32),
                               min(trust.k, max(len(trust.reference), 1)), trust.weights,
                               trust.means, trust.stds, name="trust")
    calibrated, score = head(model.outputs[0], pooled)
    outputs = {"probabilities": calibrated}
    if with_score:
        outputs["unknown_score"] = score
    return keras.Model(model.inputs, outputs, name=f"{model.name}_trusted")
