"""The condition language of ``applies_if``: parsed, type-checked, never ``eval``-ed.

Grammar (keywords are lower-case)::

    expr    := or_expr
    or_expr := and_expr ("or" and_expr)*
    and_expr:= not_expr ("and" not_expr)*
    not_expr:= "not" not_expr | compare
    compare := value (("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in") value)?
    value   := NAME | STRING | NUMBER | "true" | "false" | "[" [value ("," value)*] "]" | "(" expr ")"

Names are intake question ids and option ids (``smoker``, ``fitzpatrick in ['IV', 'V', 'VI']``,
``technique == 'incisional'``, ``age < 18 and not pregnant``). A bare name is true when its answer is true
(booleans) or, for a multi-choice question, when anything was chosen.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Value = bool | int | float | str | tuple["Value", ...] | None
Kind = Literal["boolean", "integer", "number", "choice", "multichoice", "text"]


class ConditionError(ValueError):
    """A condition is malformed or names something that does not exist. ``column`` is 1-based."""

    def __init__(self, message: str, column: int | None = None) -> None:
        self.column = column
        super().__init__(message if column is None else f"{message} (at column {column})")


@dataclass(frozen=True)
class Symbol:
    """What a condition may know about a name: its kind and, for choices, the allowed values."""

    kind: Kind
    choices: frozenset[str] | None = None
    origin: str = "intake"  # "intake" or "option"


# --- AST ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Name:
    name: str
    column: int


@dataclass(frozen=True)
class Literal_:
    value: Value
    column: int


@dataclass(frozen=True)
class ListExpr:
    items: tuple[Literal_, ...]
    column: int


@dataclass(frozen=True)
class Not:
    operand: Node
    column: int


@dataclass(frozen=True)
class BoolOp:
    op: Literal["and", "or"]
    operands: tuple[Node, ...]
    column: int


@dataclass(frozen=True)
class Compare:
    op: str
    left: Node
    right: Node
    column: int


Node = Name | Literal_ | ListExpr | Not | BoolOp | Compare

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<num>-?\d+(?:\.\d+)?)
    | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,)
    | (?P<name>[A-Za-z_][A-Za-z0-9_\-]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "true", "false"}
MAX_CONDITION_LENGTH = 500
MAX_CONDITION_DEPTH = 16
"""Parentheses, lists and ``not`` nested deeper than this are refused: the parser and every walk over the tree
recurse, and a 500-character condition could otherwise nest 250 levels and exhaust the interpreter's stack."""


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    column: int


def _tokenize(source: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(source):
        if source[pos:].strip() == "":
            break
        m = _TOKEN.match(source, pos)
        if not m or m.end() == pos:
            col = pos + 1 + (len(source[pos:]) - len(source[pos:].lstrip()))
            raise ConditionError(f"unexpected character {source[col - 1]!r}", col)
        kind = m.lastgroup or ""
        text = m.group(kind)
        column = m.start(kind) + 1
        if kind == "name" and text in _KEYWORDS:
            kind = "kw"
        tokens.append(_Tok(kind, text, column))
        pos = m.end()
    tokens.append(_Tok("end", "", len(source) + 1))
    return tokens


class _Parser:
    def __init__(self, source: str) -> None:
        self.tokens = _tokenize(source)
        self.i = 0
        self.depth = 0

    def nest(self, tok: _Tok) -> None:
        self.depth += 1
        if self.depth > MAX_CONDITION_DEPTH:
            raise ConditionError(
                f"nested more than {MAX_CONDITION_DEPTH} levels deep (parentheses, lists and 'not'); "
                "write it more simply",
                tok.column,
            )

    def peek(self) -> _Tok:
        return self.tokens[self.i]

    def take(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def accept(self, kind: str, text: str) -> _Tok | None:
        tok = self.peek()
        if tok.kind == kind and tok.text == text:
            self.i += 1
            return tok
        return None

    def expect(self, kind: str, text: str) -> _Tok:
        tok = self.accept(kind, text)
        if tok is None:
            got = self.peek()
            raise ConditionError(f"expected {text!r} but found {got.text or 'the end'!r}", got.column)
        return tok

    def parse(self) -> Node:
        node = self.or_expr()
        tok = self.peek()
        if tok.kind != "end":
            raise ConditionError(f"unexpected {tok.text!r}", tok.column)
        return node

    def or_expr(self) -> Node:
        first = self.and_expr()
        items = [first]
        while self.accept("kw", "or"):
            items.append(self.and_expr())
        return first if len(items) == 1 else BoolOp("or", tuple(items), _col(first))

    def and_expr(self) -> Node:
        first = self.not_expr()
        items = [first]
        while self.accept("kw", "and"):
            items.append(self.not_expr())
        return first if len(items) == 1 else BoolOp("and", tuple(items), _col(first))

    def not_expr(self) -> Node:
        tok = self.accept("kw", "not")
        if tok is not None:
            self.nest(tok)
            operand = self.not_expr()
            self.depth -= 1
            return Not(operand, tok.column)
        return self.compare()

    def compare(self) -> Node:
        left = self.value()
        tok = self.peek()
        if tok.kind == "op" and tok.text in ("==", "!=", "<", "<=", ">", ">="):
            self.take()
            return Compare(tok.text, left, self.value(), tok.column)
        if tok.kind == "kw" and tok.text == "in":
            self.take()
            return Compare("in", left, self.value(), tok.column)
        if tok.kind == "kw" and tok.text == "not" and self.tokens[self.i + 1].text == "in":
            self.take()
            self.take()
            return Compare("not in", left, self.value(), tok.column)
        return left

    def value(self) -> Node:
        tok = self.take()
        if tok.kind == "num":
            num: int | float = float(tok.text) if "." in tok.text else int(tok.text)
            return Literal_(num, tok.column)
        if tok.kind == "str":
            body = tok.text[1:-1]
            return Literal_(re.sub(r"\\(.)", r"\1", body), tok.column)
        if tok.kind == "kw" and tok.text in ("true", "false"):
            return Literal_(tok.text == "true", tok.column)
        if tok.kind == "name":
            return Name(tok.text, tok.column)
        if tok.kind == "op" and tok.text == "(":
            self.nest(tok)
            inner = self.or_expr()
            self.expect("op", ")")
            self.depth -= 1
            return inner
        if tok.kind == "op" and tok.text == "[":
            self.nest(tok)
            items: list[Literal_] = []
            if not self.accept("op", "]"):
                while True:
                    item = self.value()
                    if not isinstance(item, Literal_):
                        raise ConditionError("a list may hold only quoted words and numbers", _col(item))
                    items.append(item)
                    if self.accept("op", "]"):
                        break
                    self.expect("op", ",")
            self.depth -= 1
            return ListExpr(tuple(items), tok.column)
        raise ConditionError(f"expected a name, a value or '(' but found {tok.text or 'the end'!r}", tok.column)


def _col(node: Node) -> int:
    return node.column


# --- public API --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """A parsed ``applies_if`` condition."""

    source: str
    tree: Node

    @property
    def names(self) -> frozenset[str]:
        return frozenset(_names(self.tree))

    def check(self, symbols: Mapping[str, Symbol]) -> None:
        """Raise :class:`ConditionError` if the condition names an unknown id or compares mismatched kinds."""
        _check(self.tree, symbols)

    def evaluate(self, answers: Mapping[str, Value]) -> bool:
        """Evaluate against intake answers and option choices. Every name must have an answer."""
        return _truthy(_eval(self.tree, answers))

    def __str__(self) -> str:
        return self.source


def parse_condition(source: str) -> Condition:
    if not isinstance(source, str) or not source.strip():
        raise ConditionError("a condition must be non-empty text")
    if len(source) > MAX_CONDITION_LENGTH:
        raise ConditionError(f"a condition longer than {MAX_CONDITION_LENGTH} characters; split the item instead")
    return _parsed(source)


@lru_cache(maxsize=4096)
def _parsed(source: str) -> Condition:
    """Parsed once per distinct text: a library repeats its few dozen conditions in every spec, and each is parsed
    when a spec is validated, when lint checks it and when a case is resolved. A Condition is immutable."""
    return Condition(source, _Parser(source).parse())


def _names(node: Node) -> list[str]:
    if isinstance(node, Name):
        return [node.name]
    if isinstance(node, Not):
        return _names(node.operand)
    if isinstance(node, BoolOp):
        return [n for op in node.operands for n in _names(op)]
    if isinstance(node, Compare):
        return _names(node.left) + _names(node.right)
    return []


def _check(node: Node, symbols: Mapping[str, Symbol]) -> None:
    if isinstance(node, Name):
        sym = symbols.get(node.name)
        if sym is None:
            known = ", ".join(sorted(symbols)) or "none"
            raise ConditionError(
                f"unknown name '{node.name}' (not an intake question or option id; known: {known})", node.column
            )
        return
    if isinstance(node, Literal_ | ListExpr):
        return
    if isinstance(node, Not):
        _check(node.operand, symbols)
        return
    if isinstance(node, BoolOp):
        for op in node.operands:
            _check(op, symbols)
        return
    _check(node.left, symbols)
    _check(node.right, symbols)
    if isinstance(node.left, Name):
        sym = symbols[node.left.name]
        literals: tuple[Literal_, ...] = ()
        if isinstance(node.right, Literal_):
            literals = (node.right,)
        elif isinstance(node.right, ListExpr):
            literals = node.right.items
        if node.op in ("in", "not in") and not isinstance(node.right, ListExpr) and sym.kind != "multichoice":
            raise ConditionError(f"'{node.op}' needs a list on its right, like ['IV', 'V']", node.column)
        for lit in literals:
            _check_literal(node.left.name, sym, lit, node.op)
    elif isinstance(node.right, Name) and isinstance(node.left, Literal_):
        sym = symbols[node.right.name]
        if node.op in ("in", "not in") and sym.kind != "multichoice":
            raise ConditionError(f"'{node.right.name}' is not a multi-choice question", node.column)
        _check_literal(node.right.name, sym, node.left, "in")


def _check_literal(name: str, sym: Symbol, lit: Literal_, op: str) -> None:
    value = lit.value
    if sym.kind in ("choice", "multichoice"):
        if not isinstance(value, str):
            raise ConditionError(f"'{name}' is a choice; compare it with a quoted choice id", lit.column)
        if sym.choices is not None and value not in sym.choices:
            allowed = ", ".join(sorted(sym.choices))
            raise ConditionError(f"'{value}' is not a choice of '{name}' (choices: {allowed})", lit.column)
        if op in ("<", "<=", ">", ">="):
            raise ConditionError(f"'{name}' is a choice; use == or in, not {op}", lit.column)
    elif sym.kind in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConditionError(f"'{name}' is a number; compare it with a number", lit.column)
    elif sym.kind == "boolean":
        if not isinstance(value, bool):
            raise ConditionError(
                f"'{name}' is yes/no; use it alone, with 'not', or compare with true/false", lit.column
            )
        if op not in ("==", "!="):
            raise ConditionError(f"'{name}' is yes/no; only == and != apply", lit.column)
    elif sym.kind == "text":
        raise ConditionError(f"'{name}' is free text and cannot be used in a condition", lit.column)


def _eval(node: Node, answers: Mapping[str, Value]) -> Value:
    if isinstance(node, Name):
        if node.name not in answers:
            raise ConditionError(f"no answer for '{node.name}'", node.column)
        return answers[node.name]
    if isinstance(node, Literal_):
        return node.value
    if isinstance(node, ListExpr):
        return tuple(item.value for item in node.items)
    if isinstance(node, Not):
        return not _truthy(_eval(node.operand, answers))
    if isinstance(node, BoolOp):
        if node.op == "and":
            return all(_truthy(_eval(op, answers)) for op in node.operands)
        return any(_truthy(_eval(op, answers)) for op in node.operands)
    left = _eval(node.left, answers)
    right = _eval(node.right, answers)
    op = node.op
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op in ("in", "not in"):
        if isinstance(left, tuple) and isinstance(right, tuple):  # any of a multi-choice answer in the list
            found = any(item in right for item in left)
        elif isinstance(right, tuple):
            found = left in right
        else:
            found = False
        return found if op == "in" else not found
    if left is None or right is None or isinstance(left, str | tuple) or isinstance(right, str | tuple):
        return False
    lnum, rnum = float(left), float(right)
    return {"<": lnum < rnum, "<=": lnum <= rnum, ">": lnum > rnum, ">=": lnum >= rnum}[op]


def _truthy(value: Value) -> bool:
    if isinstance(value, tuple):
        return len(value) > 0
    return bool(value)
