"""Streamlit page: paste or upload a paper, get its summary. UI only; the model lives in
`summarizer`. Run with `streamlit run app/streamlit_app.py`."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `streamlit run` from anywhere

from summarizer.paths import MODEL_ENV_VAR, default_model_dir, is_model_dir

NO_MODEL_HELP = f"""
**No summarization model is installed yet.**

The app looks for a model in `{{path}}` (set `{MODEL_ENV_VAR}` to use another directory
written by `save_pretrained`). To get one, train it on the arXiv/PubMed data:

```
python -m summarizer train --config configs/cpu-small.toml --out checkpoints/default
```

or point `{MODEL_ENV_VAR}` at a trained checkpoint.
"""


def main() -> None:
    st.set_page_config(page_title="Paper summarizer", page_icon="📄")
    st.title("Paper summarizer")
    st.caption("Long-document summaries of scientific papers with a Terraformer model.")
    model_dir = default_model_dir()
    if not is_model_dir(model_dir):
        st.warning(NO_MODEL_HELP.format(path=model_dir))
        return
    st.info(f"Model found in `{model_dir}`. The summarization page is not built yet.")


main()
