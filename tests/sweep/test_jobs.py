""":class:`scsr.jobs.JobQueue`, the scheduler of the sweep's local executor and the ablation:
order, slots, skips, retries, early return and stop."""

from __future__ import annotations

from scsr.jobs import Done, Finished, Handle, JobQueue, Skipped


class _Later(Handle):
    """Ends after ``polls`` looks; records whether it was stopped and joined."""

    def __init__(self, value: object, polls: int) -> None:
        self.value, self.polls, self.log = value, polls, []

    def done(self) -> bool:
        self.polls -= 1
        return self.polls < 0

    def outcome(self) -> object:
        return self.value

    def stop(self) -> None:
        self.log.append("stop")

    def join(self) -> None:
        self.log.append("join")


def test_jobs_run_in_order_one_per_slot_and_skips_are_reported() -> None:
    started: list[tuple[str, int]] = []

    def start(job: str, slot: int) -> Handle:
        started.append((job, slot))
        return _Later(job.upper(), polls=1)

    queue = JobQueue(["a", "skip", "b", "c"], 2, start,
                     admit=lambda job: "no" if job == "skip" else None, tick=0)
    events = list(queue.run())
    # "skip" took slot 1's turn, so "b" starts there next pass; "c" gets slot 0 once "a" ended
    assert started == [("a", 0), ("b", 1), ("c", 0)]
    assert [e.job for e in events if isinstance(e, Skipped)] == ["skip"]
    finished = sorted((e.index, e.outcome) for e in events if isinstance(e, Finished))
    assert finished == [(0, "A"), (2, "B"), (3, "C")]
    assert not queue.pending and not queue.running


def test_retry_starts_the_job_again_and_stop_ends_what_runs() -> None:
    handles: list[_Later] = []

    def start(job: str, slot: int) -> Handle:
        handles.append(_Later(job, polls=0 if job == "quick" else 10**6))
        return handles[-1]

    queue = JobQueue(["quick", "slow", "never"], 2, start, tick=0)
    tries: list[Finished] = []
    for event in queue.run(stop_when=lambda: len(tries) >= 2):
        if event.job == "quick":
            tries.append(event)
            if len(tries) < 2:
                queue.retry(event)
    assert [e.index for e in tries] == [0, 0]
    running, pending = queue.stop()
    assert (running, pending) == (["slow"], ["never"])
    assert handles[1].log == ["stop", "join"] and not queue.running and not queue.pending


def test_done_handles_run_in_this_process_in_order() -> None:
    queue = JobQueue(range(4), 1, lambda job, slot: Done(job * job))
    assert [(e.index, e.outcome) for e in queue.run()] == [(0, 0), (1, 1), (2, 4), (3, 9)]
