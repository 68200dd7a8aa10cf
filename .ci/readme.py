"""Render README.md from nbs/index.ipynb (nbdev's quarto-based renderer cannot run here).

Markdown cells are copied; code cells become ```python blocks unless they carry a `#|` hide/export directive.
A markdown line `<!-- include PATH -->` or `<!-- include PATH#Heading -->` is replaced by that committed report file
(or by the section under `## Heading`, up to the next heading of that level), so the numbers the README states are
read from the report, not typed in. `--check` exits 1 when README.md differs from what the notebook renders.
"""
import json, re, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
_INCLUDE = re.compile(r"^<!-- include (\S+?)(?:#(.+?))? -->$")


def include(path, heading=None):
    "The text of a committed report, or of its section under `## heading`."
    f = root / path
    if not f.is_file(): sys.exit(f"readme: {path} (included by nbs/index.ipynb) does not exist: run the experiment that writes it")
    text = f.read_text(encoding="utf-8")
    if heading:
        lines, out, on = text.splitlines(), [], False
        for l in lines:
            if l.startswith("## "):
                if on: break
                on = l[3:].strip() == heading; continue
            if on: out.append(l)
        if not out: sys.exit(f"readme: {path} has no section '## {heading}'")
        text = "\n".join(out)
    return text.strip("\n") + f"\n\n<sub>(rendered from `{path}`" + (f", section {heading}" if heading else "") + ")</sub>"


def render(nb_path=root / "nbs" / "index.ipynb"):
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    parts = []
    for c in nb["cells"]:
        src = "".join(c["source"]).strip("\n")
        if not src: continue
        if c["cell_type"] == "markdown":
            parts.append("\n".join(include(*m.groups()) if (m := _INCLUDE.match(l.strip())) else l for l in src.splitlines()))
        elif c["cell_type"] == "code":
            lines = src.splitlines()
            if any(l.startswith("#|") and ("hide" in l or "export" in l) for l in lines): continue
            parts.append("```python\n" + "\n".join(l for l in lines if not l.startswith("#|")) + "\n```")
    return "<!-- generated from nbs/index.ipynb by .ci/readme.py: edit the notebook, not this file -->\n\n" + "\n\n".join(parts) + "\n"


if __name__ == "__main__":
    text = render()
    if "--check" in sys.argv:
        if (root / "README.md").read_text(encoding="utf-8") != text:
            print("README.md is out of date: run `python .ci/readme.py`", file=sys.stderr); sys.exit(1)
        print("README.md matches nbs/index.ipynb")
    else:
        (root / "README.md").write_text(text, encoding="utf-8"); print("wrote README.md")
