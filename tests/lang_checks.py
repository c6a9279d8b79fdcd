#!/usr/bin/python3
"""Checks of the template and rule-file language (docs/templates.md,
docs/rules.md) through the ipforms command: a template extending another,
rule files including others, and the diagnostics that name the file and
line where the offending text really stands.

Usage: lang_checks.py CHECK IPFORMS REPO_ROOT
Each check builds what it needs in a temporary copy of templates/, prints
what it found and exits non-zero on the first failure."""
import os
import re
import shutil
import sys
import tempfile

from ipftest import fail, run, squash

SAMPLE = "samples/national-filing/chongqing-university-library.xml"
BASE = "national-filing/template.xml"


def line_of(path, text):
    """The 1-based line of the only occurrence of text in path."""
    src = open(path, encoding="utf-8").read()
    if src.count(text) != 1:
        fail(f"{path} no longer holds exactly one {text!r}: update lang_checks.py")
    return src[: src.index(text)].count("\n") + 1


class Tree:
    """A copy of the repository's templates/ in a temporary directory, with
    files added or edited by a check."""

    def __init__(self, ipf, repo):
        self.ipf, self.repo = ipf, repo
        self.tmp = tempfile.mkdtemp(prefix="ipf-lang-")
        self.tpl = os.path.join(self.tmp, "tpl")
        shutil.copytree(os.path.join(repo, "templates"), self.tpl)

    def path(self, rel):
        return os.path.join(self.tpl, rel)

    def write(self, rel, text):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
        return p

    def edit(self, rel, old, new):
        p = self.path(rel)
        src = open(p, encoding="utf-8").read()
        if src.count(old) != 1:
            fail(f"{rel} no longer holds exactly one {old!r}: update lang_checks.py")
        with open(p, "w", encoding="utf-8") as f:
            f.write(src.replace(old, new))

    def data(self, form, name="data.xml"):
        """The national sample, for another form id."""
        src = open(os.path.join(self.repo, SAMPLE), encoding="utf-8").read()
        src = src.replace('form="national-filing"', f'form="{form}"', 1)
        p = os.path.join(self.tmp, name)
        with open(p, "w", encoding="utf-8") as f:
            f.write(src)
        return p

    def ipforms(self, *args):
        return run([self.ipf, "--templates", self.tpl, *args], cwd=self.tmp)

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def derived(body, attrs="", form_id="derived", extends="../national-filing/template.xml"):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<form xmlns="urn:ipforms:template:1" id="{form_id}" extends="{extends}"'
        f' title="派生表"{attrs}>\n{body}\n</form>\n'
    )


def expect_diag(r, file_suffix, line, code, what, upto=0):
    """stderr holds 'FILE:LINE: error CODE' with FILE ending in file_suffix.
    libxml2 gives an element the line where its start tag ends: upto allows
    that many lines more for a tag written over several lines."""
    lines = "|".join(str(line + i) for i in range(upto + 1))
    pat = re.compile(rf"^(\S*{re.escape(file_suffix)}):({lines}): error {code} ", re.M)
    if not pat.search(r.stderr):
        fail(f"{what}: expected '…{file_suffix}:{line}: error {code}', got:\n{r.stderr}")
    print(f"ok: {what}: {file_suffix}:{line} {code}")


def pdf_text(pdf):
    r = run(["pdftotext", "-enc", "UTF-8", pdf, "-"])
    if r.returncode != 0:
        fail(f"pdftotext: {r.stderr}")
    return r.stdout


# ------------------------------------------------------------------ extends


def check_extends_render(ipf, repo):
    """tests/data/templates/derived-test extends the national form: its
    replaced cover lines, removed section and inserted parts show in the PDF,
    in the base's order; everything else is the base's."""
    t = Tree(ipf, repo)
    try:
        data = t.data("derived-test")
        r = run([ipf, "render", "--templates", os.path.join(repo, "tests/data/templates"),
                 "-o", t.tmp, data])
        if r.returncode != 0:
            fail(f"render failed ({r.returncode}): {r.stderr}")
        text = squash(pdf_text(os.path.join(t.tmp, "data.pdf")))
        for s in ["主管部门：", "测试省知识产权局", "二之一、测试省增设的部分", "测试省备注",
                  "（插入在签字行之前的一段）", "六、申请备案机构意见", "八、备案部门意见"]:
            if s not in text:
                fail(f"derived form lacks {s!r}")
        for s in ["推荐部门：重庆", "七、推荐部门意见", "国家知识产权局2024年制"]:
            if s in text:
                fail(f"derived form still holds {s!r}")
        order = ["二、工作基础", "二之一、测试省增设的部分", "三、服务团队", "（插入在签字行之前的一段）",
                 "经办人：", "八、备案部门意见"]
        at = [text.find(s) for s in order]
        if at != sorted(at):
            fail(f"parts out of order: {list(zip(order, at))}")
        print("ok: replaced, removed and inserted parts in the base's order")
    finally:
        t.close()


def check_extends_diagnostics(ipf, repo):
    """Every diagnostic names the file and line where the element stands:
    the base's table for a base element, the extending file for its own."""
    base = os.path.join(repo, "templates", BASE)
    table_line = line_of(base, '<table columns="30mm 28mm 24mm 24mm 25mm 1fr">')
    t = Tree(ipf, repo)
    try:
        for body, where, line, code, what in [
            # 1. The extending form narrows the page: the base's table no
            #    longer fits, and the error points into the base file.
            ('  <page size="A4" margin-top="25mm" margin-bottom="25mm" margin-left="40mm"'
             ' margin-right="40mm"/>',
             BASE, table_line, "TEMPLATE-COLUMNS", "inherited table, narrowed page"),
            # 2. A name the base does not have: the extending file's line.
            ('  <remove name="sec-99"/>',
             "narrow/template.xml", 3, "TEMPLATE-EXTENDS", "unknown part name"),
            # 3. A bad select in inserted content: the extending file's line.
            ('  <insert after="sec-1">\n'
             '    <row><label>x</label><value span="5" select="d:x["/></row>\n'
             '  </insert>',
             "narrow/template.xml", 4, "TEMPLATE-XPATH", "bad select in inserted row"),
            # 4. Structure checked in the built tree: a <row> inserted on the
            #    cover is refused at the extending file's line.
            ('  <insert after="cover-number">\n'
             '    <row><label>x</label></row>\n'
             '  </insert>',
             "narrow/template.xml", 4, "TEMPLATE-STRUCTURE", "row inserted on the cover"),
        ]:
            t.write("narrow/template.xml", derived(body, form_id="narrow"))
            expect_diag(t.ipforms("forms"), where, line, code, what)
        # 5. A name used twice: the second place, naming the first.
        t.write("narrow/template.xml", derived(
            '  <insert after="sec-1">\n'
            '    <section name="sec-3" title="重名"/>\n'
            '  </insert>', form_id="narrow"))
        r = t.ipforms("forms")
        sec3 = line_of(base, '<section name="sec-3"')
        if not re.search(rf"TEMPLATE-NAME .*{re.escape(BASE)}:{sec3}", r.stderr):
            fail(f"duplicate name should name the base's line {sec3}:\n{r.stderr}")
        expect_diag(r, "narrow/template.xml", 4, "TEMPLATE-NAME", "a name used twice")
        # 6. A cycle of extends.
        t.write("loop-a/template.xml", derived("", form_id="loop-a",
                                               extends="../loop-b/template.xml"))
        t.write("loop-b/template.xml", derived("", form_id="loop-b",
                                               extends="../loop-a/template.xml"))
        r = t.ipforms("forms")
        expect_diag(r, "loop-b/template.xml", 2, "TEMPLATE-EXTENDS", "extends cycle")
        # 7. A base that does not exist.
        t.write("loop-a/template.xml", derived("", form_id="loop-a",
                                               extends="../none/template.xml"))
        r = t.ipforms("forms")
        expect_diag(r, "loop-a/template.xml", 2, "TEMPLATE-EXTENDS", "missing base")
    finally:
        t.close()


def check_duplicate_ids(ipf, repo):
    """Two forms with one id are an error naming both files, and neither is
    used; a copy with its own id is fine."""
    t = Tree(ipf, repo)
    try:
        shutil.copytree(t.path("national-filing"), t.path("national-copy"))
        r = t.ipforms("forms")
        if "TEMPLATE-DUPLICATE" not in r.stderr or " error " not in r.stderr:
            fail(f"duplicate id: expected an error, got:\n{r.stderr}")
        for d in ["national-copy/template.xml", "national-filing/template.xml"]:
            if d not in r.stderr:
                fail(f"duplicate id: {d} not named:\n{r.stderr}")
        if "national-filing " in r.stdout:
            fail(f"a duplicated form is still listed:\n{r.stdout}")
        r = t.ipforms("validate", t.data("national-filing"))
        if r.returncode == 0 or "TEMPLATE-BROKEN" not in r.stderr:
            fail(f"data for a duplicated form should be refused:\n{r.stderr}")
        print("ok: duplicate ids are an error naming both files; neither is used")
        t.edit("national-copy/template.xml", 'id="national-filing"', 'id="national-copy"')
        t.edit("national-copy/rules.xml", 'form="national-filing"', 'form="national-copy"')
        r = t.ipforms("forms")
        if r.returncode != 0 or r.stderr or "national-copy " not in r.stdout:
            fail(f"renamed copy: {r.returncode} {r.stderr}")
        print("ok: a renamed copy is its own form")
    finally:
        t.close()


def check_abstract(ipf, repo):
    """abstract="true": not listed, not renderable, a base for others; it
    needs no id, data or table."""
    t = Tree(ipf, repo)
    try:
        t.write("common/base.xml",
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                '<form xmlns="urn:ipforms:template:1" abstract="true">\n'
                '  <page size="A4" margin-top="25mm" margin-bottom="25mm" margin-left="28mm"'
                ' margin-right="22mm"/>\n'
                '  <fonts><font file="FandolFang-Regular.ttf"/></fonts>\n'
                '  <cover name="cover"><p name="title" align="center">抽象基础</p></cover>\n'
                '</form>\n')
        t.write("base-form/template.xml",
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                '<form xmlns="urn:ipforms:template:1" abstract="true">\n'
                '  <cover><p>抽象</p></cover>\n</form>\n')
        t.write("concrete/template.xml", derived(
            '  <data root="filing" schema="../schema/filing.xsd"/>\n'
            '  <replace name="title"><p align="center">具体表单</p></replace>',
            form_id="concrete", extends="../common/base.xml"))
        r = t.ipforms("forms")
        if r.returncode != 0 or r.stderr:
            fail(f"forms: {r.returncode} {r.stderr}")
        if "base-form" in r.stdout or "concrete " not in r.stdout:
            fail(f"abstract listed or concrete missing:\n{r.stdout}")
        r = t.ipforms("blank", "-o", t.tmp, "concrete")
        if r.returncode != 0:
            fail(f"blank concrete: {r.stderr}")
        text = squash(pdf_text(os.path.join(t.tmp, "blank-concrete.pdf")))
        if "具体表单" not in text or "抽象基础" in text:
            fail(f"concrete form text: {text[:200]}")
        r = t.ipforms("blank", "-o", t.tmp, "base-form")
        if r.returncode == 0:
            fail("an abstract form was rendered")
        print("ok: abstract forms are bases only")
    finally:
        t.close()


# ------------------------------------------------------------------ rules


INCL_TEMPLATE = derived(
    '  <data root="filing" schema="../schema/filing.xsd" rules="rules.xml"/>',
    form_id="incl-form")


def incl_rules(body, form="incl-form"):
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<rules xmlns="urn:ipforms:rules:1" form="{form}">\n{body}\n</rules>\n'
    )


def codes(stderr):
    return set(re.findall(r": (?:error|warning) ([A-Z0-9-]+) ", stderr))


def check_rules_include(ipf, repo):
    """A rule file including the national one: its settings override, its
    <remove> drops a rule, its own rules are added; problems in an included
    file name that file's line; form= must be the template's id."""
    t = Tree(ipf, repo)
    try:
        t.write("incl-form/template.xml", INCL_TEMPLATE)
        own = ('  <include href="../national-filing/rules.xml"/>\n'
               '  <setting name="full-time-min" value="3"/>\n'
               '  <remove code="NAT-REQ-APPLICANT"/>\n'
               '  <rule code="INC-OWN" severity="warning">\n'
               '    <clause source="banfa">第一条</clause>\n'
               '    <context>/d:filing</context>\n'
               '    <assert>false()</assert>\n'
               '    <message>专职至少{$full-time-min}人</message>\n'
               '  </rule>')
        t.write("incl-form/rules.xml", incl_rules(own))
        src = open(os.path.join(repo, SAMPLE), encoding="utf-8").read()
        src = src.replace('full-time="6" part-time="3"', 'full-time="4" part-time="5"', 1)
        src = re.sub(r"<applicant>[^<]*</applicant>", "<applicant></applicant>", src, count=1)
        for form, name in [("national-filing", "nat.xml"), ("incl-form", "inc.xml")]:
            with open(os.path.join(t.tmp, name), "w", encoding="utf-8") as f:
                f.write(src.replace('form="national-filing"', f'form="{form}"', 1))
        nat = codes(t.ipforms("validate", "nat.xml").stderr)
        r = t.ipforms("validate", "inc.xml")
        inc = codes(r.stderr)
        for c in ["NAT-STAFF-FULL-TIME-MIN", "NAT-REQ-APPLICANT"]:
            if c not in nat:
                fail(f"national rules should report {c} for the edited sample: {nat}")
            if c in inc:
                fail(f"including rules should not report {c}:\n{r.stderr}")
        if "INC-OWN" not in inc or "专职至少3人" not in r.stderr:
            fail(f"own rule with the overridden setting missing:\n{r.stderr}")
        print("ok: settings overridden, a rule removed, an own rule added")

        for settings, line, code, what in [
            # An override keeps the included setting's type.
            ('  <setting name="full-time-min" value="三"/>',
             4, "RULES-SETTING", "override of a number setting"),
            # Overriding twice in one file is a duplicate, as in any one file.
            ('  <setting name="full-time-min" value="3"/>\n'
             '  <setting name="full-time-min" value="4"/>',
             5, "RULES-FILE", "an override given twice"),
        ]:
            t.write("incl-form/rules.xml", incl_rules(
                '  <include href="../national-filing/rules.xml"/>\n' + settings))
            expect_diag(t.ipforms("validate", "inc.xml"), "incl-form/rules.xml", line, code, what)
        # A problem in the included file names the included file and line.
        t.write("incl-form/common.xml", incl_rules(
            '  <namespace prefix="d" uri="urn:ipforms:data:1"/>\n'
            '  <source id="c" title="《通用》"/>\n'
            '  <rule code="COMMON-BAD" severity="error">\n'
            '    <clause source="c">第一条</clause>\n'
            '    <context>/d:filing</context>\n'
            '    <assert>ipf:nonesuch(.)</assert>\n'
            '    <message>x</message>\n'
            '  </rule>', form="common"))
        t.write("incl-form/rules.xml", incl_rules('  <include href="common.xml"/>'))
        r = t.ipforms("validate", "inc.xml")
        expect_diag(r, "incl-form/common.xml", 8, "RULES-XPATH", "bad XPath in an included file")
        # <remove> of a rule nobody included.
        t.write("incl-form/rules.xml", incl_rules(
            '  <include href="../national-filing/rules.xml"/>\n  <remove code="NAT-NONESUCH"/>'))
        r = t.ipforms("validate", "inc.xml")
        expect_diag(r, "incl-form/rules.xml", 4, "RULES-INCLUDE", "remove of an unknown code")
        # A file including itself.
        t.write("incl-form/rules.xml", incl_rules('  <include href="rules.xml"/>'))
        r = t.ipforms("validate", "inc.xml")
        expect_diag(r, "incl-form/rules.xml", 3, "RULES-INCLUDE", "a file including itself")
        # A copied rule file whose form= was not changed.
        shutil.copyfile(t.path("national-filing/rules.xml"), t.path("incl-form/rules.xml"))
        r = t.ipforms("validate", "inc.xml")
        root_line = line_of(t.path("incl-form/rules.xml"), "<rules ")
        expect_diag(r, "incl-form/rules.xml", root_line, "RULES-FORM", "copied, unrenamed rules")
        # Inherited <data>: the base's rule file is the base's, and fine.
        t.write("incl-form/template.xml", derived("", form_id="incl-form"))
        r = t.ipforms("validate", "inc.xml")
        if "RULES-FORM" in r.stderr or "NAT-STAFF-FULL-TIME-MIN" not in r.stderr:
            fail(f"inherited rules should be the national ones:\n{r.stderr}")
        print("ok: an inherited <data> uses the base's rule file")
    finally:
        t.close()


# ------------------------------------------------------------------ features


def page_sizes(pdf):
    r = run(["pdfinfo", "-f", "1", "-l", "999", pdf])
    return re.findall(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", r.stdout, re.M)


def check_features(ipf, repo):
    """tests/data/lang/lang-test: settings and ipf: functions in text, {{ }},
    when=, nested loops with $n restored, var=, a section inside a repeat, a
    landscape A3 page between A4 ones, and "第 n 页 共 N 页"."""
    with tempfile.TemporaryDirectory() as tmp:
        r = run([ipf, "render", "--templates", os.path.join(repo, "tests/data/lang"), "-o", tmp,
                 os.path.join(repo, "tests/data/lang/report.xml")])
        if r.returncode != 0 or r.stderr:
            fail(f"render: {r.returncode} {r.stderr}")
        pdf = os.path.join(tmp, "report.pdf")
        raw = pdf_text(pdf)
        text = squash(raw)
        want = ["上限300字，{原样}，1,234,567.89，间隔60天，版本2031",
                "数字：[3][-0.5][.25][007][-1,234.50][][0.0][-2][NaN]", "类别在清单中：乙",
                "组1：甲组", "组1第1项：一", "组1第2项：二", "组1完", "组2：乙组", "组2第1项：三",
                "组2完", "一、分组（每组不超过300字）", "第1组甲组", "1-1", "1-2", "有备注",
                "2项，组1", "第2组乙组", "2-1", "1项，组2", "横排评分页", "竖排尾页"]
        at = [text.find(w) for w in want]
        missing = [w for w, a in zip(want, at) if a < 0]
        if missing:
            fail(f"missing {missing} in:\n{raw}")
        if at != sorted(at):
            fail(f"out of order: {list(zip(want, at))}")
        for w in ["类别不在清单中", "不应出现", "{$"]:
            if w in text:
                fail(f"{w!r} printed")
        if text.count("多项") != 1 or text.count("首项") != 2 or text.count("有备注") != 1:
            fail("when= on a row, a cell and a paragraph in a cell: printed only when true")
        sizes = page_sizes(pdf)
        want_sizes = [("595.276", "841.89")] * 2 + [("1190.55", "841.89"), ("595.276", "841.89")]
        if sizes != want_sizes:
            fail(f"page sizes {sizes}, want {want_sizes}")
        n = len(sizes)
        for i in range(1, n + 1):
            if f"第{i}页共{n}页" not in text:
                fail(f"page number 第{i}页共{n}页 missing")
        info = run(["pdfinfo", pdf]).stdout
        if "语言测试（测试单位，2031年版）" not in info:
            fail(f"title: {info}")
        print("ok: settings, functions, escapes, when=, nested loops, page geometry, 共 N 页")


def check_settings_in_template(ipf, repo):
    """The national template prints its limits from the rule settings: one
    edit in rules.xml changes the check and the printed heading alike."""
    t = Tree(ipf, repo)
    try:
        t.edit("national-filing/rules.xml", '<setting name="foundation-max" type="number" value="1000"/>',
               '<setting name="foundation-max" type="number" value="1200"/>')
        r = t.ipforms("blank", "-o", t.tmp, "national-filing")
        if r.returncode != 0:
            fail(f"blank: {r.stderr}")
        text = squash(pdf_text(os.path.join(t.tmp, "blank-national-filing.pdf")))
        if "二、工作基础和优势特点（不超过1200字）" not in text or "1000字" in text:
            fail("the heading does not follow the setting")
        print("ok: the printed limit follows rules.xml")
    finally:
        t.close()


def check_load_checks(ipf, repo):
    """Template mistakes in {…}, when= and format are reported by validate
    (not only render) with the template's file and line."""
    base = os.path.join(repo, "templates", BASE)
    cases = [
        ('author="{d:cover/d:applicant}"', 'author="{d:cover/d:applicant[}"', "TEMPLATE-XPATH",
         "a syntax error in <info>"),
        ('title="三、服务团队人员情况"', 'title="三、服务团队人员情况{$nonesuch}"', "TEMPLATE-XPATH",
         "an undefined variable in a title"),
        ('title="三、服务团队人员情况"', 'title="三、服务团队人员情况{x:foo}"', "TEMPLATE-XPATH",
         "an undeclared prefix in a title"),
        ('title="三、服务团队人员情况"', 'title="三、服务团队人员情况{"', "TEMPLATE-TEXT",
         "an unclosed brace"),
        ('<p class="hint">（含场地', '<p class="hint" when="ipf:nonesuch()">（含场地', "TEMPLATE-XPATH",
         "an unknown function in when="),
        ('<p class="hint">（含场地', '<p class="hint">{ipf:chars(1, 2)}（含场地', "TEMPLATE-XPATH",
         "a wrong argument count in text"),
        ('<value span="5" select="d:institution/d:address"/>',
         '<value span="5" select="d:institution/address"/>', "TEMPLATE-XPATH",
         "an element name without a prefix"),
        ('<value span="5" select="d:institution/d:address"/>',
         '<value span="5" select="d:institution/x:address"/>', "TEMPLATE-XPATH",
         "an undeclared prefix after the first step"),
        ('<field select="d:applicant-opinion/d:date" format="date-zh"',
         '<field select="d:applicant-opinion/d:date" format="date_zh"', "TEMPLATE-STRUCTURE",
         "a format name that does not exist"),
    ]
    for old, new, code, what in cases:
        t = Tree(ipf, repo)
        try:
            line = line_of(base, old) if base else 0
            t.edit(BASE, old, new)
            r = t.ipforms("validate", t.data("national-filing"))
            if r.returncode == 0:
                fail(f"{what}: validate passed")
            expect_diag(r, BASE, line, code, what, upto=3)
        finally:
            t.close()


CHECKS = {
    "features": check_features,
    "settings-in-template": check_settings_in_template,
    "load-checks": check_load_checks,
    "rules-include": check_rules_include,
    "extends-render": check_extends_render,
    "extends-diagnostics": check_extends_diagnostics,
    "duplicate-ids": check_duplicate_ids,
    "abstract": check_abstract,
}

if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in CHECKS:
        print(__doc__)
        sys.exit(2)
    CHECKS[sys.argv[1]](os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3]))
