#!/usr/bin/env python3
"""Generates one man(7) page per public C function (man 3 lifehook_run, ...) from ONE source: the doc
comments of abi/include/lifehook/lifehook.h, plus the version node of each symbol from abi/lifehook.map.

A function added to the header with a comment above its LIFEHOOK_API declaration gets its page at the
next build; nothing else needs editing. The comment is the DESCRIPTION; the typedefs named in the
prototype (callbacks, lifehook_driver) are shown in the SYNOPSIS with their own comments; functions
named in the comment and those of the same header section are in SEE ALSO.

    gen-function-pages.py HEADER MAP OUTDIR [--date YYYY-MM-DD] [--check]

--check: also fails (exit 1) when a LIFEHOOK_API function has no comment or is missing from the map,
or a map symbol has no declaration. Standard library only (it runs at build time).
"""
import argparse
import os
import re
import sys

SECTION_RE = re.compile(r"^-+\s*(.*?)\s*-*$")


def scan(header_text):
    """Yields ('comment', text), ('section', title), ('func', decl), ('typedef', decl), ('struct', decl)."""
    text = header_text
    i, n = 0, len(text)
    pending = None  # last comment, if only whitespace followed it
    items = []
    while i < n:
        if text.startswith("/*", i):
            j = text.index("*/", i + 2)
            body = text[i + 2:j]
            i = j + 2
            stripped = " ".join(l.strip().lstrip("*").strip() for l in body.splitlines()).strip()
            m = SECTION_RE.match(stripped)
            if stripped.startswith("----") and m:
                title = m.group(1).strip()
                items.append(("section", title.split(":")[0].strip()))
                pending = None
            else:
                pending = clean_comment(body)
            continue
        if text.startswith("//", i):
            i = text.index("\n", i)
            continue
        if text[i].isspace():
            i += 1
            continue
        if text[i] == "#":  # preprocessor line(s)
            while True:
                j = text.index("\n", i)
                if text[j - 1] != "\\":
                    break
                i = j + 1
            i = j + 1
            pending = None
            continue
        if text.startswith('extern "C"', i):  # the C++ linkage block: its contents are declarations
            i = text.index("{", i) + 1
            continue
        if text[i] == "}":
            i += 1
            continue
        # a declaration: up to ';' at brace depth 0
        depth, j = 0, i
        while j < n:
            c = text[j]
            if text.startswith("/*", j):
                j = text.index("*/", j + 2) + 2
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth < 0:  # closing brace of extern "C"
                    break
            elif c == ";" and depth == 0:
                break
            j += 1
        decl = text[i:j + 1].strip()
        i = j + 1
        if decl.startswith("LIFEHOOK_API"):
            items.append(("func", decl, pending))
        elif decl.startswith("typedef") or decl.startswith("struct"):
            items.append(("typedef", decl, pending))
        pending = None
    return items


def clean_comment(body):
    lines = [l.rstrip() for l in body.splitlines()]
    out = []
    for l in lines:
        s = l.strip()
        if s.startswith("*"):
            s = s[1:]
            s = s[1:] if s.startswith(" ") else s
            out.append(s)
        else:
            out.append(l.strip())
    while out and not out[0].strip():
        out.pop(0)
    while out and not out[-1].strip():
        out.pop()
    return "\n".join(out)


def func_name(decl):
    m = re.search(r"\b(lifehook_\w+)\s*\(", decl)
    return m.group(1) if m else None


def typedef_names(decl):
    """Names a typedef/struct declaration defines."""
    names = set()
    m = re.search(r"\(\s*\*\s*(\w+)\s*\)\s*\(", decl)
    if decl.startswith("typedef") and m and "{" not in decl:
        names.add(m.group(1))
    else:
        m = re.search(r"(\w+)\s*;\s*$", decl)
        if m and decl.startswith("typedef"):
            names.add(m.group(1))
        m = re.match(r"(?:typedef\s+)?(?:struct|enum)\s+(\w+)", decl)
        if m:
            names.add(m.group(1))
    return names


def normalize_decl(decl):
    decl = decl.replace("LIFEHOOK_API ", "")
    decl = re.sub(r"\s+", " ", decl)
    return decl.replace("( ", "(").replace(" )", ")")


def wrap_prototype(decl, width=78):
    """A prototype broken after commas, continuation lines aligned after '('."""
    decl = normalize_decl(decl)
    if len(decl) <= width:
        return [decl]
    open_at = decl.index("(")
    indent = " " * (open_at + 1)
    parts = decl.split(", ")
    lines, cur = [], parts[0]
    for p in parts[1:]:
        if len(cur) + 2 + len(p) > width:
            lines.append(cur + ",")
            cur = indent + p
        else:
            cur += ", " + p
    lines.append(cur)
    return lines


def roff_escape(s):
    s = s.replace("\\", "\\e")
    s = s.replace("-", "\\-")
    return s


def roff_line(s):
    """A text line: escaped, and never starting with a control character."""
    s = roff_escape(s)
    if s.startswith(".") or s.startswith("'"):
        s = "\\&" + s
    return s


FUNC_REF = re.compile(r"\b(lifehook_[a-z0-9_]+)\(\)")


def is_code_line(s):
    t = s.strip()
    return t.startswith("{") or t.startswith("}") or t.startswith('"') or t.startswith("[")


def render_text(comment, known_funcs):
    """Comment text -> roff: prose is filled (with references to other functions in bold), JSON-looking
    lines and their continuations are kept as an example block."""
    out = []
    lines = comment.splitlines()
    in_code, depth = False, 0
    for raw in lines:
        s = raw.strip()
        if not s:
            if in_code:
                out.extend([".EE", ".in"])
                in_code = False
            out.append(".PP")
            continue
        starts_code = (not in_code) and is_code_line(s)
        if starts_code:
            out.extend([".in +4n", ".EX"])
            in_code, depth = True, 0
        if in_code:
            out.append(roff_line(raw.rstrip()))
            depth += s.count("{") + s.count("[") - s.count("}") - s.count("]")
            if depth <= 0:
                out.extend([".EE", ".in"])
                in_code = False
            continue
        out.extend(render_prose(s, known_funcs))
    if in_code:
        out.extend([".EE", ".in"])
    return out


def render_prose(s, known_funcs):
    """One prose line; lifehook_x() references become .BR lines."""
    out = []
    pos = 0
    for m in FUNC_REF.finditer(s):
        before = s[pos:m.start()]
        if before.strip():
            out.append(roff_line(before.strip()))
        after_start = m.end()
        punct = ""
        while after_start < len(s) and s[after_start] in ",.;:)":
            punct += s[after_start]
            after_start += 1
        out.append('.BR %s ()%s' % (roff_escape(m.group(1)), roff_escape(punct)))
        pos = after_start
    rest = s[pos:].strip()
    if rest:
        out.append(roff_line(rest))
    return out


def first_sentence(comment):
    text = " ".join(l.strip() for l in comment.splitlines() if l.strip())
    m = re.match(r"(.+?[.:;])(\s|$)", text)
    s = m.group(1) if m else text
    s = s.rstrip(".:;")
    if len(s) > 90:
        s = s[:87].rsplit(" ", 1)[0] + "..."
    if s and not s[0].isalpha():
        return "returns " + s  # e.g. "(LIFEHOOK_ABI_MAJOR << 16) | ... of the loaded library"
    return s[0].lower() + s[1:] if s and not s[:2].isupper() else s


def parse_map(map_text):
    """symbol -> version node."""
    versions = {}
    for m in re.finditer(r"(LIFEHOOK_[0-9.]+)\s*\{(.*?)\}", map_text, re.S):
        node, body = m.group(1), m.group(2)
        body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
        g = re.search(r"global:(.*?)(local:|$)", body, re.S)
        if not g:
            continue
        for sym in re.findall(r"(lifehook_\w+)\s*;", g.group(1)):
            versions[sym] = node
    return versions


RETURN_STATUS = """\
.SH RETURN VALUE
.B LIFEHOOK_OK
(0) on success, otherwise one of the
.B lifehook_status
codes below;
.BR lifehook_status_name ()
gives its name.
When an
.I error
out\\-parameter is given, it then receives a one\\-line message naming the JSON path and the
value at fault, to be released with
.BR lifehook_free ().
.TP
.B LIFEHOOK_E_INVALID
(1) bad argument, JSON or spec
.TP
.B LIFEHOOK_E_STATE
(2) call not valid in the object's current state
.TP
.B LIFEHOOK_E_NOT_FOUND
(3) unknown operation id, container name, ...
.TP
.B LIFEHOOK_E_UNSUPPORTED
(4) feature not available on this system
.TP
.B LIFEHOOK_E_SYSTEM
(5) operating system or resource error
.TP
.B LIFEHOOK_E_NOMEM
(6) out of memory
"""


def page(name, decl, comment, typedefs_used, section, siblings, version_node, date, lib_version):
    out = []
    out.append('.\\" %s(3): generated by docs/man/gen-function-pages.py from lifehook.h; do not edit.' % name)
    out.append('.TH %s 3 %s "lifehook %s" "Library Functions Manual"' % (roff_escape(name.upper()), date, lib_version))
    out.append(".SH NAME")
    out.append("%s \\- %s" % (roff_escape(name), roff_escape(first_sentence(comment))))
    out.append(".SH LIBRARY")
    out.append("lifehook library")
    out.append('.RI ( liblifehook ", " \\-llifehook ,')
    out.append("or")
    out.append('.BR lifehook_get_api ()')
    out.append('after')
    out.append('.B dlopen("liblifehook.so.1")\\c')
    out.append(")")
    out.append(".SH SYNOPSIS")
    out.append(".nf")
    out.append(".B #include <lifehook/lifehook.h>")
    for tname, tdecl, _ in typedefs_used:
        out.append(".PP")
        for l in tdecl.splitlines():
            out.append(roff_line(l.rstrip()) if l.strip() else "")
    out.append(".PP")
    for l in wrap_prototype(decl):
        out.append(".B \"%s\"" % roff_escape(l).replace('"', '\\(dq'))
    out.append(".fi")
    out.append(".SH DESCRIPTION")
    known = set(siblings)
    out.extend(render_text(comment, known))
    for tname, tdecl, tcomment in typedefs_used:
        if tcomment:
            out.append(".SS %s" % roff_escape(tname))
            out.extend(render_text(tcomment, known))
    ret = normalize_decl(decl).split(name)[0].strip()
    if ret == "int":
        out.append(RETURN_STATUS.rstrip("\n"))
    elif ret == "void":
        out.append(".SH RETURN VALUE")
        out.append("None.")
    out.append(".SH ATTRIBUTES")
    out.append("Thread\\-safe unless the description says otherwise.")
    out.append("The library never lets a C++ exception cross this call, installs no signal handler and")
    out.append("writes nothing to standard output or standard error; callbacks run on the library's threads.")
    out.append(".SH VERSIONS")
    out.append("Symbol version")
    out.append(".B %s" % roff_escape(version_node or "unknown"))
    out.append("of")
    out.append(".IR liblifehook.so.1 ;")
    out.append("also reachable as a member of")
    out.append(".B struct lifehook_api")
    out.append("returned by")
    out.append(".BR lifehook_get_api ().")
    out.append(".SH FILES")
    out.append(".TP")
    out.append(".I /usr/share/doc/liblifehook\\-dev/examples/")
    out.append("complete C programs using this interface (package liblifehook\\-dev)")
    out.append(".TP")
    out.append(".I /usr/share/lifehook/schemas/")
    out.append("JSON Schemas of the request, result, pod status, event and options documents")
    refs = sorted(set(FUNC_REF.findall(comment)) | set(siblings) - {name})
    refs = [r for r in refs if r != name]
    out.append(".SH SEE ALSO")
    see = [".BR liblifehook (3)"] + [".BR %s (3)" % roff_escape(r) for r in refs]
    for k, s in enumerate(see):
        out.append(s + ("," if k + 1 < len(see) else ""))
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("header")
    ap.add_argument("map")
    ap.add_argument("outdir")
    ap.add_argument("--date", default="2026-12-01")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    header = open(args.header, encoding="utf-8").read()
    versions = parse_map(open(args.map, encoding="utf-8").read())
    lib_version = re.search(r'LIFEHOOK_VERSION_STRING "([^"]+)"', header).group(1)

    items = scan(header)
    typedefs = {}
    funcs = []
    section = "Library"
    for it in items:
        if it[0] == "section":
            section = it[1]
        elif it[0] == "typedef":
            for tn in typedef_names(it[1]):
                typedefs[tn] = (it[1], it[2])
        elif it[0] == "func":
            fn = func_name(it[1])
            if fn:
                funcs.append((fn, it[1], it[2] or "", section))

    problems = []
    by_section = {}
    for fn, _, _, sec in funcs:
        by_section.setdefault(sec, []).append(fn)
    os.makedirs(args.outdir, exist_ok=True)
    for fn, decl, comment, sec in funcs:
        if not comment:
            problems.append("%s: no doc comment above its declaration" % fn)
        if fn not in versions:
            problems.append("%s: not in the version script" % fn)
        used = []
        for tn, (tdecl, tcomment) in typedefs.items():
            if tn in ("lifehook_ctx", "lifehook_pod", "lifehook_status"):
                continue  # opaque handles / the status enum (described under RETURN VALUE)
            if re.search(r"\b%s\b" % re.escape(tn), decl):
                used.append((tn, tdecl, tcomment))
        with open(os.path.join(args.outdir, fn + ".3"), "w", encoding="utf-8") as f:
            f.write(page(fn, decl, comment, used, sec, by_section[sec], versions.get(fn), args.date, lib_version))
    declared = {f[0] for f in funcs}
    for sym in versions:
        if sym not in declared:
            problems.append("%s: in the version script but not declared LIFEHOOK_API in the header" % sym)
    if args.check and problems:
        for p in problems:
            print("gen-function-pages: " + p, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
