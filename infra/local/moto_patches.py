"""Fixes to moto's emulation, applied by infra/local/moto-server.ts before the server starts.

Both make moto behave more like AWS under the runner's load; neither changes what a request means.
docs/infra.md explains them; test/integration/moto-patches.test.ts holds them to AWS's semantics.

1. TransactWriteItems deep-copied every table it touched before writing (to roll back on failure),
   so a transaction cost O(table size), and ran unlocked, so two at once could corrupt that copy
   (HTTP 500). Here a transaction checks every condition first, writes only when all hold, backs up
   only the items it touches, and runs under a lock: all-or-nothing, isolated, O(items).
2. A long poll on a FIFO queue whose visible messages all belong to message groups in flight
   re-scanned the queue in a tight loop, holding the GIL and slowing every other request tenfold,
   and never noticed a group freed during the poll (it kept its first list of groups in flight), so
   the group's next message waited for the poll to end. Here a long poll is a series of short
   polls, each seeing the groups in flight at that moment, woken by whatever can make a message
   receivable (an arrival, a delete, a visibility change) and at least every second (a visibility
   timeout running out). Each re-scan costs O(queue) at ~1 µs a message, so it is not done blind.
3. Every request was routed to its service by trying ~180 URL patterns in turn under a global lock
   (~1 ms a request, most of moto's time under load). Here the service found for a host is
   remembered: the same host always routes to the same service.
4. Every event sent to a rule's target compiled its eight JSONPath expressions anew (a yacc parser
   each time). Here a compiled expression is kept and reused; expressions hold no state.
5. moto serves each connection on a thread of its own. With one thread busy (a scan, a large
   transaction), every other request waited up to Python's 5 ms switch interval at each point it
   gave up the GIL (socket reads and writes, locks), so simple requests took tens of milliseconds.
   Here threads switch every 0.5 ms.
6. Messages of a FIFO group given back together (visibility timeout out, or changed) came back last
   first: moto freed them from "in flight" one at a time while choosing, so the group still looked
   busy at the earlier ones. Here every message visible again is freed before choosing, and the
   group's earliest comes first, as in AWS.
7. S3 took user metadata of any size; AWS refuses more than 2 KB (the UTF-8 bytes of every
   `x-amz-meta-` name and value) with 400 MetadataTooLarge, on PutObject and CreateMultipartUpload
   alike. Here so does moto.
8. A PutItem, UpdateItem or DeleteItem checked its condition and wrote without a lock, so two at
   once could both pass a condition only one may (two `attribute_not_exists` puts of one key both
   succeeding: an Idempotency-Key running its request twice). AWS makes each conditional write
   atomic. Here single-item writes take the transactions' lock (re-entrant: a transaction's writes
   go through them).
9. SQS requests ran unlocked on moto's threads: two receives at once could hand one message to both,
   and a delete racing a receive could leave a deleted message in flight (a webhook delivered twice,
   a FIFO group's order broken; bench/events/moto-sqs-race.py shows it). Here sends, receives'
   choices, deletes and visibility changes take one lock, as AWS's per-message operations are atomic.
"""

import copy
import functools
import sys
import threading

import jsonpath_ng.ext

import moto_state

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.core.utils import unix_time
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
import moto.s3.responses
from moto.s3.exceptions import S3ClientError
from moto.sqs.models import Queue, SQSBackend

_TRANSACTIONS = threading.RLock()
_LONG_POLL_RESCAN_SECONDS = 1.0


def _item_key(table, op_type, op):
    if op_type != "Put":
        return op["Key"]
    attrs = op["Item"]
    key = {table.hash_key_attr: attrs[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attrs[table.range_key_attr]
    return key


def _check(backend, transact_items):
    """Every operation's condition against the current items: (op_type, op, key, current) and errors."""
    checked, errors, seen = [], [], set()
    for entry in transact_items:
        if len(entry) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(entry.items()))
        if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
            raise ValueError("Unsupported transaction operation")
        table_name = op["TableName"]
        key = _item_key(backend.get_table(table_name), op_type, op)
        identity = (str(table_name), str(dict(sorted(key.items()))))
        if identity in seen:
            raise MultipleTransactionsException()
        seen.add(identity)
        current = backend.get_item(table_name, key)
        error = (None, None, None)
        condition = op.get("ConditionExpression")
        if condition is not None:
            holds = get_filter_expression(
                condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            ).expr(current)
            if not holds:
                old = (
                    current.to_json()["Attributes"]
                    if current and op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
                    else None
                )
                error = ("ConditionalCheckFailed", "The conditional request failed", old)
        errors.append(error)
        checked.append((op_type, op, key, current))
    return checked, errors


def _apply(backend, op_type, op, key):
    table_name = op["TableName"]
    names = op.get("ExpressionAttributeNames")
    values = op.get("ExpressionAttributeValues")
    if op_type == "Put":
        backend.put_item(table_name, op["Item"], expression_attribute_names=names,
                         expression_attribute_values=values)
    elif op_type == "Delete":
        backend.delete_item(table_name, key, expression_attribute_names=names,
                            expression_attribute_values=values)
    elif op_type == "Update":
        backend.update_item(table_name, key, update_expression=op["UpdateExpression"],
                            expression_attribute_names=names, expression_attribute_values=values)


def _restore(backend, table_name, key, before):
    if before is None:
        backend.delete_item(table_name, key)
    else:
        backend.put_item(table_name, before.to_json()["Attributes"])


def transact_write_items(self, transact_items):
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    with _TRANSACTIONS:
        checked, errors = _check(self, transact_items)
        if any(code is not None for code, _, _ in errors):
            raise TransactionCanceledException(errors)
        applied = []
        try:
            for op_type, op, key, current in checked:
                if op_type == "ConditionCheck":
                    continue
                applied.append((op["TableName"], key, copy.deepcopy(current)))
                _apply(self, op_type, op, key)
        except Exception:
            for table_name, key, before in reversed(applied):
                _restore(self, table_name, key, before)
            raise


_short_poll = SQSBackend.receive_message
# SQS requests ran unlocked on moto's threads: two receives at once could hand out one message twice,
# and a delete racing a receive could leave a deleted message in flight. (Patch 9.)
_SQS = threading.RLock()


def receive_message(self, queue_name, count, wait_seconds_timeout, visibility_timeout,
                    message_attribute_names=None):
    deadline = unix_time() + wait_seconds_timeout
    queue = self.get_queue(queue_name)
    while True:
        for message in [m for m in list(queue.pending_messages) if m.visible]:
            queue.pending_messages.discard(message)
        with _SQS:
            result = _short_poll(self, queue_name, count, 0, visibility_timeout, message_attribute_names)
        remaining = deadline - unix_time()
        if result or remaining <= 0:
            return result
        # Waiting is not working on moto's state: a snapshot (moto_state.py) need not wait for it.
        with moto_state.GATE.stepped_out(), queue._messages_lock:
            queue._messages_lock.wait(timeout=min(remaining, _LONG_POLL_RESCAN_SECONDS))


def _wake_long_polls(queue):
    with queue._messages_lock:
        queue._messages_lock.notify_all()


_delete_message = Queue.delete_message


def delete_message(self, receipt_handle):
    with _SQS:
        _delete_message(self, receipt_handle)
    _wake_long_polls(self)


_change_message_visibility = SQSBackend.change_message_visibility


def change_message_visibility(self, queue_name, receipt_handle, visibility_timeout):
    with _SQS:
        _change_message_visibility(self, queue_name, receipt_handle, visibility_timeout)
    _wake_long_polls(self.get_queue(queue_name))


_send_message = SQSBackend.send_message


def send_message(self, *args, **kwargs):
    with _SQS:
        return _send_message(self, *args, **kwargs)


_route = DomainDispatcherApplication.get_backend_for_host
_routes = {}


def get_backend_for_host(self, host):
    if host not in _routes:
        backend = _route(self, host)
        if backend is None:
            return None
        _routes[host] = backend
    return _routes[host]


_USER_METADATA_MAX_BYTES = 2048
_metadata_from_headers = moto.s3.responses.metadata_from_headers


def metadata_from_headers(headers):
    metadata = _metadata_from_headers(headers)
    prefix = "x-amz-meta-"
    size = sum(
        len(name[len(prefix):].encode()) + len(str(value).encode())
        for name, value in metadata.items()
        if name.lower().startswith(prefix)
    )
    if size > _USER_METADATA_MAX_BYTES:
        raise S3ClientError(
            "MetadataTooLarge",
            "Your metadata headers exceed the maximum allowed metadata size.",
        )
    return metadata


moto.s3.responses.metadata_from_headers = metadata_from_headers
def _atomic(write):
    @functools.wraps(write)
    def locked(self, *args, **kwargs):
        with _TRANSACTIONS:
            return write(self, *args, **kwargs)

    return locked


DynamoDBBackend.transact_write_items = transact_write_items
DynamoDBBackend.put_item = _atomic(DynamoDBBackend.put_item)
DynamoDBBackend.update_item = _atomic(DynamoDBBackend.update_item)
DynamoDBBackend.delete_item = _atomic(DynamoDBBackend.delete_item)
SQSBackend.receive_message = receive_message
Queue.delete_message = delete_message
SQSBackend.change_message_visibility = change_message_visibility
SQSBackend.send_message = send_message
DomainDispatcherApplication.get_backend_for_host = get_backend_for_host
jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)
sys.setswitchinterval(0.0005)
