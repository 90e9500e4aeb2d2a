"""Independent-client check: drives the EWS simulator with exchangelib (Debian's python3-exchangelib).

Usage: /usr/bin/python3 interop.py '{"url": ..., "username": ..., "password": ..., "smtp": ..., "accessType": "impersonation"}'
"accessType" is "impersonation" or "delegate"; "pinVersion": false lets exchangelib probe the server version
(ConvertId, then ServerVersionInfo) instead of pinning Exchange 2016; "authType": "NTLM" authenticates with NTLM
(requests_ntlm; username DOMAIN\\user or user@domain) instead of Basic.
"case": "formats" runs the MIME and property-set checks instead (formats() below): "messageId" names a seeded
message to read back.
Prints exactly one JSON line with the results on stdout (diagnostics go to stderr).
"""
import base64
import json
import sys
import traceback


def formats(account, args, result, step):
    """MIME and property sets: fetch a message's mime_content and properties, create a message from MIME (with
    PR_MESSAGE_FLAGS) and a contact, a task and an appointment from properties, and read them back."""
    import email
    import email.policy
    from decimal import Decimal
    from exchangelib import CalendarItem, Contact, EWSDateTime, EWSTimeZone, ExtendedProperty, Message, Task
    from exchangelib.indexed_properties import EmailAddress, PhoneNumber

    class MessageFlags(ExtendedProperty):
        property_tag = 0x0E07
        property_type = "Integer"

    Message.register("pr_message_flags", MessageFlags)
    try:
        utc = EWSTimeZone("UTC")
        step("fetch message")
        msg = account.inbox.get(id=args["messageId"])
        mime = msg.mime_content
        parsed = email.message_from_bytes(mime, policy=email.policy.default)
        body = parsed.get_body(preferencelist=("plain",))
        result["message"] = {
            "subject": msg.subject,
            "sender": msg.sender.email_address if msg.sender else None,
            "author": msg.author.email_address if msg.author else None,
            "to": [r.email_address for r in (msg.to_recipients or [])],
            "cc": [r.email_address for r in (msg.cc_recipients or [])],
            "importance": msg.importance,
            "sensitivity": msg.sensitivity,
            "isDraft": msg.is_draft,
            "isRead": msg.is_read,
            "body": str(msg.body),
            "bodyType": type(msg.body).__name__,
            "messageId": msg.message_id,
            "attachments": [a.name for a in (msg.attachments or [])],
            "attachmentSizes": [len(a.content) for a in (msg.attachments or [])],
            "mimeSubject": str(parsed["subject"]),
            "mimeFrom": str(parsed["from"]),
            "mimeText": body.get_content() if body is not None else None,
            "mimeParts": [p.get_filename() for p in parsed.iter_attachments()],
        }

        step("create from MIME")
        eml = base64.b64decode(args["eml"])
        created = Message(account=account, folder=account.inbox, mime_content=eml, pr_message_flags=1)
        created.save()
        back = account.inbox.get(id=created.id)
        again = email.message_from_bytes(back.mime_content, policy=email.policy.default)
        result["fromMime"] = {
            "subject": back.subject,
            "isDraft": back.is_draft,
            "author": back.author.email_address if back.author else None,
            "mimeSubject": str(again["subject"]),
            "mimeText": again.get_body(preferencelist=("plain",)).get_content().strip(),
        }
        draft = Message(account=account, folder=account.inbox, mime_content=eml)
        draft.save()
        result["fromMimeNoFlags"] = {"isDraft": account.inbox.get(id=draft.id).is_draft}

        step("create contact")
        contact = Contact(
            account=account, folder=account.contacts, given_name="Tanja", surname="Plate",
            display_name="Tanja Plate", company_name="Blue Yonder Airlines", job_title="Manager",
            email_addresses=[EmailAddress(label="EmailAddress1", email="tplate@example.com")],
            phone_numbers=[PhoneNumber(label="BusinessPhone", phone_number="4255550199")],
        )
        contact.save()
        c = account.contacts.get(id=contact.id)
        result["contact"] = {
            "givenName": c.given_name, "surname": c.surname, "company": c.company_name, "jobTitle": c.job_title,
            "emails": [e.email for e in (c.email_addresses or [])],
            "phones": [[p.label, p.phone_number] for p in (c.phone_numbers or [])],
        }

        step("create task")
        task = Task(
            account=account, folder=account.tasks, subject="File the report", status="InProgress",
            percent_complete=Decimal(40),
            start_date=EWSDateTime(2026, 7, 1, 9, 0, tzinfo=utc).date(),
            due_date=EWSDateTime(2026, 7, 10, 17, 0, tzinfo=utc).date(),
        )
        task.save()
        tb = account.tasks.get(id=task.id)
        result["task"] = {
            "subject": tb.subject, "status": tb.status, "percentComplete": float(tb.percent_complete),
            "dueDate": str(tb.due_date), "startDate": str(tb.start_date),
        }

        step("create appointment")
        appt = CalendarItem(
            account=account, folder=account.calendar, subject="Dentist", body="Bring the card.",
            start=EWSDateTime(2026, 7, 2, 8, 0, tzinfo=utc), end=EWSDateTime(2026, 7, 2, 9, 0, tzinfo=utc),
            location="Main St 1",
        )
        appt.save(send_meeting_invitations="SendToNone")
        ab = account.calendar.get(id=appt.id)
        result["appointment"] = {
            "subject": ab.subject, "start": ab.start.astimezone(utc).isoformat(),
            "end": ab.end.astimezone(utc).isoformat(), "location": ab.location, "body": str(ab.body),
            "uid": ab.uid, "mimeHasVevent": b"BEGIN:VEVENT" in (ab.mime_content or b""),
        }
        result["ok"] = True
    finally:
        Message.deregister("pr_message_flags")


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
        if args.get("case") == "formats":
            formats(account, args, result, step)
            print(json.dumps(result))
            return

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
