"""Predictions you can trust: calibrated probabilities and an "unknown" score.

* :mod:`core.trust.calibration` -- temperature scaling and ECE (plain numpy);
* :mod:`core.trust.unknown` -- the unknown score (embedding kNN + max probability);
* :mod:`core.trust.store` -- a run's ``calibration.json`` and ``unknown.npz``;
* :mod:`core.trust.fit` -- :func:`fit_after_training`, called when training ends.

Rank 3.5 in the layer plan: above ``runs`` (it reads and writes run folders),
below ``infer`` (whose predictors apply it).  It never imports ``infer``:
predictions come in as arrays.
"""
