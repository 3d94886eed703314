"""Token budget of the model voice: count with tiktoken, trim old turns into a summary line, price each call.

Everything here is computed from our own text and the interview state, never from the model: the
summary of trimmed turns is built from the turns' phases and meta, and token counts use the
offline tiktoken encodings (`knowledge.tokens`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from agent.interview.state import Turn
from knowledge.tokens import DEFAULT_ENCODING, count_tokens, get_encoding

DEFAULT_TOKEN_BUDGET = 3_000
"""Upper bound on the tokens of one model-voice prompt (system + user message)."""
MIN_CONVERSATION_TOKENS = 120
"""The conversation always gets at least this many tokens, even when the fixed parts are large."""
SEPARATOR = "\n\n"

PRICES_PER_MILLION: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
}
"""USD per 1M (prompt, completion) tokens; the one place prices live. Unknown models cost 0."""


def price_of(model: str) -> tuple[float, float]:
    """(prompt, completion) USD per 1M tokens: exact name, else the longest known prefix, else (0, 0)."""
    name = model.strip().lower().rsplit("/", 1)[-1]
    if name in PRICES_PER_MILLION:
        return PRICES_PER_MILLION[name]
    prefixes = [p for p in PRICES_PER_MILLION if name.startswith(p + "-")]
    return PRICES_PER_MILLION[max(prefixes, key=len)] if prefixes else (0.0, 0.0)


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int) -> float:
    """Estimated cost of one call in USD, from the price table."""
    prompt_price, completion_price = price_of(model)
    return round((prompt_tokens * prompt_price + completion_tokens * completion_price) / 1_000_000, 8)


def encoding_for(model: str) -> str:
    """The tiktoken encoding of a model name (o200k_base for gpt-4o and later), cl100k_base when unknown."""
    import tiktoken.model

    try:
        name = tiktoken.model.encoding_name_for_model(model.rsplit("/", 1)[-1])
    except KeyError:
        return DEFAULT_ENCODING
    return name if name in ("cl100k_base", "o200k_base") else DEFAULT_ENCODING


@dataclass(frozen=True)
class TurnUsage:
    """Tokens and estimated cost of one model-voice call."""

    prompt_tokens: int
    completion_tokens: int
    cost_usd: float

    def meta(self) -> dict[str, int | float]:
        """The per-turn meta entries: prompt_tokens, completion_tokens, cost_usd."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": self.cost_usd,
        }


def turn_usage(
    model: str,
    prompt_tokens: int,
    completion_text: str,
    *,
    reported_prompt: int = 0,
    reported_completion: int = 0,
) -> TurnUsage:
    """Usage of one call: the server's counts when it reported them, else tiktoken counts of our text."""
    prompt = reported_prompt or prompt_tokens
    completion = reported_completion or (count_tokens(completion_text, encoding_for(model)) if completion_text else 0)
    return TurnUsage(prompt, completion, cost_usd(model, prompt, completion))


def truncate_tokens(text: str, limit: int, encoding: str = DEFAULT_ENCODING) -> str:
    """The first `limit` tokens of text, marked with ' […]' when cut."""
    enc = get_encoding(encoding)
    tokens = enc.encode(text, disallowed_special=())
    if len(tokens) <= limit:
        return text
    return enc.decode(tokens[: max(0, limit)]).rstrip() + " […]"


_STEP_WORDS = {
    "requirements": "requirements",
    "framing": "framing",
    "data": "data",
    "modeling": "modelling",
    "evaluation": "evaluation",
    "serving": "serving",
    "monitoring": "monitoring",
}


def _and(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def summary_line(trimmed: Sequence[Turn]) -> str:
    """One line standing for trimmed turns, built from their phases and meta (never from the model)."""
    steps: list[str] = []
    facts: list[str] = []
    flags: list[str] = []
    tradeoffs: list[str] = []
    for t in trimmed:
        if t.role == "candidate" and t.phase not in steps:
            steps.append(t.phase)
        if t.role != "interviewer":
            continue
        for fact in t.meta.get("facts", []) or []:
            key = str(fact.get("key", "")).replace("_", " ") if isinstance(fact, dict) else ""
            if key and key not in facts:
                facts.append(key)
        for mode in t.meta.get("flags", []) or []:
            name = str(mode).replace("_", " ")
            if name not in flags:
                flags.append(name)
        option = (t.meta.get("tradeoff") or {}).get("option") if isinstance(t.meta.get("tradeoff"), dict) else None
        if option and option not in tradeoffs:
            tradeoffs.append(str(option))
    said = [_STEP_WORDS.get(s, s) for s in steps]
    parts = [f"Earlier ({len(trimmed)} turns not shown): the candidate covered {_and(said) or 'nothing yet'}"]
    if facts:
        parts.append("facts given: " + ", ".join(facts))
    if flags:
        parts.append("already flagged: " + ", ".join(flags))
    if tradeoffs:
        parts.append("trade-offs asked about: " + ", ".join(tradeoffs))
    return "; ".join(parts) + "."


@dataclass(frozen=True)
class FittedConversation:
    """The conversation text that fits the budget, how many turns were trimmed and its token count."""

    text: str
    trimmed: int
    tokens: int
    cut_last: bool = False


def fit_conversation(
    turns: Sequence[Turn],
    room: int,
    render: Callable[[Turn, str], str],
    *,
    summary: Callable[[Sequence[Turn]], str] = summary_line,
    encoding: str = DEFAULT_ENCODING,
) -> FittedConversation:
    """The newest turns that fit in `room` tokens, the oldest replaced by a summary line.

    `render(turn, text)` lays out one turn (fences included); when even the newest turn alone does not
    fit, its text is cut by tokens (the fences stay whole).
    """
    room = max(MIN_CONVERSATION_TOKENS, room)
    if not turns:
        return FittedConversation("(no conversation yet)", 0, 0)
    sep = count_tokens(SEPARATOR, encoding)
    blocks = [render(t, t.text) for t in turns]
    costs = [count_tokens(b, encoding) + sep for b in blocks]
    suffix = [0] * (len(blocks) + 1)
    for i in range(len(blocks) - 1, -1, -1):
        suffix[i] = suffix[i + 1] + costs[i]
    for k in range(len(blocks)):
        if suffix[k] > room:
            continue
        head = summary(turns[:k]) if k else ""
        head_cost = count_tokens(head, encoding) + sep if head else 0
        if suffix[k] + head_cost <= room:
            text = SEPARATOR.join([head, *blocks[k:]] if head else blocks[k:])
            return FittedConversation(text, k, suffix[k] + head_cost)
    k = len(turns) - 1
    head = summary(turns[:k]) if k else ""
    head_cost = count_tokens(head, encoding) + sep if head else 0
    last = turns[-1]
    frame = count_tokens(render(last, ""), encoding) + sep
    text_room = max(20, room - head_cost - frame)
    block = render(last, truncate_tokens(last.text, text_room, encoding))
    text = SEPARATOR.join([head, block] if head else [block])
    return FittedConversation(text, k, count_tokens(text, encoding), cut_last=True)


__all__ = [
    "DEFAULT_TOKEN_BUDGET",
    "PRICES_PER_MILLION",
    "FittedConversation",
    "TurnUsage",
    "cost_usd",
    "encoding_for",
    "fit_conversation",
    "price_of",
    "summary_line",
    "truncate_tokens",
    "turn_usage",
]
