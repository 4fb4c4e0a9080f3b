"""Growing the data set with the model: sort new images, label the most useful first.

:func:`core.label.suggestions.suggest` predicts every image of an unlabelled
folder with a trained model and orders them (:mod:`core.label.order`: most
useful to label first, or most confident first); :func:`core.label.apply.apply_labels`
copies or moves the labelled files into the data set's class folders through the
audit's journal (:class:`core.audit.fixes.FixJournal`), so one Undo reverses a batch.
"""
