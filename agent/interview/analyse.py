"""Analyse one candidate message against the case and the state: questions, coverage, failure modes, choices."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.grading import analysis as grading_analysis
from agent.grading.coverage import GENERIC_CUES, Embedder, cue_pattern
from agent.grading.failure_modes import DETECTORS, tradeoff_sentences
from agent.grading.injection import find_injection
from agent.grading.text import TODAY, lower_first, normalize, numbers_in, strip_markup
from agent.interview import messages
from agent.interview.bank import probe_ranking
from agent.interview.questions import Question, content_words, find_questions, is_question
from agent.interview.sides import weighs_both_sides
from agent.interview.state import InterviewState
from agent.interview.whole import Whole, message_analysis
from knowledge.corpus import Case
from knowledge.ids import STEPS, applicable_failure_modes

DOING_MODES = (
    "data_leakage",
    "metric_mismatch",
    "single_stage_at_scale",
    "training_serving_skew",
    "no_baseline",
    "model_first",
    "skipped_clarification",
)
"""Modes the candidate walks into by saying something, flagged as soon as they appear (priority order)."""

_STEP_WORDS: tuple[tuple[str, str], ...] = (
    ("requirement", "requirements"),
    ("clarif", "requirements"),
    ("scope", "requirements"),
    ("framing", "framing"),
    ("formulation", "framing"),
    ("ml task", "framing"),
    ("data", "data"),
    ("training data", "data"),
    ("feature", "data"),
    ("label", "data"),
    ("model", "modeling"),
    ("baseline", "modeling"),
    ("architecture", "modeling"),
    ("evaluation", "evaluation"),
    ("metric", "evaluation"),
    ("serving", "serving"),
    ("deployment", "serving"),
    ("inference", "serving"),
    ("monitoring", "monitoring"),
    ("iteration", "monitoring"),
    ("retraining", "monitoring"),
    ("maintenance", "monitoring"),
)
"""Words that open a part of the answer ("Data.", "Modeling, from simple to complex.") and the step they name."""
_STEP_HEAD = re.compile(
    r"(?:^|(?<=[.!?] ))[\s#*>-]*(?:(?:now|next|then|ok(?:ay)?|so|finally|and|on)\s*,?\s+)?(?:the\s+)?"
    r"(?P<head>(?:ml\s+|problem\s+)?(?:requirements?|clarifications?|scope|framing|formulation|ml task|"
    r"training data|data|features?|labels?|model(?:l?ing)?|models?|baselines?|architecture|evaluation|metrics?|serving|"
    r"deployment|inference|monitoring|iteration|retraining|maintenance))"
    r"(?:\s+(?:for|of)\s+(?:the\s+)?[\w-]+\s*:|(?:\s+(?:and|&)\s+[a-z-]+)?\s*(?:\*\*)?\s*(?:[:.]|,\s|\s[-–—]\s))",
    re.IGNORECASE | re.MULTILINE,
)
_CLOSING = re.compile(
    r"\b(?:(?:(?:i\s+think|so|ok(?:ay)?|and|well)\s*,?\s+)?that'?s\s+(?:(?:everything|all|it)"
    r"(?:\s+(?:for\s+now|from\s+me|i\s+have|i'?ve\s+got|i\s+can\s+think\s+of|really))?"
    r"(?:\s*,?\s*i\s+(?:think|guess|suppose|reckon))?"
    r"|the\s+(?:whole|core|end|full|gist|shape)\s+(?:of\s+(?:the|my)\s+)?(?:design|pipeline|system|answer|"
    r"solution|plan|thing|it)|my\s+(?:whole\s+|full\s+)?(?:design|answer|solution|plan|proposal)|(?:about|pretty\s+much)\s+(?:it|everything|all))\s*(?:[.!?]|$)"
    r"|(?:i\s+think\s+)?that\s+covers\s+(?:it|everything)|can\s+we\s+(?:wrap|stop|finish|end)"
    r"|(?:i'?m|i\s+am)\s+done\b|nothing\s+(?:else|more)\s+to\s+add"
    r"|^\W*(?:ok(?:ay)?|right|so|and|alright)?[\s,]*(?:all\s+)?(?:done|finished)(?:\s+(?:now|here|for\s+now))?\W*$)",
    re.IGNORECASE,
)
_ABOUT_THE_INTERVIEW = re.compile(
    r"\b(?:(?:what|which)\s+(?:exactly\s+)?(?:are\s+)?you(?:'re|\s+are)?\s+(?:exactly\s+)?(?:looking|hoping)\s+for"
    r"|checklist|scor(?:e|ing)\s+me|grad(?:e|ing)\s+me|mark(?:ing)?\s+me|i'?m\s+expected\s+to|(?:am\s+i|i\s+am)\s+"
    r"expected\s+to|(?:spend|focus)\s+(?:the\s+)?most\s+(?:of\s+my\s+)?time|how\s+am\s+i\s+doing|am\s+i\s+doing\s+"
    r"(?:ok|okay|well|fine|alright)|did\s+i\s+(?:hit|cover|miss|get)\s+(?:the|all|every|everything|what)"
    r"|points\s+you\s+(?:were|are)\s+(?:expecting|looking)|where\s+candidates\s+(?:usually\s+|normally\s+)?"
    r"(?:bring|talk|mention|cover)|(?:which|what)\s+(?:items|points|boxes|things)\s+(?:i'?ve|i\s+have|have\s+i)\s+"
    r"(?:covered|hit|ticked|missed))"
)
"""A question about the interview itself (what is scored, where to spend time), refused like rubric fishing."""
_DESIGN_KINDS = {"modeling.complex_model", "modeling.baseline", "modeling.funnel"}
_SYSTEM_WORDS = frozenset(
    """user customer people audience traffic request latency data label model feature team engineer budget cost gpu
    cpu hardware cloud storage language country region device mobile web app timeline deadline launch legal
    privacy compliance metric business goal scale item catalogue catalog content product service system
    training serving inference pipeline database index cache api design ml machine learning ranking search
    recommendation classifier prediction score evaluation monitoring""".split()  # noqa: SIM905
)


@dataclass
class MessageAnalysis:
    """What one candidate message does, as the policy reads it."""

    text: str
    at: float = 0.0
    truncated: bool = False
    empty: bool = False
    gibberish: bool = False
    connection: bool = False
    off_topic: bool = False
    repeated: bool = False
    fishing: bool = False
    injection: bool = False
    questions: list[Question] = field(default_factory=list)
    facts_asked: list[str] = field(default_factory=list)
    unknown_topics: list[tuple[str, str]] = field(default_factory=list)
    design_choice: bool = False
    new_points: dict[str, list[str]] = field(default_factory=dict)
    signals: list[str] = field(default_factory=list)
    walked_into: list[tuple[str, str]] = field(default_factory=list)
    tradeoffs: list[tuple[str, str]] = field(default_factory=list)
    argued: list[str] = field(default_factory=list)
    substantive: bool = False
    steps_addressed: list[str] = field(default_factory=list)
    probe_rank: dict[str, list[str]] = field(default_factory=dict)
    heads: list[str] = field(default_factory=list)
    step_weight: dict[str, int] = field(default_factory=dict)
    closing: bool = False
    whole: Whole | None = None

    @property
    def asks(self) -> bool:
        """Whether the message asks the interviewer for facts or a decision."""
        return bool(self.facts_asked or self.unknown_topics or self.design_choice)


_MID_LINE_HEAD = re.compile(r"(?:requirements?|framing|data|model(?:l?ing)?|baselines?|evaluation|serving|monitoring)$")
"""Step names that open a part even mid-paragraph ("... a buffer. Framing: regression ..."); narrower words
(labels, features, metrics) do so only at the start of a line."""


def _heads(text: str) -> list[str]:
    """Steps the message names as the part it is about to discuss, in order ("Serving, meaning ...")."""
    steps: list[str] = []
    for m in _STEP_HEAD.finditer(text):
        head = normalize(m.group("head"))
        line_start = m.start() == 0 or text[m.start() - 1] == "\n"
        if not line_start and not _MID_LINE_HEAD.match(head):
            continue  # "... Input: x. Output: y. Label: z." inside a paragraph is framing, not a data section
        step = next((s for word, s in _STEP_WORDS if head.startswith(word) or word in head), None)
        if step is not None and step not in steps:
            steps.append(step)
    return steps


"""Today's system being played back (narrower than questions._TODAY: a bare 'now' opens new work, not a recap)."""


def _recap_sentences(state: InterviewState, ga: grading_analysis.Analysis) -> set[int]:
    """Sentences that play back what the interviewer said (its numbers, or today's system) during the requirements.

    "So: 11,000 requests a second at peak and 10 suggestions within 150 ms" restates facts; it is not the
    candidate moving on to serving.
    """
    told = {n for value in state.facts_revealed.values() for n in numbers_in(value)}
    out: set[int] = set()
    for sentence in ga.sentences:
        said = set(numbers_in(sentence.text))
        if (said and said <= told) or (told and TODAY.search(sentence.kept)):
            out.add(sentence.index)
    return out


def _closing(text: str) -> bool:
    """Whether the message's last sentence says the candidate is done ("I think that's everything")."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n+", text.strip()) if s.strip()]
    return bool(sentences) and bool(_CLOSING.search(sentences[-1]))


def _vocabulary(case: Case) -> set[str]:
    parts = [case.prompt, case.summary, case.title, case.stance]
    parts += [f.answer + " " + " ".join(f.asked_as) for f in case.facts]
    parts += [p.statement + " " + " ".join(p.cues) for p in case.all_points()]
    parts += [t.title + " " + " ".join(t.cues) for t in case.tradeoffs]
    return content_words(" ".join(parts)) | _SYSTEM_WORDS


_VOCAB: dict[str, set[str]] = {}


def _on_topic(case: Case, text: str) -> bool:
    if case.id not in _VOCAB:
        _VOCAB[case.id] = _vocabulary(case)
    words = content_words(text) - {"today", "now", "yesterday", "tomorrow", "thing", "things", "good", "nice"}
    return bool(words & _VOCAB[case.id])


def _tradeoff_hits(case: Case, kept: list[str], asked: set[str]) -> list[tuple[str, str]]:
    """Trade-offs whose cues the candidate used as a proposal (a specific cue, or two generic ones)."""
    found: list[tuple[str, str]] = []
    for t in case.tradeoffs:
        if t.id in asked:
            continue
        strong: list[str] = []
        weak: list[str] = []
        for cue in t.cues:
            pattern = cue_pattern(cue)
            for text in kept:
                m = pattern.search(text)
                if m:
                    generic = normalize(cue) in GENERIC_CUES or (len(normalize(cue)) <= 3 and " " not in cue)
                    (weak if generic else strong).append(m.group(0))
                    break
        if strong or len(set(weak)) >= 2:
            found.append((t.id, (strong or weak)[0]))
    return found


_ACKNOWLEDGEMENT = re.compile(
    r"(?:(?:ok(?:ay)?|sure|yes|yeah|yep|right|got it|thanks?(?: you)?|makes sense|fair enough|understood|cool|"
    r"great|alright|noted|sounds good|perfect|hmm+|mhm)[\s,.!]*)+"
)
"""A bare acknowledgement ("Sure.", "Got it, thanks!"): filler, not an off-topic message."""


def _original(text: str, found: str) -> str:
    """The candidate's own spelling of a phrase found in normalised text, as it reads mid-sentence.

    A capital the candidate wrote mid-sentence is kept ("fed by Flink"); one that only opens a sentence
    ("Calibration matters") is lowered, unless the word is an acronym or a mixed-case name ("XGBoost").
    """
    parts = [re.escape(p) for p in re.split(r"[\s\-_/]+", found) if p]
    m = re.search(r"[\s\-_/]*".join(parts), text, re.IGNORECASE) if parts else None
    if not m:
        return found
    head = text[: m.start()].rstrip(" \t*_#>•-")
    return lower_first(m.group(0)) if not head or head[-1] in ".!?:\n" else m.group(0)


def _walked_into(
    case: Case, state: InterviewState, ga: grading_analysis.Analysis, has_questions: bool, at_model: bool = True
) -> list[tuple[str, str]]:
    """Doing-type failure modes present in this message, given what the candidate said before.

    A complex model with no baseline counts only once the candidate is at the model (`at_model`: the
    interview has reached it, or the message is headed with it, or asks nothing and is mostly about it),
    or when a simple model is dismissed; a model named in passing while clarifying may still get its
    baseline when the model is discussed.
    """
    applicable = set(applicable_failure_modes(case.id)) - set(state.flagged())
    kinds = {f"{h.step}.{h.name}" for h in ga.signals.hits}
    found: list[tuple[str, str]] = []
    for mode in DOING_MODES:
        if mode not in applicable:
            continue
        evidence: str | None = None
        if (
            mode in ("data_leakage", "metric_mismatch")
            or (mode == "single_stage_at_scale" and not state.seen("modeling", "funnel"))
            or (mode == "training_serving_skew" and not state.seen("data", "feature_store"))
        ):
            evidence = DETECTORS[mode](ga)
        elif mode == "no_baseline" and not (
            state.seen("modeling", "baseline") or "simple-baseline" in state.covered_ids()
        ):
            dismissed = any(
                c.dismissed and re.search(r"baseline|simple|heuristic", c.text) for s in ga.sentences for c in s.clauses
            )
            if ("modeling.complex_model" in kinds and at_model) or dismissed:
                evidence = DETECTORS[mode](ga)
        elif mode == "model_first":
            elsewhere = [k for k in state.signals_seen if k.split(".")[0] in ("data", "evaluation", "serving")]
            if len(elsewhere) < 2:
                evidence = DETECTORS[mode](ga)
        elif mode == "skipped_clarification" and state.phase == "requirements" and not has_questions:
            asked_before = state.facts_revealed or state.facts_invented or state.seen("requirements", "question")
            if not asked_before and not state.seen("requirements", "assumption") and kinds & _DESIGN_KINDS:
                evidence = DETECTORS[mode](ga)
        if evidence:
            found.append((mode, evidence))
    return found


_DIRECT = re.compile(
    r"^(?:what(?:'s| is| are)|how (?:many|much|big|often|long)|is there|are there|do we (?:have|know|log|keep))\b"
    r"[^?]*\?$"
)
"""A question put to the interviewer outright ("What's the average order value?"), even inside a design message."""


def _resolve_topics(state: InterviewState, questions: list[Question]) -> list[tuple[str, str]]:
    """Map unanswerable questions to an invented-fact key, reusing a key asked before about the same subject."""
    out: list[tuple[str, str]] = []
    for q in questions:
        if q.facts or q.design_choice or not q.topic:
            continue
        words = content_words(q.topic.replace("_", " "))
        key = next((k for k in state.facts_invented if words & content_words(k.replace("_", " "))), q.topic)
        if key not in [k for k, _ in out]:
            out.append((key, q.text))
    return out


def analyse(
    state: InterviewState, message: str, case: Case, embedder: Embedder | None, at: float = 0.0
) -> MessageAnalysis:
    """Everything the policy needs to know about one candidate message (sent at time `at`)."""
    clipped, truncated = messages.clip(message)
    injection = find_injection(clipped)
    text = strip_markup(injection.text).strip()
    a = MessageAnalysis(text=clipped, at=at, truncated=truncated, injection=injection.attempt)
    a.probe_rank = probe_ranking(case, embedder)
    asks_about_interview = any(
        _ABOUT_THE_INTERVIEW.search(normalize(q)) and is_question(q) for q in re.split(r"(?<=[.!?])\s+", clipped)
    )
    a.fishing = messages.is_fishing(clipped) or injection.attempt or asks_about_interview
    if messages.is_empty(text):
        a.empty = not a.fishing
        return a
    if messages.is_gibberish(text):
        a.gibberish = True
        return a
    if messages.is_connection_check(text) and not _closing(text):  # "my wifi keeps dropping. that's all from me"
        a.connection = True
        return a
    a.repeated = messages.repeats(text, [strip_markup(t.text) for t in state.candidate_turns()])
    found = find_questions(case, text, embedder, clarifying=state.phase == STEPS[0])
    a.questions = [q for q in found if not _CLOSING.search(q.text)]
    for q in a.questions:
        for f in q.facts:
            if f.key not in a.facts_asked:
                a.facts_asked.append(f.key)
    a.design_choice = any(q.design_choice and not q.facts for q in a.questions)
    ga = message_analysis(case, text, embedder)
    a.whole = Whole.of(case, state, ga, embedder)
    a.signals = sorted({f"{h.step}.{h.name}" for h in ga.signals.hits if h.step != "communication"})
    already = state.covered_ids()
    a.new_points = {
        step: [c.point.id for c in covs if c.covered and c.point.id not in already]
        for step, covs in ga.coverage.items()
    }
    question_texts = {normalize(q.text) for q in a.questions}
    statements = [
        s for s in ga.content_sentences if normalize(s.text) not in question_texts and not is_question(s.text)
    ]
    said = {s.index for s in statements}
    design = {
        f"{h.step}.{h.name}"
        for h in ga.signals.hits
        if h.sentence in said and h.step != "communication" and h.name not in ("question", "assumption")
    }
    in_statements = any(c.covered and c.sentence in said for covs in ga.coverage.values() for c in covs)
    a.substantive = bool(design) or in_statements
    a.steps_addressed = [
        step for step in STEPS if a.new_points.get(step) or len({k for k in a.signals if k.startswith(step + ".")}) >= 2
    ]
    a.heads = _heads(text)
    recap = _recap_sentences(state, ga) if state.phase == STEPS[0] else set()
    weights = {step: len(ga.step_sentences(step) - recap) for step in STEPS}
    a.step_weight = {step: n for step, n in weights.items() if n}
    a.closing = _closing(text)
    asked = a.questions if not a.substantive else [q for q in a.questions if _DIRECT.match(normalize(q.text))]
    given = content_words(" ".join(case.fact_answer(k) for k in a.facts_asked))
    a.unknown_topics = [
        (key, q) for key, q in _resolve_topics(state, asked) if not content_words(key.replace("_", " ")) <= given
    ]
    filler = len(content_words(text)) == 0 or bool(_ACKNOWLEDGEMENT.fullmatch(normalize(text)))
    if (
        not a.asks
        and not a.substantive
        and not a.fishing
        and not filler
        and not a.closing
        and not _on_topic(case, text)
    ):
        a.off_topic = True
        a.unknown_topics = []
        return a
    if a.unknown_topics and not _on_topic(case, " ".join(t for _, t in a.unknown_topics)):
        # an off-topic aside ("how big is the operation?") next to questions the sheet answers is just dropped
        a.off_topic, a.unknown_topics = not a.facts_asked, []
    mostly_model = a.step_weight.get("modeling", 0) == max(a.step_weight.values(), default=-1)
    at_model = (
        STEPS.index(state.phase) >= STEPS.index("modeling")
        or "modeling" in a.heads
        or (mostly_model and not a.questions)  # a message about the model that asks nothing
    )
    a.walked_into = _walked_into(case, state, ga, bool(a.questions), at_model)
    known = set(state.tradeoffs_asked) | set(state.tradeoffs_argued)
    argued = set(tradeoff_sentences(ga))  # "I prefer it over a neural network because ...": nothing left to ask
    whole = [normalize(s.text) for s in statements if s.index in argued]  # the rejected side is named there too
    a.argued = [tid for tid, _ in _tradeoff_hits(case, whole, known)]
    a.argued += [  # "the engine only does 5k/s but the list needs 70k -> precompute": both options, one decision
        t.id
        for t in case.tradeoffs
        if t.id not in known and t.id not in a.argued and any(weighs_both_sides(t, s.kept) for s in statements)
    ]
    known |= set(a.argued) | {p.id for p in state.pending_tradeoffs}
    hits = _tradeoff_hits(case, [s.kept for s in statements if s.kept], known)
    a.tradeoffs = [(tid, _original(text, option)) for tid, option in hits]
    return a


__all__ = ["DOING_MODES", "MessageAnalysis", "analyse"]
