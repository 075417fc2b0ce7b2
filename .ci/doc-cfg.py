#!/usr/bin/env python3
"""Fails when a public item that exists only with a cargo feature does not say so in the
documentation: every `#[cfg(feature = "x")]` on a public module, re-export, function or
impl must come with `#[cfg_attr(docsrs, doc(cfg(feature = "x")))]`, and so must every
impl in a file that only compiles with a feature (the axum extractors). Items inside a
marked module inherit its label."""
import pathlib
import re
import sys

SRC = pathlib.Path(__file__).resolve().parent.parent / "src"
GATE = re.compile(r'#\[cfg\(feature = "([a-z_-]+)"\)\]')
PUBLIC = re.compile(r"\s*(pub (mod|use|fn|struct|enum|trait)|impl\b)")
# Files compiled only with a feature, whose impls are public API (see src/lib.rs).
GATED_FILES = {"extract.rs": "axum"}
# Modules that are public and marked as a whole in src/lib.rs.
MARKED_MODULES = {"actix", "testing"}


def label(feature: str) -> str:
    return f'#[cfg_attr(docsrs, doc(cfg(feature = "{feature}")))]'


def problems():
    for path in sorted(SRC.rglob("*.rs")):
        rel = path.relative_to(SRC)
        if rel.parts[0] in MARKED_MODULES:
            continue
        lines = path.read_text().splitlines()
        text = "\n".join(lines)
        if "#[cfg(test)]" in text:
            lines = lines[: next(i for i, l in enumerate(lines) if l.strip() == "#[cfg(test)]")]
        for i, line in enumerate(lines):
            gate = GATE.fullmatch(line.strip())
            if not gate:
                continue
            feature = gate.group(1)
            j = i + 1
            while j < len(lines) and lines[j].strip().startswith("#["):
                j += 1
            if j < len(lines) and PUBLIC.match(lines[j]):
                if not any(l.strip() == label(feature) for l in lines[i + 1 : j]):
                    yield f"{rel}:{j + 1}: feature `{feature}` item not marked for docs"
        if rel.name in GATED_FILES and len(rel.parts) == 1:
            feature = GATED_FILES[rel.name]
            for i, line in enumerate(lines):
                if line.startswith("impl") and lines[i - 1].strip() != label(feature):
                    yield f"{rel}:{i + 1}: impl not marked as needing feature `{feature}`"


def main() -> int:
    found = list(problems())
    for problem in found:
        print(problem, file=sys.stderr)
    print(f"doc-cfg: {len(found)} unmarked feature-gated items")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
