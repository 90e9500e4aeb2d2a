"""The exchangelib side of bench/scenarios/exchangelib.ts: a long-lived process that times exchangelib's own bulk calls
against the EWS simulator, so that the interpreter's start, the imports and the Account setup are not timed.

Run by Debian's /usr/bin/python3 (python3-exchangelib, as .ci/run installs it). Reads one JSON command a line on
stdin and answers one JSON line on stdout:
  {"cmd": "export", "ids": [EWS item id, ...]}
      account.export(ids): one ExportItems request per exchangelib chunk (its default chunk is 100 ids); keeps the
      data for "upload"; answers {"ms", "count", "chars", "sha256"} (sha256 of the data joined by newlines, so the
      caller can check that both sides move the same bytes).
  {"cmd": "upload", "folder": EWS folder id}
      account.upload() of the data of the last export into that folder (CreateNew; one UploadItems request per
      chunk of 100 items); answers {"ms", "count"}.
  {"cmd": "quit"}
Only the library call is timed (time.perf_counter), in ms. Errors answer {"error": text}.
The first line written is {"ready": true, "version": exchangelib version} once the Account exists.
"""
import hashlib
import json
import sys
import time
import traceback

import exchangelib
from exchangelib import Account, BASIC, Build, Configuration, Credentials, IMPERSONATION, Version
from exchangelib.properties import FolderId, ItemId


def main():
    url, user, password, smtp = sys.argv[1:5]
    # A pinned server version: no ConvertId probe before the first call.
    config = Configuration(service_endpoint=url, credentials=Credentials(user, password), auth_type=BASIC,
                           version=Version(build=Build(15, 1, 2507, 0)))
    account = Account(primary_smtp_address=smtp, config=config, autodiscover=False, access_type=IMPERSONATION)
    data = []
    print(json.dumps({"ready": True, "version": exchangelib.__version__}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if req["cmd"] == "quit":
                break
            if req["cmd"] == "export":
                ids = [ItemId(id=i) for i in req["ids"]]
                start = time.perf_counter()
                data = account.export(ids)
                ms = (time.perf_counter() - start) * 1000
                joined = "\n".join(data).encode("ascii")
                answer = {"ms": ms, "count": len(data), "chars": len(joined) - max(0, len(data) - 1),
                          "sha256": hashlib.sha256(joined).hexdigest()}
            elif req["cmd"] == "upload":
                folder = FolderId(id=req["folder"])
                start = time.perf_counter()
                uploaded = account.upload([(folder, d) for d in data])
                ms = (time.perf_counter() - start) * 1000
                failed = [u for u in uploaded if isinstance(u, Exception)]
                if failed:
                    raise RuntimeError(f"{len(failed)} uploads failed: {failed[0]!r}")
                answer = {"ms": ms, "count": len(uploaded)}
            else:
                raise ValueError(f"unknown command {req['cmd']}")
        except Exception as err:  # noqa: BLE001 - every failure is the caller's to report
            answer = {"error": f"{err!r}\n{traceback.format_exc()}"}
        print(json.dumps(answer), flush=True)


main()
