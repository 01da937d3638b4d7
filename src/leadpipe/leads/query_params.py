"""The lead list's filters as query parameters: one FastAPI dependency for every route that
selects leads by them (the lead list, the lead and activity exports).

No ``from __future__ import annotations`` here: FastAPI reads these annotations, and
``is_active``'s is made from the factory's arguments, which a string could not name."""

import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import Query

from leadpipe.kit.periods import END_DOC, START_DOC, PeriodBound, end_of, start_of
from leadpipe.leads.schemas import LeadSelection, PriorityFilter, TemperatureFilter


def lead_selection(*, is_active: bool | None, is_active_doc: str) -> Callable[..., LeadSelection]:
    """The dependency, ``is_active`` its default (None: a choice, unset selecting every
    lead; True or False: a plain boolean) documented as ``is_active_doc``."""
    # A type made at run time: mypy cannot check it, FastAPI reads it.
    IsActive = Annotated[  # type: ignore[valid-type]
        bool | None if is_active is None else bool, Query(description=is_active_doc)
    ]

    def selection(
        stage: str | None = None,
        source: str | None = None,
        product: str | None = None,
        priority: PriorityFilter | None = None,
        temperature: TemperatureFilter | None = None,
        assigned_to: str | None = None,
        assigned_user_id: Annotated[
            uuid.UUID | None,
            Query(description="The user of the workspace the leads are assigned to"),
        ] = None,
        is_active: IsActive = is_active,  # type: ignore[valid-type]
        q: Annotated[str | None, Query(description="Name, email or phone in any format")] = None,
        created_from: Annotated[PeriodBound | None, Query(description=START_DOC)] = None,
        created_to: Annotated[PeriodBound | None, Query(description=END_DOC)] = None,
    ) -> LeadSelection:
        """The filters of the lead list."""
        return LeadSelection(
            stage=stage,
            source=source,
            product=product,
            priority=priority,
            temperature=temperature,
            assigned_to=assigned_to,
            assigned_user_id=assigned_user_id,
            is_active=is_active,
            q=q,
            created_from=start_of(created_from),
            created_to=end_of(created_to),
        )

    return selection
