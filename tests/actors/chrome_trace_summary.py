"""Reads a Chrome Trace Event JSON file (argv[1]) and prints a line-based summary that
test_actor_trace.cpp checks. json.load failing (exit status 1) means the file is not valid JSON.
  dropped N                 otherData.dropped_events
  lane TID NAME N SORTED FIRST LAST   per swimlane: thread_name, events, timestamps non-decreasing
                            (1/0), detail of its first and last event ('-' when empty)
  flows S F PAIRED          's' and 'f' events and how many ids have both
  unfinished N              spans cut at the stop
"""
import json
import sys

with open(sys.argv[1]) as f:
    trace = json.load(f)
events = trace["traceEvents"]
names = {e["tid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
print("dropped", trace["otherData"]["dropped_events"])
for tid in sorted({e["tid"] for e in events if e["ph"] != "M"}):
    lane = [e for e in events if e.get("tid") == tid and e["ph"] != "M"]
    stamps = [e["ts"] for e in lane]
    details = [e.get("args", {}).get("detail") or "-" for e in lane if e["ph"] in "Xi"]
    print("lane", tid, names.get(tid, "?"), len(lane), int(stamps == sorted(stamps)), details[0], details[-1])
starts = {e["id"] for e in events if e["ph"] == "s"}
finishes = {e["id"] for e in events if e["ph"] == "f"}
print("flows", sum(e["ph"] == "s" for e in events), sum(e["ph"] == "f" for e in events), len(starts & finishes))
print("unfinished", sum(bool(e.get("args", {}).get("unfinished")) for e in events))
