"""moto's state across restarts, for `npm start`: restored at boot, saved periodically and on stop.

moto keeps everything in memory and has no save/restore of its own. Its recorder
(MOTO_ENABLE_RECORDING) replays requests, which cannot bring back a KMS key: CreateKey would make
new key material and every data key wrapped by the old one would be lost. So the backends of the
services the stack uses are saved as they are (pickled, with their key material) and put back into
moto's BackendDicts before the server answers its first request.

Enabled by CLINIC_WA_MOTO_STATE_FILE (infra/local/moto-server.ts sets it); every
CLINIC_WA_MOTO_SNAPSHOT_SECONDS (default 30) and when the server stops (its parent's pipe closes,
SIGTERM, SIGINT) the state is written to that file: a temporary file, then a rename, mode 600 (it
holds the KMS key material: a local development file, nothing else). A kill -9 of the server loses
what changed since the last periodic save.

A snapshot is consistent across services: requests pass a gate that a snapshot closes, waiting for
the requests in flight to finish and holding new ones back while it pickles (in memory; the file is
written after the gate reopens). An SQS long poll waiting for messages is not in flight: it leaves
the gate while it waits (moto_patches.receive_message).

What a restore changes: SQS messages that were in flight are visible again (whoever received them
is gone), and S3's bucket-name registry (a dict beside the backends) is rebuilt from the buckets.
The file names the moto version that wrote it; another version refuses it rather than guess.
"""

import atexit
import contextlib
import json
import os
import pickle
import sys
import threading
import time

from cryptography.hazmat.primitives import serialization

import moto
from moto.backends import get_backend
from moto.kms.utils import ECDSAPrivateKey, RSAPrivateKey
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.sqs.models import Queue

STATE_FILE_ENV = "CLINIC_WA_MOTO_STATE_FILE"
INTERVAL_ENV = "CLINIC_WA_MOTO_SNAPSHOT_SECONDS"
DEFAULT_INTERVAL_SECONDS = 30.0
FORMAT = 1
MAGIC = "clinic-wa moto state"
# The services the stateful stack and the platform use (infra/local/provision.ts's handlers).
SERVICES = ("dynamodb", "sqs", "kms", "s3", "events", "cloudwatch")
# How long a snapshot waits for the requests in flight before giving up (and keeping the last file).
DRAIN_TIMEOUT_SECONDS = 10.0


def _refuse_foreign(path):
    """Unpickling runs code: load only a file this user owns that nobody else may replace."""
    for checked in (path, os.path.dirname(os.path.abspath(path))):
        info = os.stat(checked)
        if info.st_uid != os.getuid() or info.st_mode & 0o022:
            raise SystemExit(
                f"{checked} is not this user's alone (owner uid {info.st_uid}, mode {oct(info.st_mode & 0o777)}): "
                "its state is not loaded (unpickling runs code). Fix its owner and mode, or start from empty "
                "state: npm start -- --fresh (or LOCAL_FRESH=true)."
            )


def _log(message):
    print(f"[moto state] {message}", file=sys.stderr, flush=True)


class RequestGate:
    """Requests pass side by side; a snapshot closes the gate, waits for those inside, and reopens it."""

    def __init__(self):
        self._changed = threading.Condition()
        self._inside = 0
        self._closed = False
        self._thread = threading.local()

    def enter(self):
        with self._changed:
            while self._closed:
                self._changed.wait()
            self._inside += 1
        self._thread.inside = True

    def leave(self):
        self._thread.inside = False
        with self._changed:
            self._inside -= 1
            if self._inside == 0:
                self._changed.notify_all()

    @contextlib.contextmanager
    def stepped_out(self):
        """For a request that waits on something else (a long poll): a snapshot need not wait for it."""
        if not getattr(self._thread, "inside", False):
            yield
            return
        self.leave()
        try:
            yield
        finally:
            self.enter()

    @contextlib.contextmanager
    def drained(self, timeout, reopen=True):
        """No request inside while the block runs. TimeoutError if they do not finish in time."""
        with self._changed:
            if self._closed:
                raise TimeoutError("the gate is already closed")
            self._closed = True
            deadline = time.monotonic() + timeout
            while self._inside > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._closed = False
                    self._changed.notify_all()
                    raise TimeoutError(f"{self._inside} requests still running after {timeout} s")
                self._changed.wait(remaining)
        try:
            yield
        finally:
            if reopen:
                with self._changed:
                    self._closed = False
                    self._changed.notify_all()


GATE = RequestGate()


def _gated(call):
    def through_gate(self, environ, start_response):
        GATE.enter()
        try:
            return call(self, environ, start_response)
        finally:
            GATE.leave()

    return through_gate


# A Condition cannot be pickled; a restored queue gets a new one.
def _queue_state(self):
    state = self.__dict__.copy()
    del state["_messages_lock"]
    return state


def _set_queue_state(self, state):
    self.__dict__.update(state)
    self._messages_lock = threading.Condition()


# moto gives every KMS key an asymmetric private key (a cryptography object, not picklable): kept as
# PKCS#8 DER.
def _private_key_state(self):
    state = self.__dict__.copy()
    state["private_key"] = self.private_key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return state


def _set_private_key_state(self, state):
    self.__dict__.update(state)
    self.private_key = serialization.load_der_private_key(state["private_key"], password=None)


def _header(backends):
    return {
        "magic": MAGIC,
        "format": FORMAT,
        "moto": moto.__version__,
        "savedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "backends": [f"{service}/{account}/{region}" for service, account, region, _ in backends],
    }


def _write_atomically(path, data):
    temporary = f"{path}.{os.getpid()}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)  # O_CREAT's mode only applies to a new file
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise


class StateFile:
    def __init__(self, path):
        self.path = path
        self._one_at_a_time = threading.Lock()
        self._final = False

    def save(self, final=False):
        """Snapshot the services' backends to the file; False when it was not written."""
        with self._one_at_a_time:
            if self._final:
                return False
            began = time.monotonic()
            # The last save leaves the gate closed: nothing may change after it.
            with GATE.drained(DRAIN_TIMEOUT_SECONDS, reopen=not final):
                backends = [
                    (service, account, region, backend)
                    for service in SERVICES
                    for account, region, backend in get_backend(service).iter_backends()
                ]
                payload = pickle.dumps(backends, protocol=pickle.HIGHEST_PROTOCOL)
                header = json.dumps(_header(backends)).encode()
            self._final = final
            _write_atomically(self.path, header + b"\n" + payload)
            if final:
                _log(f"saved {len(payload)} bytes to {self.path} in {(time.monotonic() - began) * 1000:.0f} ms")
            return True

    def save_final(self):
        try:
            self.save(final=True)
        except Exception as error:  # noqa: BLE001 - reported; the last periodic snapshot stays
            _log(f"the final snapshot failed, {self.path} keeps the last one: {error!r}")

    def restore(self):
        """Put the saved backends back; None when there is no file."""
        if not os.path.exists(self.path):
            return None
        _refuse_foreign(self.path)
        with open(self.path, "rb") as file:
            header = json.loads(file.readline())
            if header.get("magic") != MAGIC or header.get("format") != FORMAT:
                raise SystemExit(f"{self.path} is not a state file of this version (format {header.get('format')})")
            if header.get("moto") != moto.__version__:
                raise SystemExit(
                    f"{self.path} was saved by moto {header.get('moto')}, this is moto {moto.__version__}: "
                    "its objects may not fit. Start from empty state: npm start -- --fresh (or LOCAL_FRESH=true)."
                )
            try:
                backends = pickle.load(file)
            except Exception as error:
                raise SystemExit(
                    f"{self.path} cannot be read ({error!r}). "
                    "Start from empty state: npm start -- --fresh (or LOCAL_FRESH=true)."
                ) from error
        for service, account, region, backend in backends:
            get_backend(service)[account][region] = backend
            if service == "s3":
                for name in backend.buckets:
                    get_backend("s3").bucket_accounts[name] = (region, account)
            elif service == "sqs":
                for queue in backend.queues.values():
                    _release_in_flight(queue)
        return header


def _release_in_flight(queue):
    """Whoever received the messages in flight is gone: they are visible again, as after a timeout."""
    for message in queue._messages:
        message.visible_at = 0.0
    queue._pending_messages.clear()


def _snapshot_periodically(state, interval):
    while True:
        time.sleep(interval)
        try:
            state.save()
        except Exception as error:  # noqa: BLE001 - the next one may succeed; the last file stays
            _log(f"snapshot failed: {error!r}")


_state = None


def start_from_environment():
    """Restore from CLINIC_WA_MOTO_STATE_FILE and keep saving to it; nothing when it is not set."""
    global _state
    path = os.environ.get(STATE_FILE_ENV)
    if not path:
        return
    interval = float(os.environ.get(INTERVAL_ENV) or DEFAULT_INTERVAL_SECONDS)
    Queue.__getstate__ = _queue_state
    Queue.__setstate__ = _set_queue_state
    for key_class in (RSAPrivateKey, ECDSAPrivateKey):
        key_class.__getstate__ = _private_key_state
        key_class.__setstate__ = _set_private_key_state
    DomainDispatcherApplication.__call__ = _gated(DomainDispatcherApplication.__call__)
    _state = StateFile(path)
    header = _state.restore()
    if header is None:
        _log(f"no {path} yet: empty state, saved every {interval:g} s and on stop")
    else:
        _log(f"restored {len(header['backends'])} backends from {path}, saved at {header['savedAt']}")
    # moto's SIGTERM and SIGINT handlers exit through sys.exit, which runs this.
    atexit.register(_state.save_final)
    threading.Thread(target=_snapshot_periodically, args=(_state, interval), daemon=True).start()


def save_final():
    """The last snapshot, before the process ends (the launcher's watchdog exits with os._exit)."""
    if _state is not None:
        _state.save_final()
