"""Times exchangelib's account.export() against the EWS simulator: one JSON line of per-iteration milliseconds."""
import json
import sys
import time

from exchangelib import Account, BASIC, Build, Configuration, Credentials, DELEGATE, IMPERSONATION, Version
from exchangelib.protocol import BaseProtocol

url, user, password, smtp, count, iterations, warmup = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
config = Configuration(service_endpoint=url, credentials=Credentials(user, password), auth_type=BASIC,
                       version=Version(build=Build(15, 1, 2507, 0)))
account = Account(primary_smtp_address=smtp, config=config, autodiscover=False, access_type=IMPERSONATION)
items = list(account.inbox.all().order_by('datetime_created').only('id', 'changekey')[:count])
samples = []
for i in range(warmup + iterations):
    start = time.perf_counter()
    data = account.export(items)
    elapsed = (time.perf_counter() - start) * 1000
    assert len(data) == count
    if i >= warmup:
        samples.append(elapsed)
print(json.dumps({"ms": samples, "items": len(items)}))
