"""Users and membership: a token's subject maps to exactly one tenant (or to the admin role)."""

from __future__ import annotations

import uuid

from pynamodb.exceptions import DeleteError, DoesNotExist, UpdateError
from pynamodb.expressions.update import Action

from chalicelib.domain.errors import DuplicateError, NotFoundError
from chalicelib.domain.values import Role
from chalicelib.store.connection import condition_failed, put_new
from chalicelib.store.models import UserModel

ROLES = tuple(role.value for role in Role)


def add_user(
    email: str,
    *,
    role: str,
    tenant_id: str | None,
    now_ms: int,
    user_id: str | None = None,
) -> UserModel:
    """Create a user; a tenant user needs a tenant, e-mails are unique."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    if role == "tenant" and not tenant_id:
        raise ValueError("a tenant user needs a tenant")
    if find_by_email(email) is not None:
        raise DuplicateError(f"a user with e-mail {email} exists")
    user = UserModel(
        user_id or str(uuid.uuid4()),
        email=email,
        role=role,
        tenant_id=tenant_id,
        created_at=now_ms,
    )
    if not put_new(user):
        raise DuplicateError(f"user {user.user_id} exists")
    return user


def get_user(user_id: str) -> UserModel:
    """The user with this token subject; ``NotFoundError`` if none."""
    try:
        return UserModel.get(user_id)
    except DoesNotExist:
        raise NotFoundError("user not found") from None


def find_by_email(email: str) -> UserModel | None:
    """The user with this e-mail, if any."""
    for user in UserModel.by_email.query(email.lower(), limit=1):
        return user
    return None


def list_users(
    *, limit: int = 200, cursor_token: str | None = None
) -> tuple[list[UserModel], str | None]:
    """One page of users (a Scan of the small users table)."""
    from chalicelib.store import cursor

    start = cursor.decode(cursor_token, tenant_id=None, key_name="user_id")
    result = UserModel.scan(limit=limit, page_size=limit, last_evaluated_key=start)
    items = list(result)
    return items, cursor.encode(result.last_evaluated_key)


def set_role(user_id: str, *, role: str, tenant_id: str | None) -> UserModel:
    """Make a user an admin, or a member of ``tenant_id``; ``NotFoundError`` if no such user."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    if role == "tenant" and not tenant_id:
        raise ValueError("a tenant user needs a tenant")
    user = get_user(user_id)
    actions: list[Action] = [UserModel.role.set(role)]
    actions.append(
        UserModel.tenant_id.set(tenant_id) if tenant_id else UserModel.tenant_id.remove()
    )
    try:
        user.update(actions=actions, condition=UserModel.user_id.exists())
    except UpdateError as exc:
        if condition_failed(exc):
            raise NotFoundError("user not found") from exc
        raise
    return user


def remove_user(user_id: str) -> UserModel:
    """Delete a user; ``NotFoundError`` if none. Access ends within the membership cache's
    lifetime (30 s)."""
    user = get_user(user_id)
    try:
        user.delete(condition=UserModel.user_id.exists())
    except DeleteError as exc:
        if condition_failed(exc):
            raise NotFoundError("user not found") from exc
        raise
    return user
