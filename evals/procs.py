"""Starting real `interviewer` processes for benchmarks, load and fault runs: environment, command, port."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(data_dir: Path) -> dict[str, str]:
    """The environment of an offline `interviewer` on `data_dir` (no keys, no login, no telemetry)."""
    env = dict(os.environ)
    env.update(
        {
            "INTERVIEWER_DATA_DIR": str(data_dir),
            "INTERVIEWER_PROVIDER": "offline",
            "GRADIO_ANALYTICS_ENABLED": "False",
            "ANONYMIZED_TELEMETRY": "False",
            "HF_HUB_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "INTERVIEWER_UI_USERS"):
        env.pop(var, None)
    return env


def interviewer_cmd() -> list[str]:
    """The `interviewer` console script next to this Python (or the module entry point)."""
    script = Path(sys.executable).with_name("interviewer")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from agent.cli import main; main()"]
