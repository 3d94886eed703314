"""The Gradio app: `build_app(settings)` returns the Blocks (no launch); `main(host, port, share)` serves it."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import gradio as gr

from agent.interview.service import InterviewService
from agent.settings import Settings
from knowledge.ids import LEVELS
from ui import render
from ui.backend import Backend, case_choices, provider_label
from ui.drill import DEFAULT_COUNT, DrillDesk, DrillHandlers, drill_panels
from ui.drill_render import ANY_CASE, WEAKEST, focus_choices, mastery_frame
from ui.handlers import MODES, Handlers, interview_panels, scorecard_panels

TITLE = "interviewer: ML system design practice"
SET_URL_JS = """(sid) => {
  const url = new URL(window.location.href);
  if (sid) { url.searchParams.set('session', sid); } else { url.searchParams.delete('session'); }
  window.history.replaceState(null, '', url);
  return sid;
}"""
"""Keeps the session id in the page URL, so a reload or a copied link reopens the same interview."""

PRIVATE: dict[str, Any] = {"api_visibility": "private"}
CONCURRENCY = 64
"""Calls of one event served at once (Gradio's default is 1, so 50 candidates queued behind each other's
streamed replies: p95 2.9 s with only 5 clients); the handlers are thread-safe (per-thread SQLite connections,
optimistic versions). The worker threads are sized to match."""
LOGIN_MESSAGE = "Log in to see your own practice sessions."


def browser_secret(settings: Settings) -> str:
    """A per-installation secret for the browser's stored session id (kept in the data folder)."""
    path = settings.data_dir / "ui-secret"
    try:
        return path.read_text(encoding="utf-8").strip() or _new_secret(path)
    except OSError:
        return _new_secret(path)


def _new_secret(path: Path) -> str:
    value = secrets.token_urlsafe(24)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value, encoding="utf-8")
        path.chmod(0o600)
    except OSError:
        pass  # an unwritable data folder only costs resuming across server restarts
    return value


def _scorecard_view(label: str, key: str) -> tuple[gr.Markdown, gr.BarPlot, gr.HTML, gr.Dropdown, gr.Button]:
    head = gr.Markdown(scorecard_panels(None)[0])
    plot = gr.BarPlot(
        render.score_frame(None),
        x="dimension",
        y="score",
        y_lim=[0, 4],
        sort=render.DIMENSION_ORDER,
        x_label_angle=-30,
        title=label,
        height=320,
    )
    with gr.Row():
        practice = gr.Dropdown([], label="Practise next", scale=3, elem_id=f"{key}-practice")
        drill = gr.Button("Drill this dimension", scale=1, elem_id=f"{key}-drill")
    details = gr.HTML("")
    return head, plot, details, practice, drill


def _drill_view(cases: list[tuple[str, str]]) -> dict[str, Any]:
    """The Drill tab's components by name (the caller is inside the tab)."""
    v: dict[str, Any] = {}
    with gr.Row():
        v["case"] = gr.Dropdown(
            [("Any case (one that fits the focus)", ANY_CASE), *cases], value=ANY_CASE, label="Drill case", scale=3
        )
        v["focus"] = gr.Dropdown(focus_choices(), value=WEAKEST, label="Focus", scale=3, elem_id="drill-focus")
        v["level"] = gr.Radio(list(LEVELS), value="senior", label="Drill level", scale=2)
        v["count"] = gr.Slider(1, 10, value=DEFAULT_COUNT, step=1, label="Questions", scale=1)
    v["start"] = gr.Button("Start drill", variant="primary", elem_id="drill-start")
    with gr.Row():
        with gr.Column(scale=3):
            v["status"] = gr.Markdown(drill_panels(None)[1], elem_id="drill-status")
            v["question"] = gr.Markdown("", elem_id="drill-question")
            v["answer"] = gr.Textbox(label="Your drill answer", lines=4, elem_id="drill-answer")
            with gr.Row():
                v["submit"] = gr.Button("Submit answer", variant="primary", elem_id="drill-submit")
                v["finish"] = gr.Button("Finish drill", variant="stop", elem_id="drill-finish")
            v["feedback"] = gr.HTML(drill_panels(None)[3], elem_id="drill-feedback")
        with gr.Column(scale=2):
            v["sid"] = gr.Textbox(label="Drill session", interactive=False, elem_id="drill-sid")
            v["mastery"] = gr.BarPlot(
                mastery_frame(None),
                x="dimension",
                y="mastery",
                y_lim=[0, 4],
                sort=render.DIMENSION_ORDER,
                x_label_angle=-30,
                title="Mastery per dimension (1–4; 2.75 = mastered)",
                height=320,
                elem_id="drill-mastery",
            )
    return v


def build_app(settings: Settings, *, service: InterviewService | None = None) -> gr.Blocks:
    """The whole app as Blocks (Start, Interview, Drill, Scorecard, Grade, History); nothing is launched."""
    backend = Backend(settings, service)
    h = Handlers(backend)
    dh = DrillHandlers(DrillDesk(backend), h)
    cases = case_choices()
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        remembered = gr.BrowserState("", storage_key="interviewer-session", secret=browser_secret(settings))
        gr.Markdown(f"# {TITLE}")
        with gr.Tabs(selected="start") as tabs:
            with gr.Tab("Start", id="start"):
                gr.Markdown(f"**Provider:** {provider_label(settings)}")
                with gr.Row():
                    case = gr.Dropdown(cases, value=cases[0][1], label="Case", scale=5)
                    rand = gr.Button("🎲 Random", scale=1)
                with gr.Row():
                    level = gr.Radio(list(LEVELS), value="senior", label="Level")
                    mode = gr.Radio(list(MODES), value=MODES[0], label="Mode")
                start = gr.Button("Start", variant="primary")
            with gr.Tab("Interview", id="interview"), gr.Row():
                with gr.Column(scale=3):
                    chat = gr.Chatbot(
                        label="Interview", height=480, sanitize_html=True, buttons=["copy_all"], elem_id="chat"
                    )
                    msg = gr.Textbox(label="Your answer", placeholder="Type and press Enter", lines=2, elem_id="msg")
                    with gr.Row():
                        send = gr.Button("Send", variant="primary", elem_id="send")
                        end = gr.Button("End interview & grade", variant="stop", elem_id="end")
                with gr.Column(scale=2):
                    sid = gr.Textbox(label="Session", interactive=False, elem_id="sid")
                    clock = gr.Markdown(interview_panels(None)[2], elem_id="clock")
                    steps = gr.Markdown(interview_panels(None)[1], elem_id="steps")
                    gr.Markdown("**Failure modes raised** (open one for its passage)")
                    flags = gr.HTML(interview_panels(None)[3], elem_id="flags")
            with gr.Tab("Drill", id="drill") as drill_tab:
                d = _drill_view(cases)
            with gr.Tab("Scorecard", id="scorecard"):
                s_head, s_plot, s_details, s_practice, s_drill = _scorecard_view("Scores per dimension (1–4)", "card")
            with gr.Tab("Grade", id="grade"):
                with gr.Row():
                    with gr.Column(scale=3):
                        answer = gr.Textbox(label="Written answer", lines=10, placeholder="Paste your answer")
                        upload = gr.File(
                            label="…or upload a .txt / .md file", file_types=[".txt", ".md"], type="filepath"
                        )
                    with gr.Column(scale=2):
                        g_case = gr.Dropdown(cases, value=cases[0][1], label="Case")
                        g_level = gr.Radio(list(LEVELS), value="senior", label="Level")
                        grade = gr.Button("Grade", variant="primary")
                        g_sid = gr.Textbox(label="Stored as session", interactive=False)
                g_head, g_plot, g_details, g_practice, g_drill = _scorecard_view("Scores per dimension (1–4)", "grade")
            with gr.Tab("History", id="history") as history_tab:
                refresh = gr.Button("Refresh")
                table = gr.Dataframe(headers=render.HISTORY_HEADERS, interactive=False, wrap=True)
                with gr.Row():
                    picked = gr.Dropdown([], label="Session", scale=4, allow_custom_value=True)
                    resume = gr.Button("Open / resume", scale=1)
                    md_btn = gr.Button("Download markdown", scale=1)
                    js_btn = gr.Button("Download JSON", scale=1)
                download = gr.File(label="Download", interactive=False)
                trend = gr.LinePlot(
                    render.trend_frame([]),
                    x="date",
                    y="score",
                    color="dimension",
                    y_lim=[0, 4],
                    title="Scores per dimension over time",
                    height=320,
                )

        panels = [chat, steps, clock, flags]
        scorecard = [s_head, s_plot, s_details, s_practice]
        drill_out = [d["sid"], d["status"], d["question"], d["feedback"], d["answer"], d["mastery"]]
        rand.click(h.pick_random, None, case, **PRIVATE)
        start.click(h.start, [case, level, mode], [sid, *panels, tabs, g_case, g_level], api_name="start").success(
            dh.from_start, [mode, case, level], [*drill_out, d["case"], d["focus"]], **PRIVATE
        )
        d_in = [d["case"], d["focus"], d["level"], d["count"]]
        d["start"].click(dh.start, d_in, drill_out, api_name="drill_start")
        d["submit"].click(dh.answer, [d["answer"], d["sid"]], drill_out, api_name="drill_answer")
        d["answer"].submit(dh.answer, [d["answer"], d["sid"]], drill_out, **PRIVATE)
        d["finish"].click(dh.finish, [d["sid"]], drill_out, api_name="drill_finish")
        drill_tab.select(dh.mastery, None, d["mastery"], **PRIVATE)
        d["status"].change(dh.controls, [d["sid"]], [d["answer"], d["submit"]], **PRIVATE)
        for picker, lvl, btn in ((s_practice, level, s_drill), (g_practice, g_level, g_drill)):
            btn.click(dh.practise, [picker, lvl], [*drill_out, d["focus"], tabs], **PRIVATE)
        send.click(h.send, [msg, sid], [*panels, msg, *scorecard], api_name="send")
        msg.submit(h.send, [msg, sid], [*panels, msg, *scorecard], **PRIVATE)
        end.click(h.end, [sid], [*panels, *scorecard, tabs], api_name="end")
        g_out = [g_head, g_plot, g_details, g_practice, g_sid]
        grade.click(h.grade, [answer, upload, g_case, g_level], g_out, api_name="grade")
        history_outputs = [table, picked, trend]
        refresh.click(h.history, None, history_outputs, api_name="history")
        history_tab.select(h.history, None, history_outputs, **PRIVATE)
        resume.click(dh.resume, [picked], [sid, *panels, *scorecard, tabs, *drill_out], api_name="resume")
        md_btn.click(h.export_markdown, [picked], download, api_name="export_markdown")
        js_btn.click(h.export_json, [picked], download, api_name="export_json")
        sid.change(lambda s: s, sid, remembered, js=SET_URL_JS, **PRIVATE)
        gr.Timer(15).tick(h.tick, sid, clock, show_progress="hidden", **PRIVATE)
        app.load(dh.restore, [remembered], [sid, *panels, *scorecard, tabs, *drill_out], **PRIVATE)
    app.queue(default_concurrency_limit=CONCURRENCY)
    return app


def launch(app: gr.Blocks, host: str = "127.0.0.1", port: int | None = 7860, share: bool = False, **kw: Any) -> Any:
    """Serve the app (127.0.0.1 unless told otherwise; never shared unless asked)."""
    kw.setdefault("max_threads", CONCURRENCY + 16)
    return app.launch(server_name=host, server_port=port, share=share, footer_links=["api"], **kw)


def main(host: str = "127.0.0.1", port: int = 7860, share: bool = False, *, settings: Settings | None = None) -> None:
    """Build the app (for the environment's settings unless given) and serve it; login on when users are set."""
    settings = settings or Settings.from_env()
    users = settings.ui_credentials()
    auth: dict[str, Any] = {"auth": users, "auth_message": LOGIN_MESSAGE} if users else {}
    launch(build_app(settings), host, port, share, **auth)


__all__ = ["build_app", "launch", "main"]
