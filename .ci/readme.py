"""Render README.md from nbs/index.ipynb (nbdev's quarto-based renderer cannot run here).

Markdown cells are copied; code cells become ```python blocks unless they carry a `#|` hide/export directive.
`--check` exits 1 when README.md differs from what the notebook renders.
"""
import json, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent


def render(nb_path=root / "nbs" / "index.ipynb"):
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    parts = []
    for c in nb["cells"]:
        src = "".join(c["source"]).strip("\n")
        if not src: continue
        if c["cell_type"] == "markdown": parts.append(src)
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
