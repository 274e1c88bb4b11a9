"""Serialise builtin values across the sandbox boundary without trusting the sender.

The candidate's process encodes the value of each test's call (``f(args)``) with :func:`encode`; the harness
(or the trusted judge process) rebuilds it with :func:`decode`. Values are rebuilt as exact builtin types:
``None``, ``bool``, ``int``, ``float``, ``complex``, ``str``, ``bytes``, ``list``, ``tuple``, ``set``, ``frozenset`` and
``dict``; ``Counter``, ``OrderedDict``, ``defaultdict``, ``deque``, ``Decimal`` and ``Fraction`` as the real
standard-library types; what a builtin iterator yields as a :class:`Snapshot`; and subclasses of builtins
(namedtuples, ``class I(int)``) as their base value, so a subclass's lying ``__eq__`` never runs in the
harness. Other objects (custom classes, functions, modules) are rejected: a comparison in the harness only
ever runs trusted ``__eq__``.

The encoder runs in hostile code's process and may be tampered with; that is fine, because the decoder
accepts nothing but this tagged JSON grammar and builds plain builtin values from it (no ``eval``, no
pickle). Ints travel as hex (no 4300-digit limit), floats as ``repr`` (exact round trip, nan/inf too), strings
holding lone surrogates as their code points (``u``: JSON would pair two lone surrogates into one character).
What cannot arrive exactly is refused with a clear message rather than changed: a set or dict whose members
collapse as plain values (subclass members with their own ``__eq__``), or whose members share one hash
beyond :data:`MAX_SAME_HASH` (a hash-collision attack on the harness).

This module must stay standard-library only: it is copied into the sandbox next to ``runner.py``.
"""

from __future__ import annotations

MAX_DEPTH = 100
MAX_NODES = 1_000_000
MAX_ITEMS = 1_000_000
MAX_SAME_HASH = 16  # members of one set (keys of one dict) sharing a hash: more is a hash-collision attack


def _iter_types():
    d = {}
    types = {
        type(x)
        for x in (
            (i for i in ()),
            map(abs, ()),
            filter(None, ()),
            zip(),
            enumerate(()),
            reversed(()),
            range(0),
            d.keys(),
            d.values(),
            d.items(),
            iter(d),
            iter(d.values()),
            iter(d.items()),
            iter([]),
            iter(()),
            iter(set()),
            iter(""),
            iter(b""),
            iter(range(0)),
            reversed([]),
            reversed(range(0)),
        )
    }
    return frozenset(types)


ITER_TYPES = _iter_types()


class Snapshot(tuple):
    """What a builtin iterator (generator, map, zip, range, dict view, ...) yielded, in order.

    Iterating, sorting, ``list()``/``set()`` work as on the original iterator; equality is identity, as for
    the iterator itself, so ``f(x) == [1, 2]`` stays False when ``f`` returns a generator.
    """

    __slots__ = ()

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    __hash__ = tuple.__hash__

    def __repr__(self):
        return f"<iterator yielding {list(self)!r}>"


class CodecError(ValueError):
    """A value that cannot cross the boundary (wrong type, too deep, malformed)."""


def encode(value, _depth=0):
    """Return a JSON-able tagged tree for ``value`` or raise :class:`CodecError`."""
    if _depth > MAX_DEPTH:
        raise CodecError("value nested too deeply (or self-referential)")
    t = type(value)
    if value is None:
        return ["n"]
    if t is bool:
        return ["T"] if value else ["F"]
    if t is int:
        return ["i", format(value, "x")]
    if t is float:
        return ["f", repr(value)]
    if t is str:
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:  # lone surrogates: JSON would pair them up, so send the code points
                return ["u", value.encode("utf-8", "surrogatepass").hex()]
        return ["s", value]
    if t is bytes:
        return ["b", value.hex()]
    if t is complex:
        return ["c", repr(value.real), repr(value.imag)]
    d = _depth + 1
    if t is list:
        return ["l", [encode(v, d) for v in value]]
    if t is tuple:
        return ["t", [encode(v, d) for v in value]]
    if t is set:
        return ["S", [encode(v, d) for v in value]]
    if t is frozenset:
        return ["Z", [encode(v, d) for v in value]]
    if t is dict:
        return ["d", [[encode(k, d), encode(v, d)] for k, v in value.items()]]
    if t in ITER_TYPES or getattr(t, "__module__", None) == "itertools":
        items = []
        for v in value:
            if len(items) >= MAX_ITEMS:
                raise CodecError("iterator yielded too many items")
            items.append(encode(v, d))
        return ["I", items]
    special = STDLIB_TYPES.get((getattr(t, "__module__", None), getattr(t, "__qualname__", None)))
    if special is not None:
        return special(value, d)
    # Subclasses of builtins (namedtuples, str/int subclasses, ...) travel as their base value: the
    # subclass's own __eq__ never reaches the harness, so a lying subclass gains nothing.
    for base, tag in _BASES:
        if isinstance(value, base):
            return _BASE_ENCODERS[tag](value, _depth)
    raise CodecError(
        f"cannot compare a value of type {t.__name__!s:.80} outside the program "
        "(only builtin and a few standard-library values are accepted)"
    )


def _pairs(value, d):
    return [[encode(k, d), encode(v, d)] for k, v in dict.items(value)]


STDLIB_TYPES = {
    ("collections", "Counter"): lambda v, d: ["C", _pairs(v, d + 1)],
    ("collections", "OrderedDict"): lambda v, d: ["O", _pairs(v, d + 1)],
    ("collections", "defaultdict"): lambda v, d: ["D", _pairs(v, d + 1)],
    ("collections", "deque"): lambda v, d: ["Q", [encode(x, d + 1) for x in v]],
    ("decimal", "Decimal"): lambda v, d: ["M", str(v)],
    ("fractions", "Fraction"): lambda v, d: ["R", format(v.numerator, "x"), format(v.denominator, "x")],
}
_BASES = (
    (int, "i"),
    (float, "f"),
    (complex, "c"),
    (str, "s"),
    (bytes, "b"),
    (list, "l"),
    (tuple, "t"),
    (dict, "d"),
    (set, "S"),
    (frozenset, "Z"),
)
_BASE_ENCODERS = {
    "i": lambda v, depth: encode(int.__int__(v), depth),
    "f": lambda v, depth: encode(float.__float__(v), depth),
    "c": lambda v, depth: encode(
        complex(complex.__getattribute__(v, "real"), complex.__getattribute__(v, "imag")), depth
    ),
    "s": lambda v, depth: encode(str.__str__(v), depth),
    "b": lambda v, depth: encode(bytes(memoryview(v)), depth),
    "l": lambda v, depth: encode(list(list.__iter__(v)), depth),
    "t": lambda v, depth: encode(tuple(tuple.__iter__(v)), depth),
    "d": lambda v, depth: encode(dict(dict.items(v)), depth),
    "S": lambda v, depth: encode(set(set.__iter__(v)), depth),
    "Z": lambda v, depth: encode(frozenset(frozenset.__iter__(v)), depth),
}


def _float(text):
    if type(text) is not str or len(text) > 40:
        raise CodecError("malformed float")
    return float(text)


def check_hash_spread(members):
    """Raise :class:`CodecError` when many of ``members`` share one hash (building a set or dict of them
    would take quadratic time in the harness: ``{k * (2**61 - 1) for k in range(50_000)}``)."""
    counts = {}
    for member in members:
        h = hash(member)
        n = counts.get(h, 0) + 1
        if n > MAX_SAME_HASH:
            raise CodecError(
                f"more than {MAX_SAME_HASH} set members or dict keys share one hash (hash-collision attack?)"
            )
        counts[h] = n


def _collapsed(kind):
    return CodecError(
        f"the {kind} had members that are equal as plain values (subclasses of str/int/... "
        "with their own __eq__/__hash__?): it cannot be compared exactly outside the program"
    )


def uses_tags(tree, tags):
    """Whether an encoded tree contains a node tagged with one of ``tags`` (no decoding, iterative)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if type(node) is list and node:
            if type(node[0]) is str and node[0] in tags:
                return True
            stack.extend(x for x in node if type(x) is list)
    return False


def decode(tree):
    """Rebuild a value from :func:`encode`'s output; raise :class:`CodecError` on anything else."""
    budget = [MAX_NODES]

    def build(node, depth):
        budget[0] -= 1
        if budget[0] < 0:
            raise CodecError("value too large")
        if depth > MAX_DEPTH + 1:
            raise CodecError("value nested too deeply")
        if type(node) is not list or not node or type(node[0]) is not str:
            raise CodecError("malformed value")
        tag = node[0]
        n = len(node)
        try:
            if tag == "n" and n == 1:
                return None
            if tag == "T" and n == 1:
                return True
            if tag == "F" and n == 1:
                return False
            if tag == "i" and n == 2 and type(node[1]) is str and len(node[1]) <= 2_000_000:
                return int(node[1], 16)
            if tag == "f" and n == 2:
                return _float(node[1])
            if tag == "s" and n == 2 and type(node[1]) is str:
                return node[1]
            if tag == "u" and n == 2 and type(node[1]) is str:
                return bytes.fromhex(node[1]).decode("utf-8", "surrogatepass")
            if tag == "b" and n == 2 and type(node[1]) is str:
                return bytes.fromhex(node[1])
            if tag == "c" and n == 3:
                return complex(_float(node[1]), _float(node[2]))
            if tag == "M" and n == 2 and type(node[1]) is str and len(node[1]) <= 1000:
                import decimal

                return decimal.Decimal(node[1])
            if tag == "R" and n == 3 and all(type(x) is str and len(x) <= 100_000 for x in node[1:]):
                import fractions

                return fractions.Fraction(int(node[1], 16), int(node[2], 16))
            if len(tag) == 1 and tag in "ltSZdICODQ" and n == 2 and type(node[1]) is list:
                d = depth + 1
                if tag == "l":
                    return [build(v, d) for v in node[1]]
                if tag == "t":
                    return tuple(build(v, d) for v in node[1])
                if tag in "SZ":
                    members = [build(v, d) for v in node[1]]
                    check_hash_spread(members)
                    built = set(members) if tag == "S" else frozenset(members)
                    if len(built) != len(members):
                        raise _collapsed("set")
                    return built
                if tag == "I":
                    return Snapshot(build(v, d) for v in node[1])
                if tag == "Q":
                    import collections

                    return collections.deque(build(v, d) for v in node[1])
                pairs = []
                for pair in node[1]:
                    if type(pair) is not list or len(pair) != 2:
                        raise CodecError("malformed dict")
                    pairs.append((build(pair[0], d), build(pair[1], d)))
                check_hash_spread(k for k, _ in pairs)
                out = dict(pairs)
                if len(out) != len(pairs):
                    raise _collapsed("dict")
                if tag == "d":
                    return out
                import collections

                if tag == "C":
                    return collections.Counter(out)
                if tag == "O":
                    return collections.OrderedDict(out)
                return collections.defaultdict(None, out)
        except CodecError:
            raise
        except (ValueError, TypeError, OverflowError) as exc:  # unhashable key, bad hex, ...
            raise CodecError(f"malformed value: {exc}") from None
        raise CodecError("malformed value")

    try:
        return build(tree, 0)
    except RecursionError:
        raise CodecError("value nested too deeply") from None


def short_repr(value, limit=200):
    """``repr`` trimmed for error messages (values here are always builtin, so repr is safe)."""
    try:
        text = repr(value)
    except Exception as exc:  # e.g. int too large to print
        text = f"<{type(value).__name__}: {exc}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."
