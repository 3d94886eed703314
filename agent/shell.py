"""A small interactive explorer of the knowledge base: `make run` starts it until the app lands."""

from __future__ import annotations

from collections.abc import Callable

from agent.settings import Settings
from knowledge.retrieval import Retriever, SearchFilters

HELP = (
    "commands: `cases` lists the case studies, `case ID` picks one (its prompt is shown and searches "
    "prefer it), `case` clears it, `quit` leaves; anything else searches the knowledge base."
)


def explore(
    settings: Settings,
    read: Callable[[str], str] = input,
    write: Callable[[str], None] = print,
    retriever: Retriever | None = None,
) -> int:
    """Run the explorer loop until `quit` or end of input; return an exit status."""
    from agent.kb import ready_retriever
    from knowledge.corpus import load_corpus

    corpus = load_corpus()
    retriever = retriever or ready_retriever(settings)
    case_id: str | None = None
    write("interviewer knowledge explorer (offline). " + HELP)
    while True:
        try:
            line = read(f"{case_id or 'kb'}> ").strip()
        except EOFError:
            return 0
        if line in {"quit", "exit", "q"}:
            return 0
        if not line:
            continue
        if line in {"help", "?"}:
            write(HELP)
        elif line == "cases":
            for case in corpus.cases.values():
                write(f"  {case.id:<26} {case.title}")
        elif line == "case" or line.startswith("case "):
            wanted = line[4:].strip() or None
            if wanted is not None and wanted not in corpus.cases:
                write(f"unknown case id '{wanted}' (type `cases`)")
                continue
            case_id = wanted
            if case_id:
                write(corpus.cases[case_id].prompt)
        else:
            for n, hit in enumerate(retriever.search(line[:2000], k=3, filters=SearchFilters(case_id=case_id)), 1):
                snippet = " ".join(hit.text.split())
                write(f"{n}. {hit.source} › {hit.heading}\n   {snippet[:400]}")
