#!/usr/bin/env python3
"""Splits a data set's tracing requests into cases that ended and cases still open, for
measuring how tracing learns from how cases end (`peywand search --ended`).

Every other request (by its number) ended: its outcome comes from the truth, as a caseworker
would have confirmed it. A person who registered was found in the registration an earlier
search showed, where it showed one of theirs, or else in their first registration; a person who
never registered was not found. The other requests stay open and are searched.

Usage: ended-cases.py REQUESTS TRUTH RESULTS OUT_DIR
writes OUT_DIR/ended.jsonl and OUT_DIR/open.jsonl.
"""
import csv
import json
import re
import sys


def main(requests_path, truth_path, results_path, out):
    person_of = {}
    first = {}
    with open(truth_path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            person_of[row["record_id"]] = row["person_id"]
            first.setdefault(row["person_id"], row["record_id"])
    shown = {}
    with open(results_path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                shown[r["request_id"]] = [c["record_id"] for c in r.get("candidates") or []]
    with open(requests_path, encoding="utf-8") as f, \
            open(f"{out}/ended.jsonl", "w", encoding="utf-8") as ended, \
            open(f"{out}/open.jsonl", "w", encoding="utf-8") as still_open:
        for line in f:
            if not line.strip():
                continue
            request = json.loads(line)
            number = int(re.sub(r"\D", "", request["request_id"]) or 0)
            if number % 2 == 0:
                still_open.write(line)
                continue
            person = request.get("person_id")
            found = None
            if person in first:
                ours = [r for r in shown.get(request["request_id"], []) if person_of.get(r) == person]
                found = ours[0] if ours else first[person]
            request["found_record_id"] = found
            ended.write(json.dumps(request, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
