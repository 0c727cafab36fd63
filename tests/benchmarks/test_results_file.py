"""benchmarks/RESULTS.md holds one section per benchmark: writing one keeps the others."""

import pytest

from benchmarks.results import write_section


def test_a_section_is_replaced_in_place_and_the_others_kept(tmp_path):
    write_section(tmp_path, "# Long inputs\n\nold\n\n```\n# a comment, not a section\n```\n")
    write_section(tmp_path, "# Scaling\n\nfirst\n")
    write_section(tmp_path, "# Long inputs\n\nnew\n")
    text = (tmp_path / "RESULTS.md").read_text()
    assert text == "# Long inputs\n\nnew\n\n# Scaling\n\nfirst\n"


def test_a_comment_in_a_code_block_does_not_split_a_section(tmp_path):
    body = "# Parity\n\n```\n# the same with --set model.dense=true\n```\n"
    write_section(tmp_path, body)
    write_section(tmp_path, "# Scaling\n\nx\n")
    write_section(tmp_path, body)
    assert (tmp_path / "RESULTS.md").read_text() == body + "\n# Scaling\n\nx\n"


def test_a_section_must_start_with_its_title(tmp_path):
    with pytest.raises(ValueError, match="Title"):
        write_section(tmp_path, "no heading\n")
