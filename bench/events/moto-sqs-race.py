"""Does moto's SQS keep a standard queue's messages straight under concurrent receives and deletes?

A diagnostic beside the events benchmark (docs/events-benchmark.md): the dispatcher's fan-out polls the
webhook event queue on moto with two pollers while EventBridge rules send to it, and the benchmark saw
one event handled twice and messages left in flight once every delivery had come. This reproduces that
on moto alone, with the project's patches (infra/local/moto_patches.py) loaded as the local server
loads them: SENDERS threads send TOTAL messages in batches of ten, RECEIVERS threads long-poll ten at a
time and delete what they got in a batch, and the script reports what came back. On AWS every message
would be received once here (a visibility timeout of 180 s, nothing fails), and nothing would be left.

    .venv/bin/python bench/events/moto-sqs-race.py [TOTAL]    # RECEIVERS=6 for more contention
"""

import collections
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "infra", "local"))
import moto_patches  # noqa: E402,F401  (the project's fixes, as infra/local/moto-server.ts loads them)
import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

TOTAL = int(sys.argv[1]) if len(sys.argv) > 1 else 600
SENDERS = int(os.environ.get("SENDERS", "6"))
RECEIVERS = int(os.environ.get("RECEIVERS", "2"))

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
host, port = server.get_host_and_port()
sqs = boto3.client(
    "sqs",
    endpoint_url=f"http://{host}:{port}",
    region_name="us-east-1",
    aws_access_key_id="test",
    aws_secret_access_key="test",
    config=Config(max_pool_connections=SENDERS + RECEIVERS + 2),
)
url = sqs.create_queue(QueueName="race", Attributes={"VisibilityTimeout": "180"})["QueueUrl"]
received = collections.Counter()
delete_errors = collections.Counter()
lock = threading.Lock()
done_sending = threading.Event()


def sender(k):
    for start in range(k * 10, TOTAL, SENDERS * 10):
        entries = [{"Id": str(i), "MessageBody": f"m{start + i}"} for i in range(min(10, TOTAL - start))]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)


def receiver():
    idle_since = None
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        if not messages:
            if done_sending.is_set():
                idle_since = idle_since or time.time()
                if time.time() - idle_since > 3:
                    return
            continue
        idle_since = None
        with lock:
            for message in messages:
                received[message["Body"]] += 1
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        for failure in sqs.delete_message_batch(QueueUrl=url, Entries=entries).get("Failed", []):
            with lock:
                delete_errors[failure["Code"]] += 1


receivers = [threading.Thread(target=receiver) for _ in range(RECEIVERS)]
senders = [threading.Thread(target=sender, args=(k,)) for k in range(SENDERS)]
for thread in receivers + senders:
    thread.start()
for thread in senders:
    thread.join()
done_sending.set()
for thread in receivers:
    thread.join()
left = sqs.get_queue_attributes(
    QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
)["Attributes"]
print(
    {
        "sent": TOTAL,
        "receivers": RECEIVERS,
        "received": sum(received.values()),
        "received more than once": sum(1 for count in received.values() if count > 1),
        "never received": TOTAL - len(received),
        "delete errors": dict(delete_errors),
        "left visible": int(left["ApproximateNumberOfMessages"]),
        "left in flight": int(left["ApproximateNumberOfMessagesNotVisible"]),
    }
)
server.stop()
