from skill3d_eval.agent.rate_limit import RateLimiter


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_requests_per_minute_paces_a_burst():
    clock = FakeClock()
    limiter = RateLimiter(requests_per_minute=60, clock=clock, sleep=clock.sleep)
    for _ in range(60):
        limiter.acquire()
    assert clock.now == 0  # a full bucket serves a burst of 60
    limiter.acquire()
    assert clock.now == 1.0  # then one request per second


def test_tokens_per_minute_waits_for_budget_and_corrects_with_real_usage():
    clock = FakeClock()
    limiter = RateLimiter(tokens_per_minute=6000, clock=clock, sleep=clock.sleep)
    limiter.acquire(6000)
    limiter.record(actual_tokens=3000, expected_tokens=6000)  # the request was cheaper than feared
    limiter.acquire(3000)
    assert clock.now == 0
    limiter.acquire(1000)
    assert clock.now == 10.0  # 1000 tokens at 100 tokens/s


def test_no_limits_never_waits():
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    for _ in range(10_000):
        limiter.acquire(10_000)
    assert clock.slept == []
