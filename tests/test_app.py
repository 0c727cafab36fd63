"""The Streamlit page, driven headless with AppTest."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app" / "streamlit_app.py")


def test_app_says_clearly_when_no_model_is_installed(tmp_path, monkeypatch):
    monkeypatch.setenv("SUMMARIZER_MODEL", str(tmp_path / "nothing-here"))
    app = AppTest.from_file(APP, default_timeout=30).run()
    assert not app.exception
    assert len(app.warning) == 1
    message = app.warning[0].value
    assert "No summarization model is installed yet" in message
    assert "nothing-here" in message and "SUMMARIZER_MODEL" in message
