"""Reads Peywand's generated household XForm back with pyxform, the XLSForm tool of ODK and
KoboToolbox, and checks what a phone will show: every question, the repeat of members, the
three languages, every choice list with a label in each language. pyxform then writes the
form out again, which fails on anything it cannot represent.

Usage: python xform_check.py FORM.xml   (scripts/openrosa-check runs it)
"""

import sys

from pyxform.xform2json import create_survey_element_from_xml

LANGUAGES = ["English (en)", "Dari (fa)", "Pashto (ps)"]
HOUSEHOLD = ["destination_province", "destination_district", "return_type", "needs",
             "legal_basis", "purposes"]
MEMBER = ["member_id", "given_name", "father_name", "grandfather_name", "family_name",
          "relationship", "sex", "birth_date", "age", "province_of_origin",
          "district_of_origin", "last_residence", "document_type", "document_number", "phone",
          "vulnerabilities"]


def fail(message):
    print(f"xform check: {message}", file=sys.stderr)
    sys.exit(1)


def labelled(element, where):
    label = element.get("label")
    if not isinstance(label, dict) or sorted(label) != sorted(LANGUAGES):
        fail(f"{where} is not labelled in {LANGUAGES}: {label!r}")
    for lang, text in label.items():
        if not text or not text.strip():
            fail(f"{where} has an empty {lang} label")


def main(path):
    with open(path, encoding="utf-8") as f:
        xml = f.read()
    survey = create_survey_element_from_xml(xml)
    form = survey.to_json_dict()
    if form.get("id_string") != "peywand_household":
        fail(f"form id {form.get('id_string')!r}")
    children = {c["name"]: c for c in form["children"]}
    for name in HOUSEHOLD:
        if name not in children:
            fail(f"no household question {name}")
        labelled(children[name], name)
    member = children.get("member")
    if member is None or member["type"] != "repeat":
        fail("members are not a repeat group")
    labelled(member, "member")
    names = [c["name"] for c in member["children"]]
    if names != MEMBER:
        fail(f"member questions {names}")
    for c in member["children"]:
        if c["name"] != "member_id":
            labelled(c, f"member/{c['name']}")
    if "meta" not in children:
        fail("no meta/instanceID")
    choices = form.get("choices", {})
    expected = {"provinces": 34, "sexes": 2, "relationships": 12, "vulnerabilities": 7,
                "needs": 6, "legal_bases": 6, "purposes": 5, "return_types": 3,
                "document_types": 6}
    for list_name, count in expected.items():
        items = choices.get(list_name, [])
        if len(items) != count:
            fail(f"choice list {list_name} has {len(items)} choices, not {count}")
        for item in items:
            labelled(item, f"{list_name}/{item['name']}")
    # pyxform writes the form again from what it read.
    again = survey.to_xml(validate=False)
    if "peywand_household" not in again or "jr:template" not in again:
        fail("pyxform could not write the form back")
    print(f"xform check: {len(HOUSEHOLD)} household and {len(MEMBER)} member questions, "
          f"{len(expected)} choice lists, {len(LANGUAGES)} languages: read back by pyxform")


if __name__ == "__main__":
    main(sys.argv[1])
