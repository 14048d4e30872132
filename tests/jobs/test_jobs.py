"""Jobs: queued only after commit, run in their own app context, by a real RQ worker."""

from rq import SimpleWorker

from app.extensions import db
from app.jobs import enqueue, enqueue_after_commit, get_queue, queue_connection
from app.sweeps import SWEEPS, build_scheduler
from tests.conftest import make_test_app
from tests.jobs import tasks


def test_enqueue_after_commit_only_when_committed(app, redis):
    queue = get_queue()
    queue.empty()
    enqueue_after_commit(tasks.mark, "k-rolled-back", "x")
    db.session.rollback()
    assert queue.count == 0
    enqueue_after_commit(tasks.mark, "k-committed", "y")
    db.session.commit()
    assert queue.count == 1
    assert queue.jobs[0].args == ("k-committed", "y")


def test_worker_runs_queued_job_in_app_context(app, redis):
    queue = get_queue()
    queue.empty()
    enqueue(tasks.mark, "k-worker", "done")
    SimpleWorker([queue], connection=queue_connection()).work(burst=True)
    assert redis.get("k-worker") == b"done"
    finished = queue.finished_job_registry.get_job_ids()
    assert len(finished) == 1
    assert queue.fetch_job(finished[0]).return_value() == "test"


def test_job_gets_its_own_session(app):
    assert tasks.session_identity() != id(db.session())


def test_enqueue_with_redis_down_is_logged_not_raised(server_urls, caplog):
    dead = make_test_app(server_urls, REDIS_URL="redis://127.0.0.1:1/0", REDIS_SOCKET_TIMEOUT=0.2)
    with dead.app_context():
        assert enqueue(tasks.mark, "k", "v") is False
    assert "sweep will catch up" in caplog.text


def test_scheduler_registers_every_sweep(app, redis):
    scheduler = build_scheduler(queue_connection())
    jobs = {job.name: job for job in scheduler.get_jobs()}
    assert set(jobs) == set(SWEEPS)
    assert all(jobs[name].interval == SWEEPS[name].every for name in SWEEPS)
    enqueued = scheduler.enqueue_jobs()  # every sweep is due at start
    assert {job.name for job in enqueued} == set(SWEEPS)
    assert get_queue().count >= len(SWEEPS)


def test_sweep_cli_lists_and_refuses_unknown(app):
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["sweep", "--list"])
    assert listing.exit_code == 0
    assert all(name in listing.output for name in SWEEPS)
    unknown = runner.invoke(args=["sweep", "no_such_sweep"])
    assert unknown.exit_code != 0 and "unknown sweep" in unknown.output


def test_savepoint_rollback_keeps_outer_callbacks(app):
    queue = get_queue()
    queue.empty()
    db.session.execute(db.text("SELECT 1"))
    enqueue_after_commit(tasks.mark, "k-outer", "z")
    try:
        with db.session.begin_nested():
            db.session.execute(db.text("SELECT 1"))
            raise ValueError("inner failure")
    except ValueError:
        pass
    db.session.commit()
    assert [job.args for job in queue.jobs] == [("k-outer", "z")]
