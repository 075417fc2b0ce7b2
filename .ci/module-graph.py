#!/usr/bin/env python3
"""Prints which top-level modules of src/ use which (through `crate::` paths) and fails
when the layering is broken: the dispatcher (`engine`) may use the flows, the flows and
everything below them must never use the dispatcher or the adapters, and no two
modules may use each other."""
import pathlib
import re
import sys

SRC = pathlib.Path(__file__).resolve().parent.parent / "src"
# Modules no one below the adapters may reach into.
UPPER = {"engine", "middleware", "actix", "extract", "health"}
# Modules that may use the upper ones (the adapters, the crate root, test support).
ALLOWED_UPPER_USERS = {
    "middleware", "actix", "extract", "health", "lib", "testing", "fuzzing", "engine"
}
# Public facades that only re-export other modules' items, like the crate root.
FACADES = {"lib", "service", "store"}


def module_of(path: pathlib.Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".rs") if len(rel.parts) > 1 else rel.stem


def strip_tests(text: str) -> str:
    # Test modules may reach anywhere; the layering is about the library itself.
    cut = re.search(r"#\[cfg\((all\()?test", text)
    return text[: cut.start()] if cut else text


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in SRC.rglob("*.rs"):
        if path.stem == "tests" or path.stem.endswith("_tests"):
            continue
        source = module_of(path)
        text = strip_tests(path.read_text())
        for target in re.findall(r"crate::([a-z_]+)", text):
            if target != source and source not in FACADES and target not in FACADES:
                edges.setdefault(source, set()).add(target)
        edges.setdefault(source, set())
    return edges


def main() -> int:
    edges = graph()
    for source in sorted(edges):
        print(f"{source} -> {', '.join(sorted(edges[source])) or '(nothing)'}")
    problems = []
    for source, targets in edges.items():
        for target in targets:
            if target in UPPER and source not in ALLOWED_UPPER_USERS:
                problems.append(f"{source} uses {target}")
            if source in edges.get(target, set()) and source < target:
                problems.append(f"{source} and {target} use each other")
    for problem in sorted(problems):
        print(f"layering: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
