"""Clarifying questions: find them in a message and match each to the case's fact keys by meaning."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from agent.grading.coverage import Embedder, cue_pattern
from agent.grading.text import normalize
from knowledge.corpus import Case

SIM_FACT = 0.55
"""A question piece this similar to one of a fact's `asked_as` phrases asks for that fact."""
SIM_MARGIN = 0.03
"""How far the best fact must lead the best other fact for an embedding-only match."""

_SPLIT = re.compile(r"(?<=[?.!])\s+|\n+")
_PIECES = re.compile(
    r"\s*(?:,(?!\s*or\b)|;|\s\+\s|\band\s+(?=what|how|who|where|when|which|is|are|do|does|can|any)|\balso\b|\bplus\b)\s*"
)
_INTERROGATIVE = re.compile(
    r"^(?:so\s+|and\s+|also\s+|ok(?:ay)?\s+|first(?:ly)?\s*,?\s+)?"
    r"(?:what|what's|whats|how|who|where|when|which|why|is|are|was|were|do|does|did|can|could|should|would|will|may|"
    r"(?:roughly|approximately)\s+(?:how|what|which)|any)\b"
)
_REQUEST = re.compile(
    r"\b(?:tell me|i'?d like to know|i would like to know|could you (?:share|tell)|can you (?:share|tell)|"
    r"do we know|wondering|curious (?:about|how|what|whether)|need to know|"
    r"(?:could|can) you give me|give me (?!a (?:minute|moment|second|sec)\b|time\b)|please (?:share|give))\b"
)
_ASSUMPTION = re.compile(
    r"\b(?:assuming|assumptions?|let'?s say|suppose|i'?ll take|i will take|i guess)\b|"
    r"(?:^|\b(?:i|i'?ll|i'?d|we|we'?ll|we'?d|let'?s|let me|i will|i would|i'?m going to)\s+"
    r"(?:also |just |then )?)assume\b"
)
"""A stated assumption by the candidate ("I'll assume 10k QPS"), not a verb of the design ("the costs assume ...")."""
_CONFIRM = re.compile(
    r"\b(?:tell\s+me|let\s+me\s+know)\s+if\s+(?:i|i've|i\s+have|anything|something|that'?s)\b|\bcorrect\s+me\s+if\b"
    r"|\bdoes\s+that\s+(?:sound|match|look)\s+right\b"
    r"|\bcorrect\s+(?:anything|whatever|where)\s+(?:i|i've|i\s+have)\b|\banything\s+i\s+(?:misheard|got\s+wrong)\b"
)
"""Asking to check the candidate's own numbers: that sentence and the numbered ones right after it are assumptions
to confirm ("Here's my picture; correct anything I misheard. 50 million daily users ..."), not requests."""
_DESIGN_CHOICE = re.compile(
    r"\b(?:(?:should|shall|must)\s+(?:i|we)|do\s+you\s+want\s+(?:me|us)|would\s+you\s+(?:prefer|like|rather|use|pick|"
    r"choose)|(?:is\s+it|would\s+it\s+be)\s+(?:ok|okay|fine|better|acceptable|alright)|which\s+(?:model|approach|"
    r"algorithm|architecture|loss|metric|method|one|option|database|framework|split|features?|label)|"
    r"what\s+(?:model|approach|algorithm|architecture|loss|metric|method|threshold)\s+(?:should|would|do)|"
    r"can\s+(?:i|we)\s+(?:use|just|go\s+with|pick|choose)|how\s+(?:should|would)\s+(?:i|we)|"
    r"what\s+would\s+you\s+(?:do|choose|use|pick))\b"
)
_STOP = frozenset(
    """a an the of to in on for and or is are was were be do does did we i you our your it its this that these those
    what whats how who where when which why can could should would will may much many there their them they
    have has had any some about roughly approximately like know tell me us please so also ok okay first need
    want get use used using with at by from as if into per each every just really rough typical expected current
    currently assume assuming say let lets""".split()  # noqa: SIM905
)


@dataclass(frozen=True)
class AskedFact:
    """A fact key a question asks for, and how the match was made."""

    key: str
    how: str
    score: float


@dataclass
class Question:
    """One clarifying question (or stated assumption) of a message and the facts it asks for."""

    text: str
    facts: list[AskedFact] = field(default_factory=list)
    design_choice: bool = False
    assumption: bool = False
    topic: str = ""


GENERIC_ASKED_AS: dict[str, tuple[str, ...]] = {
    "users": (
        "how many people use it",
        "scale",
        "how many users",
        "number of users",
        "daily users",
        "monthly users",
        "how many customers",
        "size of the user base",
        "how big is the audience",
    ),
    "qps": (
        "requests per second",
        "scale",
        "how many requests",
        "load",
        "throughput",
        "how much traffic",
        "peak traffic",
        "how many per second",
        "how many per day",
        "how many come in",
        "volume per day",
        "how much per second",
        "request rate",
        "peak rate",
        "how often do they refresh",
        "how many loads a day",
    ),
    "latency": (
        "how fast",
        "how quickly must it respond",
        "response time budget",
        "time budget",
        "milliseconds",
        "how quickly does it have to come back",
        "real time or batch",
        "offline batch or online",
        "how long can it take",
        "time limit per request",
        "how long per request",
        "server-side budget",
    ),
    "data": ("what data do we have", "what is logged", "data available", "historical data"),
    "labels": (
        "how do we get labels",
        "ground truth labels",
        "annotations",
        "what counts as a positive",
        "how many labelled examples",
        "how soon do we know the outcome",
        "label delay",
    ),
    "business_goal": (
        "what is the goal",
        "why are we building this",
        "what does success look like for the business",
        "business objective",
        "what problem are we solving",
        "what is the business after",
        "what are we trying to achieve",
        "what pain are we trying to fix",
        "what do we want it to achieve",
        "what are we hoping to get out of it",
        "what is leadership hoping for",
        "why are we doing this now",
        "what is the aim",
        "what are we judged on",
        "what will we be measured on",
        "how does the platform make money from this",
        "how does the money work here",
    ),
    "constraints": ("any constraints", "limitations", "rules we must follow", "requirements we must respect"),
    "catalogue": (
        "how many items",
        "catalog size",
        "inventory size",
        "number of items",
        "size of the library",
        "how many things would we search over",
    ),
    "existing_system": (
        "what do we have today",
        "what is running now",
        "what runs today and how well",
        "current system",
        "engineers",
        "how big is the team",
        "what is in place today",
        "what does the current one achieve",
        "what exists currently",
    ),
    "success_metric": ("how do we measure success", "success criteria", "what metric matters"),
}
"""Generic ways to ask for the standard fact keys, added to every case's own asked_as phrases."""

_PHRASES: dict[tuple[int, str], tuple[list[str], npt.NDArray[np.float32]]] = {}
_PATTERNS: dict[str, list[tuple[str, re.Pattern[str]]]] = {}


def _phrases(case: Case) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for fact in case.facts:
        rows.append((fact.key, fact.key.replace("_", " ")))
        rows.extend((fact.key, phrase) for phrase in fact.asked_as)
        rows.extend((fact.key, phrase) for phrase in GENERIC_ASKED_AS.get(fact.key, ()))
    return rows


def fact_patterns(case: Case) -> list[tuple[str, re.Pattern[str]]]:
    """(fact key, compiled asked_as pattern) for every phrase of the fact sheet (cached per case)."""
    if case.id not in _PATTERNS:
        _PATTERNS[case.id] = [(key, cue_pattern(phrase)) for key, phrase in _phrases(case)]
    return _PATTERNS[case.id]


def fact_embeddings(case: Case, embedder: Embedder) -> tuple[list[str], npt.NDArray[np.float32]]:
    """Fact key per row and the embeddings of every asked_as phrase (cached per embedder and case)."""
    cache_key = (id(embedder), case.id)
    if cache_key not in _PHRASES:
        rows = _phrases(case)
        _PHRASES[cache_key] = ([k for k, _ in rows], embedder.embed([p for _, p in rows]))
    return _PHRASES[cache_key]


_RELATIVE = re.compile(r"^(?:what|how|where|when|why|which)\s+(?:i|i'd|i'll|i'm|i've|we'd|we'll|we're|you'd)\b")
"""An opening that starts a statement, not a question ("what I'd do first is ...")."""
_FRONTED_STATEMENT = re.compile(
    r"^(?:how|what|where|when|why|which)\s+(?:it|this|that|they|the\s+\w+)\s+(?:\w+\s+){0,3}?"
    r"(?:gets?|is|are|runs?|works?|happens?)\b.*\b(?:i'd|i\s+would|i'll|i\s+will|we'd|we'll|i'm|i\s+am)\b"
)
"""A statement whose object comes first ("How it gets deployed, I'd leave to the infra folks")."""
_PSEUDO_CLEFT = re.compile(
    r"^what\s+(?:\w+\s+){0,4}?(?:wants?|needs?|cares?\s+about|matters?(?:\s+most)?|counts?|drives?|decides?)\s+"
    r"(?:here\s+|most\s+)?(?:is|are)\b"
)
"""A statement that names its subject with 'what' ("What the business wants is more purchases per search")."""


_TAG_QUESTION = re.compile(r",\s*(?:right|no|yeah|eh|isn'?t\s+it|don'?t\s+they|aren'?t\s+they|huh)\?$")
"""A statement with a tag ("nobody clicks them, right?"): it asks nothing unless it checks a number."""


_FIRST_PERSON = re.compile(r"\b(?:i|i'?d|i'?ll|i'?m|i'?ve|we|we'?d|we'?ll|let'?s|my|our|us)\b")
_INNER_ASK = re.compile(
    r"(?:^|[,;+]\s*|\s\+\s)(?:what|what's|whats|how\s+(?:many|much|big|bad|good|often|long|fast))\b"
)
_STATING = re.compile(
    r"\b(?:is|are|was|were|be|matters?|should|must|needs?|will|would|can|could|dominates?|comes?|goes?|drives?|"
    r"seems?|looks?|means?|sounds?|makes?|has|have|wins?|beats?|works?|fits?|helps?)\b"
)
_BULLET = re.compile(r"^\s*(?:[-*\u2022>]+|\d{1,2}[.)])\s+")
"""A list marker in front of a line ("- what's live today", "3) latency?")."""
TERSE_WORDS = 30
"""A message this short, with no first person, may ask in bare fragments ("qps for the eta calls + latency")."""


def _terse_ask(case: Case, sentence: str, message: str, asks_elsewhere: bool) -> bool:
    """True for a bare fragment that asks for facts in a short chat message ("orders/day, how many cities, DAU").

    It must name a fact of the case, carry no number (a number states an assumption), no heading and no
    first person, and either sit next to a real question or contain an interrogative after a comma or "+".
    """
    norm, whole = _BULLET.sub("", normalize(sentence)), normalize(message)
    if any(p.match(norm) for p in (_RELATIVE, _FRONTED_STATEMENT, _PSEUDO_CLEFT)):
        return False  # "what the business wants is more purchases": a statement
    if len(whole.split()) > TERSE_WORDS or _FIRST_PERSON.search(whole) or re.search(r"\d|:", norm):
        return False
    if _INNER_ASK.search(norm):
        return True
    if not any(h.how == "pattern" for h in _pattern_hits(case, norm)):
        return False
    return not _STATING.search(norm) and (asks_elsewhere or len(norm.split()) <= 15)


def is_question(sentence: str) -> bool:
    """True when a sentence asks something (a question mark, an interrogative opening or a request)."""
    text = _BULLET.sub("", normalize(sentence))
    if _TAG_QUESTION.search(text) and not re.search(r"\d", text) and not _INTERROGATIVE.match(text):
        return False
    if text.endswith("?"):
        return True
    if "?" not in text and re.match(r"^[^:]{3,60}:\s*\S+\s+\S+", text) and _INTERROGATIVE.match(text):
        return False  # asked and answered by the candidate: "why not a deep net: tabular data, 4 engineers"
    opening = bool(_INTERROGATIVE.match(text)) and not any(
        p.match(text) for p in (_RELATIVE, _FRONTED_STATEMENT, _PSEUDO_CLEFT)
    )
    return opening or bool(_REQUEST.search(text))


def _pattern_hits(case: Case, text: str) -> list[AskedFact]:
    spans: list[tuple[int, int, str]] = []
    for key, pattern in fact_patterns(case):
        for m in pattern.finditer(text):
            spans.append((m.start(), m.end(), key))
    counts = {k: sum(1 for s in spans if s[2] == k) for _, _, k in spans}
    spans.sort(key=lambda s: (-(s[1] - s[0]), -counts[s[2]], s[0]))
    accepted: list[tuple[int, int, str]] = []
    for start, end, key in spans:
        if not any(start < a[1] and a[0] < end for a in accepted):
            accepted.append((start, end, key))
    found: list[AskedFact] = []
    for start, end, key in sorted(accepted):
        matched = text[start:end]
        weak = not re.search(r"[\s\-_/]", matched.strip()) and not (_stems(matched) & _stems(key.replace("_", " ")))
        if key not in [f.key for f in found]:
            found.append(AskedFact(key, "weak-pattern" if weak else "pattern", 0.5 if weak else 1.0))
    return found


def _embedding_hits(
    pieces: list[str],
    keys: list[str],
    phrase_emb: npt.NDArray[np.float32],
    piece_emb: npt.NDArray[np.float32],
    floor: float = SIM_FACT,
) -> list[AskedFact]:
    found: list[AskedFact] = []
    sims = piece_emb @ phrase_emb.T
    for row in sims:
        best: dict[str, float] = {}
        for key, sim in zip(keys, row, strict=True):
            best[key] = max(best.get(key, -1.0), float(sim))
        ranked = sorted(best.items(), key=lambda kv: -kv[1])
        top_key, top = ranked[0]
        runner = ranked[1][1] if len(ranked) > 1 else -1.0
        if top >= floor and top - runner >= SIM_MARGIN and top_key not in [f.key for f in found]:
            found.append(AskedFact(top_key, "embedding", round(top, 3)))
    return found


SIM_SURE = 0.65
"""An embedding match this close decides a piece on its own."""
SIM_FACT_EXTRA = 0.62
"""A piece already matched by a phrase may ask for one more fact only when this similar to it."""
_COORDINATED = re.compile(r"\bhow\s+(many|much)\s+(?:[\w-]+\s+){1,2}?(?:and|or)\s+([\w-]+)")
_LEX: dict[str, tuple[dict[str, set[str]], dict[str, float]]] = {}


def _stem(word: str) -> str:
    """A crude stem that makes 'labelled', 'labels' and 'labeling' one word."""
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]
    for suffix in ("lled", "lling", "led", "ling", "ed", "ing"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)] + ("l" if suffix.startswith("ll") else "")
            break
    return word[:7]


def _stems(text: str) -> set[str]:
    return {_stem(w) for w in re.findall(r"[a-z][a-z0-9]+", normalize(text)) if w not in _STOP and len(w) > 2}


def _lexicon(case: Case) -> tuple[dict[str, set[str]], dict[str, float]]:
    """Per fact key, the stems of its name and asking phrases; per stem, how rare it is across keys."""
    if case.id not in _LEX:
        vocab: dict[str, set[str]] = {}
        for key, phrase in _phrases(case):
            vocab.setdefault(key, set()).update(_stems(phrase))
        df: dict[str, int] = {}
        for words in vocab.values():
            for w in words:
                df[w] = df.get(w, 0) + 1
        _LEX[case.id] = (vocab, {w: math.log(1 + len(vocab) / n) for w, n in df.items()})
    return _LEX[case.id]


def _lexical_hit(case: Case, piece: str) -> AskedFact | None:
    """The fact key whose asking words a piece shares most (rare words weigh more), when it clearly leads.

    A key needs two shared words, or one word of its own name ("business", "labels"), to be considered.
    """
    vocab, idf = _lexicon(case)
    words = _stems(piece)
    scores: dict[str, float] = {}
    for key, known in vocab.items():
        shared = words & known
        name = _stems(key.replace("_", " "))
        if len(shared) >= 2 or shared & name:
            scores[key] = sum(idf[w] for w in shared) + 0.5 * len(shared & name) / max(1, len(name))
    if not scores:
        return None
    ranked = sorted(scores.items(), key=lambda kv: -kv[1])
    top_key, top = ranked[0]
    runner = ranked[1][1] if len(ranked) > 1 else 0.0
    if top >= LEX_MIN and top - runner >= LEX_MARGIN:
        return AskedFact(top_key, "words", round(top, 3))
    return None


LEX_MIN = 1.5
"""The least word score (summed rarity of shared words) for a word-only match."""
LEX_MARGIN = 0.4
"""How far the best key must lead the next for a word-only match."""


_VAGUE = frozenset(
    """company business team kind kinds sort type types something anything thing things just more less really actually
    typically usually after before else even still already going doing done make made there here right now today
    exactly roughly looking working towards toward other others one ones side part bit lot""".split()  # noqa: SIM905
)
"""Words that make a poor topic name ('is the company after time spent?' is about time spent, not the company)."""


_COUNTED = re.compile(
    r"\b(?:how\s+many|how\s+much|number\s+of|what\s+(?:percentage|fraction|share|proportion)\s+of)\s+"
    r"((?:[a-z][a-z0-9-]*\s+){0,2}[a-z][a-z0-9-]*)"
)
"""The thing a quantity question counts ('how many graphics cards can I ...' -> 'graphics cards can')."""


def topic_of(text: str) -> str:
    """A short snake_case topic for a question that matches no fact ('how many languages?' -> 'languages')."""
    counted = _COUNTED.search(normalize(text))
    if counted:
        words = []
        for w in counted.group(1).split():  # the leading run of content words: 'users actually link' -> 'users'
            if w in _STOP or len(w) <= 2 or w in _VAGUE:
                break
            words.append(w)
        if words:
            return "_".join(words[:2])
    words = [w for w in re.findall(r"[a-z][a-z0-9\-]+", normalize(text)) if w not in _STOP and len(w) > 2]
    return "_".join([w for w in words if w not in _VAGUE][:2] or words[:2]) or "detail"


def content_words(text: str) -> set[str]:
    """The content words of a text (lower-case, stop words removed, crude singular)."""
    words = {w for w in re.findall(r"[a-z][a-z0-9]+", normalize(text)) if w not in _STOP and len(w) > 2}
    return {w[:-1] if w.endswith("s") and len(w) > 4 else w for w in words}


_TODAY = r"(?:today|currently|now|right\s+now|as\s+of\s+now|for\s+now|at\s+the\s+moment|at\s+present|these\s+days)"
_INTENTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "new_users",
        re.compile(
            r"\b(?:brand[\s-]new|newly\s+(?:joined|signed)|new\s+(?:users?|members?|accounts?|sign[\s-]?ups?|viewers?|"
            r"customers?|players?)|sign(?:ed)?[\s-]?ups?|(?:joined|registered)\s+(?:recently|in\s+the\s+last)|"
            r"recently\s+(?:joined|registered)|first[\s-]time\s+(?:users?|visitors?|viewers?)|"
            r"(?:users?|members?|people)\b.{0,30}\bare\s+(?:brand\s+)?new|never\s+(?:registered|bought|booked|signed))\b"
        ),
    ),
    (
        "users",
        re.compile(
            r"\bhow\s+many\s+(?:(?:daily|monthly|weekly|active|distinct|unique)\s+)*(?:people|users|members|customers|"
            r"accounts|visitors|viewers|buyers|shoppers|guests|players|readers|subscribers)\b"
            r"(?!.*\b(?:per\s+(?:second|minute|hour)|brand[\s-]new|new)\b)"
        ),
    ),
    (
        "existing_system",
        re.compile(
            r"^(?!.*\b(?:data|logs?|labels?|traffic|latency|budget|how\s+(?:many|much|long|fast|quickly))\b)"
            r".*(?:\bhow\s+(?:is|are|do|does)\b(?!\s+(?:users?|people|customers|members|viewers|buyers|riders|drivers)\b)|\b(?:what|who|anything|something)\b.{0,40}\b(?:run\w*|order\w*|"
            r"sort\w*|show\w*|rank\w*|power\w*|fill\w*|blur\w*|do(?:es|ing)?|handl\w*|serv(?:e|es|ing)|decid\w*|"
            r"catch\w*|filter\w*|flag\w*|block\w*|us(?:e|ed|ing)|work\w*|happen\w*|generat\w*|produc\w*|pick\w*|"
            r"choos\w*|suggest\w*|recommend\w*|moderat\w*|detect\w*|predict\w*|estimat\w*|match\w*|comput\w*|"
            r"calculat\w*|done|made|set\s+up|solv\w*|in\s+place|exist\w*|built|live|stand\w*))\b.{0,40}\b"
            + _TODAY
            + r"\b"
            r"|\b(?:current|existing|present)\s+[\w-]+(?:\s+[\w-]+)?\s+(?:do|does|work|use|achieve)\b"
            r"|\b(?:is\s+there|do\s+we\s+have)\s+(?:any|a|an)\s+(?:[\w-]+\s+){0,2}?(?:today|now|currently|already|"
            r"in\s+place)\b"
        ),
    ),
    (
        "business_goal",
        re.compile(
            r"\b(?:optimi[sz]\w*|minimi[sz]\w*|maximi[sz]\w*)\b"
            r"|\b(?:company|business|product|we|they|you)\s+(?:is\s+|are\s+|really\s+)*(?:after|chasing|aiming\s+(?:at|for))\b"
            r"|\bmore\s+[\w-]+(?:\s+[\w-]+){0,2}\s+or\s+(?:more|fewer|less|better)\b"
            r"|\bwant\b.{0,40}\bto\s+(?:grow|increase|improve|drive|move|boost|raise|lift)\b"
            r"|\bwhat\s+(?:should|do|does|would|will|are)\b.{0,40}\b(?:grow|increase|improve|boost|lift)\b"
            r"(?!.*\b(?:latency|accuracy|recall|precision|model)\b)"
            r"|\bwhat(?:'s|\s+is)\s+the\s+(?:goal|objective|point|aim|purpose)\b"
            r"|^what(?:'s|\s+is|\s+are)\s+(?:the\s+|this\s+|these\s+)?[\w-]+(?:\s+[\w-]+)?\s+(?:used\s+)?for$"
            r"|\b(?:trying|aiming|meant|supposed)\s+to\b[^?]*\bor\b|\bcare\s+(?:more\s+)?about\b[^?]*\bor\b"
            r"|\bcounts?\s+against\b"
            r"|\bhoping\b.{0,30}\b(?:moves?|changes?|improves?|achieves?|gets?)\b"
            r"|\bwhat(?:'s|\s+is)\s+(?:really\s+)?driving\s+(?:this|the\s+project|it)\b"
            r"|\bwhat(?:'s|\s+is)\s+(?:actually\s+|really\s+)?hurting\b|\bwhat\s+changed\s+for\s+the\s+(?:company|business)\b"
            r"|\bwhich\s+(?:number|metric)\s+(?:is|does|would|should)\s+the\s+(?:business|company)\b"
            r"|\bwhy\s+(?:is\s+this\s+(?:on\s+the\s+roadmap|a\s+priority)|are\s+we\s+(?:doing|building)\s+this)\b"
            r"|\bwhat\s+(?:are\s+we|we're)\s+(?:actually\s+|really\s+)?trying\s+to\s+(?:move|improve|achieve|fix|change)\b"
        ),
    ),
    (
        "constraints",
        re.compile(
            r"\b(?:forbidden|not\s+allowed|(?:are|is)\s+(?:we\s+)?allowed\s+to|must\s+never|off[\s-]limits|"
            r"hard\s+(?:ceiling|limits?|rules?|constraints?)|business\s+rules?|regulat\w*|legal(?:ly)?\s+(?:required|bound)|"
            r"card[\s-]scheme|compliance|(?:rules?|constraints?)\s+(?:about|on|around|that|the\s+\w+\s+(?:has|have|must))|"
            r"(?:any|are\s+there)\s+(?:hard\s+)?(?:rules?|constraints?)\b(?!\s+(?:today|now|currently|in\s+place)))"
        ),
    ),
    (
        "latency",
        re.compile(
            r"\bhow\s+(?:quick|fast|quickly)\s+(?:does|do|must|should|has)\s+(?:it|this|the\s+[\w-]+|we|a\s+[\w-]+)\s+"
            r"(?:need\s+to\s+|have\s+to\s+)?(?:be|respond|answer|come\s+back|return|load)\b"
            r"|\bwithin\s+(?:seconds|milliseconds|a\s+(?:second|few\s+seconds))\b"
            r"|\bhow\s+long\s+(?:have\s+we\s+got|do\s+we\s+have|can\s+(?:it|we)\s+(?:take|wait))\b(?!.*\b(?:logs?|data)\b)"
            r"|\b(?:response[\s-]time|time|latency)\s+budgets?\b"
            r"|\bdeadline\s+(?:for|after|to)\s+(?:blur\w*|scor\w*|answer\w*|respond\w*|process\w*|publish\w*|decid\w*)"
            r"|\bhow\s+much\s+time\s+(?:does|do|can|will|should)\b(?!.*\b(?:have|until|ship|launch|build)\b)"
            r"|\bhow\s+(?:long|quickly|fast|soon)\s+(?:can|may|should|must|do|does|is|will)\b"
            r"(?!.*\b(?:after|until|clicks?|conversions?|acceptances?|labels?|outcomes?|chargebacks?|reports?)\b)"
            r".*\b(?:take|respond\w*|return|come\s+back|verdict|decision|decide|answer|reply|score|check|serve|run|block)\b"
            r"|^(?!.*\b(?:re)?train\w*|.*\bupdat\w*|.*\brefresh\w*|.*\bfeatures?\b|.*\bevaluat\w*|.*\bmetrics?\b|"
            r".*\btests?\b)(?:.*\b(?:offline|batch)\b[^?]*\bor\b|.*\bor\b[^?]*\b(?:offline|batch|real[\s-]?time|online)\b)"
        ),
    ),
    (
        "labels",
        re.compile(
            r"\bhow\s+(?:long|soon|quickly|fast)\b.*\b(?:after|until)\b.*\b(?:learn|know|find\s+out|show\s+up|logged|"
            r"arrive|land|come\s+in|confirm\w*|label\w*|outcome|chargeback\w*|clicks?|conversions?|reports?)"
            r"|\b(?:any|how\s+many|how\s+much)\s+(?:human[\s-])?(?:labell?ed|annotated|hand[\s-]labell?ed)\b"
            r"|\bhow\s+(?:do|would|will)\s+we\s+(?:find\s+out|know|learn|tell)\b(?!.*\b(?:users?|traffic|latency)\b)"
            r"|\bhow\s+many\s+(?:days|weeks|hours|minutes)\s+(?:\w+\s+){0,3}?(?:before|until)\b"
            # "how quickly do clicks show up after an impression", "how long do acceptances take to arrive"
            r"|\bhow\s+(?:long|soon|quickly|fast)\b.{0,30}\b(?:clicks?|conversions?|acceptances?|labels?|outcomes?|"
            r"chargebacks?|reports?|bookings?|purchases?)\b.{0,20}\b(?:show\s+up|arrive|land|come\s+in|take)"
            # "has anyone labelled similarity", "any similarity judgements", "are there any explicit ratings"
            r"|\b(?:any|ever|anyone|somebody|someone)\s+(?:\w+\s+){0,3}?(?:labell?ed|judge?ments?|"
            r"explicit\s+(?:ratings?|labels?|judge?ments?))\b"
        ),
    ),
    (
        "scope",
        re.compile(r"\b(?:in|out\s+of)\s+scope\b|\bjust\s+[\w\s'-]+,?\s+or\s+[\w\s'-]+\s+(?:too|as\s+well|also)$"),
    ),
    (
        "positive_rate",
        re.compile(
            r"\bhow\s+(?:common|rare|frequent|prevalent)\b"
            r"|\bhow\s+(?:many|much)\s+of\s+(?:those|them|these|it)\s+(?:are|is)\s+(?:actually\s+)?\w+"
            r"|\bhow\s+often\s+is\s+(?:a|an|the)\s+[\w-]+\s+(?:actually\s+)?(?:bad|fraud\w*|spam\w*|harmful|abusive|"
            r"fake|malicious|positive)"
        ),
    ),
    (
        "data",
        re.compile(
            r"\bwhat\s+do\s+we\s+(?:log|record|store|keep|remember)\b|\bwhat(?:'s|\s+is|\s+gets)\s+(?:logged|recorded)\b"
            r"|\bwhat\s+(?:historical\s+|interaction\s+|past\s+)?(?:data|logs|history)\s+(?:do|does|exists?|is|are)\b"
            r"|\bwhat\s+(?:interactions?|events?|signals?)\s+(?:are|is|get)\s+(?:logged|recorded|stored)\b"
        ),
    ),
    (
        "qps",
        re.compile(
            r"\bhow\s+(?:many|much)\s+(?:[\w-]+\s+){0,3}?(?:per|a|each)\s+(?:second|sec|minute)\b"
            r"|\bpeak\s+(?:rate|load|traffic|qps|query\s+rate|requests?)\b|\brequest\s+rate\b"
            r"|\bhow\s+much\s+(?:traffic|load)\s+(?:do|does|will|at)\b"
        ),
    ),
    (
        "success_metric",
        re.compile(
            r"\bwhat\s+has\s+to\s+be\s+true\b|\blaunch\s+(?:bar|criteri\w+)\b"
            r"|\bwhat\s+(?:do|does)\s+(?:they|we|the\s+[\w-]+(?:\s+team)?)\s+(?:actually\s+)?count\b"
            r"|\bcalls?\s+(?:a|the)\s+[\w\s-]{0,20}\W?better\b"
        ),
    ),
    (
        "labels",
        re.compile(
            r"\b(?:by\s+hand|human\s+(?:relevance\s+)?(?:judge?ments?|labels?|ratings?|raters?)|hand[\s-]labell?ed|"
            r"(?:drawn|labell?ed|marked|judged)\s+(?:on\s+it\s+)?by\s+(?:people|humans|hand))\b"
        ),
    ),
    (
        "positive_rate",
        re.compile(
            r"\bhow\s+many\s+[\w-]+\s+end\s+up\s+(?:being\s+)?\w+"
            r"|\bhow\s+much\s+of\s+what\s+(?:gets|is)\s+\w+\s+(?:actually\s+)?(?:breaks?|violat\w+|is\s+(?:bad|spam|fraud\w*))"
            r"|\bhow\s+often\s+do\s+(?:people|users|members|shoppers|viewers|guests)\s+(?:click|buy|book|register|watch|"
            r"accept|convert|report)"
            r"|\bwhat\s+(?:share|fraction|percentage|proportion)\s+of\s+(?:shown|displayed|impressions?|results?|"
            r"suggestions?)\b.{0,40}\b(?:end\s+up|get|are|turn)"
        ),
    ),
    (
        "existing_system",
        re.compile(
            r"\bwhat\s+sits\s+behind\b|\b(?:the\s+)?current\s+(?:estimator|ranking|ranker|model|system|approach|"
            r"solution|setup|classifier|filter|heuristic)\b(?!.*\b(?:latency|traffic)\b)"
            r"|\bcurrent\s+[\w-]+\s+look\s+like\b"
            r"|\bhow\s+(?:are|do)\s+(?:people|users|customers|guests|shoppers|viewers)\s+(?:find|get|discover|see|choose)\w*"
            r"\b.{0,40}\b" + _TODAY + r"\b"
        ),
    ),
    (
        "freshness",
        re.compile(
            r"\bhow\s+(?:quickly|fast|soon|long)\b.{0,50}\b(?:findable|searchable|indexed|visible|"
            r"reach\s+the\s+(?:page|index|results)|show\s+up\s+in\s+(?:search|results))"
            r"|\bhow\s+(?:quickly|fast|soon)\b.{0,60}\b(?:turn\s+up|go\s+stale|be\s+reflected|get\s+stale|"
            r"(?:stock|prices?|inventory|availability)\s+(?:and\s+\w+\s+)?(?:move|change))\b"
        ),
    ),
    (
        "actions",
        re.compile(
            r"\b(?:besides|other\s+than|apart\s+from|beyond)\s+(?:just\s+)?(?:approv\w*|declin\w*|block\w*|remov\w*|"
            r"allow\w*|delet\w*)|\ballowed\s+to\s+do\s+with\b"
        ),
    ),
    ("regions", re.compile(r"\bdiffer\w*\s+(?:by|across|between)\s+(?:countr\w+|regions?|markets?|languages?)\b")),
    ("business_goal", re.compile(r"\bwhat\s+does\s+the\s+(?:company|business|team)\s+mean\s+by\b")),
    (
        "qps",
        re.compile(
            r"\bhow\s+often\s+do\s+(?:they|users|people|members|viewers|customers)\s+(?:open|visit|load|use|check)\b"
            r"|\bhow\s+(?:many|much)\s+(?:[\w-]+\s+){4,5}?(?:per|a|each)\s+(?:second|sec)\b"
            r"|\b[\w-]+\s+(?:loads|views|calls|requests|predictions|searches|queries|openings|lookups)\s+per\s+"
            r"(?:second|sec)\b|\bhow\s+many\s+[\w-]+\s+(?:calls|requests|queries)\s+does\s+that\s+turn\s+into\b"
        ),
    ),
    ("latency", re.compile(r"\bhow\s+long\s+(?:may|can|could)\s+we\s+(?:hold|delay|keep)\b")),
    (
        "labels",
        re.compile(
            r"\bhow\s+(?:trustworthy|reliable|consistent|noisy|accurate|clean)\s+(?:are|is)\s+(?:the\s+|those\s+|these\s+)?"
            r"(?:labels?|timestamps|human|decisions|people|raters|moderators|reviewers|annotations|verdicts)"
            r"|\bagree\s+with\s+each\s+other\b|\b(?:inter-?rater|annotator)\s+agreement\b"
        ),
    ),
    (
        "privacy",
        re.compile(
            r"\boff[\s-]limits\s+for\s+personali|\bwho\s+(?:gets\s+to|can|may|is\s+allowed\s+to)\s+(?:look\s+at|see|"
            r"access|read)\b|\bwhere\s+(?:user\s+)?data\s+(?:may|can)\s+be\s+(?:processed|stored|kept)"
        ),
    ),
    (
        "positive_rate",
        re.compile(r"\bhow\s+much\s+of\s+what(?:'s|\s+is|\s+gets)\s+\w+\s+(?:actually\s+)?(?:violat|break|is\s+bad)"),
    ),
)
"""Ways of asking for a standard fact that its phrases miss; each decides a piece when the key is on the sheet."""
_RESOURCES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "budget",
        re.compile(
            r"\b(?:gpus?|graphics\s+cards?|accelerators?|compute|hardware|machines?|servers?(?![- ]side)|"
            r"cloud\s+spend|memory)\b"
        ),
    ),
    ("labelling_budget", re.compile(r"\bbudget\s+for\s+(?:more\s+)?(?:labell?ing|labels|raters|annotation)\b")),
    (
        "",
        re.compile(
            r"\b(?:headcount|timeline|deadline(?!\s+(?:for|after|to)\s+(?:blur|scor|answer|respond|process|publish|decid))|"
            r"launch\s+date|ship\s+date|go[\s-]live\s+date)\b"
        ),
    ),
)
"""Resources and dates, with the sheet key that answers them; a sheet without that key (or '') gets an invented
value, never a near fact."""
_QUALIFIER = re.compile(
    r"^(?:if|when(?!\s+(?:do|does|did|is|are|was|were|will|would|can|could|should|must)\b)|given|because|since|so\s+that|like|such\s+as|e\.?g\.?|for\s+example|say)\b"
)
"""A piece opening like this qualifies the question it belongs to and asks for nothing by itself."""
_PREAMBLE = re.compile(
    r"^(?!(?:what|how|who|where|when|which|why|is|are|do|does|can)\b)[^:?]{0,60}:\s*(?=(?:what|how|who|where|when|"
    r"which|is|are|do|does|did|can|could|any)\b)"
)
"""A lead-in before a colon ("two timing questions: how long ...") that names no fact of its own."""
_ABOUT_GRADING = re.compile(
    r"\b(?:top|high|best)[\s-]scor\w*|\bwhere\s+candidates\b|\b(?:which|what)\s+(?:items|points|boxes|things)\s+"
    r"(?:i'?ve|i\s+have|have\s+i)\s+(?:covered|hit|ticked|missed)|\bgrader\b|\brubric\w*|\bchecklist\b|\bfailure\s+modes?\s+(?:you|to\s+check)\b"
    r"|\blist\s+of\s+failure\s+modes\b|\bpretend\s+you'?re\s+the\b|\bwhat\s+would\s+(?:a|the)\s+[\w\s-]{0,30}"
    r"candidate\s+(?:say|do|write|answer)\b|\b(?:ideal|model|expected)\s+(?:answer|points?)\b"
)
"""A question about the interview's grading: never a fact request, never an invented value."""
SIM_ANSWER = 0.70
"""A piece nothing else matched this similar to a clause of a fact's answer asks for that fact."""
SIM_ANSWER_MARGIN = 0.05
"""How far the best answer clause must lead the best clause of another fact."""
_ANSWERS: dict[tuple[int, str], tuple[list[str], npt.NDArray[np.float32]]] = {}


_INTENT_FALLBACK = {"success_metric": "business_goal", "positive_rate": "labels"}
"""The key that answers an intent on a sheet without the intent's own key (a launch bar is the goal there)."""


_SUPERSEDES: dict[str, frozenset[str]] = {
    "new_users": frozenset({"users"}),
    "freshness": frozenset({"latency"}),  # "how fast must a new upload become searchable" is not the request latency
    "labels": frozenset({"latency"}),  # "how long do acceptances take to arrive" neither
}
"""An intent key that, when it decides a piece, rules out a broader key its words also match."""


def _intents(case: Case, piece: str) -> list[AskedFact]:
    """The standard keys a piece asks for in a way the phrases miss (new users over users)."""
    sheet = {f.key for f in case.facts}
    keys = [
        key if key in sheet else _INTENT_FALLBACK.get(key, key)
        for key, pattern in _INTENTS
        if (key in sheet or _INTENT_FALLBACK.get(key) in sheet) and pattern.search(piece)
    ]
    shadowed = set().union(*(_SUPERSEDES.get(k, frozenset()) for k in keys))
    return [AskedFact(key, "intent", 1.0) for key in dict.fromkeys(keys) if key not in shadowed]


def _resources(case: Case, piece: str) -> tuple[list[str], bool]:
    """The sheet keys for the resources a piece asks about, and whether it asks about one the sheet lacks."""
    sheet = {f.key for f in case.facts}
    keys = [key for key, pattern in _RESOURCES if pattern.search(piece)]
    return [k for k in keys if k in sheet], any(k not in sheet for k in keys)


def answer_embeddings(case: Case, embedder: Embedder) -> tuple[list[str], npt.NDArray[np.float32]]:
    """Fact key per row and the embeddings of every clause of the fact answers (cached per embedder and case)."""
    cache_key = (id(embedder), case.id)
    if cache_key not in _ANSWERS:
        rows = [
            (fact.key, clause)
            for fact in case.facts
            for clause in re.split(r"(?<=[.;])\s+|,\s+(?=[a-z])", fact.answer)
            if len(clause.split()) >= 3
        ]
        _ANSWERS[cache_key] = ([k for k, _ in rows], embedder.embed([c for _, c in rows]))
    return _ANSWERS[cache_key]


def _answer_hit(row: npt.NDArray[np.float32], answers: tuple[list[str], npt.NDArray[np.float32]]) -> list[AskedFact]:
    """The fact whose answer text a piece is clearly closest to, when that is close enough."""
    keys, emb = answers
    best: dict[str, float] = {}
    for key, sim in zip(keys, emb @ row, strict=True):
        best[key] = max(best.get(key, -1.0), float(sim))
    ranked = sorted(best.items(), key=lambda kv: -kv[1])
    if not ranked or ranked[0][1] < SIM_ANSWER:
        return []
    runner = ranked[1][1] if len(ranked) > 1 else -1.0
    return (
        [AskedFact(ranked[0][0], "answer", round(ranked[0][1], 3))]
        if ranked[0][1] - runner >= SIM_ANSWER_MARGIN
        else []
    )


def _piece_facts(
    case: Case,
    piece: str,
    row: npt.NDArray[np.float32] | None,
    keys: list[str],
    phrase_emb: npt.NDArray[np.float32],
    answers: tuple[list[str], npt.NDArray[np.float32]] | None = None,
    follows: str = "",
) -> list[AskedFact]:
    """The facts one piece of a question asks for, from the surest evidence down.

    A piece that only qualifies its question ("if I want ...") asks for nothing; a resource the sheet lacks
    (GPUs, a launch date) asks for no sheet fact. A standard way of asking (an intent) or a multi-word asking
    phrase (or the key's own name) decides; then a very similar embedding; then the rare words the piece shares
    with one key's phrases; then an ordinary embedding match; then a clause of a fact's answer; last a lone
    generic word ("content", "volume"). A piece with a sure phrase may add one more key by embedding.

    A piece after an answered piece of the same question (`follows`) needs more: the options of a goal question
    ("ticket sales, registrations") add only sure phrases; a question pointing back ("how consistent are they")
    adds only sure phrases, a bare one ("which languages") any asking phrase; a listed item ("the latency
    budget", "and the CTR") needs a phrase or a very close embedding.
    """
    if _QUALIFIER.match(piece):
        return []
    resources, unlisted = _resources(case, piece)
    if resources or unlisted:
        return [AskedFact(key, "intent", 1.0) for key in resources]
    hits = _pattern_hits(case, piece)
    found = [h for h in hits if h.how == "pattern"]
    intents = _intents(case, piece)
    shadowed = set().union(*(_SUPERSEDES.get(i.key, frozenset()) for i in intents))
    found = [h for h in found if h.key not in shadowed]
    if intents:
        return intents + [h for h in found if h.key not in {i.key for i in intents}]
    if follows == "options":
        return found
    if follows == "reference":
        return found if _BACK_REFERENCE.search(piece) else hits
    floor = SIM_SURE if follows == "list" else SIM_FACT
    emb = _embedding_hits([piece], keys, phrase_emb, row[None, :], floor) if row is not None else []
    if follows == "list":
        lexical = _lexical_hit(case, piece) if not (found or emb) else None
        return found or emb or ([lexical] if lexical else hits)
    if found:
        extra = [h for h in emb if h.score >= SIM_FACT_EXTRA and h.key not in {f.key for f in found}]
        return found + extra
    if emb and emb[0].score >= SIM_SURE:
        return emb
    lexical = _lexical_hit(case, piece)
    if lexical is not None:
        return [lexical]
    if emb:
        return emb
    by_answer = _answer_hit(row, answers) if row is not None and answers is not None else []
    return by_answer or hits


def _pieces(sentence: str) -> list[str]:
    """The asking pieces of one question sentence (lead-in dropped, either/or kept whole, coordinated counts split)."""
    norm = _PREAMBLE.sub("", normalize(sentence))
    pieces = [p for p in _PIECES.split(norm.rstrip("?")) if len(p.split()) >= 1 and content_words(p)]
    return pieces + [f"how {m.group(1)} {m.group(2)}" for p in pieces for m in _COORDINATED.finditer(p)]


_FILLER = re.compile(
    r"^(?:hello|hi|hey|hiya|you\s+there|are\s+you\s+there|anyone\s+there|right|ok(?:ay)?|yes|no|sorry|huh|what|"
    r"can\s+you\s+hear\s+me|make\s+sense|does\s+that\s+make\s+sense|got\s+it)\W*$"
    # a mic or connection check, whatever follows it: "can you hear me, my wifi keeps dropping"
    r"|^(?:(?:hello|hi|hey)\W+)?(?:can|could|do)\s+you\s+(?:still\s+)?(?:hear|see)\s+me\b"
)
"""A greeting or filler that ends in a question mark but asks for nothing."""
_BACK_REFERENCE = re.compile(r"\b(?:they|them|it|its|those|these|each\s+other|each\s+one)\b")
"""A piece that points back at what the question before it asked about."""


def _leans_back(case: Case, piece: str) -> bool:
    """True for a piece that only refines the piece before it ("how many appear", "how consistent are they").

    Such a piece is not a question of its own, points back with a pronoun, or is one word the sheet never uses.
    """
    if not is_question(piece) or _BACK_REFERENCE.search(piece):
        return True
    vocab = set().union(*_lexicon(case)[0].values())
    return len(content_words(piece)) <= 1 and not _stems(piece) & vocab


def _follows(case: Case, piece: str, answered: bool | str) -> str:
    """How a piece relates to an answered piece before it in its question: options, reference, list or ''."""
    if not answered:
        return ""
    if answered == "business_goal" and not is_question(piece):
        return "options"
    if not is_question(piece):
        return "list"
    return "reference" if _leans_back(case, piece) else ""


def find_questions(case: Case, text: str, embedder: Embedder | None, clarifying: bool = True) -> list[Question]:
    """The clarifying questions and stated assumptions of a message, each with the fact keys it asks for.

    Bare fragments ("orders/day, how many cities") are read as asks only while `clarifying` (the requirements
    step): later in the interview, terse lines are design notes ("monitor latency, score drift; retrain weekly").

    A piece about a resource the sheet lacks (GPUs, a launch date) becomes a question of its own with a topic,
    so it gets an invented value even when the rest of its sentence asks for sheet facts; a question that only
    points back at the one before it ("how consistent are they?") is about the same fact.
    """
    questions: list[Question] = []
    sentences = [s.strip() for s in _SPLIT.split(text) if s.strip()]
    asked: list[tuple[Question, list[str]]] = []
    real = [is_question(s) and not _FILLER.match(normalize(s)) for s in sentences]
    checking = False  # inside a play-back: the sentence asking for a check and the run of numbered ones after it
    for sentence, real_question in zip(sentences, real, strict=True):
        norm = normalize(sentence)
        numbered = bool(re.search(r"\d", norm))
        checking = bool(_CONFIRM.search(norm)) or (checking and numbered)
        confirm = checking and numbered
        terse = clarifying and _terse_ask(case, sentence, text, any(real))
        asking = (real_question or terse) and not confirm
        assuming = bool(_ASSUMPTION.search(norm)) or confirm
        if not asking and not assuming:
            continue
        if asking and _ABOUT_GRADING.search(norm):
            continue  # about the grading, not the problem: no fact, and nothing to invent
        q = Question(sentence, [] if asking else _pattern_hits(case, norm), assumption=assuming and not asking)
        q.design_choice = asking and bool(_DESIGN_CHOICE.search(norm))
        asked.append((q, _pieces(sentence) if asking else []))
    every = [p for _, pieces in asked for p in pieces]
    rows = embedder.embed(every) if embedder is not None and every else None
    keys: list[str] = []
    phrase_emb = np.zeros((0, 0), dtype=np.float32)
    answers = None
    if rows is not None and embedder is not None:
        keys, phrase_emb = fact_embeddings(case, embedder)
        answers = answer_embeddings(case, embedder)
    at = 0
    before: Question | None = None
    for q, pieces in asked:
        answered: bool | str = False
        aside: list[Question] = []
        plain = normalize(q.text).endswith("?") or bool(_REQUEST.search(normalize(q.text)))
        for piece in pieces:
            row = rows[at] if rows is not None else None
            at += 1
            hits = _piece_facts(case, piece, row, keys, phrase_emb, answers, _follows(case, piece, answered))
            if not plain:
                hits = [h for h in hits if h.how != "weak-pattern"]
            if not hits and _resources(case, piece)[1]:
                aside.append(Question(piece, topic=topic_of(piece)))
            answered = "business_goal" if any(h.key == "business_goal" for h in hits) else answered or bool(hits)
            for hit in hits:
                if hit.key not in [f.key for f in q.facts]:
                    q.facts.append(hit)
        if not q.facts and pieces and before is not None and before.facts and all(_leans_back(case, p) for p in pieces):
            q.facts.append(AskedFact(before.facts[-1].key, "follow-up", 0.5))
        asking = bool(pieces) or not q.assumption
        if asking and not q.facts:
            q.topic = topic_of(q.text)
        if q.facts or asking:
            questions.append(q)
            questions.extend(a for a in aside if q.facts)
        before = q if pieces else before
    return questions


__all__ = [
    "SIM_FACT",
    "AskedFact",
    "Question",
    "answer_embeddings",
    "content_words",
    "fact_embeddings",
    "fact_patterns",
    "find_questions",
    "is_question",
    "topic_of",
]
