"""Answer extraction shared by the verifiers: option letters, final-answer segments, numbers, free text.

Policy (documented once, used everywhere):
- A *final-answer marker* is ``Answer: X``, ``the (final/correct) answer is X``, ``So the answer is X``,
  ``Finish[X]``, the ReAct action ``Answer("X")`` / ``Answer(X)``, ``#### X`` or ``\\boxed{X}``. Markdown
  emphasis, backticks and ``\\text{}`` wrappers are ignored. A marker that quotes an earlier answer
  ("Previous answer: C", "my initial answer was") is not a final answer.
- The final committed answer wins: the marker that appears last decides. A *committed* marker (``Answer:``,
  ``Final answer``, ``So the answer is``, ``Finish[]``, ``Answer()``, ``####``, ``\\boxed{}``) that names no option
  ("Answer: None of the above") means no option was chosen; it is never a cue to search earlier text. A prose
  marker ("the closest answer is B, but ...") counts only if it names an option, or if it is on the last line.
- An option letter used as a variable (``D/(M-3)``, ``D-3``, ``f(D)``) is not an option; inside the final segment an
  explicit ``option A`` / ``choice A`` then names the option.
- Without a marker, a response that *is* an answer (``B``, ``(B)``, ``B.``, ``B) Paris``) counts, as does such a
  line at the end (or, failing that, the start) of the response; callers that follow the strict rule of the
  benchmark's authors (BBH: "So the answer is X") pass ``require_marker=True`` and get no answer instead.
- A final answer that names two different options (``A or C``, ``Finish[A, B]``, a first line ``A`` and a last
  line ``B``, two committed markers on the final line: ``Answer("B") and Answer("E")``) is ambiguous and never
  accepted. "final answer" in prose ("double-check your final answer.") is no marker: it needs ``is``, ``:`` or the
  end of its line.
- Bounded work: only the last ``PARSED_CHARS`` characters of a response are read (``clean`` keeps them; the final
  answer is at the end; ``tasks.guard`` notes the cut in the verdict); a marker's segment is at most ``SEGMENT_CHARS`` characters, a ``Finish[...]`` at most that long,
  the look-back for a quoting word is a few dozen characters, and only the last ``MAX_MARKERS`` markers are read, so
  extraction is linear in the response.
"""

from __future__ import annotations

import re
import string
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

# ----------------------------------------------------------------------------------------------- cleaning

PARSED_CHARS = 32_768  # the tail of a response that extraction reads
_EMPHASIS = re.compile(r"\*\*|__|`")
_TEXT_WRAPPER = re.compile(r"\\(?:text|textbf|mathrm|mathbf|texttt)\s*\{([^{}]*)\}")


def clean(text: str) -> str:
    """The last ``PARSED_CHARS`` characters, without markdown emphasis/backticks and LaTeX text wrappers; one minus
    sign."""
    text = _EMPHASIS.sub("", (text or "")[-PARSED_CHARS:])
    text = _TEXT_WRAPPER.sub(r"\1", text)
    return text.replace("\u2212", "-").replace("\u00a0", " ")


_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")


def _matching_braces(text: str) -> dict[int, int]:
    """Index of each ``{`` → index of its matching ``}``, in one pass (unclosed braces are absent)."""
    pairs, stack = {}, []
    for i, ch in enumerate(text):
        if ch == "{":
            stack.append(i)
        elif ch == "}" and stack:
            pairs[stack.pop()] = i
    return pairs


def boxed_spans(text: str) -> list[tuple[int, str]]:
    """(position, content) of every ``\\boxed{...}`` with balanced braces, in linear time (untrusted text)."""
    return [(pos, content) for pos, content, _ in _boxed(text[-PARSED_CHARS:])]


def _boxed(text: str) -> list[tuple[int, str, int]]:
    """(position, content, content start) of every balanced ``\\boxed{...}``."""
    matches = list(_BOXED.finditer(text))
    if not matches:
        return []
    pairs = _matching_braces(text)
    return [(m.start(), text[m.end() : pairs[m.end() - 1]], m.end()) for m in matches if m.end() - 1 in pairs]


def last_boxed(text: str) -> str | None:
    """Content of the last ``\\boxed{...}`` (or ``\\fbox{...}``), braces balanced; None if there is none."""
    text = text[-PARSED_CHARS:]
    spans = boxed_spans(text)
    if spans:
        return spans[-1][1]
    # "\boxed 5" (no braces)
    bare = list(re.finditer(r"\\boxed\s+([^\s$]+)", text))
    return bare[-1].group(1) if bare else None


# ----------------------------------------------------------------------------------------------- markers

SEGMENT_CHARS = 1000  # an answer segment never runs longer: the answer is at its start
MAX_MARKERS = 256  # only the last markers of a response are read: the final one decides
_LOOKBACK = 40  # characters before a marker searched for a quoting word ("Previous answer:")
_MARKER = re.compile(
    r"(?P<committed>\bso\s+the\s+answer\s+is|\b(?:my\s+|the\s+)?final\s+answer(?:\s*(?:is\b|:)|[ \t]*(?=\n|$))|"
    r"\banswer\s*[:：])|"
    r"(?P<prose>\bthe\s+(?:correct|right|best)\s+(?:answer|option|choice)\s+(?:is|would\s+be|should\s+be)|"
    r"\bthe\s+answer\s+(?:is|would\s+be|should\s+be)|\banswer\s+is)"
    r"\s*[:：=]?\s*",
    re.I,
)
# a marker preceded by one of these words quotes an earlier answer ("Previous answer: C"), it does not commit one
_QUOTED = re.compile(r"\b(?:previous|prior|earlier|original|initial|old|wrong|incorrect|first|last)\s*$", re.I)
_FINISH = re.compile(r"\bFinish\s*\[([^\]\n\[]{0,%d})\]" % SEGMENT_CHARS, re.I)
_ACTION = re.compile(r"\bAnswer\(\s*([^()\n]{0,200}?)\s*\)", re.I)  # ReAct: Answer("C"), Answer(C)
_HASHES = re.compile(r"####\s*")


@dataclass(frozen=True)
class Marker:
    """One final-answer marker: where it starts, the answer segment after it, and whether it commits an answer."""

    pos: int
    segment: str
    committed: bool
    last_line: bool = False
    start: int = -1  # where the segment starts in the cleaned text


def markers(text: str) -> list[Marker]:
    """Every final-answer marker in text order (see the module policy); quoted earlier answers are left out."""
    return _markers_of(clean(text))


def _markers_of(text: str) -> list[Marker]:
    """Markers of cleaned text; only the last ``MAX_MARKERS`` get segments (the last markers decide)."""
    found: list[tuple[int, str, Any]] = []
    for m in _MARKER.finditer(text):
        line_start = text.rfind("\n", max(0, m.start() - _LOOKBACK), m.start()) + 1
        if not _QUOTED.search(text, max(line_start, m.start() - _LOOKBACK), m.start()):
            found.append((m.start(), "marker", m))
    found += [(m.start(), "group", m) for m in _FINISH.finditer(text)]
    found += [(m.start(), "group", m) for m in _ACTION.finditer(text)]
    found += [(m.start(), "hashes", m) for m in _HASHES.finditer(text)]
    found += [(pos, "boxed", (content, start)) for pos, content, start in _boxed(text)]
    found.sort(key=lambda item: item[0])
    last_nl = text.rstrip().rfind("\n")
    out: list[Marker] = []
    for pos, kind, m in found[-MAX_MARKERS:]:
        if kind == "marker":
            seg, end = _line_from(text, m.end())
            start = m.end()
            if not seg.strip() and end >= 0:  # "Answer:\n(B)" -- the answer sits on the next line
                seg, _ = _line_from(text, end + 1)
                start = end + 1
            committed = m.group("committed") is not None
        elif kind == "group":
            seg, start, committed = m.group(1), m.start(1), True
        elif kind == "hashes":
            seg, start, committed = _line_from(text, m.end())[0], m.end(), True
        else:
            (seg, start), committed = m, True
        out.append(Marker(pos, seg, committed, pos > last_nl, start))
    return out


def _line_from(text: str, start: int) -> tuple[str, int]:
    """(the rest of the line from ``start``, at most ``SEGMENT_CHARS`` long; the index of its newline or -1)."""
    stop = min(len(text), start + SEGMENT_CHARS)
    end = text.find("\n", start, stop)
    return text[start : end if end >= 0 else stop], end


def marker_segments(text: str) -> list[tuple[int, str]]:
    """(position, segment) for every final-answer marker, in text order; a segment runs to the end of its line."""
    return [(mk.pos, mk.segment) for mk in markers(text)]


def final_segment(text: str, require_marker: bool = False) -> tuple[str | None, str]:
    """The last final-answer segment, else (unless ``require_marker``) the last non-empty line; (segment, source)."""
    segs = [s for _, s in marker_segments(text) if s.strip()]
    if segs:
        return segs[-1].strip(), "marker"
    if require_marker:
        return None, "none"
    lines = [ln.strip() for ln in clean(text).splitlines() if ln.strip()]
    if lines:
        return lines[-1], "last_line"
    return None, "none"


# ----------------------------------------------------------------------------------------------- letters


@dataclass(frozen=True)
class Choice:
    """The option letter(s) a response gives as its final answer."""

    letters: tuple[str, ...] = ()
    source: str = "none"  # marker | marker_option | marker_without_option | last_line | first_line | option_text | none
    segment: str | None = None

    @property
    def letter(self) -> str | None:
        return self.letters[0] if len(self.letters) == 1 else None

    @property
    def ambiguous(self) -> bool:
        return len(self.letters) > 1


def _letter_pattern(letters: str) -> str:
    return f"[{letters}{letters.lower()}]"


_QUOTES = "\"'\u201c\u201d\u2018\u2019"
# a letter followed by an operator and no second option letter is a variable: "D/(M-3)", "D-3", "f(D)", "D(x)"
_VARIABLE_TAIL = re.compile(r"\s*[/*^=+\u00d7\u00f7<>]\s*(?![A-Za-z][.)\],;:/&\s]|[A-Za-z]$|\([A-Za-z]\))|-[\w(]|[(\[]")


def _parse_letters(segment: str, letters: str, strict: bool) -> list[str]:
    """Letters named at the start of ``segment``: ``B``, ``(B)``, ``[B]``, ``B.``, ``"B"``, ``A or C``, ``A, B and D``.

    A bare letter must be followed by punctuation, a connector or the end when ``strict`` (no marker: so that
    "A farmer ..." does not count), when it is lower case ("the answer is a bit ..."), or when it is not the first.
    A bare letter followed by an operator (``D/(M-3)``) is a variable, not an option.
    """
    allowed = _letter_pattern(letters)
    token = re.compile(
        r"\s*[%s]?\s*(?:(?:option|choice)\s*)?(?:\((?P<a>%s)\)|\[(?P<b>%s)\]|(?P<c>%s)(?![A-Za-z0-9]|['\u2019][A-Za-z]))"
        % (_QUOTES, allowed, allowed, allowed),
        re.I,
    )
    clean_end = re.compile(r"[%s]?(?:\s*(?:[.):,;/&!?]|$)|\s+(?:or|and)\b)" % _QUOTES, re.I)
    connector = re.compile(r"[%s]?[.)\]:]?[%s]?\s*(?:(?:,|/|&|\+|;|\bor\b|\band\b)\s*)?" % (_QUOTES, _QUOTES), re.I)
    seg = segment.strip().lstrip(":\uff1a=").strip().strip("$").strip()
    found: list[str] = []
    pos = 0
    while pos < len(seg):
        m = token.match(seg, pos)
        if not m:
            break
        letter = m.group("a") or m.group("b") or m.group("c")
        if m.group("c") is not None:
            if (strict or letter.islower() or found) and not clean_end.match(seg, m.end()):
                break
            if _VARIABLE_TAIL.match(seg, m.end()):
                return [] if not found else list(dict.fromkeys(found))
        found.append(letter.upper())
        pos = connector.match(seg, m.end()).end()
    return list(dict.fromkeys(found))


_NAMED_OPTION = re.compile(r"\b(?:option|choice)\s*(?:\((?P<a>[A-Za-z])\)|(?P<b>[A-Z])(?![A-Za-z0-9'\u2019]))", re.I)


def _named_options(segment: str, letters: str) -> list[str]:
    """Letters named explicitly as ``option X`` / ``choice X`` anywhere in the segment ("..., which is option A")."""
    found = []
    for m in _NAMED_OPTION.finditer(segment):
        letter = (m.group("a") or m.group("b")).upper()
        if m.group("b") and m.group("b").islower():
            continue
        if letter in letters.upper():
            found.append(letter)
    return list(dict.fromkeys(found))


def _norm_option(text: str) -> str:
    return " ".join(normalize_text(text).split())


def extract_choice(
    response: str, letters: str = "ABCD", options: dict[str, str] | None = None, require_marker: bool = False
) -> Choice:
    """The option letter(s) the response gives as its final answer (see the module policy)."""
    text = clean(response)
    found_markers = [mk for mk in markers(text) if mk.segment.strip()]
    for i in range(len(found_markers) - 1, -1, -1):
        mk = found_markers[i]
        seg = mk.segment
        found = _parse_letters(seg, letters, strict=False)
        if found:
            return Choice(tuple(_hedged(found, found_markers, i, text, letters)), "marker", seg.strip())
        if options:
            by_text = _match_option_text(seg, options)
            if by_text:
                return Choice(by_text, "option_text", seg.strip())
        named = _named_options(seg, letters)
        if named:
            return Choice(tuple(named), "marker_option", seg.strip())
        # a committed final answer that names no option is no answer, not a cue to search earlier text; so is a
        # prose one on the last line unless an earlier committed answer exists ("Answer: B ... the answer is right")
        if mk.committed or (mk.last_line and not any(m.committed for m in found_markers[:i])):
            return Choice((), "marker_without_option", seg.strip())
    if require_marker:
        return Choice()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return Choice()
    last = _parse_letters(lines[-1], letters, strict=True)
    first = _parse_letters(lines[0], letters, strict=True) if len(lines) > 1 else []
    if last and first and set(last) != set(first):
        return Choice(tuple(dict.fromkeys(first + last)), "first_and_last_line", None)
    if last:
        return Choice(tuple(last), "last_line", lines[-1])
    if first:
        return Choice(tuple(first), "first_line", lines[0])
    if options:
        for line in (lines[-1], lines[0]):
            by_text = _match_option_text(line, options)
            if by_text:
                return Choice(by_text, "option_text", line)
    return Choice()


def _hedged(found: list[str], found_markers: list[Marker], i: int, text: str, letters: str) -> list[str]:
    """The deciding marker's letters plus those of every other committed marker on its line (``Answer("B") and
    Answer("E")`` commits two letters: a hedge, so ambiguous)."""
    pos = found_markers[i].pos
    line_start = text.rfind("\n", 0, pos) + 1
    out = list(found)
    for mk in reversed(found_markers[:i]):
        if mk.pos < line_start:
            break
        if mk.committed:
            out.extend(_parse_letters(mk.segment, letters, strict=False))
    return list(dict.fromkeys(out))


def _match_option_text(segment: str, options: dict[str, str]) -> tuple[str, ...]:
    seg = _norm_option(segment)
    if not seg:
        return ()
    exact = tuple(k for k, v in options.items() if _norm_option(v) and _norm_option(v) == seg)
    return exact


OPTION_LINE = re.compile(r"^\s*(?:\(([A-Z])\)|([A-Z])[.)\uff0e])\s*(.*)$")


def parse_options(text: str) -> dict[str, str]:
    """``{letter: text}`` from option lines ``A. foo`` / ``(A) foo`` / ``A) foo``; a repeated letter starts a new
    list (the last list wins), so option lists are found even when upstream data has them out of order."""
    opts: dict[str, str] = {}
    for line in text.splitlines():
        m = OPTION_LINE.match(line)
        if not m:
            continue
        letter = m.group(1) or m.group(2)
        if letter in opts:
            opts = {}
        opts[letter] = m.group(3).strip()
    return dict(sorted(opts.items()))


# ----------------------------------------------------------------------------------------------- numbers

_NUMBER = re.compile(r"(?<![\w.])-?(?:\$\s?)?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/\d+)?%?|(?<![\w.])-?\.\d+")


def parse_number(text: str) -> Fraction | None:
    """``'$1,234.50'`` → 2469/2; ``'3/4'`` → 3/4; ``'-7.'`` → -7; None if not a number."""
    s = text.strip().replace("$", "").replace(",", "").replace(" ", "").rstrip(".").rstrip("%")
    s = s.replace("\u2212", "-")
    if not s:
        return None
    try:
        return Fraction(s)
    except (ValueError, ZeroDivisionError):
        return None


def numbers_in(text: str) -> list[str]:
    return [m.group(0) for m in _NUMBER.finditer(clean(text))]


def extract_number(response: str) -> tuple[Fraction | None, str | None, str]:
    """(value, matched text, source): ``#### N``, then ``\\boxed{N}``, then an answer marker, then the last number."""
    text = clean(response)
    hashes = [m.group(1)[:SEGMENT_CHARS] for m in re.finditer(r"####[ \t]*([^\n]*)", text)]
    candidates: list[tuple[str, str]] = []
    if hashes:
        candidates.append((hashes[-1], "####"))
    boxed = last_boxed(text)
    if boxed is not None:
        candidates.append((boxed, "boxed"))
    seg = _last_numeric_segment(clean(text))
    if seg is not None:
        if "=" in seg:
            seg = seg.rsplit("=", 1)[1]
        candidates.append((seg, "marker"))
    for seg, source in candidates:
        nums = numbers_in(seg)
        if nums:
            value = parse_number(nums[0])
            if value is not None:
                return value, nums[0].strip(), source
    nums = numbers_in(text)
    for raw in reversed(nums):
        value = parse_number(raw)
        if value is not None:
            return value, raw.strip(), "last_number"
    return None, None, "none"


def _last_numeric_segment(text: str) -> str | None:
    """The last marker segment that holds a number: the numbers of the text are found once (segments overlap, so
    searching each segment would read a line of 5,000 markers 5,000 times)."""
    starts = [m.start() for m in _NUMBER.finditer(text)]
    for mk in reversed(_markers_of(text)):
        i = bisect_left(starts, mk.start)
        if i < len(starts) and starts[i] < mk.start + len(mk.segment) and numbers_in(mk.segment):
            return mk.segment
    return None


def format_number(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    as_float = float(value)
    return (
        f"{as_float:g}"
        if Fraction(as_float).limit_denominator(10**6) == value
        else f"{value.numerator}/{value.denominator}"
    )


# ----------------------------------------------------------------------------------------------- free text

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation) | {"\u2018", "\u2019", "\u201c", "\u201d"}


def normalize_text(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = clean(text).lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD token F1 between two strings (after normalisation)."""
    pred, ref = normalize_text(prediction).split(), normalize_text(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = Counter(pred) & Counter(ref)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def best_f1(prediction: str, golds: Iterable[str]) -> float:
    return max((token_f1(prediction, g) for g in golds), default=0.0)


def strip_answer_wrappers(segment: str) -> str:
    """``'"fisheye".'`` → ``fisheye``: surrounding quotes, brackets, ``$`` and the final full stop."""
    s = segment.strip()
    for _ in range(3):
        s = s.strip().strip("$").strip()
        if len(s) >= 2 and s[0] + s[-1] in ('""', "''", "()", "[]", "“”", "‘’"):
            s = s[1:-1]
        s = s.rstrip(".").strip()
    return s
