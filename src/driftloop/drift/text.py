"""Text features seen through numeric descriptors, as the model server can count them.

A free-text column cannot be binned as it stands: nearly every message is a category of its
own. Drift in text shows in simple descriptors of each message instead (Evidently's text
descriptors take the same view): how long it is, and how much of it the reference never used.
Each descriptor is an ordinary numeric feature named ``<feature>.<descriptor>``, so PSI,
rules, alerts and the check treat it like any other. The reference vocabulary is stored in the
profile, bounded by ``MAX_VOCABULARY``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DESCRIPTORS",
    "MAX_VOCABULARY",
    "WORD_PATTERN",
    "Tokens",
    "descriptor_columns",
    "descriptor_names",
    "parse_vocabularies",
    "profile_text",
    "token_lists",
    "tokenise",
    "tokens",
    "vocabularies_dict",
    "vocabulary",
    "with_descriptors",
]

DESCRIPTORS = ("length", "oov_share")
MAX_VOCABULARY = 5000
MIN_COUNT = 2
# Words as scikit-learn's TfidfVectorizer sees them (lowercase runs of word characters),
# single letters included: "i" and "a" are words here.
WORD_PATTERN = r"(?u)\b\w+\b"
_TOKEN = re.compile(WORD_PATTERN)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def descriptor_names(feature: str) -> list[str]:
    return [f"{feature}.{name}" for name in DESCRIPTORS]


# A batch's text columns tokenised once, for the model's fast path and the descriptors alike:
# per feature, per row, its tokens (None for a missing text).
Tokens = dict[str, list[list[str] | None]]


def token_lists(texts: Iterable[object]) -> list[list[str] | None]:
    return [tokens(text) if isinstance(text, str) else None for text in texts]


def tokenise(columns: Mapping[str, Iterable[object]], names: Iterable[str]) -> Tokens:
    return {name: token_lists(columns[name]) for name in names}


def _vocabulary_of(lists: list[list[str] | None], size: int) -> tuple[str, ...]:
    counts: Counter[str] = Counter()
    for words in lists:
        if words:
            counts.update(words)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple(token for token, count in ranked[:size] if count >= MIN_COUNT)


def vocabulary(texts: Iterable[object], size: int = MAX_VOCABULARY) -> tuple[str, ...]:
    """The ``size`` most frequent tokens (ties by token) that occur at least twice in the
    non-missing texts: a word seen once (an order number, a typo) is not the reference's
    vocabulary, so the reference has an out-of-vocabulary share of its own to compare with."""
    return _vocabulary_of(token_lists(texts), size)


def _descriptors_of(
    feature: str, lists: list[list[str] | None], known: frozenset[str]
) -> dict[str, np.ndarray]:
    sizes = np.array([-1 if w is None else len(w) for w in lists], dtype=np.int64)
    flat = [w for words in lists if words for w in words]
    unknown = np.fromiter(map(known.__contains__, flat), bool, len(flat))  # map: C speed
    np.logical_not(unknown, out=unknown)
    owner = np.repeat(np.arange(len(lists)), np.maximum(sizes, 0))
    outside = np.bincount(owner[unknown], minlength=len(lists))
    lengths = sizes.astype(float)
    lengths[sizes < 0] = np.nan
    shares = np.full(len(lists), np.nan)  # no tokens: no share
    some = sizes > 0
    shares[some] = outside[some] / sizes[some]
    length_name, share_name = descriptor_names(feature)
    return {length_name: lengths, share_name: shares}


def descriptor_columns(
    feature: str,
    texts: Iterable[object],
    known: frozenset[str],
    lists: list[list[str] | None] | None = None,
) -> dict[str, np.ndarray]:
    """``<feature>.length``: tokens per text; ``<feature>.oov_share``: the share of them not
    in ``known``. Missing texts are NaN in both; a text without tokens has length 0 and no
    out-of-vocabulary share (NaN). ``lists``: the texts already tokenised."""
    return _descriptors_of(feature, token_lists(texts) if lists is None else lists, known)


def profile_text(
    feature: str, texts: Iterable[object], size: int = MAX_VOCABULARY
) -> tuple[tuple[str, ...], dict[str, np.ndarray]]:
    """The reference vocabulary and the reference's descriptors, tokenising once."""
    lists = token_lists(texts)
    words = _vocabulary_of(lists, size)
    return words, _descriptors_of(feature, lists, frozenset(words))


def with_descriptors(df: pd.DataFrame, vocabularies: Mapping[str, frozenset[str]]) -> pd.DataFrame:
    """``df`` plus the descriptor columns of each text feature it has (others untouched;
    descriptors already there, from ``profile_frame``, are kept)."""
    present = [
        name
        for name in vocabularies
        if name in df.columns and not all(d in df.columns for d in descriptor_names(name))
    ]
    if not present:
        return df
    extra: dict[str, np.ndarray] = {}
    for name in present:
        extra |= descriptor_columns(name, df[name], vocabularies[name])
    return df.assign(**extra)


def vocabularies_dict(vocabularies: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """The profile's ``text`` block."""
    return {name: {"vocabulary": list(words)} for name, words in vocabularies.items()}


def parse_vocabularies(data: Any, features: Collection[str]) -> dict[str, tuple[str, ...]]:
    """A profile's ``text`` block, checked against its ``features``' names."""
    if not isinstance(data, dict):
        raise TypeError("text must map each text feature to its vocabulary")
    found = {}
    for name, spec in data.items():
        words = spec.get("vocabulary") if isinstance(spec, dict) else None
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise ValueError(f"text.{name}.vocabulary must be a list of words")
        if len(words) > MAX_VOCABULARY:  # the server keeps it in memory
            raise ValueError(
                f"text.{name}.vocabulary: {len(words)} words; at most {MAX_VOCABULARY}"
            )
        if not all(d in features for d in descriptor_names(name)):
            raise ValueError(f"text.{name}: no such text feature (no {name}.* descriptor features)")
        found[str(name)] = tuple(words)
    return found
