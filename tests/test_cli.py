"""CLI commands administrators run on the server."""

from app.extensions import db
from app.passwords import verify_password
from models import AuditLog, User


def test_create_admin_and_set_panel_password(app, make):
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["create-admin", "A9001", "管理员甲", "--password", "short"])
    assert weak.exit_code != 0 and "密码至少" in weak.output
    ok = runner.invoke(args=["create-admin", "A9001", "管理员甲", "--password", "Strong#Pass2026"])
    assert ok.exit_code == 0, ok.output
    admin = db.session.execute(db.select(User).where(User.employee_no == "A9001")).scalar_one()
    assert [g.role for g in admin.roles] == ["admin"]
    assert verify_password(admin.password_hash, "Strong#Pass2026")

    manager = make.user("canteen_manager", company=make.company("canteen_operator"))
    epoch = manager.auth_epoch
    result = runner.invoke(args=["set-panel-password", manager.employee_no, "--password", "Another#Pass2026"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    manager = db.session.get(User, manager.id)
    assert verify_password(manager.password_hash, "Another#Pass2026") and manager.auth_epoch == epoch + 1
    assert db.session.query(AuditLog).filter_by(action="user.panel_password").count() == 1
    missing = runner.invoke(args=["set-panel-password", "NOPE", "--password", "Another#Pass2026"])
    assert missing.exit_code != 0


def test_seed_demo_is_idempotent(app):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    count = db.session.query(User).count()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert db.session.query(User).count() == count >= 16
