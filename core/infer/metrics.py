"""Classification metrics from predictions: accuracy, per-class P/R/F1, confusion matrix, ECE.

ECE and the reliability diagram's bins (15 equal-width confidence bins) are
defined once in :mod:`core.trust.calibration`; :class:`Metrics` carries them.

Plain numpy so the same numbers come out of training (validation set), the
``evaluate`` command and every exported model's parity check.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from core.shown import cut_distinct, one_line, padded, text_width
from core.typed_json import finite_number
from core.trust.calibration import expected_calibration_error, reliability_table


#: How a score with no value is shown (see :meth:`Metrics.score_values`).
NO_VALUE = "–"
# One sentence for "all right" in the window, the terminal and the report (they had three).
NO_MISTAKES = "No mistakes: every image was classified correctly."
#: The terminal's figures: class names cut to this many characters, the matrix printed up
#: to this many classes (the most confused pairs, this many, above it).
TEXT_NAME_CHARS = 30
TEXT_MATRIX_CLASSES = 12
TEXT_PAIRS = 15


@dataclass
class ClassScore:
    name: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Mistake:
    path: str
    true_label: str
    predicted_label: str
    confidence: float


@dataclass
class Metrics:
    accuracy: float
    n_images: int
    classes: list[str]
    per_class: list[ClassScore]
    confusion: list[list[int]]  # rows: true class, columns: predicted class
    macro_f1: float
    mistakes: list[Mistake] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # files that could not be read
    #: Expected calibration error of the probabilities given (15 bins); None: not recorded
    #: (a results file of an early version: 0.0 read as "perfectly calibrated").
    ece: Optional[float] = None
    #: The reliability diagram: per confidence bin low, high, count, confidence, accuracy.
    reliability: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def score_values(self, i: int) -> tuple[Optional[float], Optional[float], Optional[float]]:
        """Class ``i``'s precision, recall and F1, None where a score has no value (recall
        and F1 with no image of the class, precision when no image was taken for it): 0.000
        there read as a failure, beside a macro F1 that leaves the class out."""
        c = self.per_class[i]
        predicted = any(row[i] for row in self.confusion) if i < len(self.confusion) else True
        return (c.precision if predicted else None, c.recall if c.support else None,
                c.f1 if c.support else None)

    def macro_f1_words(self) -> str:
        """What the macro F1 averages, in words: the window and the report said "the
        classes' F1 averaged" when a class without images was left out of it (a review)."""
        gone = [c.name for c in self.per_class if not c.support]
        if not gone:
            return "the classes' F1 averaged, so a small class counts as much as a big one"
        names = ", ".join(f"'{n}'" for n in gone[:3]) + (f" and {len(gone) - 3} more"
                                                          if len(gone) > 3 else "")
        return (f"the F1 of the {len(self.per_class) - len(gone)} classes with images "
                f"averaged; {names} had no image here, so {'it is' if len(gone) == 1 else 'they are'} "
                f"not measured ({NO_VALUE} in the table)")

    def score_texts(self, i: int) -> tuple[str, str, str]:
        """:meth:`score_values` as text: three decimals, :data:`NO_VALUE` for none."""
        p, r, f1 = (NO_VALUE if v is None else f"{v:.3f}" for v in self.score_values(i))
        return p, r, f1

    @classmethod
    def from_dict(cls, d: dict) -> "Metrics":
        """TypeError naming the field for a value of the wrong type (a hand-edited file
        showed the previous run's figures with no word, or crashed the page later)."""
        _check_types(d)
        return cls(accuracy=d["accuracy"], n_images=d["n_images"], classes=list(d["classes"]),
                   per_class=[ClassScore(c["name"], c["precision"], c["recall"], c["f1"],
                                         c["support"]) for c in d["per_class"]],
                   confusion=[list(r) for r in d["confusion"]], macro_f1=d["macro_f1"],
                   mistakes=[Mistake(m["path"], m["true_label"], m["predicted_label"],
                                     m["confidence"]) for m in d.get("mistakes", [])],
                   skipped=list(d.get("skipped", [])), ece=_optional_float(d.get("ece")),
                   reliability=[{k: b[k] for k in _BIN_FIELDS}
                                for b in d.get("reliability", [])])

    def to_text(self, shown: Callable[[str], str] = one_line) -> str:
        """The figures for a terminal: names cut to :data:`TEXT_NAME_CHARS`, and above
        :data:`TEXT_MATRIX_CLASSES` classes the most confused pairs, not the matrix (60
        classes printed 958-character lines).

        Each class and file name goes through ``shown`` before it is measured and padded:
        a line break in a name split a row of the table, an escape sequence recoloured
        the terminal, and escaping the finished text afterwards put the columns out of
        line.  The command line passes its terminal escaping (``core.cli.terminal.name``,
        a layer above this one); the default keeps each name on its line."""
        names = cut_distinct([shown(c) for c in self.classes], TEXT_NAME_CHARS)  # never alike
        width = max([text_width(c) for c in names] + [5])
        lines = [f"accuracy: {self.accuracy:.4f} on {self.n_images} images "
                 f"(macro F1 {self.macro_f1:.4f}, ECE "
                 f"{'not recorded' if self.ece is None else f'{self.ece:.4f}'})", "",
                 f"{'class':<{width}}  precision  recall     f1  support"]
        for i, (c, name) in enumerate(zip(self.per_class, names)):
            p, r, f1 = self.score_texts(i)
            lines.append(f"{padded(name, width)}  {p:>9}  {r:>6}  {f1:>5}  {c.support:7d}")
        if any(c.support == 0 for c in self.per_class):
            lines.append(f"({NO_VALUE}: no value; macro F1 averages the classes with images)")
        elif any(NO_VALUE in self.score_texts(i) for i in range(len(self.per_class))):
            # a precision of a class no image was taken for had no word (a review)
            lines.append(f"({NO_VALUE}: no value; precision of a class no image was taken for)")
        if len(names) > TEXT_MATRIX_CLASSES:
            lines += [""] + self._pair_lines(names)
        else:
            lines += [""] + self._matrix_lines(names, width)
            lines += [] if self.confused_pairs() else ["", NO_MISTAKES]
        if self.skipped:
            lines += ["", f"skipped {len(self.skipped)} unreadable file(s):"]
            lines += [f"  {shown(s['path'])}: {shown(s['reason'])}" for s in self.skipped]
        return "\n".join(lines)

    def _matrix_lines(self, names: list[str], width: int) -> list[str]:
        lines = ["confusion matrix (rows: true, columns: predicted)"]
        col = min(max([6] + [text_width(c) for c in names]), 12)  # 'mono_100' was 'mono_1'
        heads = cut_distinct(names, col)
        col = max([col] + [text_width(h) for h in heads])  # given whole: never alike
        lines.append(" " * width + "  " + " ".join(padded(h, col, right=True) for h in heads))
        for name, row in zip(names, self.confusion):
            lines.append(f"{padded(name, width)}  " + " ".join(f"{v:{col}d}" for v in row))
        return lines

    def confused_pairs(self) -> list[tuple[int, str, str]]:
        return confused_pairs(self.classes, self.confusion)

    def _pair_lines(self, names: list[str]) -> list[str]:
        pairs = self.confused_pairs()
        short = dict(zip(self.classes, names))
        lines = [f"most confused ({len(self.classes)} classes: the whole confusion matrix is "
                 "in --json and on the Evaluate page)"]
        lines += [f"  {n:5d}  {short[t]} -> {short[p]}" for n, t, p in pairs[:TEXT_PAIRS]]
        if len(pairs) > TEXT_PAIRS:
            lines.append(f"  … and {len(pairs) - TEXT_PAIRS} more kinds of mistake")
        return lines if pairs else lines + ["  " + NO_MISTAKES]


def confused_pairs(classes: Sequence[str], confusion) -> list[tuple[int, str, str]]:
    """(count, true class, predicted class) of every mistaken cell, the largest first: what
    a terminal or a printed page shows instead of a matrix of many classes."""
    cells = [(int(v), classes[t], classes[p]) for t, row in enumerate(confusion)
             for p, v in enumerate(row) if t != p and v]
    return sorted(cells, key=lambda c: -c[0])


def compute_metrics(y_true: Sequence[int], probs: np.ndarray, classes: Sequence[str],
                    paths: Optional[Sequence[str]] = None, max_mistakes: int = 200) -> Metrics:
    y_true = np.asarray(y_true, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    n_cls = len(classes)
    if len(y_true) == 0:
        return Metrics(0.0, 0, list(classes), [ClassScore(c, 0.0, 0.0, 0.0, 0) for c in classes],
                       [[0] * n_cls for _ in classes], 0.0)
    y_pred = probs.argmax(axis=1)
    cm = np.zeros((n_cls, n_cls), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    scores = []
    for i, name in enumerate(classes):
        tp = cm[i, i]
        pred_i = cm[:, i].sum()
        true_i = cm[i, :].sum()
        p = tp / pred_i if pred_i else 0.0
        r = tp / true_i if true_i else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        scores.append(ClassScore(name, float(p), float(r), float(f1), int(true_i)))
    present = [s.f1 for s in scores if s.support > 0]
    mistakes = []
    if paths is not None:
        wrong = np.nonzero(y_pred != y_true)[0]
        conf = probs[wrong, y_pred[wrong]]
        order = wrong[np.argsort(-conf, kind="stable")]
        for i in order[:max_mistakes]:
            mistakes.append(Mistake(str(paths[i]), classes[y_true[i]], classes[y_pred[i]],
                                    float(probs[i, y_pred[i]])))
    return Metrics(accuracy=float((y_pred == y_true).mean()), n_images=int(len(y_true)),
                   classes=list(classes), per_class=scores, confusion=cm.tolist(),
                   macro_f1=float(np.mean(present)) if present else 0.0, mistakes=mistakes,
                   ece=expected_calibration_error(probs, y_true),
                   reliability=[asdict(b) for b in reliability_table(probs, y_true)])


_BIN_FIELDS = ("low", "high", "count", "confidence", "accuracy")


def _optional_float(value) -> Optional[float]:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def _check_types(d) -> None:
    def number(v, where, whole=False):
        if not finite_number(v) or (whole and not isinstance(v, int)):
            raise TypeError(f"{where} is {v!r}, not a {'whole ' if whole else ''}number")

    if not isinstance(d, dict):
        raise TypeError("not an object of results")
    number(d.get("accuracy"), "accuracy")
    number(d.get("macro_f1"), "macro_f1")
    number(d.get("n_images"), "n_images", whole=True)
    classes = d.get("classes")
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise TypeError("classes is not a list of names")
    rows = d.get("confusion")
    if not isinstance(rows, list) or len(rows) != len(classes) or not all(
            isinstance(r, list) and len(r) == len(classes) for r in rows):
        raise TypeError(f"confusion is not a {len(classes)}x{len(classes)} table")
    for r in rows:
        for v in r:
            number(v, "a confusion cell", whole=True)
    def entries(key, what, names, numbers, wholes=()):
        """Each entry of list ``key`` a dict with these fields, of these types (a hand-edited
        one crashed the Evaluate page as it painted, and the report); others are ignored."""
        value = d.get(key, [])
        if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
            raise TypeError(f"{key} is not a list of {what}")
        fields = set(names) | set(numbers) | set(wholes)
        for e in value:
            if not fields <= set(e):
                raise TypeError(f"{key}: {what} without {', '.join(sorted(fields - set(e)))}")
            for name in names:
                if not isinstance(e[name], str):
                    raise TypeError(f"{key} {name} is {e[name]!r}, not text")
            for name in numbers:
                number(e[name], f"{key} {name}")
            for name in wholes:
                number(e[name], f"{key} {name}", whole=True)

    entries("per_class", "class scores", ("name",), ("precision", "recall", "f1"),
            ("support",))
    entries("mistakes", "mistakes", ("path", "true_label", "predicted_label"), ("confidence",))
    entries("skipped", "skipped files", ("path", "reason"), ())
    entries("reliability", "bins", (), tuple(f for f in _BIN_FIELDS if f != "count"), ("count",))
