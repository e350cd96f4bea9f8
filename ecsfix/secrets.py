"""Decide whether an environment entry (or another plaintext container field) holds a secret.

Pure functions, standard library only: this runs on every environment entry of large monorepos,
so every regular expression is compiled once (on first use: `lazyre`, for a fast start) and name
verdicts are memoised per configuration.

Two independent signals (SPEC section 4):

* the **name**: tokenised into words (``_ - . space`` and camelCase boundaries) and matched on
  whole tokens -- ``KEYBOARD_LAYOUT`` is not a key, ``PASSENGER_COUNT`` is not a pass -- with
  guards for names that *point to* a secret or describe one (``DB_SECRET_ARN``,
  ``PASSWORD_MIN_LENGTH``, ``TOKEN_TTL_SECONDS``, ``OAUTH_CLIENT_ID``...);
* the **value**: well-known credential shapes (AWS keys, PEM private keys, JWTs, URLs with a
  password, vendor tokens, ``Bearer``/``Basic`` credentials, ``--password=...`` arguments,
  ``Password=...`` connection strings) and, last, generic high-entropy strings with guards
  against hashes, UUIDs, versions, paths, URLs, image references, ARNs and host names.

Nothing here ever puts a value (or its length) into a ``why`` text; :func:`redact` is the only
way a value is shown, and it reveals at most its first two characters.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import partial

from . import nametokens
from .detectconfig import NAME_CACHE_MAX, VALUE_CACHE_LEN, VALUE_CACHE_MAX, Compiled, DetectConfig
from .lazyre import LazyPattern
from .nametokens import DIGITS, tokens

_lazy = partial(LazyPattern, globals())

__all__ = [
    "DetectConfig",
    "Verdict",
    "benign_value",
    "browser_public",
    "carries_credentials",
    "prose_says_secret",
    "classify",
    "classify_value",
    "key_pair",
    "name_is_secret",
    "pointer_word",
    "points_elsewhere",
    "redact",
    "secret_flag_name",
]


@dataclass(frozen=True)
class Verdict:
    reason: str  # "name", "value" or "both"
    why: str  # human text, never the value nor its length


# --------------------------------------------------------------------------- names


# Tokens that are secret on their own.
_SECRET_TOKENS = frozenset(
    {
        "PASSWORD", "PASSWORDS", "PASSWD", "PASSWRD", "PASS", "PWD", "PASSPHRASE", "PASSCODE",
        "SECRET", "SECRETS", "TOKEN", "TOKENS", "APIKEY", "APIKEYS", "APITOKEN",
        "CREDENTIAL", "CREDENTIALS", "CREDS", "CRED", "DSN",
        "PRIVATEKEY", "PRIVKEY", "SECRETKEY", "ACCESSKEY", "AUTHTOKEN", "ACCESSTOKEN",
        "CONNSTR", "CONNSTRING", "CONNECTIONSTRING", "CONNECTIONSTRINGS",
    }
)  # fmt: skip
# A token ending with one of these is the same word glued to a prefix (PGPASSWORD, MYSQLPWD is not).
_SECRET_SUFFIXES = ("PASSWORD", "PASSWD", "PASSWRD", "SECRET", "TOKEN", "APIKEY", "PASSPHRASE", "CREDENTIALS")
# X followed by KEY / KEYS.
_KEY_QUALIFIERS = frozenset(
    {
        "API", "PRIVATE", "ACCESS", "SECRET", "SIGNING", "SIGN", "MASTER", "ENCRYPTION", "ENCRYPT",
        "DECRYPTION", "DECRYPT", "JWT", "JWS", "SESSION", "HMAC", "LICENSE", "LICENCE", "ADMIN",
        "APP", "APPLICATION", "SSH", "DEPLOY", "GPG", "PGP", "AES", "CIPHER", "CRYPTO", "SHARED",
        "STORAGE", "ACCOUNT", "SUBSCRIPTION", "WRITE", "INGEST", "AUTH", "TLS", "SSL", "COOKIE",
        "WEBHOOK", "SERVICE", "SDK", "FERNET",
        # vendors whose bare "<VENDOR>_KEY" is a server-side secret (a publishable key says so: *_PUBLISHABLE_KEY)
        "MAILGUN", "SENDGRID", "MANDRILL", "POSTMARK", "SPARKPOST", "MAILJET", "OPENAI", "ANTHROPIC", "DATADOG",
        "TWILIO", "BRAINTREE", "HEROKU", "CLOUDFLARE", "NEWRELIC", "ROLLBAR", "HONEYBADGER",
    }
)  # fmt: skip
_AUTH_TOKENS = frozenset({"AUTH", "AUTHORIZATION", "AUTHENTICATION", "BASICAUTH", "HTTPAUTH", "PROXYAUTH"})
# AUTH is a secret when it is the last token or followed by one of these.
_AUTH_FOLLOWERS = frozenset(
    {"TOKEN", "TOKENS", "KEY", "KEYS", "DATA", "CONFIG", "STRING", "VALUE", "HASH", "B64", "BASE64",
     "JSON", "PASS", "PASSWORD", "SECRET", "CREDENTIALS", "CREDS", "CODE"}
)  # fmt: skip
# Tokens after the last secret token that make the name a pointer or metadata, not a secret.
_POINTER_TOKENS = frozenset(
    {
        "ARN", "ARNS", "NAME", "NAMES", "ID", "IDS", "KEYID", "REF", "REFERENCE",
        "FILE", "FILES", "FILENAME", "PATH", "PATHS", "DIR", "DIRS", "DIRECTORY", "FOLDER",
        "LOCATION", "MOUNT", "ENDPOINT", "ENDPOINTS", "URL", "URLS", "URI", "URIS", "HOST", "HOSTS",
        "HOSTNAME", "PORT", "ADDR", "ADDRESS", "SERVER", "HEADER", "HEADERS",
        "PARAM", "PARAMS", "PARAMETER", "PARAMETERS", "VAR", "VARIABLE",
        "LENGTH", "LEN", "MIN", "MAX", "MINIMUM", "MAXIMUM", "SIZE", "BITS", "BYTES", "COUNT", "LIMIT", "THRESHOLD",
        "ROUNDS", "COST", "ITERATIONS", "RETRIES", "ATTEMPTS",
        "TTL", "DAYS", "HOURS", "MINUTES", "MINS", "SECONDS", "SECS", "SEC", "MS", "MILLIS",
        "MILLISECONDS", "TIMEOUT", "EXPIRY", "EXPIRES", "EXPIRE", "EXPIRATION", "LIFETIME",
        "DURATION", "AGE", "INTERVAL", "PERIOD", "WINDOW", "DELAY",
        "ENABLED", "ENABLE", "DISABLED", "DISABLE", "REQUIRED", "REQUIRE", "OPTIONAL", "FLAG",
        "MODE", "TYPE", "TYPES", "KIND", "PROVIDER", "PROVIDERS", "METHOD", "METHODS",
        "ALGORITHM", "ALGORITHMS", "ALGO", "ALG", "VERSION", "VERSIONS", "STAGE", "REGION",
        "POLICY", "POLICIES", "ROTATION", "STRATEGY", "SCHEME", "FORMAT", "ENCODING",
        "STORE", "BACKEND", "MANAGER", "SOURCE", "ISSUER", "AUDIENCE", "AUD", "ISS", "SCOPE",
        "SCOPES", "USER", "USERS", "USERNAME", "EMAIL", "PREFIX", "SUFFIX", "DOMAIN", "REALM",
        "TENANT", "BUCKET", "TABLE", "QUEUE", "TOPIC", "FIELD", "COLUMN", "LABEL", "TAG", "TAGS",
        "KMS", "COMPLEXITY", "STRENGTH", "PATTERN", "REGEX", "RULE", "RULES", "CHECK",
        "VALIDATION", "LEVEL", "DEBUG", "PAIR", "KEYPAIR",
    }
)  # fmt: skip
# A token right before the secret token that makes the name a quantity (MAX_TOKENS).
_QUANTITY_TOKENS = frozenset({"MAX", "MIN", "MAXIMUM", "MINIMUM", "COUNT", "NUM", "LIMIT"})
# Tokens before the secret token that make the name a switch (ENABLE_AUTH, USE_SECRETS_MANAGER,
# MYSQL_ALLOW_EMPTY_PASSWORD).
_FLAG_VERBS = frozenset(
    {"ENABLE", "ENABLED", "DISABLE", "DISABLED", "USE", "REQUIRE", "REQUIRED", "SKIP", "ALLOW",
     "FORCE", "IS", "HAS", "SHOULD", "NO"}
)  # fmt: skip
# Prefixes of settings that front-end build tools put into the JavaScript shipped to browsers:
# a key under them (a Pusher app key, a maps API key) is a public client key.
_BROWSER_PREFIXES = frozenset({"VITE", "GATSBY", ("NEXT", "PUBLIC"), ("REACT", "APP"), ("VUE", "APP"),
                               ("NUXT", "PUBLIC"), ("EXPO", "PUBLIC")})
_ECS8_NAMES = frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "ECS_ENGINE_AUTH_DATA"})
# Names with a conventional non-secret meaning despite their tokens.
_NEVER_SECRET_NAMES = frozenset({"PWD", "OLDPWD", "GOOGLE_APPLICATION_CREDENTIALS"})


# PW is a password only as the last word (SMTP_PW, ADMIN_PW2); elsewhere it is too short to
# say so (Playwright's PW_TEST_* settings).
_LAST_ONLY_TOKENS = frozenset({"PW"})
_TRIGGER_TOKENS = _SECRET_TOKENS | _AUTH_TOKENS | _LAST_ONLY_TOKENS | {"KEY", "KEYS", "STRING", "STRINGS", "STR"}
# Glued spellings of the words of an access key pair (AccessKeyId, SECRETACCESSKEY).
_PAIR_WORDS = {"ACCESSKEYID": ("ACCESS", "KEY", "ID"), "ACCESSKEY": ("ACCESS", "KEY"), "KEYID": ("KEY", "ID"),
               "SECRETACCESSKEY": ("SECRET", "ACCESS", "KEY"), "SECRETKEY": ("SECRET", "KEY")}
_GLUED_SUFFIX_RE = _lazy("_GLUED_SUFFIX_RE", r"[A-Z0-9](?:" + "|".join(_SECRET_SUFFIXES) + r")[0-9]*(?:_|$)")


def _browser_public(toks: list[str]) -> bool:
    return len(toks) > 2 and (toks[0] in _BROWSER_PREFIXES or tuple(toks[:2]) in _BROWSER_PREFIXES)


def browser_public(name: str) -> bool:
    """The name is a setting a front-end build puts into the JavaScript it ships (VITE_*,
    NEXT_PUBLIC_*, REACT_APP_*...): a key under it is a public client key."""
    return _browser_public(tokens(name))


def _find_hits(toks: list[str], extra: tuple[tuple[str, ...], ...]) -> list[tuple[int, int, str, bool]]:
    """(start, end, label, weak) of every secret term in the tokens; weak = an AUTH-only term."""
    hits: list[tuple[int, int, str, bool]] = []
    n = len(toks)
    for i, t in enumerate(toks):
        nxt = toks[i + 1] if i + 1 < n else None
        if t in _SECRET_TOKENS:
            if t == "PASS" and nxt in ("THROUGH", "THRU"):
                continue
            hits.append((i, i, t, False))
        elif t in ("KEY", "KEYS") and i > 0 and toks[i - 1] in _KEY_QUALIFIERS:
            hits.append((i - 1, i, f"{toks[i - 1]}_KEY", False))
        elif t in ("STRING", "STRINGS", "STR") and i > 0 and toks[i - 1] in ("CONNECTION", "CONN"):
            hits.append((i - 1, i, "CONNECTION_STRING", False))
        elif t in _AUTH_TOKENS:
            if (
                nxt is None
                or nxt in _AUTH_FOLLOWERS
                or (nxt == "HEADER" and i + 2 < n and toks[i + 2] in ("VALUE", "VAL"))
            ):
                hits.append((i, i, "AUTH" if t == "AUTHORIZATION" else t, True))
        elif t in _LAST_ONLY_TOKENS and nxt is None:
            hits.append((i, i, t, False))
        elif len(t) > 6 and t.endswith(_SECRET_SUFFIXES):
            label = next(s for s in _SECRET_SUFFIXES if t.endswith(s))
            hits.append((i, i, label, False))
    for seq in extra:
        k = len(seq)
        for i in range(n - k + 1):
            if tuple(toks[i : i + k]) == seq:
                hits.append((i, i + k - 1, "_".join(seq), False))
    hits.sort(key=lambda h: (h[1], h[0]))
    return hits


def _name_verdict(name: str, cfg: DetectConfig) -> tuple[str, bool] | None:
    """(why, weak) when the name says secret; weak means only an AUTH token matched."""
    comp = cfg._compiled
    cache = comp.name_cache
    try:
        return cache[name]
    except KeyError:
        pass
    result = _name_verdict_uncached(name, comp)
    if len(cache) >= NAME_CACHE_MAX:
        cache.clear()
    cache[name] = result
    return result


def _name_verdict_uncached(name: str, comp: Compiled) -> tuple[str, bool] | None:
    upper = name.strip().upper()
    if not upper:
        return None
    if comp.allowed_re is not None and comp.allowed_re.fullmatch(upper):
        return None
    for rx in comp.extra_name_res:
        if rx.fullmatch(upper):
            return "name matches a configured secret-name pattern", False
    raw = tokens(name)
    canon = "_".join(raw)
    if canon in _ECS8_NAMES:
        return f"name {canon} is one of the names AWS Security Hub control ECS.8 flags", False
    if canon in _NEVER_SECRET_NAMES:
        return None
    # AWS_ACCESS_KEY_ID inside a longer name (PROD_AWS_ACCESS_KEY_ID) is still AWS's key id,
    # unless a pointer word follows it (AWS_ACCESS_KEY_ID_PARAMETER names where it is).
    at = f"_{canon}_".find("_AWS_ACCESS_KEY_ID_") if "AWS_ACCESS_KEY_ID" in canon else -1
    if at != -1 and _POINTER_TOKENS.isdisjoint(canon[at + len("AWS_ACCESS_KEY_ID") :].split("_")):
        return "name contains AWS_ACCESS_KEY_ID (flagged by AWS Security Hub control ECS.8)", False
    toks = [t.rstrip(DIGITS) or t for t in raw]
    pair = _key_pair(toks)
    if pair is not None and pair[0] == "id" and "AWS" in pair[1]:
        # AWS_S3_ACCESS_KEY_ID, AWS_DYNAMODB_ACCESS_KEY_ID: an AWS key id whatever the service word
        return "name is an AWS access key id (AWS Security Hub control ECS.8 flags AWS_ACCESS_KEY_ID)", False
    if not comp.extra_tokens and _TRIGGER_TOKENS.isdisjoint(toks) and not _GLUED_SUFFIX_RE.search(canon):
        return None  # fast path: nothing that could start a secret term
    hits = _find_hits(toks, comp.extra_tokens)
    if not hits:
        return None
    start, end, label, weak = hits[-1]
    if start and toks[start - 1] in _QUANTITY_TOKENS:
        return None  # MAX_TOKENS, OPENAI_MAX_TOKENS: a quantity
    trailing = toks[end + 1 :]
    if trailing:
        if len(trailing) >= 2 and trailing[-2] == "HEADER" and trailing[-1] in ("VALUE", "VAL"):
            trailing = trailing[:-2]
        if any(t in _POINTER_TOKENS for t in trailing):
            return None
    if any(t in _FLAG_VERBS for t in toks[: min(h[0] for h in hits)]):
        return None  # ALLOW_NO_PASSWORD, IS_TOKEN_SET: a switch (TEST_PASSWORD_NO_PASSWORD is not)
    if label.endswith("_KEY") and _browser_public(toks):
        return None  # VITE_PUSHER_APP_KEY, NEXT_PUBLIC_MAPS_API_KEY: built into the browser bundle, public by design
    if any(not h[3] for h in hits):
        weak = False
    return f"name contains the token {label}", weak


def _key_pair(toks: list[str]) -> tuple[str, tuple[str, ...]] | None:
    """("id" | "secret", the words before) for the two halves of an access key pair:
    S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY, LockAccessKeyId / LockSecretAccessKey."""
    if not toks or toks[-1] not in ("ID", "KEY", "KEYID", "ACCESSKEYID", "ACCESSKEY", "SECRETACCESSKEY"):
        return None
    words: list[str] = []
    for t in toks:
        words.extend(_PAIR_WORDS.get(t, (t,)))
    if words[-3:] == ["ACCESS", "KEY", "ID"]:
        return "id", tuple(words[:-3])
    if words[-3:] == ["SECRET", "ACCESS", "KEY"]:
        return "secret", tuple(words[:-3])
    return None


def key_pair(name: str) -> tuple[str, str] | None:
    """("id" | "secret", stem) when the name is one half of an access key pair, the stem being the
    words before it (``DelegationsRunner__LockAccessKeyId`` -> ("id", "DELEGATIONS_RUNNER_LOCK")):
    an id and a secret with the same stem in one container are one credential."""
    if "KEY" not in name.upper():
        return None
    pair = _key_pair(tokens(name))
    return (pair[0], "_".join(pair[1])) if pair is not None else None


_WORD_RE = _lazy("_WORD_RE", r"[A-Za-z_][A-Za-z0-9_-]*")


def points_elsewhere(reference: str) -> bool:
    """Whether a reference names where a secret is, or something about it, rather than the secret:
    its last name ends with a pointer word (`aws_secretsmanager_secret.db.arn`,
    `var.db_password_arn`, `aws_ssm_parameter.token.name`, `var.password_length`). An entry whose
    name says secret but whose value is such a reference passes an ARN or a name, not a secret
    (and moving it to `secrets` would hand the container the secret instead)."""
    return pointer_word(reference) is not None


def pointer_word(text: str) -> str | None:
    """The pointer word (ARN, NAME, ID, PATH...) a reference or a name ends with, or None."""
    words = _WORD_RE.findall(text)
    toks = tokens(words[-1]) if words else []
    last = (toks[-1].rstrip(DIGITS) or toks[-1]) if toks else None
    return last if last in _POINTER_TOKENS else None


# Names of data stores and brokers whose URL (DATABASE_URL, REDIS_URL, MONGO_URI, CELERY_BROKER_URL,
# SQLALCHEMY_DATABASE_URI, AIRFLOW__CORE__SQL_ALCHEMY_CONN) conventionally embeds credentials.
_STORE_TOKENS = frozenset(
    {"DATABASE", "DB", "SQL", "SQLALCHEMY", "ALCHEMY", "POSTGRES", "POSTGRESQL", "PG", "PSQL", "MYSQL",
     "MARIADB", "MSSQL", "ORACLE", "JDBC", "DATASOURCE", "MONGO", "MONGODB", "REDIS", "VALKEY", "MEMCACHED",
     "AMQP", "RABBIT", "RABBITMQ", "BROKER", "CELERY", "ELASTICSEARCH", "OPENSEARCH", "CASSANDRA", "NEO4J",
     "CLICKHOUSE", "COUCHDB", "COUCHBASE", "INFLUX", "INFLUXDB", "SMTP", "MAIL"}
)  # fmt: skip
_URL_TOKENS = frozenset({"URL", "URI", "CONN", "BACKEND"})  # not CONNECTION: Laravel's DB_CONNECTION is a driver name


def carries_credentials(name: str) -> bool:
    """A name that conventionally holds a URL or connection string with credentials in it:
    DATABASE_URL, REDIS_URL, MONGO_URI, CELERY_RESULT_BACKEND, AIRFLOW_CONN_WAREHOUSE (Airflow's
    connections are URIs). The value decides whether it does; this says where to look."""
    toks = [t.rstrip(DIGITS) or t for t in tokens(name)]
    if len(toks) >= 3 and toks[0] == "AIRFLOW" and toks[1] == "CONN":
        return True
    if len(toks) < 2 or toks[-1] not in _URL_TOKENS:
        return False
    if toks[-1] == "BACKEND" and toks[-2] != "RESULT":
        return False
    return not _STORE_TOKENS.isdisjoint(toks[:-1])


# Words of a description that make it about something else than the secret itself ("ARN of the
# secret", "Name of the SSM parameter holding the password", "Whether to create the secret").
_PROSE_POINTERS = frozenset(
    {"ARN", "ARNS", "NAME", "NAMES", "ID", "IDS", "PATH", "FILE", "FILENAME", "LOCATION", "PARAMETER",
     "LENGTH", "SIZE", "TTL", "EXPIRY", "ROTATION", "VERSION", "POLICY", "KMS", "PREFIX", "SUFFIX", "BUCKET",
     "WHETHER", "FLAG", "TOGGLE", "NUMBER", "COUNT", "MINIMUM", "MAXIMUM", "MIN", "MAX", "DAYS", "SECONDS",
     "PAIR", "KEYPAIR", "GENERATE", "GENERATED", "CREATE", "ROTATE"}
)  # fmt: skip


def prose_says_secret(text: str) -> str | None:
    """The kind of secret a variable's description says it holds ("Server-side SDK key" ->
    SDK_KEY, "Password of the admin user" -> PASSWORD), or None: prose that names a pointer, a
    switch or a quantity ("ARN of the DB password secret", "Whether to enable auth", "Password
    length") describes something else."""
    toks = [t.rstrip(DIGITS) or t for t in nametokens.SPLIT_RE.split(text.upper()) if t]
    if not toks or not _PROSE_POINTERS.isdisjoint(toks) or not _FLAG_VERBS.isdisjoint(toks):
        return None
    # weak AUTH terms and PASS ("extra arguments to pass to ...": a verb in prose) say nothing here;
    # nor does a term after a preposition ("user email returned in the token", "claim from the JWT"):
    # it says where the value is found, not what it is
    hits = [h for h in _find_hits(toks, ()) if not h[3] and h[2] != "PASS" and not _after_preposition(toks, h[0])]
    return hits[-1][2] if hits else None


_PROSE_PREPOSITIONS = frozenset({"IN", "FROM", "INSIDE", "WITHIN", "VIA", "INTO"})  # not OF: "map of secrets"
_ARTICLES = frozenset({"A", "AN", "THE", "ITS", "EACH", "EVERY"})


def _after_preposition(toks: list[str], start: int) -> bool:
    i = start - 1
    while i >= 0 and toks[i] in _ARTICLES:
        i -= 1
    return i >= 0 and toks[i] in _PROSE_PREPOSITIONS


def benign_value(value: str, *, config: DetectConfig | None = None) -> bool:
    """Never a secret whatever the name says: empty, a boolean, a number, a duration, a region,
    an ARN, a path, a public key."""
    return _value_why(value, config or _DEFAULT) is _BENIGN


def name_is_secret(name: str, config: DetectConfig | None = None) -> str | None:
    """The reason the name says "secret" (e.g. ``name contains the token PASSWORD``), or None."""
    if not name:
        return None
    verdict = _name_verdict(name, config or _DEFAULT)
    return verdict[0] if verdict else None


_FLAG_RE = _lazy("_FLAG_RE", r"--?([A-Za-z][A-Za-z0-9_.-]*)")


def secret_flag_name(arg: str, *, config: DetectConfig | None = None) -> bool:
    """True for a command-line flag whose name is secret-like (``--password``, ``--api-key``,
    ``--token``); the caller then treats the *next* argument as the secret.  Single-letter flags
    (``-p``) are too vague and never count; neither do ``--password-file`` or ``--no-auth``."""
    m = _FLAG_RE.fullmatch(arg.strip())
    if m is None or len(m.group(1)) < 2:
        return False
    return name_is_secret(m.group(1), config) is not None


# --------------------------------------------------------------------------- values: helpers

_SENTINEL = "\x00"
_SSH_KEY_WHY = "name contains the token SSH_KEY"
_DSN_WHY = "name contains the token DSN"
# A Sentry DSN: a public key as the user part, no password, a Sentry host (documented as safe to expose).
_PUBLIC_DSN_RE = _lazy("_PUBLIC_DSN_RE",
    r"https?://[0-9a-f]{32}@(?:o\d+\.)?(?:ingest\.(?:[a-z]{2}\.)?)?sentry\.io/\d+")
_KEY_PAIR_NAME_RE = _lazy("_KEY_PAIR_NAME_RE", r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# An OpenSSH public key (`ssh-ed25519 AAAA... comment`): public by design.
_PUBLIC_KEY_RE = _lazy("_PUBLIC_KEY_RE",
    r"(?:ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp\d+|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)"
    r"\s+AAAA[A-Za-z0-9+/]+={0,3}(?:\s+\S+)?\s*")
_BOOLISH = frozenset(
    {"true", "false", "yes", "no", "on", "off", "y", "n", "t", "f", "enabled", "disabled",
     "enable", "disable", "none", "null", "nil", "undefined"}
)  # fmt: skip

_BENIGN_RE = _lazy("_BENIGN_RE",
    r"""
      [+-]?(?:\d+(?:\.\d+)?|\.\d+)(?:e[+-]?\d+)?                      # number
    | (?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d|w))+                     # Go-style duration 1h30m
    | \d+(?:\.\d+)?\ ?(?:secs?|seconds?|mins?|minutes?|hrs?|hours?|days?|weeks?|years?|y
                      |[kmgtp]i?b?|[kmgtp]ib|bytes?|%)                 # 30 seconds, 512Mi, 10MB, 50%
    | p(?=\d|t\d)(?:\d+[ymwd])*(?:t(?:\d+(?:\.\d+)?[hms])+)?             # ISO 8601 duration (PT30M)
    | [a-z]{2}(?:-gov|-iso[a-z]?)?-(?:north|south|east|west|central|northeast|northwest
                                     |southeast|southwest)-\d{1,2}[a-z]?  # AWS region / AZ
    | arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{0,12}:\S+                # any ARN (points to a thing)
    """,
    re.VERBOSE,  # matched against the lower-cased value: IGNORECASE costs ms at import
)
_PATH_RE = _lazy("_PATH_RE", r"(?:~|\.{1,2})?/[\w.@-]+(?:/[\w.@-]+)*/?")


def _template_literal(value: str) -> tuple[str, bool]:
    """The value with each ``${...}`` / ``%{...}`` replaced by one sentinel character, and
    whether anything was replaced.  Unknown pieces must never count as secret material."""
    if "${" not in value and "%{" not in value:
        return value, False
    out: list[str] = []
    i = 0
    n = len(value)
    found = False
    while i < n:
        j_dollar = value.find("${", i)
        j_pct = value.find("%{", i)
        cands = [j for j in (j_dollar, j_pct) if j != -1]
        if not cands:
            out.append(value[i:])
            break
        j = min(cands)
        start = j - 1 if j > 0 and value[j - 1] == value[j] else j  # $${ / %%{ escapes
        out.append(value[i:start])
        depth = 0
        k = j + 1
        quote = False
        while k < n:
            ch = value[k]
            if quote:
                if ch == "\\":
                    k += 1
                elif ch == '"':
                    quote = False
            elif ch == '"':
                quote = True
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    break
            k += 1
        out.append(_SENTINEL)
        found = True
        i = k + 1
    return "".join(out), found


def _is_benign(v: str) -> bool:
    """Empty, boolean, number, duration, size, region, ARN, or a file / parameter path."""
    s = v.strip()
    if not s:
        return True
    low = s.lower()
    if low in _BOOLISH or _BENIGN_RE.fullmatch(low):
        return True
    if s[0] in "/~." and _PATH_RE.fullmatch(s):
        return not _looks_random(s.replace("/", ""))
    return s[0] in "se" and bool(_PUBLIC_KEY_RE.fullmatch(s))


def _entropy(s: str) -> float:
    n = len(s)
    log2 = math.log2
    return log2(n) - sum(c * log2(c) for c in Counter(s).values()) / n


_ALPHA_CHUNK_RE = _lazy("_ALPHA_CHUNK_RE", r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_VOWELS = frozenset("aeiouyAEIOUY")


def _wordy_fraction(s: str) -> float:
    """Share of the letters that sit in word-like chunks (``service``, ``Production``)."""
    letters = 0
    wordy = 0
    has_lower = any(c.islower() for c in s)
    for chunk in _ALPHA_CHUNK_RE.findall(s):
        letters += len(chunk)
        if len(chunk) < 4:
            continue
        if chunk.isupper() and has_lower:
            continue  # upper-case runs inside mixed-case strings are noise, not words
        vowels = 0
        run = longest = 0
        for c in chunk:
            if c in _VOWELS:
                vowels += 1
                run = 0
            else:
                run += 1
                longest = max(longest, run)
        if 0.25 <= vowels / len(chunk) <= 0.7 and longest <= 3:
            wordy += len(chunk)
    return wordy / letters if letters else 0.0


def _looks_random(s: str) -> bool:
    """High Shannon entropy with mixed character classes, and not made of words."""
    n = len(s)
    if n < 16:
        return False
    lower = sum(map(str.islower, s))
    upper = sum(map(str.isupper, s))
    digit = sum(map(str.isdigit, s))
    other = n - lower - upper - digit
    classes = (lower > 0) + (upper > 0) + (digit > 0) + (other > 0)
    if classes < 2 or (lower + upper) == 0:
        return False
    threshold = min(4.2, math.log2(n) - 0.7)
    if classes == 2 and (upper == 0 or lower == 0) and other == 0:
        # one letter case + digits (k8s7d9f0a2...): a smaller alphabet, so a lower bar, but
        # only when digits are well mixed in and the string is long enough
        if digit < n * 0.15 or n < 24:
            return False
        threshold -= 0.3
    if _entropy(s) < threshold:
        return False
    return _wordy_fraction(s) < 0.5


# --------------------------------------------------------------------------- values: detectors

_PEM_RE = _lazy("_PEM_RE", r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
_AWS_SECRET_MIX_RE = _lazy("_AWS_SECRET_MIX_RE", r"[0-9/+]")
_AWS_SECRET_RE = _lazy("_AWS_SECRET_RE", r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")

_VENDOR_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}", "an AWS access key id"),
    (r"eyJ[A-Za-z0-9_-]{7,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*", "a JWT"),
    (r"(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,255}", "a GitHub token"),
    (r"github_pat_[A-Za-z0-9_]{22,255}", "a GitHub fine-grained token"),
    (r"gl(?:pat|ptt|dt|rt|soat)-[A-Za-z0-9_-]{20,}", "a GitLab token"),
    (r"xox[abposr]-[A-Za-z0-9-]{10,}", "a Slack token"),
    (r"xapp-\d-[A-Za-z0-9-]{10,}", "a Slack app token"),
    (
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_+-]{16,}",
        "a Slack webhook URL",
    ),
    (r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}", "a Stripe secret key"),
    (r"whsec_[A-Za-z0-9+/]{24,}", "a Stripe webhook signing secret"),
    (r"AIza[0-9A-Za-z_-]{35}", "a Google API key"),
    (r"SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}", "a SendGrid API key"),
    (r"SK[0-9a-fA-F]{32}", "a Twilio API key"),
    (r"npm_[A-Za-z0-9]{36}", "an npm token"),
    (r"sk-ant-[A-Za-z0-9_-]{20,}", "an Anthropic API key"),
    (r"hf_[A-Za-z0-9]{30,}", "a Hugging Face token"),
    (r"pypi-AgE[A-Za-z0-9_-]{50,}", "a PyPI token"),
    (r"dop_v1_[a-f0-9]{64}", "a DigitalOcean token"),
    (r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}", "a Shopify token"),
    (r"hv[sb]\.[A-Za-z0-9_-]{24,}", "a HashiCorp Vault token"),
    (r"NRAK-[A-Z0-9]{27}", "a New Relic API key"),
    (r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_-]{60,}", "a Terraform Cloud token"),
)
# One alternation without groups or look-arounds, so that `re` can skip ahead on first
# characters (named groups make it ~6x slower); boundaries are checked on each hit instead.
_VENDOR_RE = _lazy("_VENDOR_RE", "|".join(f"(?:{pat})" for pat, _what in _VENDOR_PATTERNS))
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
# OpenAI keys: "sk-" at a token start, then 20+ characters mixing cases and digits.
_OPENAI_RE = _lazy("_OPENAI_RE", r"(?<![A-Za-z0-9_-])sk-(?:proj-|svcacct-|admin-)?(?P<tail>[A-Za-z0-9_-]{20,})")

_SCHEME_END_RE = _lazy("_SCHEME_END_RE", r"(?<=[A-Za-z0-9+.-])://")
_AUTHORITY_END_RE = _lazy("_AUTHORITY_END_RE", r"[\s/?#]")
_BEARER_RE = _lazy("_BEARER_RE", r"(?<![A-Za-z0-9_-])bearer\s+(?P<t>[A-Za-z0-9._~+/=-]+)", re.IGNORECASE)
_BASIC_RE = _lazy("_BASIC_RE",
    r"(?<![A-Za-z0-9_-])basic\s+(?P<t>[A-Za-z0-9+/]{6,}={0,2})(?![A-Za-z0-9+/=])", re.IGNORECASE
)
_HEADER_RE = _lazy("_HEADER_RE",
    r"(?<![A-Za-z0-9_-])(?:x-api-key|api-key|x-auth-token|private-token|x-access-token|x-api-token)"
    r"\s*:\s*(?P<t>[^\s\"',;]+)",
    re.IGNORECASE,
)
# key=value (env assignments, -Dprop=value, --flag=value, Password=...; connection strings, ?token=).
_ASSIGN_RE = _lazy("_ASSIGN_RE",
    r"(?:^|(?<=[\s;?&,\"'(]))(?P<k>(?:--?|-D)?[A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*"
    r"(?P<v>\"[^\"]*\"|'[^']*'|[^\s;&,\"')]+)"
)
# --flag value (inside one shell string).
_FLAG_SPACE_RE = _lazy("_FLAG_SPACE_RE",
    r"(?:^|(?<=[\s\"']))(?P<k>--?[A-Za-z][A-Za-z0-9_.-]+)\s+(?P<v>\"[^\"]*\"|'[^']*'|[^\s\"']+)"
)
# "key": "value" inside JSON embedded in a value.
_JSON_PAIR_RE = _lazy("_JSON_PAIR_RE", r"\"(?P<k>[A-Za-z_][A-Za-z0-9_.-]*)\"\s*:\s*\"(?P<v>[^\"]*)\"")

_WS_RE = _lazy("_WS_RE", r"\s")
_HEX_RE = _lazy("_HEX_RE", r"(?:0x)?[0-9a-fA-F]+")
_UUID_RE = _lazy("_UUID_RE", r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEXRUN_RE = _lazy("_HEXRUN_RE", r"(?:sha(?:1|256|512):)?[0-9a-f]{16,}|[0-9A-F]{32,}")
_VERSION_RE = _lazy("_VERSION_RE", r"[vV]?\d+(?:\.\d+)+(?:[-+.][0-9A-Za-z.+-]*)?")
_IMAGE_RE = _lazy("_IMAGE_RE",
    r"[a-z0-9][a-z0-9.-]*(?::\d+)?(?:/[a-z0-9._-]+)+(?::[A-Za-z0-9_][A-Za-z0-9_.-]*)?(?:@sha256:[0-9a-f]{64})?"
)
_HOST_RE = _lazy("_HOST_RE", r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}(?::\d+)?")
_EMAIL_RE = _lazy("_EMAIL_RE", r"[^@\s]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}")
_NOT_A_TOKEN_RE = _lazy("_NOT_A_TOKEN_RE",
    "|".join(f"(?:{rx.pattern})" for rx in (_HEX_RE, _VERSION_RE, _IMAGE_RE, _HOST_RE, _EMAIL_RE))
)
_STRUCTURED_RE = _lazy("_STRUCTURED_RE", r"[\"'{}\[\]<>,;\\`|]")
_BASE64_RE = _lazy("_BASE64_RE", r"[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_-]+={0,2}")
_KEY_VALUE_RE = _lazy("_KEY_VALUE_RE", r"-*[A-Za-z_][A-Za-z0-9_.-]*=(?!=*$)")
_SEG_SPLIT_RE = _lazy("_SEG_SPLIT_RE", r"[-_.@]+")
_PLAIN_TEXT_RE = _lazy("_PLAIN_TEXT_RE", r"[A-Za-z ,.'!?-]+")


def _placeholder(v: str) -> bool:
    """Not a literal secret: a runtime reference ($VAR, %s, {{x}}), a mask (*** / xxx), a <hole>."""
    s = v.strip().strip("\"'")
    if not s or _SENTINEL in s:
        return True
    if s[0] in "$%" or s.startswith("{{"):
        return True
    if (s[0], s[-1]) in (("<", ">"), ("{", "}"), ("[", "]")):
        return True
    if s.lower() in _PLACEHOLDER_WORDS:
        return True
    return set(s) <= {"*"} or set(s.lower()) <= {"x"} or set(s) <= {"."}


# Passwords that ship as defaults or top every leaked-password list. Judged only where an entry
# has no name: with one, the name decides (AUTH_METHOD = "password" is a mode).
_COMMON_PASSWORDS = frozenset(
    {"password", "password1", "password123", "passw0rd", "p@ssw0rd", "p@ssword", "pass123", "secret",
     "changeme", "changeit", "letmein", "qwerty", "123456", "12345678", "admin123", "hunter2", "toor"}
)  # fmt: skip

# Words people write where a password goes in examples and defaults (never a real credential).
# (`pass`/`secret` are weak but real passwords: still flagged.)
_PLACEHOLDER_WORDS = frozenset({"dummy", "placeholder", "example", "fake", "redacted", "changeme"})


def _assignment_secret(key: str, v: str, comp_cfg: DetectConfig) -> str | None:
    """why, when ``key`` is a secret-like name and ``v`` a literal, non-trivial value."""
    name = key.lstrip("-")
    if key.startswith("-D") and not key.startswith("--"):
        name = key[2:]
    if not name:
        return None
    verdict = _name_verdict(name, comp_cfg)
    if verdict is None:
        return None
    v = v.strip().strip("\"'")
    if _placeholder(v) or _is_benign(v) or v.startswith("-"):
        return None
    if verdict[1] and (v.isalpha() and len(v) < 16):
        return None  # --auth=basic, auth=oidc: a mode, not a credential
    return name


def _decodes_to_words(s: str) -> bool:
    """Base64 of ordinary text (``aGVsbG8gd29ybGQ=``) is not a secret."""
    if len(s) % 4 == 1:
        return False
    padded = s + "=" * (-len(s) % 4)
    try:
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        text = raw.decode("ascii")
    except (binascii.Error, ValueError):
        return False
    return (bool(_PLAIN_TEXT_RE.fullmatch(text)) and " " in text) or text.isalpha()


def _generic_candidate(run: str) -> bool:
    """A literal run that may be a random secret: passes every guard and looks random."""
    if len(run) < 20 or _STRUCTURED_RE.search(run):
        return False
    if "://" in run or run.lower().startswith("arn:") or run[0] in "/~":
        return False
    if ":" in run or _KEY_VALUE_RE.match(run):
        return False  # host:port, key=value settings: structure, not a token
    if run == run.lower() and all(len(seg) <= 12 for seg in _SEG_SPLIT_RE.split(run)):
        return False  # lower-case identifiers built of short segments (pod-7d9f8c6b5d-x2k4p)
    if run.startswith("./") or run.startswith("../"):
        return False
    if _NOT_A_TOKEN_RE.fullmatch(run):
        return False  # a hash, version, image reference, host name or e-mail address
    core = _UUID_RE.sub("", run)
    core = _HEXRUN_RE.sub("", core)
    if len(core) < 20:
        return False
    if _BASE64_RE.fullmatch(run) and _decodes_to_words(run):
        return False
    return _looks_random(core)


_BENIGN = "benign"  # _value_why's marker for "not secret whatever the name says"


def _value_why(value: str, cfg: DetectConfig) -> str | None:
    """The value-only verdict shared by :func:`classify` and :func:`classify_value`: the why
    text, None, or ``_BENIGN`` for values that are never secret (booleans, numbers, ARNs...).

    Clean verdicts of short values are memoised per configuration; a value found secret-like
    is never kept."""
    cache = cfg._compiled.clean_values
    try:
        return cache[value]
    except KeyError:
        pass
    why = _value_why_uncached(value, cfg)
    if (why is None or why is _BENIGN) and len(value) <= VALUE_CACHE_LEN:
        if len(cache) >= VALUE_CACHE_MAX:
            cache.clear()
        cache[value] = why
    return why


def _value_why_uncached(value: str, cfg: DetectConfig) -> str | None:
    comp = cfg._compiled
    for rx in comp.value_res:
        if rx.search(value):
            return "value matches a configured pattern"
    lit, templated = _template_literal(value)
    if templated:
        if not lit.replace(_SENTINEL, "").strip():
            return None  # only interpolations: unknown
        if "://" in value and "@" in value:
            ref = _url_interpolated_password(value)
            if ref is not None:
                return f"value is a URL whose password is interpolated from {ref}"
    elif _is_benign(lit):
        return _BENIGN
    if len(lit) < 8:
        return None
    if "PRIVATE KEY" in lit and _PEM_RE.search(lit):
        return "value contains a PEM private key"
    for m in _VENDOR_RE.finditer(lit):
        start, end = m.span()
        if (start and lit[start - 1] in _ALNUM) or (end < len(lit) and lit[end] in _ALNUM):
            continue
        token = m.group()
        for pat, what in _VENDOR_PATTERNS:  # only on a hit: compiled lazily through re's cache
            if re.fullmatch(pat, token):
                return f"value looks like {what}"
    if "sk-" in lit:
        for om in _OPENAI_RE.finditer(lit):
            tail = om.group("tail")
            if (
                any(c.isdigit() for c in tail)
                and any(c.isupper() for c in tail)
                and any(c.islower() for c in tail)
            ):
                return "value looks like an OpenAI API key"
    if "://" in lit and _url_password(lit):
        return "value is a URL with an embedded password"
    low = lit.lower()
    if "bearer" in low:
        for bm in _BEARER_RE.finditer(lit):
            t = bm.group("t")
            if len(t) >= 12 and not _placeholder(t) and not t.isalpha():
                return "value contains a Bearer credential"
    if "basic" in low:
        for bm in _BASIC_RE.finditer(lit):
            if _basic_credentials(bm.group("t")):
                return "value contains HTTP Basic credentials"
    if ":" in lit:
        for hm in _HEADER_RE.finditer(lit):
            if not _placeholder(hm.group("t")) and len(hm.group("t")) >= 8:
                return "value contains an API key header"
        if '"' in lit:
            for jm in _JSON_PAIR_RE.finditer(lit):
                key = _assignment_secret(jm.group("k"), jm.group("v"), cfg)
                if key is not None:
                    return f"value contains the secret-like JSON key {key}"
    if "=" in lit:
        for am in _ASSIGN_RE.finditer(lit):
            key = _assignment_secret(am.group("k"), am.group("v"), cfg)
            if key is not None:
                return f"value assigns the secret-like setting {key}"
    if "-" in lit and (" " in lit or "\t" in lit):
        for fm in _FLAG_SPACE_RE.finditer(lit):
            if "=" in fm.group("k") or not secret_flag_name(fm.group("k"), config=cfg):
                continue
            key = _assignment_secret(fm.group("k"), fm.group("v"), cfg)
            if key is not None:
                return f"value passes the secret-like flag --{key}"
    for sm in _AWS_SECRET_RE.finditer(lit) if len(lit) >= 40 else ():
        s = sm.group(0)
        if (
            s != s.lower()
            and s != s.upper()
            and _AWS_SECRET_MIX_RE.search(s)
            and _entropy(s) >= 4.0
            and _wordy_fraction(s) < 0.75
        ):
            return "value looks like an AWS secret access key"
    # Generic high entropy: whole literal runs without whitespace, outside interpolations.
    stripped = lit.strip()
    if len(stripped) < 20 or _WS_RE.search(stripped):
        return None
    for run in stripped.split(_SENTINEL) if templated else (stripped,):
        if _generic_candidate(run):
            return "value is a high-entropy string"
    return None


_URL_INTERP_PASSWORD_RE = _lazy("_URL_INTERP_PASSWORD_RE", r"[A-Za-z][A-Za-z0-9+.-]{0,30}://[^/@\s\"']{0,200}?:\$\{([^{}]{1,200})\}@")


_URL_INTERP_USER_RE = _lazy("_URL_INTERP_USER_RE", r"[A-Za-z][A-Za-z0-9+.-]{0,30}://\$\{([^{}]{1,200})\}@")


def _url_interpolated_password(text: str) -> str | None:
    """``scheme://user:${x}@host``: the password position holds an interpolation -> its source.
    ``redis://${var.auth_token}@host``: a lone user part whose reference is named like a secret."""
    m = _URL_INTERP_PASSWORD_RE.search(text)
    if m:
        return m.group(1).strip()
    m = _URL_INTERP_USER_RE.search(text)
    if m:
        idents = re.findall(r"[A-Za-z_][A-Za-z0-9_-]*", m.group(1))
        if idents and name_is_secret(idents[-1]):
            return m.group(1).strip()
    return None


def _url_password(text: str) -> bool:
    """A ``scheme://user:password@host`` URL whose password is a literal (linear time)."""
    for m in _SCHEME_END_RE.finditer(text):
        start = m.end()
        end_m = _AUTHORITY_END_RE.search(text, start)
        authority = text[start : end_m.start() if end_m else len(text)]
        userinfo, at, _host = authority.rpartition("@")
        if not at:
            continue
        _user, colon, password = userinfo.partition(":")
        if colon and not _placeholder(password):
            return True
    return False


def _basic_credentials(token: str) -> bool:
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return False
    user, sep, pw = text.partition(":")
    return bool(sep and pw and text.isprintable())


# --------------------------------------------------------------------------- public API


def classify_value(value: str, *, config: DetectConfig | None = None) -> str | None:
    """Value-only check (``command``, ``entryPoint``, ``dockerLabels``: rule EF002).

    Returns the ``why`` text or None.  Catches credential shapes and arguments such as
    ``--password=hunter2`` or ``-Dspring.datasource.password=hunter2``; for split arguments
    (``["--db-password", "hunter2"]``) the caller uses :func:`secret_flag_name` on the flag.
    """
    if not value:
        return None
    why = _value_why(value, config or _DEFAULT)
    return None if why is _BENIGN else why


def classify(name: str | None, value: str | None, *, config: DetectConfig | None = None) -> Verdict | None:
    """Verdict for one environment entry, or None when it is not secret-like.

    ``name`` is None when not a literal.  ``value`` is None when unknown (a reference such as
    ``var.db_password`` whose value is not in the code); ``${...}`` pieces of a template value
    are treated as unknown.  A secret-like name with an unknown value is still a finding: the
    value is plaintext in the task definition whatever it is.  Booleans, numbers, durations,
    sizes, region names, ARNs and file paths are never secret, whatever the name says.
    """
    cfg = config or _DEFAULT
    value_why: str | None = None
    if value is not None:
        value_why = _value_why(value, cfg)
        if value_why is _BENIGN:
            return None
    name_v = _name_verdict(name, cfg) if name else None
    if value_why is None and value is not None and not (name and name.strip()) \
            and value.strip().lower() in _COMMON_PASSWORDS:
        # no name to say what it is ({"name": "", "value": "password"}): the value alone decides,
        # and a well-known default password is one whatever it is called
        return Verdict("value", "the entry has no name and its value is a well-known default credential")
    if name_v is not None and name_v[1] and value_why is None and value is not None:
        word = value.strip()
        if word.isalpha() and len(word) < 16:
            return None  # KAFKA_AUTH=iam, AUTH_MODE=oidc: an AUTH-only name holding a mode word
    if name_v is not None and name_v[0] == _SSH_KEY_WHY and value_why is None and value is not None \
            and _KEY_PAIR_NAME_RE.fullmatch(value.strip()) and not _looks_random(value.strip()):
        return None  # SSH_KEY = "deployer-key": the name of an EC2 key pair, not the key
    if name_v is not None and name_v[0] == _DSN_WHY and value_why is None and value is not None \
            and _PUBLIC_DSN_RE.fullmatch(value.strip()):
        return None  # SENTRY_DSN = "https://<key>@o1.ingest.sentry.io/2": a public client key, no password
    if name_v is not None and value_why is not None:
        return Verdict("both", f"{name_v[0]}; {value_why}")
    if name_v is not None:
        return Verdict("name", name_v[0])
    if value_why is not None:
        return Verdict("value", value_why)
    return None


def redact(value: str) -> str:
    """A preview that reveals at most two characters and never the length: ``hu******``."""
    if len(value) < 4:
        return "******"
    return value[:2] + "******"


_DEFAULT = DetectConfig()
