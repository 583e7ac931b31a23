#!/usr/bin/env python3
"""The library's exported symbols, the linker version script, the Debian symbols file and the public header
must all name the same set of symbols, each at the same version node.

Usage: check_symbols.py LIBRARY VERSION_SCRIPT SYMBOLS_FILE HEADER
Exits 0 when all agree; otherwise prints each difference (which list has which extra symbol) and exits 1.
"""
import re
import subprocess
import sys


def exported(library):
    """name@NODE for every dynamic symbol the library defines (nm marks the default version with @@)."""
    out = subprocess.run(["nm", "-D", "--defined-only", "--with-symbol-versions", library],
                         check=True, capture_output=True, text=True).stdout
    symbols = set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        name = fields[2].replace("@@", "@")
        if fields[1] == "A" and "@" not in name:  # the version definition itself (value 0, type A)
            name = f"{name}@{name}"
        if "@" not in name:  # an unversioned export means the version script did not apply
            name += "@<unversioned>"
        symbols.add(name)
    return symbols


def version_script(path):
    """name@NODE for each global of each node, plus NODE@NODE (the version definition dpkg-gensymbols lists)."""
    text = re.sub(r"/\*.*?\*/", " ", open(path).read(), flags=re.S)
    text = re.sub(r"#[^\n]*", " ", text)
    symbols = set()
    for node, body in re.findall(r"([A-Za-z_][\w.]*)\s*\{(.*?)\}\s*[\w.]*\s*;", text, flags=re.S):
        symbols.add(f"{node}@{node}")
        scope = None
        for token in re.findall(r"[\w.*]+:?|;", body):
            if token.endswith(":"):
                scope = token[:-1]
            elif token != ";" and scope == "global":
                symbols.add(f"{token}@{node}")
    return symbols


def symbols_file(path):
    """name@NODE of each ' name@NODE minver' line; also checks each line carries a minimal version."""
    symbols, problems = set(), []
    for number, line in enumerate(open(path), 1):
        if not line.startswith(" "):
            continue
        fields = line.split()
        if len(fields) < 2 or not re.match(r"^\d+(\.\d+)*", fields[1]):
            problems.append(f"{path}:{number}: symbol without a minimal version: {line.strip()!r}")
        symbols.add(fields[0])
    return symbols, problems


def header_functions(path):
    """Names of the functions the header declares with LIFEHOOK_API."""
    text = open(path).read()
    return set(re.findall(r"LIFEHOOK_API\b[^;(]*?\b(lifehook_\w+)\s*\(", text))


def main():
    library, script, symfile, header = sys.argv[1:5]
    sets = {
        "exported by " + library: exported(library),
        "version script " + script: version_script(script),
    }
    in_symbols_file, problems = symbols_file(symfile)
    sets["symbols file " + symfile] = in_symbols_file
    union = set().union(*sets.values())
    for name, members in sets.items():
        for missing in sorted(union - members):
            problems.append(f"missing from {name}: {missing}")
    functions = {s.split("@")[0] for s in sets["version script " + script] if s.startswith("lifehook_")}
    declared = header_functions(header)
    for name in sorted(declared - functions):
        problems.append(f"declared LIFEHOOK_API in {header} but not exported by the version script: {name}")
    for name in sorted(functions - declared):
        problems.append(f"exported by the version script but not declared LIFEHOOK_API in {header}: {name}")
    for p in problems:
        print("check_symbols: " + p)
    count = len(sets["exported by " + library])
    print(f"check_symbols: {count} exported symbols; library, version script, symbols file and header "
          + ("agree" if not problems else f"DISAGREE ({len(problems)} problems)"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
