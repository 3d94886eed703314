"""Detectors for the 21 failure modes, following the contract's "How to read the definitions"."""

from __future__ import annotations

import re
from collections.abc import Callable

from agent.grading.analysis import Analysis
from agent.grading.scorecard import FailureModeFinding
from agent.grading.text import TODAY, Sentence, normalize
from knowledge.corpus import Corpus
from knowledge.ids import FAILURE_MODES, applicable_failure_modes

Detector = Callable[[Analysis], str | None]
"""Returns the evidence when the mode is present, None when it is absent."""

MAJOR_MODES = frozenset({"ignores_serving", "no_baseline", "no_offline_metrics", "no_online_metrics"})
"""Modes the contract names as major (a major failure keeps an answer below lean_hire)."""

_RANDOM_SPLIT = re.compile(
    r"\b(?:random(?:ly)?\s+hold(?:ing)?\s+out|random(?:ly)?\s+(?:\w+\s+){0,3}split\w*|split\w*\s+(?:[\w/.%-]+\s+){0,4}(?:at\s+)?random(?:ly)?|"
    r"shuffl\w+\s+(?:[\w/.%-]+\s+){0,6}(?:split|80/|70/|90/)|random\s+(?:80|70|90)\s*/\s*\d+|random\s+train[/ -]test)",
)
_FUTURE_FEATURE = re.compile(
    r"\b(?:actual\s+(?:delivery\s+(?:time|duration)|duration|prep\s+time)|refund\s+(?:issued|status)|"
    r"dispute\s+(?:opened|status)|chargeback\s+(?:status|flag)|moderator\s+decision|lifetime\s+(?:counts?|views|clicks)"
    r"\s+(?:computed|calculated)\s+(?:today|now)|"
    r"over\s+the\s+(?:whole|entire|full)\s+(?:[\w-]+\s+){0,2}?(?:dataset|data|period|history|window|range|logs?)|"
    r"including\s+the\s+test\s+(?:days|period|set))",
)
_LABEL_CLAUSE = re.compile(
    r"\b(?:labels?|labell?ed|targets?|ground truth|positives?|negatives?|y\s*=|"
    r"train(?:ing)?\s+(?:uses|on|from)|training\s+(?:data|set|examples?|rows?))\b"
)
"""A post-outcome signal used as the label (moderator decisions as ground truth) is not a leaking feature."""
_FEATURE_CONTEXT = re.compile(
    r"\b(?:feature|features|input|inputs|use|using|include|signal|ctr|rate|count|counts|average|aggregat\w*|"
    r"comput\w*|calculat\w*)s?\b"
)
_SKEW = re.compile(
    r"\b(?:re-?implement\w*|rewrit\w+|re-?writ\w+|re-?cod\w+|port\w*|duplicat\w+|separate(?:ly)?|different(?:ly)?)"
    r"\b[^.]{0,80}\b(?:serving|online|backend|production|real[- ]time|inference|service|server)\b"
    r"|\b(?:serving|online|backend|server|engineering|platform|production)\s+(?:team|service)\s+(?:would\s+|will\s+|"
    r"can\s+|to\s+)?(?:re-?implement\w*|rewrit\w+|re-?comput\w+)"
    r"|\bskew\s+(?:is|will\s+be)\s+(?:fine|ok|okay|acceptable|negligible)"
    r"|\b(?:re-?implement\w*|rewrit\w+|re-?writ\w+|re-?cod\w+)\s+(?:the\s+|those\s+|these\s+)?(?:same\s+)?"
    r"(?:features?|counters?|aggregates?|feature\s+(?:logic|code)|preprocessing)\b"
    # "the C++ service carries its own implementations of the normalisation and the counters"
    r"|\b(?:service|server|serving|backend)\b[^.]{0,60}\b(?:its|their) own "
    r"(?:implementations?|versions?|copies|code)\b",
)
_AGAINST_STAGE = re.compile(
    r"\b(?:stages?|retrieval|candidate generation)\s+(?:\w+\s+){0,2}?(?:throws?\s+away|caps?|limits?|loses?|hurts?)\b"
)
"""An argument against having a candidate stage ("retrieval stages throw away good videos", "a retrieval stage caps
your recall")."""
_STAGE_WORDS = re.compile(r"\b(?:stage|retrieval|candidate\w*|funnel|pre-?filter\w*)\b")
"""Words of a candidate stage: a sentence that dismisses one ("I'd skip a retrieval stage") plans none."""
_SINGLE_STAGE = re.compile(
    r"\b(?:scor\w+|rank\w*|run\w*|apply\w*|evaluat\w+|predict\w*|compar\w+|pass\w*)\s+(?:[\w-]+\s+){0,4}"
    r"(?:every(?:\s+(?:one|single))?(?:\s+of\s+(?:the|our|its))?|all(?:\s+the)?|each\s+of\s+the|"
    r"the\s+(?:whole|entire|full))\s+(?:[\w,~.-]+\s+){0,3}"
    r"(?:videos?|items?|products?|documents?|listings?|images?|events?|posts?|candidates?|catalog(?:ue)?s?|"
    r"corpus|inventory|users?|members?|queries|completions?|pins?|ads?)"
    r"|\bscore\s+everything|\bbrute[- ]force\b|\bfull\s+user[- ](?:by[- ])?item\s+(?:score\s+)?matrix"
    r"|\bexhaustive(?:ly)?\s+(?:scor|search|rank)\w*",
)
_TRAFFIC_SPLIT = re.compile(
    r"\b(?:traffic|users?|requests?|sessions?\s+(?:in|into)|a/?b|experiment\w*|champion|challenger|holdout group|"
    r"control group|treatment|bucket\w*|canary|shadow|rollout)\b"
)
"""A random split of live traffic or users (an online experiment), not of the training data."""
_NOT_DONE_SPLIT = re.compile(
    r"\b(?:random(?:ly)?\s+(?:\w+\s+){0,2}?split\w*|shuffl\w+)\s+(?:\w+\s+)?(?:would|could|might|will|can|puts|mixes|"
    r"leaks|lets|spreads|means)\b|"
    r"\b(?:split\w*|strictly|ordered)\s+(?:\w+\s+){0,2}?(?:by|on)\s+(?:time|date|day|week|month)"
)
"""A random split named as what would go wrong ("a random split would let the model see tomorrow"), or a clause
that splits by time."""
_ACCURACY = re.compile(r"\baccuracy\b(?!\s*@)")
_ACCURACY_FINE = re.compile(r"\btop[- ]?\d*k?[- ]accuracy|accuracy\s*@|\bk[- ]accuracy")
_METRIC_CONTEXT = re.compile(r"\b(?:metric|measure|evaluat\w*|optimi[sz]\w*|report|track|target|%|percent|use|kpi)")
_MISMATCH_CASES = frozenset(
    {
        "harmful-content-detection",
        "ad-click-prediction",
        "fraud-detection",
        "spam-detection",
        "video-recommendation",
        "event-recommendation",
        "news-feed",
        "people-you-may-know",
        "similar-listings",
        "product-search-ranking",
        "query-autocomplete",
        "video-search",
        "visual-search",
        "street-view-blurring",
    }
)
_METRIC_HEADING = re.compile(r"evaluat|metric|measur|offline|success")
_GOAL_FRAMING = re.compile(
    r"\b(?:goals?|aims?|objectives?|purpose|point|success\w*|"
    r"want(?:s|ed)? (?:to (?:increase|grow|reduce|cut|raise|lower|improve|maximi[sz]e|minimi[sz]e|drive|keep|see|make)|"
    r"more|fewer|less|users|people|customers|merchants)|optimi[sz]\w*|maximi[sz]\w*|minimi[sz]\w*|"
    r"increas\w*|grow\w*|reduc\w*|improv\w*|driv\w*|lift|raise|lower|cut|protect\w*|north star|kpis?|metrics?|"
    r"measur\w*|so that|in order to|care about|business|matters?|priorit\w*|trade|cost\w*)\b"
)
_TRAINING_CONTEXT = re.compile(
    r"\b(?:train\w*|labels?|labell?\w*|data|dataset|examples?|features?|positives?|negatives?|ground truth|targets?|"
    r"learn\w*|supervis\w*|annotat\w*|(?:impression|click|search|query|event|watch|interaction|engagement|keystroke|"
    r"transaction|order|activity|registration|booking|session|request|app|behaviou?r|usage|view|purchase|"
    r"moderation|review|delivery|payment) logs?)\b"
)
_BARE_DATA_TITLE = re.compile(r"(?:the |training )?data(?: plan)?\s*[.:]?", re.IGNORECASE)
"""A sentence that is only a step title for the data ("Data.")."""
_SOURCE_CUE = re.compile(
    r"logs?\b|logging|join|annotat|labell?ing|raters?|graders?|moderator|vendor|reports?|chargeback|trap|honeypot|"
    r"review|sample|feedback|training (?:examples|pairs|data)|stream|rescue|existing annotations|labelled"
)
_TRAINING_WORDS = re.compile(
    r"\b(?:train\w*|epochs?|optimi[sz]er|gradient\w*|mini-?batch\w*|parameter servers?|embedding tables?)\b"
)
_PARAM_SERVERS = re.compile(r"\bparameter servers?\b")
"""Training infrastructure whose name contains 'server'."""
_SERVING_CONTEXT = re.compile(
    r"\b(?:serv\w*|deploy\w*|requests?|production|online|real[- ]time|latency|endpoints?|apis?|query time|"
    r"request time|per query|per request|users? (?:see|get))\b"
)
_MODEL_CONTEXT = re.compile(
    r"\b(?:models?|predict\w*|scor\w*|rank\w*|inferen\w*|classif\w*|embedding\w*|candidates?|detectors?|"
    r"features?|retriev\w*|ann|vectors?|encoders?|ml|gpus?|network|trees?|gbdt|regression|serving|deploy\w*|"
    r"latency|p9\d)\b"
)
_SERVING_HEADINGS = ("serving", "deploy", "inference", "infrastructure", "production", "system design")
_POST_LAUNCH = re.compile(
    r"\b(?:after (?:launch|shipping|release|deployment)|in production|post[- ]launch|once (?:live|launched|shipped)|"
    r"live traffic|on live|online)\b|^live\b"
)
_LIVE_METRIC = re.compile(
    r"\b(?:rate|share|number|count|fraction|percentage|proportion) of\b|\b[\w-]+ rates?\b|"
    r"\bper (?:\d[\d,]*|thousand|million|user|session|day|query|search|visit)\b"
)
"""A rate measured after launch ("the rate of blur requests in production") is an online metric."""
_FRAMING_PARTS = ("input", "output", "label", "task_type")


def _first(a: Analysis, step: str, names: tuple[str, ...]) -> int | None:
    hits = [h.sentence for n in names for h in a.signals.get(step, n)]
    return min(hits) if hits else None


def _harmful(
    a: Analysis,
    pattern: re.Pattern[str],
    context: re.Pattern[str] | None = None,
    exclude: re.Pattern[str] | None = None,
) -> int | None:
    """First sentence with a non-negated clause that matches pattern (and context, if given).

    Clauses matching `exclude` are skipped.
    """
    for s in a.sentences:
        for clause in s.clauses:
            if clause.negated or clause.dismissed or (exclude is not None and exclude.search(clause.text)):
                continue
            if pattern.search(clause.text) and (context is None or context.search(clause.text)):
                return s.index
    return None


def _dismissal_quote(a: Analysis, pattern: re.Pattern[str]) -> str:
    for s in a.sentences:
        if any(c.dismissed and pattern.search(c.text) for c in s.clauses):
            return f' It is dismissed: "{a.quote(s.index)}".'
    return ""


def skipped_clarification(a: Analysis) -> str | None:
    """Absent when, before the design starts, the answer asks or states assumptions about goals, scale, limits."""
    design = _first(a, "modeling", ("complex_model", "baseline", "funnel"))
    limit = design if design is not None else len(a.sentences)
    for s in a.sentences[:limit]:
        if s.is_heading and any(k in s.heading for k in ("requirement", "clarif", "assumption", "question")):
            return None
        if s.index in a.signals.sentences("requirements", ("question", "assumption")):
            return None
        if s.is_question:
            return None
    early = {c.sentence for c in a.covered("requirements") if c.sentence is not None and c.sentence < limit}
    if len(early) >= 2:
        return None
    # Stating the goal, the scale or the limits up front, before any design, answers the questions.
    stated = {h.name for h in a.signals.hits if h.step == "requirements" and h.sentence < limit}
    if len(stated & {"business_goal", "scale", "latency_budget", "constraints"}) >= 2:
        return None
    if design is not None:
        return f'The design starts with "{a.quote(design)}" before any question or stated assumption.'
    return "No clarifying question or stated assumption about goals, scale or constraints appears."


def no_business_objective(a: Analysis) -> str | None:
    """Absent when a business goal or its metric is named as something to achieve.

    A business-metric phrase counts through the case's objective point only when its sentence sets it
    as a goal ("... so that sales grow", "success means ..."); an organiser dashboard showing ticket
    sales ties no ML objective to the business.
    """
    if a.signals.has("requirements", "business_goal"):
        return None
    point = a.point_covered("clarify-objective")
    if point is not None and point.sentence is not None and _GOAL_FRAMING.search(a.sentences[point.sentence].kept):
        return None
    return "No business goal or business metric (revenue, retention, losses, satisfaction) is named."


def no_scale_estimate(a: Analysis) -> str | None:
    """Absent once any concrete size is given (users, items, QPS, a latency number)."""
    if a.signals.has("requirements", "scale") or a.signals.has("requirements", "latency_budget"):
        return None
    return "No concrete number for users, items, QPS or the latency budget appears."


def vague_ml_framing(a: Analysis) -> str | None:
    """Absent only when input, output, label and task type are all stated."""
    missing = [p.replace("_", " ") for p in _FRAMING_PARTS if not a.signals.has("framing", p)]
    if not missing:
        return None
    return f"The ML task is never fully framed: no {', no '.join(missing)} is stated."


def no_data_plan(a: Analysis) -> str | None:
    """Present when the answer never says where examples or their labels come from.

    A source word counts only in a sentence about training data (a "Data" section, or words such as
    train, label, examples, features): database tables of a web app or "a log of past queries" in an
    essay are not a data plan. Naming what the label is (clicks, purchases) is not one either, so a
    case's log/label point counts only through a cue that names a source (logs, raters, annotation).
    """
    internals = set(a.signals.sentences("modeling", ("internals",)))
    for hit in a.signals.get("data", "sources"):
        if hit.sentence in internals:
            continue  # "each video id gets a hashed embedding table": architecture, not where examples come from
        sentence = a.sentences[hit.sentence]
        if _TRAINING_CONTEXT.search(sentence.kept) or any(k in sentence.heading for k in ("data", "label", "training")):
            return None
        if hit.sentence > 0 and _BARE_DATA_TITLE.fullmatch(a.sentences[hit.sentence - 1].text.strip()):
            return None  # "Data. Rows come from the 1.2 billion historical orders": a title sentence, then the source
    for c in a.covered("data"):
        if c.point.id.startswith(("log", "label")) and any(_SOURCE_CUE.search(cue.lower()) for cue in c.cues):
            return None
    return "No source of training examples or labels (logs, tables, a labelling process) is named."


def data_leakage(a: Analysis) -> str | None:
    """Present only when the answer does the leaking thing: a random split or a post-outcome feature."""
    idx = _harmful(a, _RANDOM_SPLIT, exclude=re.compile(f"{_TRAFFIC_SPLIT.pattern}|{_NOT_DONE_SPLIT.pattern}"))
    if idx is not None and a.case.id != "visual-search":
        return f'Time-ordered data is split at random: "{a.quote(idx)}".'
    idx = _harmful(a, _FUTURE_FEATURE, _FEATURE_CONTEXT, exclude=_LABEL_CLAUSE)
    if idx is not None:
        return f'A feature uses information from after the prediction time: "{a.quote(idx)}".'
    return None


def class_imbalance_ignored(a: Analysis) -> str | None:
    """Present when rare positives get no sampling, weighting or fitting metric."""
    if a.signals.has("data", "imbalance"):
        return None
    fitting = re.compile(r"pr[- ]?auc|precision|recall|f1|average precision|log[- ]?loss|calibrat")
    if any(fitting.search(h.match) for h in a.signals.get("evaluation", "offline_metric")):
        return None
    return (
        "Positives are rare in this case, but no sampling, class weighting or imbalance-aware metric is planned."
        + _dismissal_quote(a, re.compile(r"imbalanc|rare|sampl|weight"))
    )


_PASSED_OVER = re.compile(
    r"\b(?:than|instead\s+of|rather\s+than)\s+(?:\w+\s+){0,3}?(?:the\s+|a\s+)?feature\s+store"
    r"|\bfeature\s+store\s+(?:migration|project)\b[^.]{0,40}\b(?:wait|later|delay|slip|months)"
)
"""A feature store named only as the option passed over ("faster than waiting on the feature store migration")."""


def training_serving_skew(a: Analysis) -> str | None:
    """Present only when features are computed separately for serving with no shared pipeline."""
    idx = _harmful(a, _SKEW)
    if idx is None:
        for s in a.sentences:
            if any(c.dismissed and "skew" in c.text for c in s.clauses):
                idx = s.index
                break
    shared = [
        h for h in a.signals.get("data", "feature_store") if not _PASSED_OVER.search(a.sentences[h.sentence].kept)
    ]
    if idx is None or shared:
        return None
    return f'Features are computed separately for serving with no shared pipeline: "{a.quote(idx)}".'


_BASELINE_WORDS = re.compile(
    r"\b(?:baseline|heuristic|simple|rules|logistic|popular|formula|benchmark|hand[- ](?:tuned|crafted|written)|"
    r"starting point|yardstick|current (?:system|score|formula|ranker|model|rules)|legacy|"
    r"(?:as|for) (?:a |the )?(?:comparison|reference point|benchmark))"
)
"""Words that name a baseline in a clause that dismisses it ("I'd not spend time on the hand-tuned score")."""


def no_baseline(a: Analysis) -> str | None:
    """Present when a model is proposed with no simple baseline, including a dismissed baseline."""
    dismissed = _dismissal_quote(a, _BASELINE_WORDS)
    explicit = any("baseline" in h.match.lower() for h in a.signals.get("modeling", "baseline"))
    if dismissed and not explicit:
        return f"A baseline is mentioned only to be dismissed.{dismissed}"
    if a.signals.has("modeling", "baseline") or a.point_covered("simple-baseline"):
        return None
    complex_hits = a.signals.get("modeling", "complex_model")
    if complex_hits:
        return f'"{a.quote(complex_hits[0].sentence)}" is proposed with no simpler baseline to beat.{dismissed}'
    if dismissed:
        return f"No simple baseline is proposed.{dismissed}"
    if a.signals.has("modeling", "model_any"):
        return "A model is proposed, but no simple baseline (popularity, rules, logistic regression) to compare with."
    return None


def _serving_unaddressed(a: Analysis) -> bool:
    """No serving plan, or a single passing sentence with no decision in it ("for deployment I'd distil it")."""
    found = serving_sentences(a)
    if len(found) > 1:
        return False
    decided = {"mode", "fallback", "cache", "scaling"}
    return not any(h.step == "serving" and h.name in decided and h.sentence in found for h in a.signals.hits)


def model_first(a: Analysis) -> str | None:
    """Present when model internals fill the answer while data, serving and evaluation go unaddressed."""
    internals = a.signals.sentences("modeling", ("internals",))
    content = max(1, len(a.content_sentences))
    if len(internals) < 3 or len(internals) / content < 0.25:
        return None
    # "Unaddressed" in the contract's sense: no source of training data, no serving plan and no metric
    # at all. Input features and embedding sizes inside the architecture are model internals, not a data plan.
    if no_data_plan(a) is None or not _serving_unaddressed(a):
        return None
    if a.signals.has("evaluation", "offline_metric") or a.signals.has("evaluation", "online_test"):
        return None
    first = min(internals)
    return (
        f'The answer is spent on model internals ("{a.quote(first)}") while data, serving and evaluation '
        "are not addressed."
    )


def single_stage_at_scale(a: Analysis) -> str | None:
    """Present only when a heavy model scores the whole catalogue with no candidate stage."""
    idx = _harmful(a, _SINGLE_STAGE)
    cold = set(a.signals.sentences("modeling", ("cold_start",)))
    refused = {
        s.index
        for s in a.sentences
        if any((c.dismissed or c.negated) and _STAGE_WORDS.search(c.text) for c in s.clauses)
        or _AGAINST_STAGE.search(s.kept)
    }
    staged = [h for h in a.signals.get("modeling", "funnel") if h.sentence not in cold | refused]
    if idx is None or staged:  # a re-ranked popularity list for new users is not the main model's funnel
        return None
    return f'A model scores the whole catalogue per request with no candidate stage: "{a.quote(idx)}".'


def cold_start_ignored(a: Analysis) -> str | None:
    """Present when new users or items get no plan where personalisation matters."""
    if a.signals.has("modeling", "cold_start"):
        return None
    return "New users and new items get no plan (content features, popularity fallback, exploration)." + (
        _dismissal_quote(a, re.compile(r"cold|new (?:user|item|video)"))
    )


_OFFLINE_DISMISSED = re.compile(
    r"\b(?:skip(?:ping)?|(?:wouldn'?t|would\s+not|won'?t|don'?t|do\s+not|not)\s+(?:spend\s+(?:much\s+)?time\s+on|bother\s+with|"
    r"look\s+at|need|care\s+about|trust)|no\s+(?:point|need)\s+(?:in|for))\s+(?:\w+\s+){0,2}?(?:offline|metrics|numbers)\b"
    r"|\b(?:offline|metrics?|numbers)\b[^.;]{0,40}\bvanity\b"
)
"""Offline evaluation waved away ("I wouldn't spend time on offline numbers like MAE; they're a vanity metric")."""


def no_offline_metrics(a: Analysis) -> str | None:
    """Present when no offline metric is named, or offline metrics are dismissed and never taken up again."""
    hits = a.signals.get("evaluation", "offline_metric")
    waved = [s.index for s in a.sentences if _OFFLINE_DISMISSED.search(normalize(s.text))]
    if waved and not any(h.sentence > waved[-1] for h in hits):  # a metric named after it takes it back
        return f'Offline evaluation is waved away: "{a.quote(waved[-1])}".'
    if hits:
        return None
    return "No offline metric (AUC, precision/recall, NDCG, MAE, …) is named." + _dismissal_quote(
        a, re.compile(r"offline|metric")
    )


def no_online_metrics(a: Analysis) -> str | None:
    """Present when no online metric or A/B test is named (a dismissed A/B test does not count)."""
    if a.signals.has("evaluation", "online_test"):
        return None
    dismissed = _dismissal_quote(a, re.compile(r"a/?b|experiment|online|test"))
    if dismissed:
        return "No online test is kept: the A/B test is dismissed." + dismissed
    online = re.compile(r"\b(?:online|in production|after launch|live|post[- ]launch|launch|rollout)\b")
    for h in a.signals.get("evaluation", "online_metric"):
        sentence = a.sentences[h.sentence]
        if online.search(sentence.kept) or any(k in sentence.heading for k in ("evaluat", "metric")):
            return None
    for sentence in a.sentences:
        if not sentence.is_heading and _POST_LAUNCH.search(sentence.kept) and _LIVE_METRIC.search(sentence.kept):
            return None
    return "No online metric or A/B test is proposed."


def metric_mismatch(a: Analysis) -> str | None:
    """Present only when the answer picks a metric that cannot fit, such as accuracy on rare positives."""
    if a.case.id not in _MISMATCH_CASES:
        return None
    for s in a.sentences:
        for clause in s.clauses:
            if clause.negated or clause.dismissed or _ACCURACY_FINE.search(clause.text):
                continue
            in_metric_context = (
                _METRIC_CONTEXT.search(clause.text)
                or _METRIC_CONTEXT.search(s.kept)
                or _METRIC_HEADING.search(s.heading)
            )
            if _ACCURACY.search(clause.text) and in_metric_context:
                return (
                    "Accuracy is used as a metric where positives are rare or the output is ranked: "
                    f'"{a.quote(s.index)}".'
                )
    return None


_HANDOFF_TOPIC = re.compile(r"deploy|serv|infra|production|plumbing|integrat|platform|ops\b|engineering")
"""What a dismissal hands to another team when it hands off serving."""
_BUDGET = re.compile(r"\d+\s*(?:ms|milliseconds?|seconds?|s\b|qps|requests?)|p9\d|latency budget|within \d")
"""A latency budget or load the candidate designs to."""


def serving_sentences(a: Analysis) -> list[int]:
    """Sentences that plan how predictions are served (the evidence against ignores_serving).

    Not counted: a latency budget or scale stated among the requirements (a question or an assumption,
    or a requirements section); compute used for training ("on CPU workers while the GPU trains");
    and infrastructure words with no model in sight ("the catalogue service" of a web app). Once the
    answer hands deployment to another team, only a fallback, cache, scaling plan or an online/batch
    decision tied to a budget still counts ("they know low-latency services better than I do" does not).
    """
    found: set[int] = set()
    for hit in a.signals.hits:
        if hit.step == "serving" and hit.name != "rollout":
            found.add(hit.sentence)
    found |= {c.sentence for c in a.covered("serving") if c.sentence is not None}
    out: list[int] = []
    handed_off = bool(_dismissal_quote(a, _HANDOFF_TOPIC))
    internals = set(a.signals.sentences("modeling", ("internals",)))
    for idx in sorted(found):
        s = a.sentences[idx]
        if idx in internals and not _SERVING_CONTEXT.search(s.kept):
            continue  # "gradient caching", "a smaller key-value cache": model internals, not a serving plan
        kinds = {h.name for h in a.signals.hits if h.step == "serving" and h.sentence == idx}
        if TODAY.search(s.kept) and not kinds & {"fallback", "cache", "scaling"}:
            continue  # "... and a nightly trie today": today's system played back, not a serving plan
        own_plan = kinds & {"fallback", "cache", "scaling"} or ("mode" in kinds and _BUDGET.search(s.kept))
        if handed_off and not own_plan:
            continue  # deployment handed to another team: only a concrete serving decision of their own counts
        training_only = _TRAINING_WORDS.search(s.kept) and not _SERVING_CONTEXT.search(_PARAM_SERVERS.sub("", s.kept))
        if (kinds & {"mode", "fallback", "cache"} or "scaling" in kinds) and not training_only:
            out.append(idx)
            continue
        requirement = (
            s.is_question
            or idx in a.signals.sentences("requirements", ("question", "assumption"))
            or any(k in s.heading for k in ("requirement", "clarif", "assumption", "question", "scope"))
        )
        if requirement:
            continue
        if training_only:
            continue
        if not _MODEL_CONTEXT.search(s.kept) and not any(k in s.heading for k in _SERVING_HEADINGS):
            continue
        out.append(idx)
    return out


def ignores_serving(a: Analysis) -> str | None:
    """Present when there is no deployment or inference plan: batch vs online, latency, infrastructure."""
    if serving_sentences(a):
        return None
    return "No deployment or inference plan: nothing on batch versus online prediction, latency or infrastructure." + (
        _dismissal_quote(a, re.compile(r"deploy|serv|api|infra|latency"))
    )


def no_fallback(a: Analysis) -> str | None:
    """Present when nothing degrades gracefully; autoscaling, replicas and caching are not fallbacks."""
    if ignores_serving(a) is not None:
        return "With no serving plan there is no fallback either (implied by ignores_serving)."
    if a.signals.has("serving", "fallback"):
        return None
    extra = ""
    if a.signals.has("serving", "scaling") or a.signals.has("serving", "cache"):
        extra = " Autoscaling, replicas and caching keep the service up but do not serve a degraded answer."
    return "Nothing serves a degraded answer when a feature or the model is unavailable." + extra


def no_monitoring(a: Analysis) -> str | None:
    """Present when no drift or system-health monitoring is planned."""
    planned = [
        h
        for h in a.signals.get("monitoring", "monitor") + a.signals.get("monitoring", "drift")
        if not a.sentences[h.sentence].is_question
    ]  # "what share ... might not be tracked?" asks, not plans
    if planned:
        return None
    return "No monitoring of data or prediction drift or of system health is planned." + _dismissal_quote(
        a, re.compile(r"monitor|drift|alert")
    )


def no_retraining_plan(a: Analysis) -> str | None:
    """Present when no retraining cadence or trigger is given."""
    if a.signals.has("monitoring", "retrain"):
        return None
    return "No retraining cadence or trigger is given." + _dismissal_quote(a, re.compile(r"re-?train|refresh"))


def feedback_loop_ignored(a: Analysis) -> str | None:
    """Present when position bias or the model shaping its own training data is never addressed."""
    if a.signals.has("monitoring", "feedback_loop") or a.point_covered("feedback-loop"):
        return None
    return (
        "The model shapes its own training data here, but no feedback loop, position bias or exploration is addressed."
    )


def no_tradeoffs(a: Analysis) -> str | None:
    """Present when no choice is compared with an alternative together with a reason."""
    if tradeoff_sentences(a):
        return None
    return "Choices are asserted without comparing an alternative and giving a reason."


_STRONG_REASON = re.compile(
    r"\b(?:because|since|so that|which means|the reason|that way|otherwise|wipes? out|loses?|cheaper|faster|slower|"
    r"too (?:slow|expensive|costly|big)|misses|at the cost of|costs? (?:more|less|too)|would only|ceiling|"
    r"can'?t (?:learn|capture|handle|scale))\b"
)
"""A reason given in the sentence after a comparison (looser reason words like 'can be' do not count there)."""


_REASON_REACH = 2
"""How many sentences after a comparison its reason may come ("Two options: ... I pick B. A would only ...")."""


def _reason_follows(following: list[Sentence], compare: re.Pattern[str]) -> bool:
    """True when one of the next sentences gives a strong reason before another comparison starts."""
    for sentence in following:
        text = normalize(sentence.text)
        if compare.search(text):
            return False
        if _STRONG_REASON.search(text):
            return True
    return False


def tradeoff_sentences(a: Analysis) -> list[int]:
    """Sentences that compare an option with an alternative and give a reason, in them or in the next two sentences."""
    from agent.grading.signals import SIGNALS

    compare, reason = SIGNALS["communication"]["compare"], SIGNALS["communication"]["reason"]
    found: list[int] = []
    body = [s for s in a.sentences if not s.is_heading]
    for i, s in enumerate(body):
        text = normalize(s.text)
        if not compare.search(text):
            continue
        if reason.search(text) or _reason_follows(body[i + 1 : i + 1 + _REASON_REACH], compare):
            found.append(s.index)  # the reason may come after the choice: "I'm going with tiles. Because ..."
    # an alternative and a reason in one clause pair, in plain words the patterns above miss
    for i, s in enumerate(body):
        text = normalize(s.text)
        plain = bool(_PLAIN_ALTERNATIVE.search(text) and _PLAIN_REASON.search(text))
        if s.index not in found and (plain or _self_answered_why_not(text, body[i + 1 : i + 2])):
            found.append(s.index)
    return sorted(found)


_WHY_NOT = re.compile(r"^(?:so\s+|and\s+)?why\s+not\s+(?P<alt>[^:?]{2,60})(?P<end>[:?])\s*(?P<rest>.*)$")
"""A question the candidate puts to themself and answers: 'why not a deep net: tabular data, trees are fast'."""


def _self_answered_why_not(text: str, following: list[Sentence]) -> bool:
    """True for 'why not X: reason' or 'why not X?' followed by a statement that answers it."""
    m = _WHY_NOT.match(text)
    if not m:
        return False
    rest = m.group("rest")
    if m.group("end") == ":" or rest.strip():
        return len(rest.split()) >= 2
    return bool(following) and not following[0].is_question and len(following[0].text.split()) >= 3


_PLAIN_ALTERNATIVE = re.compile(
    r"\b(?:rather|instead|versus|vs|downside|upside|alternative|otherwise|over (?:a |an |the )?(?:[\w-]+ ){0,2}?"
    r"(?:net|nets|nn|mlp|lr|llm|cnn|rnn|lstm|gnn|bert|heuristic|rules?|baseline|lists?|filter|one|approach|option)|"
    r"(?:more|less)(?! (?:negatives|positives|examples|rows|samples|data|clicks|users|items)\b) (?:[\w-]+ ){0,3}?than|"
    r"(?:better|worse|cheaper|faster|slower|simpler|easier|harder) (?:[\w-]+ ){0,3}?than|"
    r"no (?:[\w-]+ ){0,3}?(?:or|nor) (?:a |an |the )?[\w-]+|"
    # the other option's cost: "neural nets are harder to explain"
    r"(?:harder|slower|costlier|riskier|more expensive|less interpretable|more complex) to "
    r"(?:explain|debug|serve|train|tune|maintain|run|operate|interpret))\b"
)
"""An alternative named in plain words: 'rather', 'the downside', 'trees over a deep net', 'slower to update than'."""
_PLAIN_REASON = re.compile(
    r"\b(?:because|since|so that|which is why|given that|costs?|won'?t fit|can'?t|too (?:slow|costly|expensive|big)|"
    r"slower|faster|cheaper|easier|harder|safer|simpler)\b"
)
"""A reason in plain words, found in the same sentence as a plain alternative."""


DETECTORS: dict[str, Detector] = {
    "skipped_clarification": skipped_clarification,
    "no_business_objective": no_business_objective,
    "no_scale_estimate": no_scale_estimate,
    "vague_ml_framing": vague_ml_framing,
    "no_data_plan": no_data_plan,
    "data_leakage": data_leakage,
    "class_imbalance_ignored": class_imbalance_ignored,
    "training_serving_skew": training_serving_skew,
    "no_baseline": no_baseline,
    "model_first": model_first,
    "single_stage_at_scale": single_stage_at_scale,
    "cold_start_ignored": cold_start_ignored,
    "no_offline_metrics": no_offline_metrics,
    "no_online_metrics": no_online_metrics,
    "metric_mismatch": metric_mismatch,
    "ignores_serving": ignores_serving,
    "no_fallback": no_fallback,
    "no_monitoring": no_monitoring,
    "no_retraining_plan": no_retraining_plan,
    "feedback_loop_ignored": feedback_loop_ignored,
    "no_tradeoffs": no_tradeoffs,
}
"""One detector per contract failure mode, in the contract's order."""
assert list(DETECTORS) == list(FAILURE_MODES)


def detect_failure_modes(a: Analysis, corpus: Corpus) -> list[FailureModeFinding]:
    """Run the detectors of the modes that apply to the case; each finding cites its knowledge file."""
    findings: list[FailureModeFinding] = []
    for mode in applicable_failure_modes(a.case.id):
        evidence = DETECTORS[mode](a)
        if evidence is not None:
            source = corpus.failure_modes[mode].source if mode in corpus.failure_modes else a.case.source
            findings.append(FailureModeFinding(id=mode, step=FAILURE_MODES[mode], evidence=evidence, source=source))
    return findings


__all__ = ["DETECTORS", "MAJOR_MODES", "Detector", "detect_failure_modes", "tradeoff_sentences"]
