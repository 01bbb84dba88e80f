"""Google's own judge of Vertex AI request bodies: aiplatform v1's GenerateContentRequest, parsed
strictly from JSON (unknown or misplaced field names and wrong types are refused, as Vertex AI
refuses them with 400 INVALID_ARGUMENT). Neither the app nor its stand-in wrote it.

Reads one JSON body per line on stdin; prints `ok` or `refused: <reason>` per line, in order.
Used by server/tests/vertex_oracle.rs.
"""
import sys

from google.cloud.aiplatform_v1.types import GenerateContentRequest

for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    try:
        GenerateContentRequest.from_json(line, ignore_unknown_fields=False)
        print("ok")
    except Exception as e:  # ParseError, or anything else the parser raises
        reason = " ".join(str(e).split())[:300]
        print(f"refused: {type(e).__name__}: {reason}")
    sys.stdout.flush()
