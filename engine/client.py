"""The layered HTTP client: auth (credentials, OAuth with one refresh: engine/auth.py), a rate
limiter that follows the connector's published limits and the CRM's limit headers, retries with
backoff and jitter honouring Retry-After, and a concurrency bound. Each layer is a separate part.

Nothing here prints or raises a secret: tokens live only in headers of outgoing requests.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

# auth lives in engine.auth; its names are re-exported here for the modules that import them from here
from engine.auth import (  # noqa: F401
    CREDENTIAL_KEYS,
    FILE_KEYS,
    KEPT_MARKER,
    SECRET_KEYS,
    TOKEN_TRIES,
    AuthStopped,
    Credentials,
    TokenAuth,
    body_of,
    keep_refresh_token,
    matches,
    redact,
    store_refresh_token,
    token_digest,
)
from engine.connector import ConnectorSpec, LimitHeaders, LimitsSpec, RateLimit
from engine.credfile import CredentialsMissing  # noqa: F401
from engine.errors import RunStopped, UsageError
from engine.httpurl import crm_url
from engine.jsoncodec import compact
from engine.tls import tls_context  # noqa: F401 - re-exported: callers import it from here
from engine.transport import crm_transport

SHARED_POLL_S = 0.05  # how soon to look again when only other processes' answers can free a shared place


async def answer_or_timeout(answered: asyncio.Event, timeout: float) -> None:
    """Until `answered` is set or `timeout` seconds have passed, whichever is first."""
    with suppress(TimeoutError):
        await asyncio.wait_for(answered.wait(), timeout)


class BudgetStopped(RunStopped):
    """The CRM's daily API allocation is down to the share kept for the org's other integrations."""


class Interrupted(RunStopped):
    """The user pressed Ctrl-C: nothing more is sent, the requests in flight are answered and recorded."""

    exit_code = 130  # as a shell reports a command ended by SIGINT


class ThrottleStopped(RunStopped):
    """The CRM's service protection kept refusing a request for longer than a run waits for it."""


class _Window:
    """One published limit's use: requests in flight (sent, not yet answered) and the times the
    answered ones were answered, oldest first."""

    def __init__(self, rule: RateLimit) -> None:
        self.rule = rule
        self.in_flight = 0
        self.answered: deque[float] = deque()

    def __len__(self) -> int:
        return self.in_flight + len(self.answered)

    def wait(self, now: float) -> float | None:
        """Seconds until one more request may go (0: now); None: only an answer can free a place."""
        while self.answered and self.answered[0] <= now - self.rule.per_seconds:
            self.answered.popleft()
        over = len(self) - self.rule.requests  # places to free before one more may go
        if over < 0:
            return 0.0
        if over < len(self.answered):
            return self.answered[over] + self.rule.per_seconds - now
        return None

    def take(self) -> None:
        self.in_flight += 1

    def free(self, now: float) -> None:
        self.in_flight -= 1
        self.answered.append(now)

    def frees_at(self, now: float, period: float) -> float:
        """When the oldest place this client holds frees (a spent budget of that period)."""
        self.wait(now)  # drops the places already freed
        return self.answered[0] + period if self.answered else now + period


class _FixedWindow:
    """A limit whose count the CRM resets at each multiple of `per_seconds` on the clock. A request is
    counted in the window it is sent in and in every later one it is still unanswered in: the CRM counts
    it at some moment between its sending and its answer."""

    def __init__(self, rule: RateLimit, clock: Callable[[], float] = time.time) -> None:
        self.rule = rule
        self.clock = clock
        self.index = -1  # the window the count is of
        self.count = 0  # requests that may count in it
        self.in_flight = 0

    def __len__(self) -> int:
        return self.count

    def roll(self) -> float:
        """The clock now, with the count moved to the window it is in (the requests in flight carried)."""
        now = self.clock()
        index = int(now // self.rule.per_seconds)
        if index != self.index:
            self.index, self.count = index, self.in_flight
        return now

    def wait(self, _monotonic: float) -> float | None:
        now = self.roll()
        if self.count < self.rule.requests:
            return 0.0
        if self.in_flight >= self.rule.requests:
            return None
        return (self.index + 1) * self.rule.per_seconds - now

    def take(self) -> None:
        self.roll()
        self.count += 1
        self.in_flight += 1

    def free(self, _monotonic: float) -> None:
        self.roll()  # an answer in a later window: the request was carried into it
        self.in_flight -= 1

    def frees_at(self, now: float, period: float) -> float:
        """The next window, in the monotonic time of `now`."""
        wall = self.roll()
        return now + (self.index + 1) * self.rule.per_seconds - wall


RateWindow = _Window | _FixedWindow


def window_for(rule: RateLimit) -> RateWindow:
    return _FixedWindow(rule) if rule.window == "fixed" else _Window(rule)


@dataclass
class Slot:
    """The places one request holds in the windows of the limits that count it."""

    windows: list[RateWindow]
    credits: int = 0  # what it takes from the daily budget, counted until it is answered
    places: list[int] = field(default_factory=list)  # its places in the org's limits shared by the store


class RateLimiter:
    """Keeps requests within every published rate limit that applies to them, and waits when the
    CRM's headers say the budget is spent.

    The CRM counts a request at some moment between its sending and its answer, and the client cannot
    know which; so a request holds its place in a limit's window from when it is sent until a full
    period after its answer. That is the least wait that is sure never to exceed the limit (a place
    freed a period after the *sending* can be refused when the CRM counted the request later). Each
    request waits only for the limits that count it: a write never queues behind searches that wait
    for the search limit."""

    def __init__(self, limits: LimitsSpec, daily_reserve: float = 0.0, unit: str = "requests") -> None:
        """`daily_reserve`: the share of the CRM's daily allocation (0 to 1) a run leaves to the org's
        other integrations; once the CRM's headers say no more is left, nothing more is sent. `unit`:
        what the daily budget counts (credits, when endpoints declare a cost)."""
        self.limits = limits
        self.unit = unit
        self.windows = [window_for(rule) for rule in limits.rate]
        self.pause_until = 0.0
        self._answered = asyncio.Event()
        self.daily_reserve = daily_reserve
        self.spent: str | None = None  # why no more may be sent (the daily allocation's reserve reached)
        self.daily: tuple[int, int] | None = None  # (used, allocation), as the CRM last said
        self.left_at_start = 0  # the most a remaining-only budget has said is left, in this run
        self.unanswered_credits = 0  # what the requests in flight take from the daily budget
        self.active = 0  # requests holding a slot
        self.cap: int | None = None  # most requests at once since the CRM last throttled; None: no cap
        self.let_through = 0  # answers not throttled since the cap last grew
        self.shared: Any = None  # the org's limits shared with other processes (engine/state/budget.py)

    async def acquire(self, endpoint_kind: str, path: str, credits: int = 1) -> Slot:
        """A place for one request in every limit that counts it; BudgetStopped when what it takes from
        the daily budget would leave less than the reserve."""
        self.check_budget(credits)
        windows = [w for w in self.windows if w.rule.applies(endpoint_kind, path)]
        while True:
            now = time.monotonic()
            if self.cap is not None and self.active >= self.cap:
                await self._answered.wait()
                continue
            waits = [w.wait(now) for w in windows]
            if None in waits:
                await self._answered.wait()
                continue
            wait = max([self.pause_until - now, *waits], default=0.0)  # type: ignore[type-var]
            if wait <= 0:
                places, shared_wait = self.take_shared(windows)
                if places is not None:
                    break
                if shared_wait is None:  # only an answer frees a place: ours wakes it, others' are polled
                    await answer_or_timeout(self._answered, SHARED_POLL_S)
                    continue
                wait = shared_wait
            await asyncio.sleep(wait)
        try:
            self.check_budget(credits)  # answers that came while it waited may have spent the budget
        except BudgetStopped:
            self.release_shared(places)
            raise
        for window in windows:
            window.take()
        self.active += 1
        self.unanswered_credits += credits
        return Slot(windows, credits, places)

    def take_shared(self, windows: list[RateWindow]) -> tuple[list[int] | None, float | None]:
        """Places in the org's limits that other processes share, where a store shares them."""
        if self.shared is None or not windows:
            return [], 0.0
        return self.shared.take([w.rule for w in windows], time.time())  # type: ignore[no-any-return]

    def release_shared(self, places: list[int]) -> None:
        if places and self.shared is not None:
            self.shared.release(places, time.time())

    def check_budget(self, credits: int) -> None:
        if self.spent:
            raise BudgetStopped(self.spent)
        if self.daily is None:
            return
        used, allocation = self.daily
        if allocation - used - self.unanswered_credits - credits < self.daily_reserve * allocation:
            self.spent = self.budget_spent(used + self.unanswered_credits, allocation)
            raise BudgetStopped(self.spent)

    def throttled(self, wait_s: float) -> None:
        """The CRM refused a request for its service protection and said how long to wait: nothing is
        sent until then (Dataverse extends the wait of a client that keeps sending, and counts every
        request of the user), and then at most half as many requests at once as were out."""
        self.pause_until = max(self.pause_until, time.monotonic() + wait_s)
        self.cap = max(1, min(self.active, self.cap or self.active) // 2)
        self.let_through = 0

    def admitted(self, bound: int) -> None:
        """An answer the service protection let through: after as many as may be out at once, one more
        may be (additive increase, as TCP's congestion avoidance), up to the client's bound."""
        if self.cap is None:
            return
        self.let_through += 1
        if self.let_through >= self.cap:
            self.let_through = 0
            self.cap = None if self.cap + 1 >= bound else self.cap + 1

    def release(self, slot: Slot) -> None:
        """The request was answered (or failed): its places free a period from now."""
        self.active -= 1
        now = time.monotonic()
        for window in slot.windows:
            window.free(now)
        slot.windows = []
        self.release_shared(slot.places)
        slot.places = []
        self.unanswered_credits -= slot.credits
        slot.credits = 0
        self._answered.set()
        self._answered = asyncio.Event()

    def observe(self, response: httpx.Response) -> None:
        self.observe_daily(response)
        self.observe_interval(response)

    def observe_daily(self, response: httpx.Response) -> None:
        """The daily allocation is shared by every integration of the org: a run stops sending once what
        is left of it is the reserve (it is rolling, or resets daily: waiting within a run is no use)."""
        usage = daily_usage(self.limits.headers, response.headers) or self.remaining_only(response)
        if usage is None:
            return
        self.daily = usage
        if self.spent:
            return
        used, allocation = usage
        if allocation - used <= self.daily_reserve * allocation:
            self.spent = self.budget_spent(used, allocation)

    def remaining_only(self, response: httpx.Response) -> tuple[int, int] | None:
        """(used, allocation) of a budget the CRM gives only as what is left: out of `limits.daily`, or
        else of the most this run has seen left (the budget as the run found it)."""
        name = self.limits.headers.daily_remaining
        value = response.headers.get(name) if name else None
        if value is None or not value.strip().isdigit():
            return None
        left = int(value)
        self.left_at_start = max(self.left_at_start, left)
        allocation = self.limits.daily or self.left_at_start
        return max(0, allocation - left), allocation

    def budget_spent(self, used: int, allocation: int) -> str:
        """Why nothing more is sent: what is left of the daily budget, and how the run goes on."""
        headers = self.limits.headers
        found = "" if self.limits.daily or headers.usage or headers.daily else \
            " (what was left when this run began)"
        return (f"the CRM's daily API allocation is nearly used: {used:,} of {allocation:,} {self.unit}"
                f"{found}; {self.daily_reserve:.0%} is left to the org's other integrations "
                f"(--daily-reserve) and {max(0, allocation - used):,} {self.unit} remain. Push again once "
                "the allocation has "
                "freed (per day or over a rolling 24 hours, as the CRM counts it) or raise it; nothing sent "
                "is lost: the same command goes on from where this run stopped")

    def observe_interval(self, response: httpx.Response) -> None:
        """A budget the CRM says is spent (another app may share it) is waited for: until the oldest
        place this client holds in a limit of that interval frees, or the whole interval."""
        headers = self.limits.headers
        remaining = response.headers.get(headers.remaining) if headers.remaining else None
        interval = response.headers.get(headers.interval_ms) if headers.interval_ms else None
        if remaining is None or remaining.strip() != "0" or not interval:
            return
        now = time.monotonic()
        period = float(interval) / 1000
        frees = [w.frees_at(now, period) for w in self.windows if w.rule.per_seconds == period]
        self.pause_until = max(self.pause_until, min([now + period, *frees]))


def budget_unit(connector: ConnectorSpec) -> str:
    """What the daily budget counts: credits when an endpoint declares a cost other than one request."""
    endpoints = [*connector.endpoints.named().values(),
                 *(ep for obj in connector.objects.values() for ep in obj.endpoints.values())]
    return "credits" if any(ep.cost.credits != 1 or ep.cost.per_records != 1 for ep in endpoints) \
        else "requests"


def daily_usage(names: LimitHeaders, headers: httpx.Headers) -> tuple[int, int] | None:
    """(used, allocation) of the daily allocation, when the CRM's answer says."""
    if names.usage and (value := headers.get(names.usage)):
        pair = re.search(r"(\d+)/(\d+)", value)
        return (int(pair[1]), int(pair[2])) if pair else None
    allocation = headers.get(names.daily) if names.daily else None
    remaining = headers.get(names.daily_remaining) if names.daily_remaining else None
    if allocation and remaining and allocation.isdigit() and remaining.isdigit():
        return int(allocation) - int(remaining), int(allocation)
    return None


def json_headers(headers: dict[str, str] | None, body: Any) -> dict[str, str] | None:
    """A request's headers with its body sent as JSON bytes: Content-Type application/json unless the
    caller gave one (as httpx's `json=` sets it)."""
    if body is None or (headers and any(name.lower() == "content-type" for name in headers)):
        return headers
    return {**(headers or {}), "Content-Type": "application/json"}


def retry_after(response: httpx.Response, header: str | None) -> float | None:
    value = response.headers.get(header or "Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


@dataclass
class Sent:
    response: httpx.Response | None
    error: str | None = None  # a transport failure after all retries
    attempts: int = 1
    maybe_applied: bool = False  # the request may have reached the CRM (response lost)


DEFAULT_DAILY_RESERVE = 0.1  # of the CRM's daily API allocation, left to the org's other integrations
# how long one request waits, in all, for a CRM that keeps throttling it (Dataverse's waits last up to its
# 5-minute window, and longer for a client that kept sending) before the run stops and says so
DEFAULT_MAX_THROTTLE_WAIT_S = 1800.0


REQUEST_TIMEOUT_S = 60.0


def request_timeout_s() -> float:
    """How long a request waits for each part of its answer: CRMSYNC_REQUEST_TIMEOUT (seconds), else 60.
    A resumed push waits as long for the creates a dead run may still have had at the CRM."""
    import os

    said = os.environ.get("CRMSYNC_REQUEST_TIMEOUT")
    if not said:
        return REQUEST_TIMEOUT_S
    try:
        seconds = float(said)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < 86400:
        raise UsageError(f"CRMSYNC_REQUEST_TIMEOUT={said!r}: expected a number of seconds above 0")
    return seconds


class CrmClient:
    """Sends requests with auth, limits, retries and bounded concurrency."""

    RETRY_STATUSES = (429, 500, 502, 503, 504)
    DEFAULT_CONCURRENCY = 16  # a CRM that publishes no concurrency limit

    def __init__(self, connector: ConnectorSpec, base_url: str, credentials: Credentials,
                 *, concurrency: int | None = None, max_attempts: int = 6,
                 transport: httpx.AsyncBaseTransport | None = None, backoff_s: float = 0.5,
                 connection: dict[str, str] | None = None,
                 daily_reserve: float = DEFAULT_DAILY_RESERVE,
                 max_throttle_wait_s: float = DEFAULT_MAX_THROTTLE_WAIT_S) -> None:
        self.connector = connector
        self.base_url = base_url.rstrip("/")
        self.auth = TokenAuth(connector, credentials, base_url, connection)
        self.limiter = RateLimiter(connector.limits, daily_reserve, budget_unit(connector))
        bound = self.concurrency_bound(connector.limits, concurrency)
        self.bound = bound
        self.max_throttle_wait_s = max_throttle_wait_s
        self.semaphore = asyncio.Semaphore(bound)
        self.max_attempts = max_attempts
        self.backoff_s = backoff_s
        limits = httpx.Limits(max_connections=bound * 2)
        self.request_timeout_s = request_timeout_s()
        timeout = httpx.Timeout(self.request_timeout_s, connect=10)
        self.http = httpx.AsyncClient(auth=self.auth, timeout=timeout,
                                      verify=tls_context(), limits=limits,
                                      transport=transport or crm_transport(tls_context(), limits))
        self.sent = 0
        self.halted: RunStopped | None = None  # why nothing more may be sent (Ctrl-C), once it is so

    def halt(self, why: RunStopped) -> None:
        """Send nothing more: each request not yet sent raises `why`; those in flight are answered."""
        self.halted = self.halted or why

    @staticmethod
    def concurrency_bound(limits: LimitsSpec, asked: int | None) -> int:
        """Requests in flight at once: as asked, else the CRM's published concurrency limit (Dynamics:
        52 per user; Salesforce: 25 long-running requests), else DEFAULT_CONCURRENCY; never above the
        published limit. A CRM without one (HubSpot) is held to its rate limits by the limiter; 16 in
        flight at 100 ms of latency send a 190-request burst in about 1.2 s."""
        published = limits.concurrency
        wanted = asked or published or CrmClient.DEFAULT_CONCURRENCY
        return min(wanted, published) if published else wanted

    @property
    def base_url_root(self) -> str:
        """scheme://host[:port] of the base URL, for paths the CRM returns relative to its host."""
        url = httpx.URL(self.base_url)
        return f"{url.scheme}://{url.netloc.decode()}"

    async def close(self) -> None:
        await self.http.aclose()

    async def send(self, method: str, url: str, *, headers: dict[str, str] | None = None, body: Any = None,
                   kind: str = "other", safe_to_repeat: bool | None = None,
                   credits: int | None = None) -> Sent:
        """Send one request. Writes that may create a record are only retried when the CRM surely did
        not apply them (a 429, a connect failure); a lost response is reported as `maybe_applied`.
        `credits`: what it takes from the daily budget (default: the `cost` of the endpoint `kind`)."""
        if credits is None:
            endpoint = self.connector.endpoints.named().get(kind)
            credits = endpoint.credits() if endpoint is not None else 1
        repeatable = safe_to_repeat if safe_to_repeat is not None else method in ("GET", "PUT", "DELETE")
        attempt = 0
        throttles, throttled_s = 0, 0.0  # how often and how long this request waited for the CRM's limits
        while True:
            attempt += 1
            try:
                response = await self._request(method, url, headers, body, kind, credits)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                if attempt < self.max_attempts:
                    await asyncio.sleep(self._backoff(attempt, None))
                    continue
                return Sent(None, f"cannot connect: {type(exc).__name__}", attempt)
            except httpx.TransportError as exc:  # the request went out; its answer was lost
                if repeatable and attempt < self.max_attempts:
                    await asyncio.sleep(self._backoff(attempt, None))
                    continue
                return Sent(None, f"connection lost: {type(exc).__name__}", attempt, maybe_applied=True)
            status = response.status_code
            refused = self.auth.refusal(response)  # the token was refreshed if it could be: stop, and say why
            if refused is not None:
                raise refused
            if status == 429:  # surely not applied: sent again once the CRM says, however often it says so
                throttles, attempt = throttles + 1, attempt - 1
                throttled_s += self.throttled(response, throttles, throttled_s, url)
                continue
            self.limiter.admitted(self.bound)
            # any other 5xx on a create might have been applied, so it is not repeated here: the caller
            # reconciles by looking the records up first
            if status in self.RETRY_STATUSES and attempt < self.max_attempts and repeatable:
                header = self.connector.limits.headers.retry_after
                await asyncio.sleep(self._backoff(attempt, retry_after(response, header)))
                continue
            return Sent(response, None, attempt, maybe_applied=not repeatable and status >= 500)

    async def _request(self, method: str, url: str, headers: dict[str, str] | None, body: Any,
                       kind: str, credits: int = 1) -> httpx.Response:
        """One attempt: a place in the rate limits' windows, then in the concurrency bound."""
        # a long query: urlsplit is cheaper
        slot = await self.limiter.acquire(kind, urlsplit(url).path, credits)
        try:
            async with self.semaphore:
                if self.halted is not None:  # halted while it waited for a place
                    raise type(self.halted)(str(self.halted))
                self.sent += 1
                response = await self.http.request(method, crm_url(url),
                                                   headers=json_headers(headers, body),
                                                   content=compact(body) if body is not None else None)
            self.limiter.observe(response)
            return response
        finally:
            self.limiter.release(slot)

    def throttled(self, response: httpx.Response, times: int, waited_s: float, url: str) -> float:
        """A 429: every request waits as long as the CRM says (or backs off), unless this one has waited
        longer than a run waits for it, which stops the run (what was sent stands)."""
        wait = self._backoff(times, retry_after(response, self.connector.limits.headers.retry_after))
        if waited_s + wait > self.max_throttle_wait_s:
            raise ThrottleStopped(
                f"{self.connector.label} kept refusing requests for its rate limits (HTTP 429) for "
                f"{waited_s:.0f} s and asks for {wait:.0f} s more ({urlsplit(url).path}): the run stops "
                "here; push again later (nothing sent is lost), or lower the load other integrations put "
                "on the same user")
        self.limiter.throttled(wait)
        return wait

    def _backoff(self, attempt: int, server_says: float | None) -> float:
        if server_says is not None:
            return server_says
        return min(30.0, self.backoff_s * 2 ** (attempt - 1)) * (0.5 + random.random())


@asynccontextmanager
async def open_client(connector: ConnectorSpec, base_url: str, credentials: Credentials,
                      **options: Any) -> AsyncIterator[CrmClient]:
    client = CrmClient(connector, base_url, credentials, **options)
    try:
        yield client
    finally:
        await client.close()
