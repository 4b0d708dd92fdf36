"""README's configuration table must list every setting with the default the code uses."""

import re
from pathlib import Path

from application.settings import REPO_ROOT, Settings

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
ROW = re.compile(r"^\| `(MEMSTREAM_[A-Z_]+)` \| (.+?) \|", re.M)
DOCUMENTED = dict(ROW.findall(README))


def shown(value) -> str:
    if value in ("", None):
        return "*(empty)*"
    if isinstance(value, bool):  # as one writes it in the environment
        value = str(value).lower()
    if isinstance(value, Path):
        value = str(value).replace(str(REPO_ROOT), "<repo>")
    return f"`{value}`"


def test_every_setting_is_documented_with_its_default():
    for name, field in Settings.model_fields.items():
        variable = f"MEMSTREAM_{name.upper()}"
        assert variable in DOCUMENTED, f"{variable} missing from README's configuration table"
        assert DOCUMENTED[variable] == shown(field.default), f"{variable}: README says {DOCUMENTED[variable]}"


PACKAGES = ("domain", "application", "adapters", "extraction", "projections", "streams", "cli", "api",
            "memstream", "webui", "tools", "tests")


def variables_the_code_reads() -> set[str]:
    """Names the code mentions, less Python constants that only look like one (``MEMSTREAM_FILES = {...}``)."""
    used, constants = set(), set()
    for folder in PACKAGES:
        for path in (REPO_ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            used |= set(re.findall(r"MEMSTREAM_[A-Z_]+", text))
            constants |= set(re.findall(r"^(MEMSTREAM_[A-Z_]+)\s*[:=]", text, re.M))
    return {v for v in used - constants if not v.endswith("_")}


def test_every_variable_the_code_reads_is_documented():
    assert sorted(v for v in variables_the_code_reads() if v not in DOCUMENTED) == []


def test_readme_lists_no_variable_that_does_not_exist():
    settings = {f"MEMSTREAM_{name.upper()}" for name in Settings.model_fields}
    assert DOCUMENTED and sorted(set(DOCUMENTED) - settings - variables_the_code_reads()) == []


def test_quickstart_is_the_two_make_commands():
    block = README.split("## Quickstart", 1)[1].split("```")[1]
    assert block.strip().splitlines() == ["make demo", "make test"]
