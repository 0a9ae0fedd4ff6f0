"""A time-filtered events API, as real APIs serve them, built with FastAPI: the windows' test server.

`GET /events?start=&end=&page=&limit=` serves the events with `start <= updated_at < end`, a page
at a time; `POST /w/{start}/events` does the same with the start in the path, the end in the
`X-Until` header and the end again, with a team, in the JSON body. Every request is noted in
`requests`; a window whose start is in `failing` answers 500 from its second page on (a window
that fails halfway).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import FastAPI, Header, HTTPException, Query
from pydantic import BaseModel


@dataclass
class Events:
    """The events served, and what was asked for."""

    events: list[dict[str, Any]]
    requests: list[dict[str, Any]] = field(default_factory=list)
    failing: set[datetime] = field(default_factory=set)

    def between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        return [event for event in self.events if start <= datetime.fromisoformat(event["updated_at"]) < end]

    def page(self, start: datetime, end: datetime, page: int, limit: int) -> dict[str, Any]:
        if page > 1 and start in self.failing:
            raise HTTPException(500, "the events store went away")
        chosen = self.between(start, end)[(page - 1) * limit : page * limit]
        return {"data": chosen}


class Search(BaseModel):
    team: str
    until: datetime


def events_app(events: Events) -> FastAPI:
    app = FastAPI()

    @app.get("/events")
    def list_events(
        start: datetime, end: datetime, page: int = 1, limit: Annotated[int, Query(le=100)] = 100
    ) -> dict[str, Any]:
        events.requests.append({"start": start, "end": end, "page": page})
        return events.page(start, end, page, limit)

    @app.post("/w/{start}/events")
    def search_events(
        start: datetime, search: Search, x_until: Annotated[datetime, Header()], page: int = 1
    ) -> dict[str, Any]:
        events.requests.append(
            {"start": start, "end": x_until, "page": page, "team": search.team, "body_until": search.until}
        )
        return events.page(start, x_until, page, 100)

    return app
