"""Evaluates the subset of Argo Rollouts' condition language (expr) our templates use:
``len(result) > 0 && !isNaN(result[0]) && result[0] <= 0.01``. Operators || && ! and unary
minus, comparisons, numbers, ``result``, ``result[i]``, ``len()`` and ``isNaN()``; anything else is an
error, so a template using more than this subset fails its test instead of passing blindly."""

from __future__ import annotations

import math
import re
from typing import Any

WORD = re.compile(
    r"\s*(\|\||&&|<=|>=|==|!=|[<>!()\[\]-]|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|[A-Za-z_]\w*)"
)


def _tokens(text: str) -> list[str]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = WORD.match(text, position)
        if match is None:
            raise ValueError(f"cannot parse {text[position:]!r}")
        tokens.append(match.group(1))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, result: list[float]) -> None:
        self.tokens = _tokens(text)
        self.i = 0
        self.result = result

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        word = self.tokens[self.i]
        if expected is not None and word != expected:
            raise ValueError(f"expected {expected!r}, got {word!r}")
        self.i += 1
        return word

    def parse(self) -> Any:
        value = self.or_()
        if self.peek() is not None:
            raise ValueError(f"unexpected {self.peek()!r}")
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == "||":
            self.take()
            right = self.and_()
            value = bool(value) or bool(right)
        return value

    def and_(self) -> Any:
        value = self.compare()
        while self.peek() == "&&":
            self.take()
            if not value:  # short-circuit, as expr does: result[0] on an empty result
                self._skip_operand()
                continue
            value = bool(self.compare())
        return value

    def _skip_operand(self) -> None:
        depth = 0
        while self.peek() is not None and (depth > 0 or self.peek() not in ("&&", "||")):
            word = self.take()
            depth += (word in "([" and 1) or 0
            depth -= (word in ")]" and 1) or 0

    def compare(self) -> Any:
        left = self.unary()
        op = self.peek()
        if op in ("<", "<=", ">", ">=", "==", "!="):
            self.take()
            right = self.unary()
            return {"<": left < right, "<=": left <= right, ">": left > right,
                    ">=": left >= right, "==": left == right, "!=": left != right}[op]  # fmt: skip
        return left

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not self.unary()
        if self.peek() == "-":
            self.take()
            return -self.unary()
        return self.primary()

    def primary(self) -> Any:
        word = self.take()
        if word == "(":
            value = self.or_()
            self.take(")")
            return value
        if re.fullmatch(r"\d.*", word):
            return float(word)
        if word in ("len", "isNaN"):
            self.take("(")
            argument = self.or_()
            self.take(")")
            return len(argument) if word == "len" else math.isnan(argument)
        if word == "result":
            value: Any = self.result
            while self.peek() == "[":
                self.take()
                index = int(self.or_())
                self.take("]")
                value = value[index]
            return value
        raise ValueError(f"unsupported word {word!r}")


def evaluate(condition: str, result: list[float]) -> bool:
    return bool(_Parser(condition, result).parse())
