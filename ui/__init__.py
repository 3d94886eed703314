"""The Gradio app (`ui.app.build_app`); importing this package turns gradio's analytics off first."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
