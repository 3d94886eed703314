"""Prompt templates are files in this folder; `render` fills their `{{name}}` slots strictly.

A slot left without a value, or a value with no slot, raises PromptError. Substitution is a single pass
over the template, so text inside a value (a candidate's `{{...}}`) is never rendered again.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parent
_SLOT = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class PromptError(ValueError):
    """A template is missing, or its variables do not match the values given."""


@functools.lru_cache(maxsize=32)
def load_template(name: str) -> str:
    """The text of prompts/<name>.md; raise PromptError if there is no such template."""
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise PromptError(f"bad template name {name!r}")
    path = PROMPTS_DIR / f"{name}.md"
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise PromptError(f"no prompt template {name!r} in {PROMPTS_DIR}") from e


def slots(template: str) -> set[str]:
    """The variable names a template uses."""
    return set(_SLOT.findall(template))


def render_text(template: str, variables: dict[str, str]) -> str:
    """Fill a template's slots; a missing or extra variable, or a non-string value, raises PromptError."""
    wanted = slots(template)
    missing = sorted(wanted - set(variables))
    extra = sorted(set(variables) - wanted)
    if missing or extra:
        raise PromptError(
            f"prompt variables do not match: missing {', '.join(missing) or 'none'}; extra {', '.join(extra) or 'none'}"
        )
    bad = sorted(k for k, v in variables.items() if not isinstance(v, str))
    if bad:
        raise PromptError(f"prompt variables must be strings: {', '.join(bad)}")
    return _SLOT.sub(lambda m: variables[m.group(1)], template)


@functools.lru_cache(maxsize=16)
def keyed_lines(name: str) -> dict[str, str]:
    """The `key: text` lines of prompts/<name>.md as a mapping (lines without a key are ignored)."""
    out: dict[str, str] = {}
    for line in load_template(name).splitlines():
        key, sep, text = line.partition(":")
        if sep and re.fullmatch(r"[a-z0-9_]+", key.strip()):
            out[key.strip()] = text.strip()
    return out


def render_line(name: str, line: str, /, **variables: str) -> str:
    """Render the `line:` line of prompts/<name>.md strictly; an unknown line raises PromptError."""
    lines = keyed_lines(name)
    if line not in lines:
        raise PromptError(f"no line {line!r} in prompt template {name!r}")
    return render_text(lines[line], variables)


def render(name: str, **variables: str) -> str:
    """Render prompts/<name>.md with exactly these variables."""
    return render_text(load_template(name), variables)


__all__ = [
    "PROMPTS_DIR",
    "PromptError",
    "keyed_lines",
    "load_template",
    "render",
    "render_line",
    "render_text",
    "slots",
]
