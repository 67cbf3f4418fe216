"""AccessService: users, roles, API tokens, sign-in and authorization, each leaving an audit record.

Used by `driftmgr users|tokens` now and by the API and the GUI. Every state-changing action writes
an audit record in the same transaction (so it exists exactly when the change does); a refused or
failed action writes one in a transaction of its own; every sign-in attempt and every denied
access is recorded. Successful API token uses are not (they would drown the log): the token's
`last_used_at` shows them.

The CLI acts as `Actor.cli()`: whoever can run it reaches the database directly, so it holds the
admin role, and its records name the operating-system user (`cli:<login>`).

Verified callers are cached for seconds (security/authcache.py): changes made here clear the cache at
once; those made by another process take effect within `AUTH_CACHE_TTL`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from driftmgr.config import Settings
from driftmgr.errors import ConflictError, DriftMgrError, StateNotFoundError, UsageError
from driftmgr.platform import audit
from driftmgr.platform.db.engine import Database, open_database
from driftmgr.platform.db.models import utcnow
from driftmgr.platform.db.models_access import ApiToken, User
from driftmgr.security import passwords, rbac, sessions, tokens
from driftmgr.security.authcache import AuthCache, BackgroundWrites, credential_key
from driftmgr.security.errors import AuthenticationError, CsrfError, PermissionDeniedError, RateLimitedError
from driftmgr.security.ratelimit import LoginLimiter
from driftmgr.security.secret_key import secret_key
from driftmgr.security.users import (
    active_admins,
    check_email,
    find_user,
    normalize_username,
    roles_of,
    set_roles,
)
from driftmgr.services.access_views import Actor, CreatedToken, SignIn, TokenView, UserView

T = TypeVar("T")
BAD_LOGIN = "wrong user name or password"
BAD_TOKEN_MESSAGE = "the API token is unknown, expired or revoked"  # noqa: S105 - a message
TOKEN_TOUCH_EVERY = timedelta(seconds=60)
__all__ = ["AccessService", "Actor", "CreatedToken", "SignIn", "TokenView", "UserView"]


class AccessService:
    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings
        self._db = db
        self.limiter = LoginLimiter.from_settings(settings)
        self._callers: AuthCache[Actor] = AuthCache()
        self._touches = BackgroundWrites()

    @property
    def db(self) -> Database:
        if self._db is None:
            self._db = open_database(self.settings)
        return self._db

    @property
    def key(self) -> bytes:
        return secret_key(self.settings)

    # --- audit and authorization -----------------------------------------------------------------

    def audit_in(
        self,
        s: Session,
        actor: Actor | None,
        action: str,
        resource: str | None,
        result: str = "success",
        *,
        user: str | None = None,
        changes: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        origin: str | None = None,
        ip: str | None = None,
    ) -> None:
        audit.append(
            s,
            user=user if user is not None else (actor.username if actor else None),
            action=action,
            resource=resource,
            result=result,
            ip=ip if ip is not None else (actor.ip if actor else None),
            session=actor.session if actor else None,
            changes=changes,
            extra={"origin": origin or (actor.origin if actor else "api"), **(extra or {})},
            mode=self.settings.audit_mode,
        )

    def _record(self, actor: Actor | None, action: str, resource: str | None, result: str, **kw: Any) -> None:
        with self.db.session() as s:
            self.audit_in(s, actor, action, resource, result, **kw)

    def record(
        self,
        actor: Actor | None,
        action: str,
        resource: str | None,
        result: str = "success",
        *,
        changes: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Append an audit record of an action done elsewhere (the API's state-changing routes)."""
        self._record(actor, action, resource, result, changes=changes, extra=extra)

    def authorize(self, actor: Actor, permission: str, resource: str | None = None) -> None:
        """Return when the actor holds `permission`; else record the denial and raise."""
        if actor.can(permission):
            return
        self._record(actor, "access.denied", resource, "denied", extra={"permission": permission})
        raise PermissionDeniedError(f"permission denied: {permission} is required", permission=permission)

    def _mutate(
        self, actor: Actor, action: str, resource: str, fn: Callable[[Session], tuple[T, dict[str, Any]]]
    ) -> T:
        """Run `fn` and its audit record in one transaction; a refusal is recorded as a failure."""
        try:
            with self.db.session() as s:
                value, changes = fn(s)
                self.audit_in(s, actor, action, resource, changes=changes or None)
            self._callers.clear()  # a user, role, token or session changed: no cached caller survives
            return value
        except DriftMgrError as exc:
            self._record(actor, action, resource, "failure", extra={"error": str(exc)[:500]})
            raise

    # --- users -----------------------------------------------------------------------------------

    def _new_password(self, password: str, username: str) -> str:
        passwords.check_policy(password, username=username, min_length=self.settings.password_min_length)
        return passwords.hash_password(password)

    def create_admin(
        self,
        username: str,
        password: str,
        *,
        email: str | None = None,
        force: bool = False,
        actor: Actor | None = None,
    ) -> UserView:
        """The first admin. Refused when an active admin exists, or the name is taken, unless `force`:
        then the user is (re)created or reset as an active admin with this password (recovery)."""
        actor = actor or Actor.cli()
        name = normalize_username(username)
        hashed = self._new_password(password, name)
        email = check_email(email)

        def do(s: Session) -> tuple[UserView, dict[str, Any]]:
            admins = active_admins(s)
            if admins and not force:
                raise ConflictError(
                    f"an admin already exists ({', '.join(admins[:3])}): add more with "
                    "`driftmgr users add --role admin`, or pass --force to reset this one"
                )
            row = find_user(s, name)
            if row is not None and not force:
                raise ConflictError("the user exists: pass --force to reset it as an admin", source=name)
            changes: dict[str, Any] = {"roles": ["admin"], "reset": row is not None}
            if row is None:
                row = User(username=name, email=email, password_hash=hashed, active=True)
                s.add(row)
                s.flush()
            else:
                row.password_hash, row.active = hashed, True
                row.email = email or row.email
                sessions.revoke_user_sessions(s, row.id)
            set_roles(s, row.id, roles_of(s, row.id) | {"admin"})
            return UserView.of(row, roles_of(s, row.id)), changes

        return self._mutate(actor, "user.create_admin", f"user:{name}", do)

    def add_user(
        self,
        actor: Actor,
        username: str,
        password: str | None,
        roles: Iterable[str],
        *,
        email: str | None = None,
    ) -> UserView:
        """A new user with `roles`. Without a password the user can only sign in through SSO."""
        self.authorize(actor, "users:manage", f"user:{username}")
        name = normalize_username(username)
        wanted = frozenset(rbac.check_role(r) for r in roles)
        if not wanted:
            raise UsageError("give the user at least one role (--role admin|operator|viewer|approver)")
        hashed = self._new_password(password, name) if password is not None else None
        email = check_email(email)

        def do(s: Session) -> tuple[UserView, dict[str, Any]]:
            if find_user(s, name) is not None:
                raise ConflictError("the user exists", source=name)
            row = User(username=name, email=email, password_hash=hashed, active=True)
            s.add(row)
            s.flush()
            set_roles(s, row.id, wanted)
            return UserView.of(row, wanted), {"roles": sorted(wanted), "email": email}

        return self._mutate(actor, "user.create", f"user:{name}", do)

    def list_users(self, actor: Actor) -> list[UserView]:
        self.authorize(actor, "users:read", "users")
        with self.db.session() as s:
            rows = list(s.scalars(select(User).order_by(User.username)))
            return [UserView.of(r, roles_of(s, r.id)) for r in rows]

    def _user(self, s: Session, username: str) -> User:
        row = find_user(s, username)
        if row is None:
            raise StateNotFoundError("no such user", source=username)
        return row

    def set_active(self, actor: Actor, username: str, active: bool) -> UserView:
        """Enable or disable a user; disabling ends their sessions. The last active admin stays."""
        self.authorize(actor, "users:manage", f"user:{username}")
        name = username.strip().lower()

        def do(s: Session) -> tuple[UserView, dict[str, Any]]:
            row = self._user(s, name)
            roles = roles_of(s, row.id)
            if not active and row.active and "admin" in roles and active_admins(s) == [row.username]:
                raise ConflictError("the last active admin cannot be disabled", source=name)
            before, row.active = row.active, active
            if not active:
                sessions.revoke_user_sessions(s, row.id)
            return UserView.of(row, roles), {"active": [before, active]}

        return self._mutate(actor, "user.enable" if active else "user.disable", f"user:{name}", do)

    def set_password(self, actor: Actor, username: str, password: str) -> None:
        """Change a password (one's own, or anyone's with users:manage); ends the user's sessions."""
        name = username.strip().lower()
        if actor.username != name:
            self.authorize(actor, "users:manage", f"user:{name}")
        hashed = self._new_password(password, name)

        def do(s: Session) -> tuple[None, dict[str, Any]]:
            row = self._user(s, name)
            row.password_hash = hashed
            sessions.revoke_user_sessions(s, row.id)
            return None, {"password": "changed"}

        self._mutate(actor, "user.password", f"user:{name}", do)

    def change_roles(
        self, actor: Actor, username: str, *, grant: Iterable[str] = (), revoke: Iterable[str] = ()
    ) -> UserView:
        self.authorize(actor, "users:manage", f"user:{username}")
        name = username.strip().lower()
        add = frozenset(rbac.check_role(r) for r in grant)
        remove = frozenset(rbac.check_role(r) for r in revoke)

        def do(s: Session) -> tuple[UserView, dict[str, Any]]:
            row = self._user(s, name)
            before = roles_of(s, row.id)
            after = (before | add) - remove
            if "admin" in before - after and row.active and active_admins(s) == [row.username]:
                raise ConflictError("the last active admin keeps the admin role", source=name)
            set_roles(s, row.id, after)
            return UserView.of(row, after), {"roles": [sorted(before), sorted(after)]}

        action = "user.grant" if add and not remove else "user.revoke" if remove and not add else "user.roles"
        return self._mutate(actor, action, f"user:{name}", do)

    # --- API tokens ------------------------------------------------------------------------------

    def create_token(
        self, actor: Actor, name: str, *, expires_in: timedelta | None = None, username: str | None = None
    ) -> CreatedToken:
        """A new token for `username` (default: the actor). The plaintext is in the result only."""
        owner = (username or actor.username).strip().lower()
        own = actor.user_id is not None and owner == actor.username
        self.authorize(actor, "tokens:manage_own" if own else "tokens:manage_all", f"user:{owner}")
        if not name.strip() or len(name) > 200:
            raise UsageError("a token needs a name of 1 to 200 characters")
        ttl = expires_in if expires_in is not None else tokens.DEFAULT_TTL
        if ttl <= timedelta(0) or ttl > tokens.MAX_TTL:
            raise UsageError("a token lives between one minute and five years")
        new = tokens.generate()

        def do(s: Session) -> tuple[CreatedToken, dict[str, Any]]:
            user = self._user(s, owner)
            if not user.active:
                raise ConflictError("the user is disabled", source=owner)
            row = ApiToken(
                user_id=user.id,
                name=name.strip(),
                token_hash=new.token_hash,
                prefix=new.prefix,
                expires_at=utcnow() + ttl,
            )
            s.add(row)
            s.flush()
            view = self._token_view(row, owner)
            changes = {"id": row.id, "name": row.name, "prefix": row.prefix, "expires_at": view.expires_at}
            return CreatedToken(new.plaintext, view), changes

        return self._mutate(actor, "token.create", f"user:{owner}", do)

    @staticmethod
    def _token_view(row: ApiToken, owner: str) -> TokenView:
        return TokenView(
            row.id,
            owner,
            row.name,
            row.prefix,
            row.created_at,
            row.expires_at,
            row.revoked_at,
            row.last_used_at,
        )

    def list_tokens(self, actor: Actor, *, username: str | None = None) -> list[TokenView]:
        """One user's tokens (default the actor's own), or every token when `username` is "*"."""
        owner = (username or actor.username).strip().lower()
        own = actor.user_id is not None and owner == actor.username
        self.authorize(actor, "tokens:manage_own" if own else "tokens:manage_all", f"user:{owner}")
        self._touches.drain()  # show the last uses this process has seen
        with self.db.session() as s:
            stmt = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
            if owner != "*":
                stmt = stmt.where(User.username == owner)
            rows = s.execute(stmt.order_by(ApiToken.created_at)).all()
            return [self._token_view(t, u) for t, u in rows]

    def revoke_token(self, actor: Actor, ident: str) -> TokenView:
        """Revoke by id or by prefix (`dm_abcd1234`); one's own with tokens:manage_own."""
        ident = ident.strip()
        with self.db.session() as s:
            found = s.execute(
                select(ApiToken, User.username)
                .join(User, User.id == ApiToken.user_id)
                .where((ApiToken.id == ident) | (ApiToken.prefix == ident))
            ).all()
        if len(found) != 1:
            self._record(
                actor, "token.revoke", f"token:{ident[:40]}", "failure", extra={"error": "no such token"}
            )
            raise StateNotFoundError("no such token (give its id or prefix)", source=ident[:40])
        token, owner = found[0]
        own = actor.user_id is not None and owner == actor.username
        self.authorize(actor, "tokens:manage_own" if own else "tokens:manage_all", f"token:{token.prefix}")

        def do(s: Session) -> tuple[TokenView, dict[str, Any]]:
            row = s.get(ApiToken, token.id)
            assert row is not None
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            return self._token_view(row, owner), {"id": row.id, "user": owner}

        return self._mutate(actor, "token.revoke", f"token:{token.prefix}", do)

    def cached_caller(self, kind: str, credential: str, *, ip: str | None, origin: str) -> Actor | None:
        """The caller of a token (`kind` "token") or session cookie ("session") when cached, else None."""
        actor = self._callers.get(credential_key(kind, credential))
        return None if actor is None else replace(actor, ip=ip, origin=origin)

    def _touch_token(self, token_id: str, now: datetime) -> None:
        with self.db.session() as s:
            s.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))

    def authenticate_token(self, plaintext: str, *, ip: str | None = None, origin: str = "api") -> Actor:
        """The actor of an API token; AuthenticationError (one message) when unknown, expired or revoked."""
        lookup = partial(self._lookup_token, plaintext, ip, origin)
        return self._caller("token", plaintext, lookup, ip, origin)

    def _caller(self, kind: str, credential: str, lookup: Callable[[], tuple[Actor, datetime | None]],
                ip: str | None, origin: str) -> Actor:  # fmt: skip
        """From the cache, else `lookup()` (one thread per credential at a time) and kept until its end."""
        key = credential_key(kind, credential)
        with self._callers.lookup_lock(key):
            actor = self._callers.get(key)
            if actor is None:
                generation = self._callers.generation
                actor, ends = lookup()
                self._callers.put(key, actor, not_after=ends, generation=generation)
            return replace(actor, ip=ip, origin=origin)

    def _lookup_token(self, plaintext: str, ip: str | None, origin: str) -> tuple[Actor, datetime | None]:
        reason: str | None = None
        with self.db.session() as s:
            now = utcnow()
            row = None
            if tokens.looks_like_token(plaintext):
                row = s.scalars(
                    select(ApiToken).where(ApiToken.token_hash == tokens.hash_token(plaintext))
                ).first()
            user = s.get(User, row.user_id) if row is not None else None
            if row is None or user is None:
                reason = "malformed" if not tokens.looks_like_token(plaintext) else "unknown"
            elif row.revoked_at is not None:
                reason = "revoked"
            elif row.expires_at is not None and row.expires_at <= now:
                reason = "expired"
            elif not user.active:
                reason = "user_disabled"
            if reason is None and row is not None and user is not None:
                if row.last_used_at is None or now - row.last_used_at >= TOKEN_TOUCH_EVERY:
                    self._touches.submit(partial(self._touch_token, row.id, now))  # off the request
                actor = Actor(username=user.username, roles=roles_of(s, user.id), user_id=user.id,
                              token_id=row.id, via="token")  # fmt: skip
                return actor, row.expires_at
            who = user.username if user is not None else None
            prefix = (
                row.prefix if row is not None else plaintext[:11] if plaintext.startswith("dm_") else None
            )
            self.audit_in(
                s, None, "auth.token", f"token:{prefix}" if prefix else None, "failure",
                user=who, extra={"reason": reason}, origin=origin, ip=ip,
            )  # fmt: skip
        raise AuthenticationError(BAD_TOKEN_MESSAGE)

    # --- sign-in, sessions, CSRF -----------------------------------------------------------------

    def sign_in(
        self,
        username: str,
        password: str,
        *,
        ip: str | None = None,
        user_agent: str | None = None,
        origin: str = "gui",
        session: bool = True,
    ) -> SignIn:
        """Check a password (rate limited) and, with `session`, open a GUI session.

        Every attempt is recorded: success, wrong password, unknown or disabled user, locked out.
        """
        name = username.strip().lower()[:120]
        failure: DriftMgrError | None = None
        with self.db.session() as s:
            now = utcnow()
            try:
                self.limiter.check(s, name, ip, now)
            except RateLimitedError as exc:
                self.audit_in(s, None, "auth.login", f"user:{name}", "failure", user=name,
                            extra={"reason": "locked"}, origin=origin, ip=ip)  # fmt: skip
                failure = exc
            if failure is None:
                row = find_user(s, name)
                ok, rehash = passwords.verify_password(row.password_hash if row else None, password)
                reason = (
                    "unknown_user" if row is None else
                    "no_password" if row.password_hash is None else
                    "bad_password" if not ok else
                    "user_disabled" if not row.active else None
                )  # fmt: skip
                if reason is not None or row is None:
                    self.limiter.failed(s, name, ip, now)
                    self.audit_in(s, None, "auth.login", f"user:{name}", "failure", user=name,
                                extra={"reason": reason}, origin=origin, ip=ip)  # fmt: skip
                    failure = AuthenticationError(BAD_LOGIN)
                else:
                    if rehash is not None:
                        row.password_hash = rehash
                    row.last_login_at = now
                    self.limiter.succeeded(s, name)
                    token: str | None = None
                    session_id: str | None = None
                    expires: datetime | None = None
                    if session:
                        token, srow = sessions.create_session(
                            s, row.id, ttl=self.settings.session_ttl, ip=ip, user_agent=user_agent, now=now
                        )
                        session_id, expires = srow.id, srow.expires_at
                    actor = Actor(
                        username=row.username,
                        roles=roles_of(s, row.id),
                        user_id=row.id,
                        ip=ip,
                        session=session_id,
                        via="session" if session else "password",
                        origin=origin,
                    )
                    self.audit_in(s, actor, "auth.login", f"user:{name}",
                                extra={"rehashed": rehash is not None} if rehash else None)  # fmt: skip
                    csrf = sessions.csrf_token(self.key, session_id) if session_id else None
                    return SignIn(actor, token, csrf, expires)
        assert failure is not None
        raise failure

    def resolve_session(self, token: str, *, ip: str | None = None, origin: str = "gui") -> Actor:
        """The actor of a session cookie; AuthenticationError when it has ended (or the user is disabled)."""
        return self._caller("session", token, partial(self._lookup_session, token), ip, origin)

    def _lookup_session(self, token: str) -> tuple[Actor, datetime | None]:
        with self.db.session() as s:
            row = sessions.resolve_session(s, token, idle=self.settings.session_idle)
            user = s.get(User, row.user_id) if row is not None else None
            if row is None or user is None or not user.active:
                raise AuthenticationError("the session has ended: sign in again")
            actor = Actor(username=user.username, roles=roles_of(s, user.id), user_id=user.id,
                          session=row.id, via="session")  # fmt: skip
            idle_end = row.last_seen_at + timedelta(seconds=self.settings.session_idle)
            return actor, min(row.expires_at, idle_end)

    def sign_out(self, token: str, actor: Actor | None = None) -> None:
        with self.db.session() as s:
            row = sessions.revoke_session(s, token)
            if row is not None:
                user = s.get(User, row.user_id)
                self.audit_in(s, actor, "auth.logout", f"user:{user.username if user else row.user_id}",
                            user=user.username if user else None)  # fmt: skip
        self._callers.clear()

    def check_csrf(
        self, actor: Actor, submitted: str | None, *, method: str = "POST", resource: str | None = None
    ) -> None:
        """For session-authenticated requests: raise CsrfError (recorded) unless the token matches."""
        if actor.via != "session" or actor.session is None:
            return  # tokens and the CLI are not sent by browsers: no CSRF exposure
        try:
            sessions.check_csrf(self.key, actor.session, submitted, method=method)
        except CsrfError:
            self._record(actor, "access.csrf", resource, "denied")
            raise
