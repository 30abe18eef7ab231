import threading
import time

from zenovay_cli.context import Context


def test_the_run_clients_budget_is_made_once_when_threads_first_send_together(monkeypatch):
    # ctx.client()'s budget is made on first use; several threads sending their first request at
    # the same moment must share one budget (several would each allow their own burst).
    ctx = Context(env={"ZENOVAY_API_KEY": "zv_test_context_key_123456"})
    made = []

    def slow_budget(**kwargs):
        made.append(kwargs)
        time.sleep(0.05)  # wide open for a race
        return type("Budget", (), {"limit": None})()

    monkeypatch.setattr(ctx, "new_budget", slow_budget)
    budget = ctx.client().budget
    start = threading.Barrier(8)

    def first_use():
        start.wait()
        assert budget.limit is None

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1
    ctx.close()
