"""Independent-client check: drives the EWS simulator with exchangelib (Debian's python3-exchangelib).

Usage: /usr/bin/python3 interop.py '{"url": ..., "username": ..., "password": ..., "smtp": ..., "accessType": "impersonation"}'
"accessType" is "impersonation" or "delegate"; "pinVersion": false lets exchangelib probe the server version
(ConvertId, then ServerVersionInfo) instead of pinning Exchange 2016; "authType": "NTLM" authenticates with NTLM
(requests_ntlm; username DOMAIN\\user or user@domain) instead of Basic.
Prints exactly one JSON line with the results on stdout (diagnostics go to stderr).
"""
import base64
import json
import sys
import traceback


def main():
    args = json.loads(sys.argv[1])
    from exchangelib import Account, BASIC, Build, Configuration, Credentials, DELEGATE, IMPERSONATION, NTLM, Version
    from exchangelib.folders import Folder
    from exchangelib.properties import ItemId

    result = {"ok": False, "steps": []}

    def step(name):
        result["steps"].append(name)
        print(f"interop: {name}", file=sys.stderr)

    try:
        pinned = {"version": Version(build=Build(15, 1, 2507, 0))} if args.get("pinVersion", True) else {}
        config = Configuration(
            service_endpoint=args["url"],
            credentials=Credentials(args["username"], args["password"]),
            auth_type=NTLM if args.get("authType") == "NTLM" else BASIC,
            max_connections=4,
            **pinned,
        )
        access = IMPERSONATION if args.get("accessType", "impersonation") == "impersonation" else DELEGATE
        account = Account(primary_smtp_address=args["smtp"], config=config, access_type=access, autodiscover=False)
        step("version")
        result["build"] = str(account.version.build)
        result["apiVersion"] = account.version.api_version

        step("root")
        root = account.root
        result["rootName"] = root.name
        step("walk")
        result["rootFolders"] = sorted({f.name for f in root.walk()})
        result["msgRootFolders"] = sorted({f.name for f in account.msg_folder_root.walk()})
        result["inboxChildren"] = sorted(f.name for f in account.inbox.children)

        step("page inbox")
        qs = account.inbox.all().only("subject")
        qs.page_size = int(args.get("pageSize", 7))
        subjects = [i.subject for i in qs]
        result["inboxCount"] = len(subjects)
        result["inboxTotal"] = account.inbox.total_count
        result["inboxDistinct"] = len(set(subjects))

        step("export")
        source = list(account.inbox.all().only("id", "changekey")[: int(args.get("exportCount", 5))])
        exported = account.export(source)
        result["exported"] = len(exported)
        result["exportedBytes"] = sum(len(base64.b64decode(d)) for d in exported)

        step("create folder")
        target = Folder(parent=account.inbox, name=args.get("targetFolder", "Interop restore"))
        target.save()
        result["targetFolderId"] = target.id

        step("upload")
        uploaded = account.upload([(target, d) for d in exported])
        result["uploaded"] = len(uploaded)
        result["uploadedIds"] = [u[0] for u in uploaded]

        step("re-export")
        again = account.export([ItemId(i, ck) for i, ck in uploaded])
        result["roundTripEqual"] = len(again) == len(exported) and all(
            base64.b64decode(a) == base64.b64decode(b) for a, b in zip(again, exported)
        )

        step("update")
        first_id, first_ck = uploaded[0]
        updated = account.upload([(target, (ItemId(first_id, first_ck), False, exported[-1]))])
        result["updateSameId"] = updated[0][0] == first_id
        result["updateChangeKeyBumped"] = updated[0][1] != first_ck

        step("count target")
        target.refresh()
        result["targetCount"] = target.total_count
        result["targetListed"] = len(list(target.all().only("subject")))

        step("move")
        moved = account.bulk_move(ids=[ItemId(*uploaded[1])], to_folder=account.drafts)
        result["moved"] = [list(x) if isinstance(x, tuple) else f"{type(x).__name__}: {x}" for x in moved]

        step("delete")
        deleted = account.bulk_delete(ids=[ItemId(*uploaded[2])], delete_type="HardDelete")
        result["deleted"] = [x is True for x in deleted]
        step("delete again")
        again_deleted = account.bulk_delete(ids=[ItemId(*uploaded[2])], delete_type="HardDelete")
        result["deletedAgain"] = [type(x).__name__ for x in again_deleted]
        result["ok"] = True
    except Exception as exc:  # report, don't crash: the TS test asserts on the JSON
        result["error"] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc(file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
