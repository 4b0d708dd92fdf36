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


def test_every_variable_the_code_reads_is_documented():
    used = set()
    for folder in ("domain", "application", "extraction", "projections", "streams", "tests"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            used |= set(re.findall(r"MEMSTREAM_[A-Z_]+", path.read_text(encoding="utf-8")))
    undocumented = sorted(v for v in used if v not in DOCUMENTED and not v.endswith("_"))
    assert undocumented == []


def test_quickstart_is_the_two_make_commands():
    block = README.split("## Quickstart", 1)[1].split("```")[1]
    assert block.strip().splitlines() == ["make demo", "make test"]
