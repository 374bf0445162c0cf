"""Stand-ins for Supabase Auth (GoTrue's admin API) and Storage, following
shared/reference/supabase.md: real auth.users / auth.identities / storage.objects rows in the
test database, bytes on disk, the bearer token's role checked. They can be told to fail
(HTTP 500 for chosen users, slow answers, dropped connections) and count every call.
They log method, path and status only: never a header."""
import base64
import hashlib
import hmac
import json
import re
import os
import secrets
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

JWT_SECRET = "stand-in-jwt-secret-of-at-least-32-characters"
SCHEMA_SQL = (Path(__file__).parent / "supabase_schema.sql").read_text()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(role, secret=JWT_SECRET, **claims):
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps({"role": role, "iss": "supabase", "exp": int(time.time()) + 3600, **claims}).encode())
    sig = b64url(hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest())
    return f"{header}.{payload}.{sig}"


def jwt_claims(token, secret=JWT_SECRET):
    """The token's claims when its HS256 signature checks out, else None."""
    try:
        header, payload, sig = token.split(".")
        expected = b64url(hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(sig, expected):
            return None
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except Exception:
        return None


def jwt_role(token, secret=JWT_SECRET):
    """The token's role when its HS256 signature checks out, else None."""
    claims = jwt_claims(token, secret)
    return claims.get("role") if claims else None


class StandIn:
    """Common HTTP plumbing: auth check, failure injection, call counting, a header-free log."""

    service = "stand-in"

    def __init__(self, conninfo, log_dir, tls=None):
        """`tls`: (certificate, key) PEM files to serve https with."""
        self.conninfo = conninfo
        self.db = psycopg.connect(conninfo, autocommit=True)
        self.db_lock = threading.Lock()
        self.calls = []
        self.fail_ids = set()      # ids (or paths) to answer 500
        self.delay = 0.0           # seconds before answering
        self.drop = False          # close connections without an answer
        self.log_path = Path(log_dir) / f"{self.service}-{os.getpid()}-{id(self)}.log"
        self.log = open(self.log_path, "w")
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm
            # and the client's delayed ACK hold every answer back 40 ms.
            disable_nagle_algorithm = True

            def handle_any(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.calls.append((method, urllib.parse.urlsplit(self.path).path))
                if outer.delay:
                    time.sleep(outer.delay)
                if outer.drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                status, payload, headers = outer.authorize(self.headers)
                if status is None:
                    status, payload, headers = outer.route(method, self.path, self.headers, body)
                raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                outer.log.write(f"{method} {urllib.parse.urlsplit(self.path).path} {status}\n")
                outer.log.flush()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):
                self.handle_any("GET")

            def do_POST(self):
                self.handle_any("POST")

            def do_PUT(self):
                self.handle_any("PUT")

            def do_DELETE(self):
                self.handle_any("DELETE")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        if tls:
            import ssl
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.url = f"https://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def authorize(self, headers):
        auth = headers.get("Authorization", "")
        if not headers.get("apikey"):
            return 401, {"message": "No API key found in request"}, None
        if not auth.startswith("Bearer "):
            return 401, {"code": "no_authorization", "message": "This endpoint requires a Bearer token"}, {"x-sb-error-code": "no_authorization"}
        role = jwt_role(auth[len("Bearer "):])
        if role is None:
            return 403, {"code": "bad_jwt", "message": "invalid JWT"}, {"x-sb-error-code": "bad_jwt"}
        if role not in ("service_role", "supabase_admin"):
            return 403, {"code": "not_admin", "message": "User not allowed"}, {"x-sb-error-code": "not_admin"}
        return None, None, None

    def count(self, method=None, prefix=""):
        return sum(1 for m, p in self.calls if (method is None or m == method) and p.startswith(prefix))

    def reset_calls(self):
        self.calls.clear()

    def sql(self, query, params=()):
        with self.db_lock:
            return self.db.execute(query, params)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.db.close()
        self.log.close()


class GoTrue(StandIn):
    service = "gotrue"

    def user_json(self, row):
        (uid, email, confirmed, app, user, created, updated) = row
        return {"id": str(uid), "aud": "authenticated", "role": "authenticated", "email": email,
                "email_confirmed_at": confirmed.isoformat() if confirmed else None,
                "app_metadata": app or {}, "user_metadata": user or {},
                "created_at": created.isoformat(), "updated_at": updated.isoformat()}

    def fetch(self, uid):
        return self.sql("SELECT id, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at "
                        "FROM auth.users WHERE id = %s", (uid,)).fetchone()

    def route(self, method, path, headers, body):
        parts = urllib.parse.urlsplit(path)
        segs = [s for s in parts.path.split("/") if s]
        if segs[:2] != ["admin", "users"]:
            return 404, {"code": "not_found", "message": "no route"}, None
        uid = segs[2] if len(segs) > 2 else None
        if uid and uid in self.fail_ids:
            return 500, {"code": "unexpected_failure", "message": "Internal Server Error (injected)"}, None
        data = json.loads(body) if body else {}
        if method == "POST" and uid is None:
            return self.create(data)
        if method == "GET" and uid is None:
            q = urllib.parse.parse_qs(parts.query)
            page, per = int(q.get("page", ["1"])[0]), int(q.get("per_page", ["50"])[0])
            rows = self.sql("SELECT id, email, email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at "
                            "FROM auth.users ORDER BY created_at DESC LIMIT %s OFFSET %s", (per, (page - 1) * per)).fetchall()
            total = self.sql("SELECT count(*) FROM auth.users").fetchone()[0]
            return 200, {"users": [self.user_json(r) for r in rows], "aud": "authenticated"}, {"X-Total-Count": str(total)}
        row = self.fetch(uid)
        if row is None:
            return 404, {"code": "user_not_found", "message": "User not found"}, {"x-sb-error-code": "user_not_found"}
        if method == "GET":
            return 200, self.user_json(row), None
        if method == "PUT":
            return self.update(uid, data, row)
        if method == "DELETE":
            if data.get("should_soft_delete"):
                return 400, {"code": "validation_failed", "message": "the stand-in does hard deletes only"}, None
            self.sql("DELETE FROM auth.users WHERE id = %s", (uid,))
            return 200, {}, None
        return 405, {"code": "method_not_allowed", "message": method}, None

    def create(self, data):
        uid = data.get("id") or str(uuid.uuid4())
        if data.get("id") in self.fail_ids:
            return 500, {"code": "unexpected_failure", "message": "Internal Server Error (injected)"}, None
        email = (data.get("email") or "").lower()
        # As GoTrue: against users' emails and against the identities of every provider.
        if self.sql("SELECT 1 FROM auth.users WHERE email = %s AND NOT is_sso_user UNION ALL "
                    "SELECT 1 FROM auth.identities WHERE email = %s", (email, email)).fetchone():
            return 422, {"code": "email_exists", "message": "A user with this email address has already been registered"}, {"x-sb-error-code": "email_exists"}
        app = {"provider": "email", "providers": ["email"], **(data.get("app_metadata") or {})}
        try:
            self.sql("INSERT INTO auth.users (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, "
                     "confirmation_token, recovery_token, email_change_token_new, email_change, raw_app_meta_data, "
                     "raw_user_meta_data, is_super_admin, created_at, updated_at) VALUES "
                     "('00000000-0000-0000-0000-000000000000', %s, 'authenticated', 'authenticated', %s, %s, "
                     "CASE WHEN %s THEN now() END, '', '', '', '', %s, %s, false, now(), now())",
                     (uid, email, secrets.token_hex(16), bool(data.get("email_confirm")), Jsonb(app), Jsonb(data.get("user_metadata") or {})))
        except psycopg.errors.UniqueViolation:
            return 500, {"code": "unexpected_failure", "message": "Database error creating new user"}, None
        self.sql("INSERT INTO auth.identities (provider_id, user_id, identity_data, provider, created_at, updated_at) "
                 "VALUES (%s, %s, %s, 'email', now(), now())", (uid, uid, Jsonb({"sub": uid, "email": email})))
        return 200, self.user_json(self.fetch(uid)), None

    def update(self, uid, data, row):
        app, user = dict(row[3] or {}), dict(row[4] or {})
        for target, patch in ((app, data.get("app_metadata")), (user, data.get("user_metadata"))):
            for k, v in (patch or {}).items():  # merged at the top level; null removes
                if v is None:
                    target.pop(k, None)
                else:
                    target[k] = v
        email = (data.get("email") or row[1]).lower()
        confirm = bool(data.get("email_confirm"))
        if confirm:
            # As GoTrue does on every update that carries email_confirm: confirmed again, and
            # the user's one-time tokens (a pending magic link among them) deleted.
            user["email_verified"] = True
        try:
            self.sql("UPDATE auth.users SET email = %s, raw_app_meta_data = %s, raw_user_meta_data = %s, "
                     "email_confirmed_at = CASE WHEN %s THEN now() ELSE email_confirmed_at END, updated_at = now() WHERE id = %s",
                     (email, Jsonb(app), Jsonb(user), confirm, uid))
        except psycopg.errors.UniqueViolation:
            return 500, {"code": "unexpected_failure", "message": "Database error updating user"}, None
        if confirm:
            self.sql("DELETE FROM auth.one_time_tokens WHERE user_id = %s", (uid,))
        self.sql("UPDATE auth.identities SET identity_data = identity_data || %s WHERE user_id = %s", (Jsonb({"email": email}), uid))
        return 200, self.user_json(self.fetch(uid)), None


# Storage's global UPLOAD_FILE_SIZE_LIMIT, as hosted Supabase sets it.
UPLOAD_FILE_SIZE_LIMIT = 50 * 1024 * 1024


class Storage(StandIn):
    service = "storage"

    def __init__(self, conninfo, log_dir, root, tls=None):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        super().__init__(conninfo, log_dir, tls)

    @staticmethod
    def error(status, error, message):
        # Storage's non-500 errors: HTTP 400, the real status inside the body.
        return 400, {"statusCode": str(status), "error": error, "message": message}, None

    def authorize(self, headers):
        """Storage takes any token it can verify; the caller's role then runs the queries, so
        row-level security decides. A missing or unverifiable token: 400 with the status inside."""
        auth = headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return self.error(400, "InvalidRequest", "headers must have required property 'authorization'")
        if jwt_claims(auth[len("Bearer "):]) is None:
            return self.error(403, "Unauthorized", "invalid signature")
        return None, None, None

    def read_as_caller(self, headers, bucket, name):
        """The object's row as the caller may see it: the query runs as the token's role with
        request.jwt.claims set, as the Storage server runs it (service_role bypasses RLS)."""
        claims = jwt_claims(headers["Authorization"][len("Bearer "):])
        role = claims.get("role")
        if role not in ("anon", "authenticated", "service_role"):
            return None
        with self.db_lock, self.db.transaction():
            self.db.execute(f"SET LOCAL ROLE {role}")
            self.db.execute("SELECT set_config('request.jwt.claims', %s, true)", (json.dumps(claims),))
            return self.db.execute("SELECT name FROM storage.objects WHERE bucket_id = %s AND name = %s", (bucket, name)).fetchone()

    def route(self, method, path, headers, body):
        segs = urllib.parse.urlsplit(path).path.split("/", 3)  # '', 'bucket' | 'object', bucket, path
        if method == "GET" and segs[1] == "object" and len(segs) == 4:
            # GET /object/authenticated/{bucket}/{path} (or /object/{bucket}/{path})
            rest = segs[2] + "/" + segs[3]
            if rest.startswith("authenticated/"):
                rest = rest[len("authenticated/"):]
            bucket, _, name = rest.partition("/")
            name = urllib.parse.unquote(name)
            if not self.read_as_caller(headers, bucket, name):
                return self.error(404, "not_found", "Object not found")
            return 200, self.read(bucket, name), None
        caller = jwt_role(headers["Authorization"][len("Bearer "):])
        if caller not in ("service_role", "supabase_admin"):
            # Writes run as the caller too: the portal's roles have no policy that lets them.
            return self.error(403, "Unauthorized", "new row violates row-level security policy")
        if method == "POST" and segs[1] == "bucket" and len(segs) == 2:
            data = json.loads(body)
            if self.sql("SELECT 1 FROM storage.buckets WHERE id = %s", (data["id"],)).fetchone():
                return 400, {"statusCode": "409", "error": "Duplicate", "code": "BucketAlreadyExists", "message": "The resource already exists"}, None
            self.sql("INSERT INTO storage.buckets (id, name, public, file_size_limit, allowed_mime_types) VALUES (%s, %s, %s, %s, %s)",
                     (data["id"], data["name"], bool(data.get("public")), data.get("file_size_limit"), data.get("allowed_mime_types")))
            return 200, {"name": data["name"]}, None
        if method == "GET" and segs[1] == "bucket" and len(segs) == 3:
            row = self.sql("SELECT id, name, public, file_size_limit, allowed_mime_types FROM storage.buckets WHERE id = %s", (segs[2],)).fetchone()
            if not row:
                return self.error(404, "NoSuchBucket", "Bucket not found")
            return 200, {"id": row[0], "name": row[1], "public": row[2], "file_size_limit": row[3], "allowed_mime_types": row[4]}, None
        if method == "POST" and segs[1] == "object" and len(segs) == 4:
            bucket, name = segs[2], urllib.parse.unquote(segs[3])
            if name in self.fail_ids:
                return 500, {"statusCode": "500", "error": "internal", "message": "Internal Server Error (injected)"}, None
            found = self.sql("SELECT file_size_limit, allowed_mime_types FROM storage.buckets WHERE id = %s", (bucket,)).fetchone()
            if not found:
                return self.error(404, "Bucket not found", "Bucket not found")
            if not re.fullmatch(r"[A-Za-z0-9_/!.*'() &$=@;:+,?-]*", name):
                return self.error(400, "InvalidKey", f"Invalid key: {name}")
            # Refused from Content-Length, as Storage does before reading a body.
            limit = min(x for x in (found[0], UPLOAD_FILE_SIZE_LIMIT) if x is not None)
            if int(headers.get("Content-Length") or 0) > limit:
                return self.error(413, "EntityTooLarge", "The object exceeded the maximum allowed size")
            if found[1] and headers.get("Content-Type", "application/octet-stream").split(";")[0] not in found[1]:
                return self.error(415, "InvalidMimeType", f"mime type {headers.get('Content-Type')} is not supported")
            exists = self.sql("SELECT 1 FROM storage.objects WHERE bucket_id = %s AND name = %s", (bucket, name)).fetchone()
            if exists and headers.get("x-upsert") != "true":
                return self.error(409, "Duplicate", "The resource already exists")
            target = self.root / bucket / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(body)
            meta = {"eTag": f'"{hashlib.md5(body).hexdigest()}"', "size": len(body),
                    "mimetype": headers.get("Content-Type", "application/octet-stream"),
                    "cacheControl": headers.get("cache-control", "no-cache")}
            row = self.sql("INSERT INTO storage.objects (bucket_id, name, metadata, version) VALUES (%s, %s, %s, %s) "
                           "ON CONFLICT (bucket_id, name) DO UPDATE SET metadata = EXCLUDED.metadata, version = EXCLUDED.version, "
                           "updated_at = now() RETURNING id", (bucket, name, Jsonb(meta), str(uuid.uuid4()))).fetchone()
            return 200, {"Id": str(row[0]), "Key": f"{bucket}/{name}"}, None
        if method == "DELETE" and segs[1] == "object" and len(segs) == 3:
            # DELETE /object/{bucket} {"prefixes": [...]}: at least one, at most 1000 names; the
            # answer lists the objects that existed and are gone (missing ones are no error).
            bucket, names = segs[2], json.loads(body).get("prefixes")
            if not isinstance(names, list) or not 1 <= len(names) <= 1000:
                return self.error(400, "invalid_request", "prefixes must hold 1 to 1000 names")
            if any(n in self.fail_ids for n in names):
                return 500, {"statusCode": "500", "error": "internal", "message": "Internal Server Error (injected)"}, None
            gone = self.sql("DELETE FROM storage.objects WHERE bucket_id = %s AND name = ANY(%s) RETURNING name, id", (bucket, names)).fetchall()
            for name, _ in gone:
                (self.root / bucket / name).unlink(missing_ok=True)
            return 200, [{"name": n, "id": str(i), "bucket_id": bucket} for n, i in gone], None
        return self.error(404, "not_found", "no route")

    def read(self, bucket, name):
        return (self.root / bucket / name).read_bytes()


def fresh_extension(cluster):
    """Recreate azure_sync in a database with Supabase's auth and storage schemas, emptied:
    CREATE EXTENSION then creates the portal policies too."""
    with cluster.connect() as c:
        c.execute("DROP EXTENSION IF EXISTS azure_sync CASCADE")
        c.execute("DROP SCHEMA IF EXISTS azure_sync CASCADE")
        c.execute(SCHEMA_SQL)
        c.execute("TRUNCATE auth.users CASCADE")
        c.execute("TRUNCATE storage.objects, storage.buckets CASCADE")
        c.execute("CREATE EXTENSION azure_sync")
