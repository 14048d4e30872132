"""Flask CLI commands: `flask --app app <command>` (DATABASE_URL and REDIS_URL set)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from sqlalchemy import select

from app.extensions import db


def register_cli(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo_cmd():
        """Load the demo data (idempotent)."""
        from app.demo import seed_demo

        seed_demo()
        click.echo("demo data loaded")

    @app.cli.command("create-admin")
    @click.argument("employee_no")
    @click.argument("name")
    @click.password_option()
    def create_admin(employee_no, name, password):
        """Create an administrator who signs in to the panel with EMPLOYEE_NO."""
        from app.passwords import hash_password, password_problems
        from models import RoleGrant, User

        problems = password_problems(password)
        if problems:
            raise click.ClickException("；".join(problems))
        user = db.session.execute(select(User).where(User.employee_no == employee_no)).scalar_one_or_none()
        if user is None:
            user = User(kind="staff", employee_no=employee_no, name=name)
            db.session.add(user)
        user.password_hash = hash_password(password)
        if not any(g.role == "admin" for g in user.roles):
            user.roles.append(RoleGrant(role="admin"))
        db.session.commit()
        click.echo(f"administrator {employee_no} ready")

    @app.cli.command("set-panel-password")
    @click.argument("employee_no")
    @click.password_option()
    def set_panel_password(employee_no, password):
        """Set the admin-panel password of EMPLOYEE_NO (ends their other panel sessions)."""
        from app import audit
        from app.passwords import hash_password, password_problems
        from models import User

        problems = password_problems(password)
        if problems:
            raise click.ClickException("；".join(problems))
        user = db.session.execute(select(User).where(User.employee_no == employee_no)).scalar_one_or_none()
        if user is None:
            raise click.ClickException(f"no user with employee number {employee_no}")
        user.password_hash = hash_password(password)
        user.failed_logins, user.locked_until = 0, None
        user.auth_epoch += 1
        audit.record("user.panel_password", "user", user.id, actor=user)
        db.session.commit()
        click.echo(f"panel password of {employee_no} set")

    @app.cli.command("import-roster")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--keep-missing", is_flag=True, help="Do not disable staff missing from the file.")
    @click.option("--dry-run", is_flag=True)
    def import_roster_cmd(path, keep_missing, dry_run):
        """Import a staff roster (CSV or XLSX) as the system."""
        from app.auth import Principal
        from app.errors import AppError
        from blueprints.identity import roster

        system = Principal(user_id=0, name="system", kind="staff", company_id=None, department_id=None,
                           grants=(("admin", "global", None),))
        try:
            rows = roster.read_rows(path.read_bytes(), path.name)
            report = roster.import_rows(system, rows, disable_missing=not keep_missing, dry_run=dry_run)
        except AppError as exc:
            click.echo(f"{exc.code}: {exc.message}", err=True)
            for row in exc.details.get("rows", []):
                click.echo(f"  第{row['row']}行 {row['employee_no']}: {'；'.join(row['errors'])}", err=True)
            sys.exit(1)
        click.echo(report)

    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
    def worker_cmd(burst):
        """Run an RQ worker for the background jobs (notifications, sweeps)."""
        from rq import SimpleWorker

        from app.jobs import get_queue, queue_connection

        SimpleWorker([get_queue()], connection=queue_connection()).work(burst=burst, with_scheduler=False)

    @app.cli.command("scheduler")
    def scheduler_cmd():
        """Queue every sweep at its interval (RQ's CronScheduler); run exactly one, or more: harmless."""
        from app.jobs import queue_connection
        from app.sweeps import build_scheduler

        build_scheduler(queue_connection()).start()

    @app.cli.command("sweep")
    @click.argument("names", nargs=-1)
    @click.option("--all", "run_all", is_flag=True, help="Run every registered sweep.")
    @click.option("--list", "show", is_flag=True, help="List the registered sweeps.")
    def sweep_cmd(names, run_all, show):
        """Run sweeps now, by name (the same code the scheduler queues)."""
        from app.sweeps import SKIPPED, SWEEPS, run_sweep

        if show or not (names or run_all):
            for sweep in SWEEPS.values():
                click.echo(f"{sweep.name:28} every {sweep.every:>5}s  {sweep.description}")
            return
        unknown = [n for n in names if n not in SWEEPS]
        if unknown:
            raise click.ClickException(f"unknown sweep(s): {', '.join(unknown)}")
        for name in (SWEEPS if run_all else names):
            changed = run_sweep(name)
            click.echo(f"{name}: " + ("skipped (running elsewhere)" if changed == SKIPPED else f"{changed} changed"))

    @app.cli.command("points-check")
    def points_check():
        """Check the points ledger: cached balances and totals against the transactions.
        Prints every problem and exits 1 when there is any."""
        from blueprints.points.service import check_ledger, ledger_stats

        problems = check_ledger()
        for p in problems:
            where = f"user {p['user_id']}" + (f" transaction {p['transaction_id']}" if "transaction_id" in p else "")
            click.echo(f"{where}: {p['problem']} ({p['message']}): expected {p['expected']}, found {p['actual']}",
                       err=True)
        if problems:
            click.echo(f"points ledger: {len(problems)} problem(s)", err=True)
            sys.exit(1)
        stats = ledger_stats()
        click.echo(f"points ledger OK: {stats['accounts']} accounts, {stats['transactions']} transactions, "
                   f"{stats['points']} points held")

    @app.cli.command("error-codes")
    def error_codes():
        """Print the error-code registry as Markdown (docs/error-codes.md)."""
        from app.errors import registry_markdown

        click.echo(registry_markdown(), nl=False)

    @app.cli.command("rotate-pii")
    def rotate_pii():
        """Re-encrypt personal data under the first key of DATA_ENCRYPTION_KEYS."""
        from app.crypto import decrypt, encrypt, needs_rotation
        from blueprints.identity.service import PHONE_PURPOSE
        from miniapp_api.service import SESSION_KEY_PURPOSE
        from models import User, WechatIdentity

        count = 0
        for model, column, purpose in ((User, "phone_enc", PHONE_PURPOSE),
                                       (WechatIdentity, "session_key_enc", SESSION_KEY_PURPOSE)):
            rows = db.session.execute(select(model).where(getattr(model, column).is_not(None)))
            for row in rows.scalars():
                if needs_rotation(getattr(row, column)):
                    setattr(row, column, encrypt(decrypt(getattr(row, column), purpose), purpose))
                    count += 1
        db.session.commit()
        click.echo(f"re-encrypted {count} values")
