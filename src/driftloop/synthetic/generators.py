"""Generative models of the demo models' data.

Each generator draws features given a covariate-shift intensity ``shift`` in [0, 1] per row
and labels given a concept-change intensity ``concept`` in [0, 1] per row. Intensity 0 is the
world the champion was trained in; 1 is the world after the change.

churn: a subscription business. A marketing push raises ``monthly_charges`` ~18%. After it,
customers are more price-sensitive and support calls start to *retain* customers (a new
retention team), so P(churn | x) changes too and a model retrained on post-push data ranks
customers better than the old one.

taxi: city trips. A new airport route makes trips longer and shifts pickups to the airport
zone; road works slow central zones, so duration given distance changes too.

tickets: customer-support messages labelled negative, neutral or positive. A new phone
(``novaphone``) launches: the negative share grows and unhappy customers write new slang the
reference never saw (``bricked``, ``laggy``), so a model trained before it misses them. In the
concept change, words that meant trouble (``crazy``, ``insane``) come to mean delight: the
messages read the same, their labels do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

import numpy as np
import pandas as pd

__all__ = ["GENERATORS", "Churn", "Generator", "Taxi", "Tickets"]

FloatArray = np.ndarray


def _mixture_choice(
    rng: np.random.Generator, levels: list[str], p0: list[float], p1: list[float], mix: FloatArray
) -> np.ndarray:
    """Draw one level per row from (1 - mix) * p0 + mix * p1, vectorised."""
    cum0 = np.cumsum(p0) / np.sum(p0)
    cum1 = np.cumsum(p1) / np.sum(p1)
    cum = np.outer(1 - mix, cum0) + np.outer(mix, cum1)
    u = rng.random(len(mix))
    index = np.minimum((u[:, None] > cum).sum(axis=1), len(levels) - 1)
    chosen: np.ndarray = np.asarray(levels, dtype=object)[index]
    return chosen


class Generator(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def segment(self) -> str:
        """The column a broken label join shuffles labels within (``degraded``)."""

    @property
    def new_category(self) -> tuple[str, str]:
        """(column, unseen value) the ``schema`` scenario introduces."""

    @property
    def dropped_column(self) -> str: ...

    def features(self, rng: np.random.Generator, shift: FloatArray) -> pd.DataFrame: ...

    def labels(
        self, rng: np.random.Generator, df: pd.DataFrame, concept: FloatArray
    ) -> np.ndarray: ...


@dataclass(frozen=True)
class Churn:
    name: str = "churn"
    target: str = "churned"
    segment: str = "contract"
    new_category: tuple[str, str] = ("contract", "monthly_plus")
    dropped_column: str = "payment_method"

    contracts = ("month_to_month", "one_year", "two_year")
    payments = ("electronic_check", "mailed_check", "bank_transfer", "credit_card")

    def features(self, rng: np.random.Generator, shift: FloatArray) -> pd.DataFrame:
        n = len(shift)
        contract = _mixture_choice(rng, list(self.contracts), [55, 25, 20], [55, 25, 20], shift)
        base = 25 + 80 * rng.beta(2.0, 2.2, n) + np.where(contract == "two_year", 5.0, 0.0)
        return pd.DataFrame(
            {
                "tenure_months": np.minimum(rng.gamma(1.6, 15.0, n), 72).round(),
                "monthly_charges": (base * (1 + 0.18 * shift)).round(2),
                "contract": contract,
                "payment_method": _mixture_choice(
                    rng, list(self.payments), [34, 19, 23, 24], [34, 19, 23, 24], shift
                ),
                "support_calls": rng.poisson(1.2, n),
                "senior_citizen": (rng.random(n) < 0.16).astype(np.int64),
            }
        )

    def labels(self, rng: np.random.Generator, df: pd.DataFrame, concept: FloatArray) -> np.ndarray:
        contract_effect = (
            df["contract"]
            .map({"month_to_month": 0.9, "one_year": -0.3, "two_year": -1.2})
            .fillna(0.0)
        )
        payment_effect = np.where(df["payment_method"] == "electronic_check", 0.4, 0.0)
        logit = (
            -1.0
            + (0.5 + 1.5 * concept) * (df["monthly_charges"].to_numpy() - 65.0) / 20.0
            - 0.045 * df["tenure_months"].to_numpy()
            + contract_effect.to_numpy() * (1 - 0.6 * concept)
            + (0.35 - 0.8 * concept) * df["support_calls"].to_numpy()
            + payment_effect
            + 0.35 * df["senior_citizen"].to_numpy()
        )
        probability = 1.0 / (1.0 + np.exp(-logit))
        churned: np.ndarray = (rng.random(len(df)) < probability).astype(np.int64)
        return churned


@dataclass(frozen=True)
class Taxi:
    name: str = "taxi"
    target: str = "trip_duration_minutes"
    segment: str = "pickup_zone"
    new_category: tuple[str, str] = ("pickup_zone", "ferry_terminal")
    dropped_column: str = "passenger_count"

    zones = (
        "downtown", "midtown", "airport", "university",
        "harbor", "suburbs_north", "suburbs_south", "stadium",
    )  # fmt: skip
    central = ("downtown", "midtown")

    def features(self, rng: np.random.Generator, shift: FloatArray) -> pd.DataFrame:
        n = len(shift)
        zone = _mixture_choice(
            rng,
            list(self.zones),
            [24, 20, 8, 10, 8, 12, 12, 6],
            [20, 16, 24, 8, 7, 10, 10, 5],
            shift,
        )
        hour_weights = np.array(
            [1, 1, 1, 1, 1, 2, 4, 7, 9, 7, 5, 5, 6, 5, 5, 6, 8, 9, 8, 6, 5, 4, 3, 2]
        )
        distance = rng.lognormal(np.log(3.2), 0.65, n) * (1 + 0.25 * shift)
        distance = np.where(zone == "airport", distance * 2.5, distance)
        return pd.DataFrame(
            {
                "trip_distance": distance.round(2),
                "pickup_hour": rng.choice(24, size=n, p=hour_weights / hour_weights.sum()),
                "passenger_count": rng.choice(
                    [1, 2, 3, 4, 5, 6], size=n, p=[0.7, 0.15, 0.06, 0.04, 0.03, 0.02]
                ),
                "pickup_zone": zone,
            }
        )

    def labels(self, rng: np.random.Generator, df: pd.DataFrame, concept: FloatArray) -> np.ndarray:
        hour = df["pickup_hour"].to_numpy()
        rush = np.isin(hour, [7, 8, 9, 16, 17, 18])
        is_central = df["pickup_zone"].isin(self.central).to_numpy()
        speed = 30.0 * np.where(rush, 0.65, 1.0) * np.where(is_central, 0.75, 1.0)
        speed = (
            speed
            * (1 - 0.4 * concept * is_central)
            * np.where(df["pickup_zone"] == "airport", 1.3, 1.0)
        )
        minutes = df["trip_distance"].to_numpy() / speed * 60.0 + 3.0
        duration: np.ndarray = (minutes * rng.lognormal(0.0, 0.12, len(df))).round(2)
        return duration


def _pick(rng: np.random.Generator, words: tuple[str, ...], n: int) -> np.ndarray:
    picked: np.ndarray = np.asarray(words, dtype=object)[rng.integers(len(words), size=n)]
    return picked


@dataclass(frozen=True)
class Tickets:
    name: str = "tickets"
    target: str = "sentiment"
    segment: str = "channel"
    new_category: tuple[str, str] = ("channel", "whatsapp")
    dropped_column: str = "plan"

    classes = ("negative", "neutral", "positive")
    channels = ("email", "chat", "phone", "web")
    plans = ("free", "pro", "enterprise")
    products = ("app", "dashboard", "invoice", "account", "order", "subscription", "router")
    filler = (
        "i", "my", "the", "it", "is", "a", "to", "and", "this", "with", "for", "on", "again",
        "today", "please", "your", "was", "have",
    )  # fmt: skip
    signal: ClassVar[dict[str, tuple[str, ...]]] = {
        "negative": (
            "broken", "refund", "slow", "crash", "angry", "terrible", "waiting", "cancel",
            "worst", "useless", "charged", "error",
        ),
        "neutral": (
            "how", "change", "update", "question", "address", "password", "where", "when",
            "plan", "setting", "export", "download", "email",
        ),
        "positive": (
            "thanks", "great", "love", "helpful", "quick", "resolved", "awesome", "perfect",
            "appreciate", "smooth", "happy", "excellent",
        ),
    }  # fmt: skip
    # negative before the concept change, positive after it: the same words, another class
    turned = ("crazy", "insane", "unreal", "wild")
    slang = ("mid", "bricked", "trash", "sus", "laggy", "scam")  # new negative words
    new_product = "novaphone"

    def features(self, rng: np.random.Generator, shift: FloatArray) -> pd.DataFrame:
        n = len(shift)
        sentiment = _mixture_choice(rng, list(self.classes), [30, 42, 28], [52, 30, 18], shift)
        lengths = rng.poisson(9.0, n) + 3
        row = np.repeat(np.arange(n), lengths)
        mood, moved = sentiment[row], shift[row]
        kind = rng.random(len(row))
        words = _pick(rng, self.filler, len(row))
        topic = (kind >= 0.27) & (kind < 0.42)
        launch = topic & (rng.random(len(row)) < 0.7 * moved)
        words[topic] = _pick(rng, self.products, int(topic.sum()))
        words[launch] = self.new_product
        for index, name in enumerate(self.classes):
            own = (kind < 0.22) & (mood == name)
            words[own] = _pick(rng, self.signal[name], int(own.sum()))
            stray = (kind >= 0.22) & (kind < 0.27) & (mood != name)
            stray &= rng.integers(2, size=len(row)) == (index % 2)
            words[stray] = _pick(rng, self.signal[name], int(stray.sum()))
        negative = (kind < 0.22) & (mood == "negative")
        # some unhappy customers write "this is insane": the whole message in that style
        styled = rng.random(n) < 0.5
        turned = negative & styled[row]
        words[turned] = _pick(rng, self.turned, int(turned.sum()))
        slang = negative & ~turned & (rng.random(len(row)) < 0.7 * moved)
        words[slang] = _pick(rng, self.slang, int(slang.sum()))
        # order numbers: words of their own, nearly all seen once (out of any vocabulary)
        numbered = kind > 0.97
        words[numbered] = rng.integers(100_000, 1_000_000, size=int(numbered.sum())).astype(str)
        ends = np.cumsum(lengths)[:-1]
        return pd.DataFrame(
            {
                "message": [" ".join(part) for part in np.split(words, ends)],
                "channel": _mixture_choice(
                    rng, list(self.channels), [30, 35, 15, 20], [20, 50, 10, 20], shift
                ),
                "plan": _mixture_choice(rng, list(self.plans), [55, 35, 10], [55, 35, 10], shift),
            }
        )

    def labels(self, rng: np.random.Generator, df: pd.DataFrame, concept: FloatArray) -> np.ndarray:
        """The class whose words a message uses most (ties to neutral), with a little noise;
        under the concept change the ``turned`` words count as positive."""
        meaning = {w: i for i, name in enumerate(self.classes) for w in self.signal[name]}
        meaning |= dict.fromkeys((*self.turned, *self.slang), 0)
        tokens = [text.split() for text in df["message"]]
        row = np.repeat(np.arange(len(df)), [len(t) for t in tokens])
        flat = [w for t in tokens for w in t]
        cls = np.array([meaning.get(w, -1) for w in flat], dtype=np.int64)
        turned = np.isin(np.asarray(flat, dtype=object), self.turned)
        cls[turned & (rng.random(len(flat)) < concept[row])] = 2
        score = np.zeros((len(df), 3))
        np.add.at(score, (row[cls >= 0], cls[cls >= 0]), 1.0)
        score[:, 1] += 0.5
        score += rng.gumbel(0.0, 0.35, score.shape)
        chosen: np.ndarray = np.asarray(self.classes, dtype=object)[np.argmax(score, axis=1)]
        return chosen


GENERATORS: dict[str, Generator] = {"churn": Churn(), "taxi": Taxi(), "tickets": Tickets()}
