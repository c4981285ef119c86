#!/usr/bin/env python3
"""Checks the part order of core/ (written in core/README.md) against the code.

Fails when
  - a file in core/<part>/ includes "core/<other>/..." and <other> is not below <part>,
  - a part includes a part its CMake target does not link (directly or through a lower part),
  - a core/<part>/CMakeLists.txt links oemlink_<other> and <other> is not below <part>,
  - anything in sdk/ or plugins/ includes core/ or links an oemlink_<part> library,
  - the order in core/README.md does not name every folder of core/ exactly once.

Usage: check_layering.py <source dir>
"""
import pathlib
import re
import sys

ORDER_LINE = re.compile(r"^\s*common\s*→")
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]core/([A-Za-z0-9_]+)/', re.MULTILINE)
LINK_CALL = re.compile(r"target_link_libraries\s*\(([^)]*)\)", re.DOTALL)
PART_LIB = re.compile(r"\boemlink_([a-z0-9_]+)\b")
SOURCE_SUFFIXES = {".h", ".hpp", ".c", ".cpp", ".inc", ".in"}


def read_order(root):
    """Part -> level, from the arrow line of core/README.md ('a → b → {c, d} → e')."""
    readme = root / "core" / "README.md"
    for line in readme.read_text().splitlines():
        if ORDER_LINE.match(line):
            levels = {}
            for level, group in enumerate(line.split("→")):
                for name in re.findall(r"[a-z0-9_]+", group):
                    if name in levels:
                        sys.exit(f"{readme}: part '{name}' appears twice in the order")
                    levels[name] = level
            return levels
    sys.exit(f"{readme}: no part order line ('common → ...') found")


def sources(folder):
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in SOURCE_SUFFIXES)


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def cmake_links(cmake_file):
    """(line, [oemlink_<x> names]) per target_link_libraries call."""
    text = cmake_file.read_text()
    text = re.sub(r"#[^\n]*", "", text)
    return [(line_of(text, m.start()), PART_LIB.findall(m.group(1)))
            for m in LINK_CALL.finditer(text)]


def main():
    root = pathlib.Path(sys.argv[1]).resolve()
    rel = lambda p: p.relative_to(root)
    order = read_order(root)
    problems = []

    folders = sorted(p.name for p in (root / "core").iterdir() if p.is_dir())
    for name in folders:
        if name not in order:
            problems.append(f"core/{name}/ is not placed in the part order of core/README.md")
    for name in order:
        if name not in folders:
            problems.append(f"core/README.md orders '{name}', but there is no core/{name}/")
    if problems:
        print("\n".join(problems))
        return 1

    links = {}
    for part in folders:
        links[part] = set()
        cmake = root / "core" / part / "CMakeLists.txt"
        if not cmake.exists():
            continue
        for line, names in cmake_links(cmake):
            for other in names:
                if other not in order or other == part:
                    continue
                links[part].add(other)
                if order[other] >= order[part]:
                    problems.append(f"{rel(cmake)}:{line}: oemlink_{part} links oemlink_{other}, "
                                    f"which is not below {part} in core/README.md's order")

    def reachable(part, seen=None):
        seen = set() if seen is None else seen
        for other in links.get(part, ()):
            if other not in seen:
                seen.add(other)
                reachable(other, seen)
        return seen

    for part in folders:
        linked = reachable(part)
        for f in sources(root / "core" / part):
            text = f.read_text(errors="replace")
            for m in INCLUDE.finditer(text):
                other = m.group(1)
                if other == part:
                    continue
                where = f"{rel(f)}:{line_of(text, m.start())}"
                if other not in order:
                    problems.append(f"{where}: includes core/{other}/, which is not a part")
                elif order[other] >= order[part]:
                    problems.append(f"{where}: core/{part} includes core/{other}/, which is not "
                                    f"below it (order in core/README.md)")
                elif other not in linked:
                    problems.append(f"{where}: core/{part} includes core/{other}/ but "
                                    f"oemlink_{part} does not link oemlink_{other}")

    for outside in ("sdk", "plugins"):
        base = root / outside
        for f in sources(base):
            text = f.read_text(errors="replace")
            for m in INCLUDE.finditer(text):
                problems.append(f"{rel(f)}:{line_of(text, m.start())}: {outside}/ includes "
                                f"core/{m.group(1)}/; drivers build against sdk/ alone")
        for cmake in sorted(base.rglob("CMakeLists.txt")) + sorted(base.rglob("*.cmake")):
            for line, names in cmake_links(cmake):
                for other in names:
                    if other in order:
                        problems.append(f"{rel(cmake)}:{line}: {outside}/ links oemlink_{other}; "
                                        f"drivers build against sdk/ alone")

    if problems:
        print("\n".join(problems))
        print(f"{len(problems)} layering problem(s)")
        return 1
    print(f"layering ok: {len(folders)} parts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
