#!/usr/bin/env python3
"""House rules the build checks (scripts/lint.sh runs this; like curl's
checksrc). Standard library only.

Each finding is one line, `file:line: rule: message`, and the exit status is
1 if there is any. The rules (docs/architecture.md, house rules):

  file-length      no C file in src/ over 800 lines: split it along its seams
  opening-comment  every .c file in src/ and tests/ opens with a block
                   comment saying what it is (and why it exists)
  wipe-free        a secret is wiped and freed through one helper:
                   sodium_memzero(x, n); free(x) is pc_freezero(x, n)
                   (src/util/util.h); only pc_freezero itself may do it
  digest-size      digest sizes by name: a hex SHA-256 buffer is
                   char h[PC_SHA256_HEX_LEN + 1], never 2 * SHA256_LEN + 1
                   (anywhere) nor a char array of [65] or [64 + 1] (in src/;
                   tests also hold hex keys and base64 that size); the
                   retired names for the same constant (SHA256_LEN,
                   AUDIT_MAC_HEX, STORE_AUDIT_MAC_HEX, STORE_*_HASH_HEX) stay
                   retired. Raw sizes ([32], [33]) are not checked: keys,
                   points and nonces share them.
  layers-table     the table between <!-- layers:begin --> and
                   <!-- layers:end --> in docs/architecture.md lists every
                   static library of src/meson.build with its folders and
                   the pc_* libraries it depends on (`--layers-table`
                   prints the table as it should be)
  control-tests    every control docs/security.md lists (outside "Not yet
                   built") appears in a test name: an e2e test('XX-NN: ...')
                   or a unit test function test_..._XXNN_...; an entry that
                   says "no attack test yet" is exempt and listed

Usage: checksrc.py [--root DIR] [--layers-table]
"""

import argparse
import os
import re
import sys

MAX_LINES = 800
C_EXT = (".c", ".h")

# ---------------------------------------------------------------- helpers


def strip_c(text):
    """Blank out comments, string and character literals, keeping every
    newline (and so every line number) in place."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + c)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def source_files(root, tops, exts):
    """Files under root/top for each top, sorted, as repo-relative paths."""
    found = []
    for top in tops:
        base = os.path.join(root, top)
        for d, dirs, files in os.walk(base):
            dirs[:] = sorted(x for x in dirs if x not in ("corpus", "out", "node_modules"))
            for f in sorted(files):
                if f.endswith(exts):
                    found.append(os.path.relpath(os.path.join(d, f), root))
    return found


def read(root, rel):
    with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
        return f.read()


class Report:
    def __init__(self):
        self.items = []

    def add(self, path, line, rule, msg):
        self.items.append((path, line, rule, msg))

    def lines(self):
        out = []
        for it in self.items:
            line = "%s:%d: %s: %s" % it
            if line not in out:
                out.append(line)
        return out


# ------------------------------------------------------------ file-length


def check_length(root, rep):
    for rel in source_files(root, ["src"], C_EXT):
        n = read(root, rel).count("\n")
        if n > MAX_LINES:
            rep.add(rel, MAX_LINES + 1, "file-length",
                    "%d lines, over the limit of %d: split it along its seams" % (n, MAX_LINES))


# -------------------------------------------------------- opening-comment


def check_opening(root, rep):
    for rel in source_files(root, ["src", "tests"], (".c",)):
        text = read(root, rel)
        if not text.startswith("/*"):
            rep.add(rel, 1, "opening-comment",
                    "the file must open with a block comment saying what it is")
            continue
        end = text.find("*/")
        words = re.findall(r"[A-Za-z]{2,}", text[2:end if end >= 0 else len(text)])
        if len(words) < 4:
            rep.add(rel, 1, "opening-comment",
                    "the opening comment must say what the file is (a sentence, not a label)")


# -------------------------------------------------------------- wipe-free

WIPE_RE = re.compile(
    r"\b(sodium_memzero|explicit_bzero|OPENSSL_cleanse)\s*\(\s*([^,;]+?)\s*,[^;]*;"
    r"\s*free\s*\(\s*([^;]+?)\s*\)\s*;")
FUNC_RE = re.compile(r"^([A-Za-z_]\w*)\s*\(", re.M)


def enclosing_function(code, pos):
    name = None
    for m in FUNC_RE.finditer(code, 0, pos):
        name = m.group(1)
    return name


def check_wipe(root, rep):
    for rel in source_files(root, ["src", "tests"], C_EXT):
        code = strip_c(read(root, rel))
        for m in WIPE_RE.finditer(code):
            x = re.sub(r"\s+", "", m.group(2))
            if x != re.sub(r"\s+", "", m.group(3)):
                continue
            if enclosing_function(code, m.start()) == "pc_freezero":
                continue  # the helper itself
            rep.add(rel, line_of(code, m.start()), "wipe-free",
                    "%s(%s, ...) then free(%s): use pc_freezero(p, n) or "
                    "pc_freezero_str(s) (src/util/util.h)" % (m.group(1), x, x))


# ------------------------------------------------------------ digest-size

RETIRED = {
    "SHA256_LEN": "PC_SHA256_LEN",
    "AUDIT_MAC_HEX": "PC_SHA256_HEX_LEN",
    "STORE_AUDIT_MAC_HEX": "PC_SHA256_HEX_LEN",
    "STORE_SESSION_HASH_HEX": "PC_SHA256_HEX_LEN",
    "STORE_USER_TOKEN_HASH_HEX": "PC_SHA256_HEX_LEN",
    "STORE_CLIENT_SECRET_HASH_HEX": "PC_SHA256_HEX_LEN",
}
RETIRED_RE = re.compile(r"(?<![\w])(%s)(?![\w])" % "|".join(RETIRED))
TWICE_RE = re.compile(r"\b2\s*\*\s*(?:PC_)?SHA256_LEN\b|\b(?:PC_)?SHA256_LEN\s*\*\s*2\b")
HEXBUF_RE = re.compile(r"\[\s*(?:65|64\s*\+\s*1|1\s*\+\s*64)\s*\]")


def declared_type_is_char(code, pos):
    """True if the array at pos is declared with element type char: look
    back to the start of its declaration (or its parameter)."""
    start = max(code.rfind(";", 0, pos), code.rfind("{", 0, pos), code.rfind("}", 0, pos))
    seg = code[start + 1:pos]
    depth = 0
    for i in range(len(seg) - 1, -1, -1):  # inside a parameter list?
        if seg[i] == ")":
            depth += 1
        elif seg[i] == "(":
            if depth == 0:
                seg = seg[i + 1:]
                seg = seg[seg.rfind(",") + 1:]
                break
            depth -= 1
    words = re.findall(r"[A-Za-z_]\w*", seg)
    words = [w for w in words if w not in ("static", "const", "volatile", "_Thread_local",
                                           "unsigned", "signed", "extern")]
    return bool(words) and words[0] == "char"


def check_digest(root, rep):
    for rel in source_files(root, ["src", "tests"], C_EXT):
        if rel == os.path.join("src", "util", "util.h"):
            continue  # where the names are defined
        code = strip_c(read(root, rel))
        twice = [(m.start(), m.end()) for m in TWICE_RE.finditer(code)]
        for m in RETIRED_RE.finditer(code):
            if any(a <= m.start() < b for a, b in twice):
                continue  # reported once, as a hex size below
            if code[max(0, m.start() - 8):m.start()].endswith("#define "):
                what = "defines the retired name %s" % m.group(1)
            else:
                what = "the retired name %s" % m.group(1)
            rep.add(rel, line_of(code, m.start()), "digest-size",
                    "%s: use %s (src/util/util.h)" % (what, RETIRED[m.group(1)]))
        for m in TWICE_RE.finditer(code):
            rep.add(rel, line_of(code, m.start()), "digest-size",
                    "'%s' is a hex SHA-256: use PC_SHA256_HEX_LEN" % m.group(0))
        if not rel.startswith("src" + os.sep):
            continue  # tests keep [65] for hex that is not a digest (keys, base64)
        for m in HEXBUF_RE.finditer(code):
            if declared_type_is_char(code, m.start()):
                rep.add(rel, line_of(code, m.start()), "digest-size",
                        "bare size %s for a hex digest: use [PC_SHA256_HEX_LEN + 1]"
                        % re.sub(r"\s+", " ", m.group(0)))


# ----------------------------------------------------------- layers-table

BEGIN, END = "<!-- layers:begin -->", "<!-- layers:end -->"


def strip_meson(text):
    out = []
    for line in text.split("\n"):
        q, cut = False, len(line)
        for i, c in enumerate(line):
            if c == "'":
                q = not q
            elif c == "#" and not q:
                cut = i
                break
        out.append(line[:cut])
    return "\n".join(out)


def call_args(text, open_paren):
    """The text between the parenthesis at open_paren and its match."""
    depth = 0
    for i in range(open_paren, len(text)):
        if text[i] in "([":
            depth += 1
        elif text[i] in ")]":
            depth -= 1
            if depth == 0:
                return text[open_paren + 1:i]
    raise ValueError("unbalanced parentheses in src/meson.build")


def split_top(args):
    """Split call arguments at top-level commas."""
    parts, depth, cur = [], 0, []
    q = False
    for c in args:
        if c == "'":
            q = not q
        if not q:
            if c in "([":
                depth += 1
            elif c in ")]":
                depth -= 1
            elif c == "," and depth == 0:
                parts.append("".join(cur).strip())
                cur = []
                continue
        cur.append(c)
    if "".join(cur).strip():
        parts.append("".join(cur).strip())
    return parts


def parse_layers(meson_text):
    """[(pc_name, [folders], [pc deps])] in the order of src/meson.build."""
    text = strip_meson(meson_text)
    assigns = {}
    for m in re.finditer(r"^\s*(\w+)\s*=\s*", text, re.M):
        assigns[m.group(1)] = m.end()

    def value(expr, seen=()):
        """Strings and identifiers an expression names, variables resolved."""
        expr = expr.strip()
        if expr.startswith("files(") or expr.startswith("["):
            inner = call_args(expr, expr.index("(") if expr.startswith("files(") else 0)
            out = []
            for p in split_top(inner):
                out += value(p, seen)
            return out
        if re.fullmatch(r"'[^']*'", expr):
            return [expr[1:-1]]
        if re.fullmatch(r"\w+", expr):
            pos = assigns.get(expr)
            if pos is not None and expr not in seen:
                if text.startswith("files(", pos):
                    inner = call_args(text, pos + len("files"))
                    return value("files(" + inner + ")", seen + (expr,))
                if text.startswith("[", pos):
                    return value("[" + call_args(text, pos) + "]", seen + (expr,))
            return [expr]
        return []

    lib_of_var, dep_to_lib, libs = {}, {}, []
    for m in re.finditer(r"^\s*(\w+)\s*=\s*static_library\(", text, re.M):
        args = split_top(call_args(text, m.end() - 1))
        name = args[0].strip("'")
        lib_of_var[m.group(1)] = name
        srcs, deps = [], []
        for a in args[1:]:
            kw = re.match(r"(\w+)\s*:\s*(.*)$", a, re.S)
            if kw is None:
                srcs += value(a)
            elif kw.group(1) in ("dependencies", "link_with"):
                deps += value(kw.group(2))
        libs.append((name, srcs, deps))
    for m in re.finditer(r"^\s*(\w+)\s*=\s*declare_dependency\(", text, re.M):
        args = split_top(call_args(text, m.end() - 1))
        for a in args:
            kw = re.match(r"link_with\s*:\s*(.*)$", a, re.S)
            if kw:
                dep_to_lib[m.group(1)] = [lib_of_var[v] for v in value(kw.group(1))
                                          if v in lib_of_var]
    rows = []
    for name, srcs, deps in libs:
        folders = []
        for s in srcs:
            if "/" in s or s.endswith(".c"):
                d = os.path.dirname(s)
                f = (d + "/") if d else "./"
                if f not in folders:
                    folders.append(f)
        pcs = []
        for d in deps:
            for lib in dep_to_lib.get(d, [lib_of_var[d]] if d in lib_of_var else []):
                if lib not in pcs:
                    pcs.append(lib)
        rows.append((name, folders, pcs))
    return rows


def format_table(rows):
    out = [BEGIN, "| library | folders | depends on |", "|---|---|---|"]
    for name, folders, deps in rows:
        out.append("| `%s` | %s | %s |" % (
            name, " ".join("`%s`" % f for f in folders),
            ", ".join("`%s`" % d for d in deps) if deps else "—"))
    out.append(END)
    return "\n".join(out)


def cell_items(cell):
    return [x for x in re.split(r"[\s,`]+", cell) if x and x not in ("—", "-")]


def check_layers(root, rep):
    doc_rel = os.path.join("docs", "architecture.md")
    meson_rel = os.path.join("src", "meson.build")
    if not os.path.exists(os.path.join(root, meson_rel)):
        return
    want = {n: (f, d) for n, f, d in parse_layers(read(root, meson_rel))}
    doc = read(root, doc_rel).split("\n")
    try:
        b = doc.index(BEGIN)
        e = doc.index(END, b)
    except ValueError:
        rep.add(doc_rel, 1, "layers-table",
                "no layers table between %s and %s (scripts/checksrc.py --layers-table prints it)"
                % (BEGIN, END))
        return
    have = {}
    for i in range(b + 1, e):
        cells = [c.strip() for c in doc[i].strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].strip("`").startswith("pc_"):
            continue
        name = cells[0].strip("`")
        have[name] = i + 1
        if name not in want:
            rep.add(doc_rel, i + 1, "layers-table",
                    "%s is not a static library in src/meson.build" % name)
            continue
        folders, deps = want[name]
        if sorted(cell_items(cells[1])) != sorted(folders):
            rep.add(doc_rel, i + 1, "layers-table",
                    "%s: folders %s, src/meson.build says %s"
                    % (name, " ".join(cell_items(cells[1])) or "none", " ".join(folders) or "none"))
        if sorted(cell_items(cells[2])) != sorted(deps):
            rep.add(doc_rel, i + 1, "layers-table",
                    "%s: depends on %s, src/meson.build says %s"
                    % (name, ", ".join(cell_items(cells[2])) or "nothing",
                       ", ".join(deps) or "nothing"))
    for name in want:
        if name not in have:
            rep.add(doc_rel, e + 1, "layers-table",
                    "%s (src/meson.build) has no row in the layers table" % name)


# ---------------------------------------------------------- control-tests

ID_RE = re.compile(r"\b([A-Z]{2})-(\d{2})\b")
E2E_TEST_RE = re.compile(
    r"(?<![\w.])(?:test|it|describe)(?:\.only)?\s*\(\s*(['\"`])((?:\\.|(?!\1).)*)\1", re.S)
UNIT_TEST_RE = re.compile(r"\bcmocka_unit_test\w*\s*\(\s*(\w+)")


def controls(sec_text):
    """{id: (line, exempt)} for every control entry above "Not yet built"."""
    lines = sec_text.split("\n")
    out, cur = {}, []
    for i, line in enumerate(lines):
        if line.startswith("## Not yet built"):
            break
        m = re.match(r"\*\*([A-Z]{2}-\d{2}(?:\s*/\s*[A-Z]{2}-\d{2})*)\b", line)
        if m:
            cur = [(x.strip(), i + 1) for x in m.group(1).split("/")]
            for cid, ln in cur:
                out[cid] = (ln, False)
        elif line.startswith("#"):
            cur = []
        if cur and "no attack test yet" in line.lower():
            for cid, ln in cur:
                out[cid] = (ln, True)
    return out


def test_ids(root):
    ids = set()
    for rel in source_files(root, [os.path.join("tests", "e2e")], (".mjs", ".js")):
        for m in E2E_TEST_RE.finditer(read(root, rel)):
            ids |= {"%s-%s" % x for x in ID_RE.findall(m.group(2))}
    for rel in source_files(root, [os.path.join("tests", "unit")], (".c",)):
        for m in UNIT_TEST_RE.finditer(strip_c(read(root, rel))):
            for tok in m.group(1).split("_"):
                t = re.fullmatch(r"([A-Za-z]{2})(\d{2})", tok)
                if t:
                    ids.add("%s-%s" % (t.group(1).upper(), t.group(2)))
    return ids


def check_controls(root, rep, exempt_out):
    sec_rel = os.path.join("docs", "security.md")
    if not os.path.exists(os.path.join(root, sec_rel)):
        return
    ids = test_ids(root)
    for cid, (ln, exempt) in sorted(controls(read(root, sec_rel)).items()):
        if exempt:
            exempt_out.append("%s (%s:%d)" % (cid, sec_rel, ln))
        elif cid not in ids:
            rep.add(sec_rel, ln, "control-tests",
                    "%s is listed as covered but no test name carries it "
                    "(e2e 'XX-NN: ...', unit test_..._XXNN_...)" % cid)


# -------------------------------------------------------- domain-boundary

STORE_CALL_RE = re.compile(r"(?<![A-Za-z0-9_])(store_[a-z0-9_]+|db_[a-z0-9_]+|q_[a-z0-9_]+)\s*\(")
STORE_INCLUDE_RE = re.compile(r'#\s*include\s*"store/')


def check_boundary(root, rep):
    """Pages and the admin API call the domain, never the store."""
    for rel in source_files(root, ["src/web"], C_EXT):
        raw = read(root, rel)
        for m in STORE_INCLUDE_RE.finditer(raw):
            rep.add(rel, line_of(raw, m.start()), "domain-boundary",
                    "src/web/ includes a store header: call a domain function in auth/ or oauth/")
        code = strip_c(raw)
        for m in STORE_CALL_RE.finditer(code):
            rep.add(rel, line_of(code, m.start()), "domain-boundary",
                    "src/web/ calls %s(): call a domain function in auth/ or oauth/" % m.group(1))
    # The admin API (issue 17) calls the domain too; it may free the rows
    # a domain function returned (store_*_clear / store_*_free), nothing
    # else of the store.
    for rel in source_files(root, ["src/admin"], C_EXT):
        code = strip_c(read(root, rel))
        for m in STORE_CALL_RE.finditer(code):
            if re.fullmatch(r"store_[a-z0-9_]+_(clear|free)", m.group(1)):
                continue
            rep.add(rel, line_of(code, m.start()), "domain-boundary",
                    "src/admin/ calls %s(): call a domain function in auth/, oauth/, machine/ or audit/"
                    % m.group(1))


# ------------------------------------------------------------------- main


def run(root):
    rep, exempt = Report(), []
    check_length(root, rep)
    check_opening(root, rep)
    check_wipe(root, rep)
    check_digest(root, rep)
    check_layers(root, rep)
    check_boundary(root, rep)
    check_controls(root, rep, exempt)
    return rep, exempt


def main(argv=None):
    ap = argparse.ArgumentParser(description="Portcullis house rules")
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap.add_argument("--layers-table", action="store_true",
                    help="print the layers table src/meson.build implies, and exit")
    a = ap.parse_args(argv)
    root = os.path.normpath(a.root)
    if a.layers_table:
        print(format_table(parse_layers(read(root, os.path.join("src", "meson.build")))))
        return 0
    rep, exempt = run(root)
    for line in rep.lines():
        print(line)
    if exempt:
        print("checksrc: controls without an attack test yet (exempt): " + ", ".join(exempt))
    print("checksrc: %d finding(s)" % len(rep.lines()))
    return 1 if rep.items else 0


if __name__ == "__main__":
    sys.exit(main())
