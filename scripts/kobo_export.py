"""Writes XLSX files shaped like KoboToolbox's exports (a sheet of submissions, a sheet of the
repeat group's rows joined on _index/_parent_index), with openpyxl, for the import tests: one
good export and one malformed.

Usage: python kobo_export.py GOOD.xlsx BAD.xlsx   (scripts/openrosa-check runs it)
"""

import sys
from datetime import date

from openpyxl import Workbook

HOUSEHOLD = ["start", "today", "reception/crossing_point", "origin/province", "origin/district",
             "pakistan/city", "contact/phone", "_id", "_uuid", "_submission_time", "_index"]
MEMBERS = ["hh_members/name", "hh_members/father_name", "hh_members/grandfather_name",
           "hh_members/tribe", "hh_members/sex", "hh_members/age", "hh_members/dob",
           "hh_members/document", "hh_members/document_no", "_index", "_parent_table_name",
           "_parent_index", "_submission__id", "_submission__uuid"]


def workbook(members):
    wb = Workbook()
    main = wb.active
    main.title = "Returnee registration"
    main.append(HOUSEHOLD)
    main.append(["2025-10-02T08:00:00", date(2025, 10, 2), "torkham", "ننگرهار", "Momand Dara",
                 "Peshawar", "0300 1234567", 101, "7d3c1f0e-0001", "2025-10-02T09:00:00", 1])
    main.append(["2025-10-02T08:30:00", date(2025, 10, 2), "spin_boldak", "Kandahar", "",
                 "Quetta", "+93 70 123 4567", 102, "7d3c1f0e-0002", "2025-10-02T09:30:00", 2])
    sheet = wb.create_sheet("hh_members")
    sheet.append(MEMBERS)
    for row in members:
        sheet.append(row)
    return wb


GOOD = [
    ["ذبیح‌الله", "عبدالغنی", "Haji Nabi", "Shinwari", "1", 19, "1385", "por", "123-456", 1,
     "Returnee registration", 1, 101, "7d3c1f0e-0001"],
    ["Gul Bibi", "Rahmatullah", "", "", "2", 40, "", "none", "", 2, "Returnee registration", 1,
     101, "7d3c1f0e-0001"],
    ["Nasir-ud-Din", "Abdul Rahman", "", "Achakzai", "m", 8, "", "", "", 3,
     "Returnee registration", 2, 102, "7d3c1f0e-0002"],
]
# A sex code the mapping does not know, a member whose household row does not exist.
BAD = [GOOD[0], GOOD[1][:4] + ["9"] + GOOD[1][5:], GOOD[2][:11] + [7] + GOOD[2][12:]]

if __name__ == "__main__":
    workbook(GOOD).save(sys.argv[1])
    workbook(BAD).save(sys.argv[2])
