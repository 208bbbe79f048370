"""CITATION.cff cites this software and the paper, and agrees with pyproject.toml."""

import tomllib

import yaml

from conftest import REPO


def test_citation_cites_the_software_and_the_paper():
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert citation["cff-version"] == "1.2.0" and citation["type"] == "software"
    assert citation["version"] == project["version"]
    assert citation["license"] == project["license"] == "MIT"
    paper = citation["preferred-citation"]
    assert paper["title"].startswith("Deep Translation Prior") and paper["year"] == 2022
    assert [a["given-names"] for a in paper["authors"]] == ["Sunwoo", "Soohyun", "Seungryong"]
    assert (REPO / "LICENSE").read_text().startswith("MIT License")
