"""Who may try a password, and when: throttling by client address, and the password check
on a thread of its own.

Refusals are keyed by client address and by (address, name), never by name alone, so a client
can slow down only its own attempts (a lockout per name lets anyone lock anyone out, the admin
too). The check (argon2id, slow on purpose) runs on one dedicated thread with a bounded queue,
so a flood costs at most one core and gets "busy" at once instead of queueing without end or
stalling the event loop that serves inspections. :mod:`.auth` uses both for its login route.
"""

from __future__ import annotations

import asyncio
import ipaddress
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from starlette.requests import HTTPConnection

T = TypeVar("T")

#: Password checks at once, and waiting for one. A check takes about 0.2 s of one core
#: (argon2id's defaults, 64 MiB); on the 2-core machines the app runs on, a second worker would
#: let logins take both cores from inspections. One worker checks 5 logins a second, far more
#: than people log in; 8 waiting answer within about 2 s; beyond that, "busy" at once.
LOGIN_WORKERS, LOGIN_WAITING = 1, 8
#: Attempts one address may make at once, and the seconds that give it one more: 20 at first,
#: then one every 3 s. A success gives its attempt back, so an office behind one address
#: where people type their passwords right is never held up.
ADDRESS_BURST, ADDRESS_REFILL_S = 20, 3.0
#: Wrong passwords for one name from one address before it waits; the first wait, doubling
#: with each further failure up to the longest; quiet this long, a pair starts afresh.
PAIR_FREE, PAIR_FIRST_WAIT_S, PAIR_LONGEST_WAIT_S, PAIR_FORGET_S = 5, 30.0, 3600.0, 3600.0
_PRUNE_EVERY_S = 60.0


def client_address(connection: HTTPConnection) -> str:
    """The address attempts are counted under: the peer's IP address (uvicorn takes it from
    ``X-Forwarded-For`` only when the peer is a trusted proxy, by default 127.0.0.1), and for
    IPv6 its /64 network, since one client usually holds a whole /64 and could step through it.
    """
    host = connection.client.host if connection.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # an IPv4 client on a dual-stack socket
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


@dataclass
class _Address:
    tokens: float
    at: float


@dataclass
class _Pair:
    failures: int
    until: float
    at: float


class Throttle:
    """When a login attempt may be checked: refusals per client address and per (address,
    name), so one client cannot lock an account for everyone else.

    Per address, a token bucket bounds how many attempts it gets checked (password spraying
    over many names, or a flood); per (address, name), a wait that doubles after a few wrong
    passwords bounds guessing one account. Refused attempts cost no hashing. Kept in memory:
    a restart forgets them, which costs an attacker at most one more burst.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._addresses: dict[str, _Address] = {}
        self._pairs: dict[tuple[str, str], _Pair] = {}
        self._pruned = clock()

    def admit(self, address: str, name: str) -> float:
        """0 when the attempt may be checked (it then takes one of the address's attempts),
        else how many seconds to wait."""
        now = self._clock()
        with self._lock:
            self._prune(now)
            pair = self._pairs.get((address, name))
            if pair is not None and now < pair.until:
                return pair.until - now
            tokens = self._tokens(address, now)
            if tokens < 1:
                return (1 - tokens) * ADDRESS_REFILL_S
            self._addresses[address] = _Address(tokens - 1, now)
            return 0.0

    def refund(self, address: str) -> None:
        """Give back an admitted attempt that was not checked after all (the server was busy),
        or that succeeded."""
        now = self._clock()
        with self._lock:
            self._addresses[address] = _Address(min(self._tokens(address, now) + 1,
                                                    ADDRESS_BURST), now)

    def failed(self, address: str, name: str) -> None:
        now = self._clock()
        with self._lock:
            pair = self._pairs.get((address, name))
            failures = (pair.failures if pair is not None else 0) + 1
            until = 0.0
            if failures >= PAIR_FREE:
                until = now + min(PAIR_FIRST_WAIT_S * 2 ** min(failures - PAIR_FREE, 32),
                                  PAIR_LONGEST_WAIT_S)
            self._pairs[(address, name)] = _Pair(failures, until, now)

    def succeeded(self, address: str, name: str) -> None:
        with self._lock:
            self._pairs.pop((address, name), None)
        self.refund(address)

    def _tokens(self, address: str, now: float) -> float:
        bucket = self._addresses.get(address)
        if bucket is None:
            return float(ADDRESS_BURST)
        return min(float(ADDRESS_BURST), bucket.tokens + (now - bucket.at) / ADDRESS_REFILL_S)

    def _prune(self, now: float) -> None:
        """Forget what no longer holds anyone back, so a flood of names and addresses does not
        grow memory without end."""
        if now - self._pruned < _PRUNE_EVERY_S:
            return
        self._pruned = now
        self._addresses = {a: b for a, b in self._addresses.items()
                           if self._tokens(a, now) < ADDRESS_BURST}
        self._pairs = {k: p for k, p in self._pairs.items()
                       if now < p.until or now - p.at < PAIR_FORGET_S}


class LoginGate:
    """Runs password checks on dedicated threads, never on the event loop or the threads that
    serve inspections, with a bounded number waiting."""

    def __init__(self, workers: int = LOGIN_WORKERS, waiting: int = LOGIN_WAITING) -> None:
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="ipr-login")
        self._room = threading.BoundedSemaphore(workers + waiting)

    def run(self, check: Callable[..., T], *args: object) -> asyncio.Future[T] | None:
        """``check(*args)`` on the gate's threads, awaitable; None when the queue is full."""
        if not self._room.acquire(blocking=False):
            return None
        future = self._pool.submit(check, *args)
        future.add_done_callback(lambda _: self._room.release())
        return asyncio.wrap_future(future)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
