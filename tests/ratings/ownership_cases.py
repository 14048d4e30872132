"""Foreign-id cases for tests/test_ownership.py: the ratings routes with an object id.

The intruders are the ones who matter here: the rated contractor's own staff (who must never
reach a rating's detail, which names the rater), another staff member, and an auditor (who
reads follow-ups but may not work them)."""

from __future__ import annotations

from app.extensions import db
from blueprints.ratings import service
from models import User
from models.ratings import Rating, RatingFollowup
from tests.test_ownership import case


def _low_rating(make) -> tuple[Rating, RatingFollowup, object]:
    """A 1-star rating of company's order (no order row needed) with its open follow-up."""
    company = make.company("security")
    rater = make.user()
    rating = Rating(service_type="sample", order_id=1, company_id=company.id, user_id=rater.id, stars=1,
                    comment="差评", tags=[])
    db.session.add(rating)
    db.session.flush()
    followup = service.open_followup(rating)
    db.session.commit()
    return rating, followup, company


@case("GET", "/api/v1/ratings/<int:rating_id>")
def _rating_get(make):
    rating, _followup, company = _low_rating(make)
    guard = make.user("guard", company=company)
    return make.headers(guard), f"/api/v1/ratings/{rating.id}", None, lambda: None


@case("PATCH", "/api/v1/ratings/<int:rating_id>")
def _rating_patch(make):
    rating, _followup, _company = _low_rating(make)
    rating_id = rating.id

    def check():
        stored = db.session.get(Rating, rating_id)
        assert (stored.stars, stored.comment, stored.edit_count) == (1, "差评", 0)
    return make.headers(make.user()), f"/api/v1/ratings/{rating_id}", {"stars": 5, "comment": "改"}, check


@case("GET", "/api/v1/rating-followups/<int:followup_id>")
def _followup_get(make):
    _rating, followup, company = _low_rating(make)
    guard = make.user("guard", company=company)
    return make.headers(guard), f"/api/v1/rating-followups/{followup.id}", None, lambda: None


def _unchanged(followup_id: int):
    def check():
        stored = db.session.get(RatingFollowup, followup_id)
        assert (stored.status, stored.reply, stored.handler_id) == ("open", None, None)
    return check


@case("POST", "/api/v1/rating-followups/<int:followup_id>/start")
def _followup_start(make):
    _rating, followup, _company = _low_rating(make)
    return (make.headers(make.user("auditor")), f"/api/v1/rating-followups/{followup.id}/start", {"note": "x"},
            _unchanged(followup.id))


@case("POST", "/api/v1/rating-followups/<int:followup_id>/close")
def _followup_close(make):
    rating, followup, _company = _low_rating(make)
    rater = db.session.get(User, rating.user_id)  # the rater may not answer their own complaint
    body = {"action_taken": "自己办结", "reply": "自己答复"}
    return make.headers(rater), f"/api/v1/rating-followups/{followup.id}/close", body, _unchanged(followup.id)
