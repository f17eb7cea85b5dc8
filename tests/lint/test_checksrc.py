#!/usr/bin/env python3
"""Self-test of scripts/checksrc.py, the house-rules checker: each rule is fed
a small tree that breaks it and must report file:line: rule; the same tree
without the fault must pass, so a rule that stops firing (or fires on good
code) fails here. scripts/lint.sh runs it. Standard library only."""

import contextlib
import io
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import checksrc  # noqa: E402

MESON = """\
# a comment with static_library('pc_fake') in it
util_lib = static_library('pc_util',
  'util/buf.c', 'util/str.c',
  include_directories: inc,
  dependencies: [sodium, threads])
util_dep = declare_dependency(link_with: util_lib, include_directories: inc,
  dependencies: [sodium])

gen_c = custom_target('gen_c', output: 'gen.c', command: ['x'])
core_src = files('http/req.c', 'http/resp.c')
core_lib = static_library('pc_core',
  core_src, gen_c,
  dependencies: [util_dep, jansson])
core_dep = declare_dependency(link_with: core_lib)

top_lib = static_library('pc_top',
  'top/a.c', 'http/mhd.c',
  dependencies: [core_dep, util_dep, mhd])
"""

ARCH = """\
# Architecture

Prose before.

<!-- layers:begin -->
| library | folders | depends on |
|---|---|---|
| `pc_util` | `util/` | — |
| `pc_core` | `http/` | `pc_util` |
| `pc_top` | `top/` `http/` | `pc_core`, `pc_util` |
<!-- layers:end -->

Prose after.
"""

SECURITY = """\
# Security controls

## TK: tokens

**TK-01 Codes used twice.** Words.
- Tests: e2e/token `TK-01: ...`.

**TK-04/TK-05 Bindings.** Words.
- Tests: unit.

**TK-06 PKCE downgrade.** Words. **No attack test yet**: reasons.

## Not yet built

**MF-01 TOTP.** Nothing claims it.
"""

E2E = """\
import { test } from 'node:test';
test('TK-01: a code is single use', async () => {});
test(`TK-04/TK-05: bound
to the verifier`, async () => {});
"""

UNIT = """\
/*
 * Unit tests for the fake module of the self-test tree.
 */
static void
test_codes_tk05_burn(void **state)
{
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codes_tk05_burn),
	};
	return 0;
}
"""

GOOD_C = """\
/*
 * A good file: says what it is, wipes through the helper, names its sizes.
 */
#include "util/util.h"

static void
f(char *s, uint8_t *k, size_t n)
{
	char h[PC_SHA256_HEX_LEN + 1], note[80] = "char x[65]; free(s)";
	uint8_t point[65]; /* an EC point, not hex */

	(void)h;
	(void)note;
	(void)point;
	sodium_memzero(k, n); /* then keep using it */
	pc_freezero(k, n);
	pc_freezero_str(s);
}
"""

BUF_C = """\
/*
 * Buffers, and the one place allowed to wipe and free by hand.
 */
void
pc_freezero(void *p, size_t n)
{
	if (p == NULL)
		return;
	sodium_memzero(p, n);
	free(p);
}
"""


class Tree:
    """A minimal repository the checker passes, to be broken one rule at a time."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="checksrc-test.")
        self.write("src/meson.build", MESON)
        self.write("docs/architecture.md", ARCH)
        self.write("docs/security.md", SECURITY)
        self.write("tests/e2e/token.test.mjs", E2E)
        self.write("tests/unit/test_codes.c", UNIT)
        self.write("src/util/str.c", GOOD_C)
        self.write("src/util/buf.c", BUF_C)
        self.write("src/util/util.h", "#define PC_SHA256_LEN 32\n#define PC_SHA256_HEX_LEN 64\n")

    def write(self, rel, text):
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    def edit(self, rel, old, new):
        path = os.path.join(self.root, rel)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        assert old in text, (rel, old)
        self.write(rel, text.replace(old, new))

    def findings(self):
        rep, exempt = checksrc.run(self.root)
        return rep.lines(), exempt

    def close(self):
        shutil.rmtree(self.root)


def c_file(body, comment="/*\n * A test file that says what it is.\n */\n"):
    return comment + body


class CheckSrcTest(unittest.TestCase):
    def setUp(self):
        self.t = Tree()

    def tearDown(self):
        self.t.close()

    def assertFinding(self, prefix):
        lines, _ = self.t.findings()
        self.assertTrue(any(x.startswith(prefix) for x in lines),
                        "want %r in:\n%s" % (prefix, "\n".join(lines)))

    def test_clean_tree_passes(self):
        lines, exempt = self.t.findings()
        self.assertEqual(lines, [])
        self.assertEqual(len(exempt), 1)
        self.assertTrue(exempt[0].startswith("TK-06 (docs/security.md:"), exempt)

    def test_main_exit_status(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(checksrc.main(["--root", self.t.root]), 0)
        self.t.write("src/util/bad.c", "int x;\n")
        with contextlib.redirect_stdout(out):
            self.assertEqual(checksrc.main(["--root", self.t.root]), 1)
        self.assertIn("src/util/bad.c:1: opening-comment:", out.getvalue())

    # file-length
    def test_file_over_800_lines(self):
        self.t.write("src/util/long.c", c_file("int x;\n" * 798))  # 801 lines
        self.assertFinding("src/util/long.c:801: file-length: 801 lines")

    def test_file_of_800_lines_passes(self):
        self.t.write("src/util/long.c", c_file("int x;\n" * 797))  # 800 lines
        lines, _ = self.t.findings()
        self.assertEqual(lines, [])

    def test_long_header_too(self):
        self.t.write("src/util/long.h", "int x;\n" * 900)
        self.assertFinding("src/util/long.h:801: file-length:")

    # opening-comment
    def test_no_opening_comment(self):
        self.t.write("src/util/bare.c", "#include <stdio.h>\n/* late */\n")
        self.assertFinding("src/util/bare.c:1: opening-comment:")

    def test_opening_comment_in_tests(self):
        self.t.write("tests/tools/tool.c", "// line comment\nint x;\n")
        self.assertFinding("tests/tools/tool.c:1: opening-comment:")

    def test_label_is_not_a_comment(self):
        self.t.write("src/util/label.c", "/* util */\nint x;\n")
        self.assertFinding("src/util/label.c:1: opening-comment: the opening comment must say")

    # domain-boundary
    def test_web_calls_store(self):
        self.t.write("src/web/p.c", c_file(
            "void\ng(void)\n{\n\t(void)store_user_get(0, 0, 0);\n}\n"))
        self.assertFinding("src/web/p.c:7: domain-boundary: src/web/ calls store_user_get()")

    def test_web_includes_store(self):
        self.t.write("src/web/p.c", c_file('#include "store/store.h"\n'))
        self.assertFinding("src/web/p.c:4: domain-boundary: src/web/ includes a store header")

    def test_web_store_in_comment_or_other_name_passes(self):
        self.t.write("src/web/p.c", c_file(
            "/* store_user_get() is not called here */\n"
            "void\ng(void)\n{\n\tweb_store_failed();\n}\n"))
        self.t.write("src/auth/a.c", c_file(
            "void\ng(void)\n{\n\t(void)store_user_get(0, 0, 0);\n}\n"))
        lines, _ = self.t.findings()
        self.assertEqual(lines, [])

    # wipe-free
    def test_wipe_then_free(self):
        self.t.write("src/http/w.c", c_file(
            "void\ng(char *p, size_t n)\n{\n\tsodium_memzero(p, n);\n\tfree(p);\n}\n"))
        self.assertFinding("src/http/w.c:7: wipe-free: sodium_memzero(p, ...) then free(p)")

    def test_wipe_then_free_member_over_lines(self):
        self.t.write("src/http/w.c", c_file(
            "void\ng(struct kv *kv)\n{\n\texplicit_bzero(kv->value,\n\t    kv->len);\n"
            "\n\tfree( kv->value );\n}\n"))
        self.assertFinding("src/http/w.c:7: wipe-free: explicit_bzero(kv->value, ...)")

    def test_wipe_then_free_in_tests(self):
        self.t.write("tests/unit/test_w.c", c_file("void\ng(void)\n{\n\tsodium_memzero(d, n);\n\tfree(d);\n}\n"))
        self.assertFinding("tests/unit/test_w.c:7: wipe-free:")

    def test_helper_body_is_allowed_elsewhere_not(self):
        self.t.edit("src/util/buf.c", "pc_freezero(void", "my_freezero(void")
        self.assertFinding("src/util/buf.c:9: wipe-free:")

    # digest-size
    def test_bare_65(self):
        self.t.write("src/oauth/d.c", c_file("static void\nf(char hash[65])\n{\n}\n"))
        self.assertFinding("src/oauth/d.c:5: digest-size: bare size [65]")

    def test_bare_65_second_declarator(self):
        self.t.write("src/oauth/d.c", c_file("void\nf(void)\n{\n\tchar a[8], b[64 + 1];\n}\n"))
        self.assertFinding("src/oauth/d.c:7: digest-size: bare size [64 + 1]")

    def test_twice_sha256_len(self):
        self.t.write("src/auth/d.c", c_file("void\nf(char out[2 * SHA256_LEN + 1]);\n"))
        lines, _ = self.t.findings()
        self.assertEqual(lines, ["src/auth/d.c:5: digest-size: '2 * SHA256_LEN' is a hex SHA-256: "
                                 "use PC_SHA256_HEX_LEN"])

    def test_retired_names(self):
        self.t.write("src/store/store.h", "#define STORE_SESSION_HASH_HEX 64\n"
                     "struct s {\n\tchar m[AUDIT_MAC_HEX + 1];\n};\n")
        self.assertFinding("src/store/store.h:1: digest-size: defines the retired name STORE_SESSION_HASH_HEX")
        self.assertFinding("src/store/store.h:3: digest-size: the retired name AUDIT_MAC_HEX")

    def test_retired_name_in_tests(self):
        self.t.write("tests/unit/test_d.c", c_file("uint8_t d[SHA256_LEN];\n"))
        self.assertFinding("tests/unit/test_d.c:4: digest-size: the retired name SHA256_LEN")

    # layers-table
    def test_layers_table_missing(self):
        self.t.write("docs/architecture.md", "# Architecture\n")
        self.assertFinding("docs/architecture.md:1: layers-table: no layers table")

    def test_layers_wrong_dependency(self):
        self.t.edit("docs/architecture.md", "| `pc_core` | `http/` | `pc_util` |",
                    "| `pc_core` | `http/` | — |")
        self.assertFinding("docs/architecture.md:9: layers-table: pc_core: depends on nothing, "
                           "src/meson.build says pc_util")

    def test_layers_new_library(self):
        self.t.edit("src/meson.build", "top_lib =",
                    "new_lib = static_library('pc_new', 'new/x.c', dependencies: util_dep)\ntop_lib =")
        self.assertFinding("docs/architecture.md:11: layers-table: pc_new (src/meson.build) has no row")

    def test_layers_moved_folder(self):
        self.t.edit("src/meson.build", "'util/str.c'", "'base/str.c'")
        self.assertFinding("docs/architecture.md:8: layers-table: pc_util: folders util/, "
                           "src/meson.build says util/ base/")

    def test_layers_link_with_list_and_direct(self):
        self.t.edit("src/meson.build", "top_lib =",
                    "both_dep = declare_dependency(link_with: [util_lib, core_lib])\n"
                    "new_lib = static_library('pc_new', 'new/x.c', dependencies: [both_dep],\n"
                    "  link_with: top_lib)\ntop_lib =")
        self.t.edit("docs/architecture.md", "<!-- layers:end -->",
                    "| `pc_new` | `new/` | `pc_util`, `pc_core` |\n<!-- layers:end -->")
        self.assertFinding("docs/architecture.md:11: layers-table: pc_new: depends on pc_util, pc_core, "
                           "src/meson.build says pc_util, pc_core, pc_top")

    def test_layers_stale_row(self):
        self.t.edit("docs/architecture.md", "<!-- layers:end -->",
                    "| `pc_gone` | `gone/` | — |\n<!-- layers:end -->")
        self.assertFinding("docs/architecture.md:11: layers-table: pc_gone is not a static library")

    def test_layers_table_printed_is_accepted(self):
        table = checksrc.format_table(checksrc.parse_layers(MESON))
        self.t.write("docs/architecture.md", "# A\n\n" + table + "\n")
        lines, _ = self.t.findings()
        self.assertEqual(lines, [])

    # control-tests
    def test_control_without_test(self):
        self.t.edit("tests/e2e/token.test.mjs", "TK-01: a code", "a code")
        self.assertFinding("docs/security.md:5: control-tests: TK-01 is listed as covered")

    def test_control_in_unit_name_counts(self):
        # TK-05 is only in the unit test name (lower case, no dash)
        self.t.edit("tests/e2e/token.test.mjs", "TK-04/TK-05", "TK-04")
        lines, _ = self.t.findings()
        self.assertEqual(lines, [])
        self.t.edit("tests/unit/test_codes.c", "cmocka_unit_test(test_codes_tk05_burn)",
                    "cmocka_unit_test(test_codes_burn)")
        self.assertFinding("docs/security.md:8: control-tests: TK-05")

    def test_id_in_comment_or_todo_does_not_count(self):
        self.t.edit("tests/e2e/token.test.mjs", "test('TK-01: a code is single use'",
                    "// TK-01\ntest.todo('TK-01: a code is single use'")
        self.assertFinding("docs/security.md:5: control-tests: TK-01")

    def test_exempt_control_listed_not_reported(self):
        _, exempt = self.t.findings()
        self.assertEqual(exempt, ["TK-06 (docs/security.md:11)"])
        self.t.edit("docs/security.md", "**No attack test yet**: reasons.", "Tested.")
        self.assertFinding("docs/security.md:11: control-tests: TK-06")


if __name__ == "__main__":
    unittest.main()
