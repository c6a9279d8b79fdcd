#!/usr/bin/python3
"""The region table (templates/common/regions-gbt2260.xml) is well-formed and
complete: a clerk sorts by it.

Usage: regions_checks.py REPO

Completeness is checked against figures published independently of the
table: 民政部's count of prefecture-level divisions at the end of 2023 (333 =
293 地级市 + 7 地区 + 30 自治州 + 3 盟) and, per province, its number of them.
Well-formedness: codes unique and inside their province, names and short
forms unique within a province, a short form is the start of its name.
"""
import os
import sys
import xml.etree.ElementTree as ET

REPO = sys.argv[1]
failed = []


def check(cond, what):
    if not cond:
        failed.append(what)
        print("FAIL:", what, file=sys.stderr)


root = ET.parse(os.path.join(REPO, "templates", "common", "regions-gbt2260.xml")).getroot()
check(root.tag == "regions" and "2023" in root.get("edition", ""),
      f"root {root.tag}, edition {root.get('edition')!r} should say which year it follows")

# 民政部, 中华人民共和国县以上行政区划代码 (截至 2023 年 12 月 31 日): prefecture-level
# divisions per province-level division (municipalities have none).
PER_PROVINCE = {
    "13": 11, "14": 11, "15": 12, "21": 14, "22": 9, "23": 13, "32": 13, "33": 11, "34": 16,
    "35": 9, "36": 11, "37": 16, "41": 17, "42": 13, "43": 14, "44": 21, "45": 14, "46": 4,
    "51": 21, "52": 9, "53": 16, "54": 7, "61": 10, "62": 14, "63": 8, "64": 5, "65": 14,
}
MUNICIPALITIES = {"11": 16, "12": 16, "31": 16, "50": 38}  # 区 and 县 at the level below
PROVINCES = ["11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36",
             "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62",
             "63", "64", "65", "66", "71", "81", "82"]

provinces = root.findall("province")
codes = [p.get("code") for p in provinces]
check(codes == PROVINCES, f"provinces in code order, all 34 and 兵团: {codes}")
check(len({p.get("name") for p in provinces}) == len(provinces), "province names unique")
pshorts = [x for p in provinces for x in p.get("short", "").split("|")]
check(len(set(pshorts)) == len(pshorts), "province shorts unique")

seen = set()
kinds = {"市": 0, "地区": 0, "自治州": 0, "盟": 0}
for p in provinces:
    pc, pname = p.get("code"), p.get("name")
    # 兵团 and 新疆兵团 are how offices write 新疆生产建设兵团; every other
    # short form begins the name.
    shorts_p = p.get("short", "").split("|")
    check(all(pname.startswith(x) for x in shorts_p) or pc == "66", f"{pname}: short {shorts_p}")
    prefs = p.findall("prefecture")
    check(len(prefs) == len(list(p)), f"{pname}: only <prefecture> children")
    names, shorts, last = set(), set(), ""
    for q in prefs:
        code, name, short, level = q.get("code"), q.get("name"), q.get("short"), q.get("level")
        where = f"{pname} {code} {name}"
        check(code and code.isdigit() and code.startswith(pc), f"{where}: code inside {pc}")
        check(level in (None, "county"), f"{where}: level {level!r}")
        check(len(code) == (6 if level == "county" else 4), f"{where}: code length")
        if level is None:
            check(code[2:] != "00" and code[2:4] != "90", f"{where}: not a prefecture code")
        check(code not in seen, f"{where}: code used twice")
        seen.add(code)
        check(code > last, f"{where}: out of code order after {last}")
        last = code
        check(name and name not in names, f"{where}: name twice in the province")
        names.add(name)
        if short:
            check(name.startswith(short) and short != name, f"{where}: short {short!r}")
            check(short not in shorts and short not in names, f"{where}: short twice")
            shorts.add(short)
        if level is None:
            kind = next((k for k in ("自治州", "地区", "盟", "市") if name.endswith(k)), None)
            check(kind, f"{where}: neither 市, 地区, 自治州 nor 盟")
            if kind:
                kinds[kind] += 1
                check(kind == "市" or short, f"{where}: a short form for matching")
    pref_level = [q for q in prefs if q.get("level") is None]
    county_level = [q for q in prefs if q.get("level") == "county"]
    if pc in PER_PROVINCE:
        check(len(pref_level) == PER_PROVINCE[pc],
              f"{pname}: {len(pref_level)} prefecture-level divisions, want {PER_PROVINCE[pc]}")
    elif pc in MUNICIPALITIES:
        check(not pref_level and len(county_level) == MUNICIPALITIES[pc],
              f"{pname}: {len(county_level)} districts and counties, want {MUNICIPALITIES[pc]}")
    else:
        check(not prefs, f"{pname}: no GB/T 2260 prefectures in the table")
    # A prefecture called like a province is matched only after its own
    # province (青海省海南州); the one such name is 青海's 海南藏族自治州.
    for n in (names | shorts) - ({"海南"} if pc == "63" else set()):
        check(n not in {x.get("name") for x in provinces} | set(pshorts),
              f"{pname}: prefecture {n} is also a province name")

check(kinds == {"市": 293, "地区": 7, "自治州": 30, "盟": 3},
      f"地级市 293, 地区 7, 自治州 30, 盟 3 (民政部 2023): {kinds}")
check(sum(kinds.values()) == 333, "333 prefecture-level divisions")

# The 省直辖县级 units the provinces have (民政部 2023).
for pc, n in (("41", 1), ("42", 4), ("46", 15), ("65", 12)):
    p = next(x for x in provinces if x.get("code") == pc)
    got = [q for q in p.findall("prefecture") if q.get("level") == "county"]
    check(len(got) == n and all(q.get("code")[2:4] == "90" for q in got),
          f"{p.get('name')}: {len(got)} 直辖县级 units under {pc}90, want {n}")

if failed:
    sys.exit(1)
print("ok")
