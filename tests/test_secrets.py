"""Table-driven tests for ecsfix.secrets (SPEC section 4, "Detection").

Fixture credentials are fake (AWS's documented example keys, EXAMPLE in every token) and the
vendor-shaped ones are assembled from pieces so that secret scanners and push protection do
not mistake this file for a leak.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecsfix.secrets import (
    DetectConfig,
    Verdict,
    carries_credentials,
    classify,
    classify_value,
    name_is_secret,
    points_elsewhere,
    prose_says_secret,
    redact,
    secret_flag_name,
)

# --------------------------------------------------------------------------- fake credentials

AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_TEMP_KEY_ID = "ASIA" + "IOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GITHUB = "ghp" + "_" + "EXAMPLE0123456789abcdefEXAMPLE012345"  # ghp_ + 36
GITHUB_PAT = "github" + "_pat_" + "11EXAMPLE0123456789abcd_EXAMPLEexampleEXAMPLE0123456789"
GITLAB = "glpat" + "-" + "EXAMPLE0123456789abcd"
SLACK = "xoxb" + "-123456789012-1234567890123-" + "EXAMPLEexampleEXAMPLE12"
SLACK_HOOK = "https://hooks.slack.com" + "/services/T00000000/B00000000/" + "XXXXEXAMPLEXXXXXXXXXXXX"
STRIPE_LIVE = "sk" + "_live_" + "EXAMPLE0123456789abcdefg"  # sk_live_ + 24
STRIPE_TEST = "rk" + "_test_" + "EXAMPLE0123456789abcdefg"
STRIPE_WEBHOOK = "whsec" + "_" + "EXAMPLE0123456789abcdefEXAMPLE"
GOOGLE = "AIza" + "SyEXAMPLE-0123456789abcdefghijklmn"  # AIza + 35
SENDGRID = "SG" + ".EXAMPLEexample012345." + "EXAMPLEexampleEXAMPLEexample0123456789abcde"
TWILIO = "SK" + "0123456789abcdef0123456789abcdef"
NPM = "npm" + "_" + "EXAMPLE0123456789abcdefghijklmnopqr"
OPENAI = "sk" + "-" + "EXAMPLE0123456789abcdefEXAMPLE"
OPENAI_PROJECT = "sk" + "-proj-" + "EXAMPLE_0123456789-abcdefEXAMPLE"
ANTHROPIC = "sk" + "-ant-api03-" + "EXAMPLE0123456789abcdefEXAMPLE"
VAULT = "hvs" + "." + "EXAMPLEexample0123456789ab"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiJFWEFNUExFIiwibmFtZSI6IkV4YW1wbGUifQ"
    ".c2lnbmF0dXJlRVhBTVBMRWV4YW1wbGU"
)
PEM = "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAEXAMPLE\n-----END RSA PRIVATE KEY-----\n"
PEM_OPENSSH = (
    "-----BEGIN "
    + "OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAEXAMPLE\\n-----END OPENSSH PRIVATE KEY-----"
)
RANDOM_B64 = "aB3dE5gH7jK9mN1pQ3sT5vX7zY"
RANDOM_PW = "Xq7!vR2@pL9#mK4$wT6zE8"
BASIC = "Basic dXNlcjpodW50ZXIy"  # user:hunter2

SM_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf"
SSM_ARN = "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/db/password"
ECR_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1.2.3"
GIT_SHA = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
UUID = "550e8400-e29b-41d4-a716-446655440000"

N = "name"
V = "value"
B = "both"


def case(name: str | None, value: str | None, expected: str | None, id: str) -> Any:
    return pytest.param(name, value, expected, id=id)


# --------------------------------------------------------------------------- secret by name

SENTRY_KEY = "0123456789abcdef" + "fedcba9876543210"  # fake, assembled

NAME_CASES = [
    case("DB_PASSWORD", "hunter2", N, "password-literal"),
    case("DB_PASSWORD", None, N, "password-unknown-reference"),
    case("DB_PASSWORD", "${var.db_password}", N, "password-template-interpolation"),
    case("DB_PASSWORD", "changeme", N, "placeholder-changeme-is-committed"),
    case("DB_PASS", "hunter2", N, "pass-whole-token"),
    case("SMTP_PASSWD", "hunter2", N, "passwd"),
    case("DB_PWD", "hunter2", N, "pwd-token"),
    case("PGPASSWORD", "hunter2", N, "libpq-pgpassword-glued"),
    case("MYSQL_ROOT_PASSWORD", "hunter2", N, "mysql-root-password"),
    case("dbPassword", "hunter2", N, "camel-case"),
    case("spring.datasource.password", "hunter2", N, "dotted-spring-property"),
    case("DB_PASSWORD_2", "hunter2", N, "trailing-digit-token"),
    case("SECRET", "hunter2", N, "secret-alone"),
    case("COOKIE_SECRET", "hunter2", N, "cookie-secret"),
    case("WEBHOOK_SECRET", "hunter2", N, "webhook-secret"),
    case("SECRET_KEY_BASE", "hunter2", N, "rails-secret-key-base"),
    case("DJANGO_SECRET_KEY", "hunter2", N, "django-secret-key"),
    case("GOOGLE_CLIENT_SECRET", "hunter2", N, "client-secret"),
    case("GITHUB_TOKEN", "hunter2", N, "token"),
    case("SLACK_BOT_TOKEN", None, N, "bot-token-reference"),
    case("ACCESS_TOKEN", "hunter2", N, "access-token"),
    case("REFRESH_TOKEN", "hunter2", N, "refresh-token"),
    case("OAUTH2_TOKEN", "hunter2", N, "oauth2-token"),
    case("API_KEY", "hunter2", N, "api-key"),
    case("X_API_KEY", "hunter2", N, "x-api-key"),
    case("APIKEY", "hunter2", N, "apikey-single-token"),
    case("apiKey", "hunter2", N, "api-key-camel"),
    case("X-Api-Key", "hunter2", N, "api-key-dashes"),
    case("PRIVATE_KEY", "hunter2", N, "private-key"),
    case("STRIPE_ACCESS_KEY", "hunter2", N, "access-key"),
    case("JWT_SIGNING_KEY", "hunter2", N, "signing-key"),
    case("MASTER_KEY", "hunter2", N, "master-key"),
    case("DATA_ENCRYPTION_KEY", "hunter2", N, "encryption-key"),
    case("JWT_KEY", "hunter2", N, "jwt-key"),
    case("SESSION_KEY", "hunter2", N, "session-key"),
    case("NEW_RELIC_LICENSE_KEY", "hunter2", N, "license-key"),
    case("AZURE_STORAGE_ACCOUNT_KEY", "hunter2", N, "storage-account-key"),
    case("SERVICE_CREDENTIAL", "hunter2", N, "credential"),
    case("GCP_CREDENTIALS", "hunter2", N, "credentials"),
    case("DOCKER_CREDS", "hunter2", N, "creds"),
    case("SENTRY_DSN", "https://EXAMPLEpublickey@o0.ingest.sentry.io/0", N, "sentry-dsn"),
    case("DATABASE_DSN", None, N, "database-dsn"),
    case("CONNECTION_STRING", "Server=db;Database=app", N, "connection-string"),
    case("ConnectionStrings__Default", None, N, "dotnet-connection-strings"),
    case("DB_CONN_STR", None, N, "conn-str"),
    case("GPG_PASSPHRASE", "hunter2", N, "passphrase"),
    case("KEYSTORE_PASSWORD", "hunter2", N, "keystore-password"),
    case("BASIC_AUTH", "user:hunter2", N, "auth-last-token"),
    case("PROXY_AUTH", "hunter2", N, "proxy-auth"),
    case("REDIS_AUTH", "hunter2", N, "redis-auth"),
    case("AUTH_TOKEN", "hunter2", N, "auth-token"),
    case("AUTH_HEADER_VALUE", "hunter2", N, "auth-header-value"),
    case("DOCKER_AUTH_CONFIG", None, N, "docker-auth-config"),
    case("AWS_ACCESS_KEY_ID", None, N, "ecs8-access-key-id"),
    case("AWS_SECRET_ACCESS_KEY", None, N, "ecs8-secret-access-key"),
    case("ECS_ENGINE_AUTH_DATA", None, N, "ecs8-engine-auth-data"),
    case("PROD_AWS_ACCESS_KEY_ID", None, N, "aws-access-key-id-prefixed"),
    case("AWS_SESSION_TOKEN", None, N, "aws-session-token"),
    case("ADMIN_PASSWORD_HASH", None, N, "password-hash"),
    case("DB_PASSWORD_PROD", "hunter2", N, "unknown-trailing-token"),
    case("AUTH", "hunter2", N, "auth-alone"),
    case("RATE_LIMIT_REDIS_PASSWORD", None, N, "quantity-word-elsewhere"),
    case("UPSTREAM_AUTHORIZATION", "Bearer ${var.token}", N, "authorization-last-token"),
    case("PASSWORD", "P@ss w0rd with spaces", N, "password-with-spaces"),
    # password abbreviations (issue 13, group 3)
    case("SMTP_PW", "hunter2", N, "pw-last-token"),
    case("ADMIN_PW2", None, N, "pw-last-token-with-digit"),
    case("smtpPw", "hunter2", N, "pw-camel-case"),
    case("DB_PASSWRD", "hunter2", N, "passwrd"),
    case("LDAP_BIND_PASSWRD", None, N, "passwrd-reference"),
    case("MYSQLPASSWRD", "hunter2", N, "passwrd-glued"),
    # AWS access key ids under a service prefix, in any spelling
    case("AWS_S3_ACCESS_KEY_ID", None, N, "aws-s3-access-key-id"),
    case("AWS_DYNAMODB_ACCESS_KEY_ID", None, N, "aws-dynamodb-access-key-id"),
    case("AwsSesAccessKeyId", None, N, "aws-access-key-id-camel"),
    case("Storage__AwsAccessKeyId", None, N, "aws-access-key-id-dotnet-section"),
    case("DelegationsRunner__LockSecretAccessKey", None, N, "secret-access-key-dotnet-section"),
    case("AWS_DYNAMODB_SECRET_ACCESS_KEY", None, N, "aws-dynamodb-secret-access-key"),
    case("SSH_KEY", None, N, "ssh-key-unknown-value"),
    case("LAUNCHDARKLY_SDK_KEY", None, N, "sdk-key"),
    case("AIRFLOW__CORE__FERNET_KEY", None, N, "fernet-key"),
    case("REACT_APP_API_SECRET", None, N, "browser-prefix-secret-still-secret"),
    case("SENTRY_DSN", None, N, "dsn-unknown-value"),
    case("SENTRY_DSN", "https://" + SENTRY_KEY + "@sentry.example.com/3", N, "dsn-self-hosted-not-known-public"),
]

# --------------------------------------------------------------------------- look-alike names

LOOKALIKE_CASES = [
    case("PASSWORD_MIN_LENGTH", "12", None, "password-min-length"),
    case("PASSWORD_MIN_LENGTH", None, None, "password-min-length-reference"),
    case("SECRET_ARN", SM_ARN, None, "secret-arn"),
    case("SECRET_ARN", None, None, "secret-arn-reference"),
    case("DB_SECRET_NAME", "prod/db", None, "db-secret-name"),
    case("DB_SECRET_ID", "prod/db", None, "db-secret-id"),
    case("DB_PASSWORD_SECRET_ARN", None, None, "password-secret-arn"),
    case("TOKEN_TTL_SECONDS", "3600", None, "token-ttl-seconds"),
    case("TOKEN_TTL_SECONDS", None, None, "token-ttl-seconds-reference"),
    case("PASSWORD_FILE", "/run/secrets/db_password", None, "password-file"),
    case("PASSWORD_FILE", None, None, "password-file-reference"),
    case("OAUTH_CLIENT_ID", "my-app-client", None, "oauth-client-id"),
    case("GITHUB_CLIENT_ID", "Iv1.8a61f9b3a7aba766", None, "github-client-id"),
    case("KEYBOARD_LAYOUT", "us", None, "keyboard-layout"),
    case("PASSENGER_COUNT", "4", None, "passenger-count"),
    case("COMPASS_HEADING", "north", None, "compass-substring"),
    case("BYPASS_CACHE", "1", None, "bypass-substring"),
    case("TOKENIZER_MODEL", "bert-base-uncased", None, "tokenizer-is-another-token"),
    case("CACHE_KEY_PREFIX", "app:", None, "cache-key-prefix"),
    case("PARTITION_KEY", "tenant_id", None, "partition-key"),
    case("S3_KEY", "uploads/report.csv", None, "s3-object-key"),
    case("PASSWORD_PATH", "/prod/db/password", None, "password-path"),
    case("SECRETS_DIR", "/run/secrets", None, "secrets-dir"),
    case("TOKEN_ENDPOINT", "https://auth.example.com/oauth/token", None, "token-endpoint"),
    case("TOKEN_URL", None, None, "token-url"),
    case("API_KEY_HEADER", "X-Api-Key", None, "api-key-header-name"),
    case("AUTH_URL", "https://auth.example.com", None, "auth-url"),
    case("AUTH_DOMAIN", "example.eu.auth0.com", None, "auth-domain"),
    case("AUTH_MODE", "oidc", None, "auth-mode"),
    case("AUTH_PROVIDER", "cognito", None, "auth-provider"),
    case("AUTH_ENABLED", "true", None, "auth-enabled"),
    case("AUTH_HEADER", "Authorization", None, "auth-header-name"),
    case("AUTHOR", "Jane Doe", None, "author"),
    case("AUTHORITY", "https://login.example.com", None, "authority"),
    case("AUTH0_CLIENT_ID", None, None, "auth0-client-id"),
    case("AUTH_USER", "admin", None, "auth-user"),
    case("PASSWORD_MAX_AGE", "90", None, "password-max-age"),
    case("TOKEN_EXPIRY", "15m", None, "token-expiry"),
    case("JWT_EXPIRATION", None, None, "jwt-expiration"),
    case("SESSION_SECRET_ROTATION_DAYS", None, None, "rotation-days"),
    case("API_KEY_ID", "key-1", None, "api-key-id"),
    case("SIGNING_KEY_ID", None, None, "signing-key-id"),
    case("SECRET_KMS_KEY_ARN", None, None, "kms-key-arn"),
    case("JWT_ISSUER", "https://issuer.example.com", None, "jwt-issuer"),
    case("JWT_AUDIENCE", "api", None, "jwt-audience"),
    case("JWT_ALGORITHM", "RS256", None, "jwt-algorithm"),
    case("DB_USER", "app", None, "db-user"),
    case("SMTP_USERNAME", "mailer", None, "username"),
    case("GITHUB_TOKEN_PARAMETER_NAME", "/ci/github-token", None, "token-parameter-name"),
    case("DB_PASSWORD_PARAM", None, None, "password-param"),
    case("PASSWORD_POLICY", "strict", None, "password-policy"),
    case("SECRETS_MANAGER_ENDPOINT", None, None, "secrets-manager-endpoint"),
    case("SECRET_VERSION", "AWSCURRENT", None, "secret-version"),
    case("TOKEN_TYPE", "Bearer", None, "token-type"),
    case("ENABLE_AUTH", None, None, "enable-auth-switch"),
    case("USE_SECRETS_MANAGER", None, None, "use-secrets-manager-switch"),
    case("OPENAI_MAX_TOKENS", None, None, "max-tokens-quantity"),
    case("MYSQL_ALLOW_EMPTY_PASSWORD", None, None, "allow-empty-password-switch"),
    case("CSRF_TOKEN_NAME", "csrftoken", None, "csrf-token-name"),
    case("PASS_THROUGH_HEADERS", "x-request-id", None, "pass-through"),
    case("SSH_KEY_PATH", None, None, "ssh-key-path"),
    case("PWD", "/app", None, "shell-pwd"),
    case("PWD", None, None, "shell-pwd-reference"),
    case("OLDPWD", "/", None, "shell-oldpwd"),
    case("PW_TEST_HTML_REPORT_OPEN", "never", None, "pw-not-last-token"),
    case("SMTP_PW_FILE", "/run/secrets/smtp", None, "pw-file"),
    case("PW_MIN_LENGTH", "12", None, "pw-min-length"),
    case("PWA_MANIFEST", "/manifest.json", None, "pwa-is-not-pw"),
    case("ACCESS_KEY_ID", None, None, "access-key-id-alone"),
    case("S3_ACCESS_KEY_ID", "minio-reader", None, "s3-access-key-id-alone"),
    case("DelegationsRunner__LockAccessKeyId", None, None, "access-key-id-alone-camel"),
    case("AWS_KMS_KEY_ID", "alias/app", None, "aws-kms-key-id"),
    case("AWS_ACCESS_KEY_ID_PARAMETER", None, None, "aws-access-key-id-parameter-name"),
    case("SSH_KEY", "deployer-key", None, "ssh-key-pair-name"),
    case("LAYER0_AWS_SSH_KEY_PAIR", None, None, "ssh-key-pair"),
    case("BASTION_SSH_KEYPAIR", None, None, "ssh-keypair"),
    case("VITE_PUSHER_APP_KEY", None, None, "vite-public-key"),
    case("NEXT_PUBLIC_MAPS_API_KEY", None, None, "next-public-key"),
    case("SDK_KEY_ID", None, None, "sdk-key-id"),
    case("EC2_SSH_KEY", "prod_bastion.2024", None, "ssh-key-pair-name-dotted"),
    case("SSH_KEY", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEXAMPLEexampleEXAMPLE deploy@ci", None, "ssh-public-key"),
    case("AUTHORIZED_KEYS", "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQEXAMPLE", None, "authorized-keys-public"),
    case("GOOGLE_APPLICATION_CREDENTIALS", None, None, "gcp-credentials-file-convention"),
    case("AWS_SHARED_CREDENTIALS_FILE", None, None, "aws-credentials-file"),
    case("AWS_WEB_IDENTITY_TOKEN_FILE", None, None, "web-identity-token-file"),
    case("LOG_LEVEL", "info", None, "ordinary-name"),
    case("SERVICE_NAME", "payments-api", None, "service-name"),
    case(None, None, None, "nothing-known"),
    case(None, "production", None, "no-name-ordinary-value"),
    case("", "admin", None, "empty-name-username-like-value"),
    case("", "", None, "empty-name-empty-value"),
    case("AUTH_METHOD", "password", None, "named-mode-word-password"),
    case("SASL_MECHANISM", "PASSWORD", None, "named-mode-word-upper"),
    # a Sentry DSN carries a public client key and no password
    case("SENTRY_DSN", "https://" + SENTRY_KEY + "@o123456.ingest.sentry.io/4567", None, "sentry-dsn-public-key"),
    case("DSN_KEY", "https://" + SENTRY_KEY + "@o42.ingest.us.sentry.io/7", None, "sentry-dsn-regional"),
    case("SENTRY_DSN", "https://" + SENTRY_KEY + "@sentry.io/42", None, "sentry-dsn-legacy-host"),
]

# --------------------------------------------------------------------------- secret by value

VALUE_CASES = [
    # an entry without a usable name is judged on its value alone (issue 13, group 7)
    case("", "password", V, "empty-name-default-password"),
    case("  ", "P@ssw0rd", V, "blank-name-default-password"),
    case(None, "changeme", V, "unknown-name-default-password"),
    case("", AWS_KEY_ID, V, "empty-name-aws-key-id"),
    case("DATABASE_URL", "postgres://user:pass@host/db", V, "postgres-url-with-password"),
    case("DATABASE_URL", "mysql://app:hunter2@db.internal:3306/app", V, "mysql-url"),
    case("MONGO_URI", "mongodb+srv://app:hunter2@cluster0.example.net/db", V, "mongodb-srv-url"),
    case("REDIS_URL", "redis://:hunter2@cache:6379/0", V, "redis-url-password-only"),
    case("BROKER_URL", "amqp://guest:guest@rabbit:5672/", V, "amqp-url"),
    case("REPO_URL", "https://ci:EXAMPLEtoken123@git.example.com/org/repo.git", V, "https-url-with-token"),
    case("JDBC_URL", "jdbc:postgresql://db:5432/app?user=app&password=hunter2", V, "jdbc-password-param"),
    case("DB", "Server=db;Database=app;User Id=app;Password=hunter2;", V, "dotnet-connection-string"),
    case(
        "STORAGE",
        "DefaultEndpointsProtocol=https;AccountName=ex;AccountKey=EXAMPLEkey0123==;EndpointSuffix=core.windows.net",
        V,
        "azure-account-key",
    ),
    case("AWS_ID", AWS_KEY_ID, V, "aws-access-key-id"),
    case("STS_ID", AWS_TEMP_KEY_ID, V, "aws-temporary-access-key-id"),
    case("AWS_KEY", AWS_SECRET, V, "aws-secret-access-key-shape"),
    case("GH", GITHUB, V, "github-classic-token"),
    case("GH_FG", GITHUB_PAT, V, "github-fine-grained"),
    case("GL", GITLAB, V, "gitlab-pat"),
    case("SLACK", SLACK, V, "slack-bot-token"),
    case("SLACK_WEBHOOK_URL", SLACK_HOOK, V, "slack-webhook-url"),
    case("STRIPE", STRIPE_LIVE, V, "stripe-live-key"),
    case("STRIPE_RESTRICTED", STRIPE_TEST, V, "stripe-restricted-test-key"),
    case("STRIPE_WEBHOOK", STRIPE_WEBHOOK, V, "stripe-webhook-signing"),
    case("MAPS", GOOGLE, V, "google-api-key"),
    case("MAIL", SENDGRID, V, "sendgrid"),
    case("SMS", TWILIO, V, "twilio"),
    case("NPM_RC", NPM, V, "npm"),
    case("LLM", OPENAI, V, "openai-classic"),
    case("LLM_PROJECT", OPENAI_PROJECT, V, "openai-project"),
    case("CLAUDE", ANTHROPIC, V, "anthropic"),
    case("VAULT_ADDR_X", VAULT, V, "vault-token"),
    case("ID", JWT, V, "jwt"),
    case("OUTBOUND_HTTP", "Bearer EXAMPLEtoken0123456789", V, "bearer-credential"),
    case("UPSTREAM", "Authorization: Bearer EXAMPLEtoken0123456789", V, "authorization-header-bearer"),
    case("UPSTREAM_BASIC", BASIC, V, "basic-credential"),
    case("UPSTREAM_HEADERS", "X-Api-Key: EXAMPLEkey0123456", V, "api-key-header-line"),
    case("TLS", PEM, V, "pem-private-key"),
    case("SSH", PEM_OPENSSH, V, "openssh-private-key-escaped-newlines"),
    case("JAVA_OPTS", "-Xmx512m -Dspring.datasource.password=hunter2", V, "java-system-property"),
    case("APP_ARGS", "--db-password=hunter2 --port=8080", V, "flag-equals-form"),
    case("APP_ARGS", "--api-key EXAMPLEkey0123", V, "flag-space-form"),
    case("SPRING_APPLICATION_JSON", '{"spring.datasource.password":"hunter2"}', V, "json-embedded-password"),
    case("CALLBACK", "https://api.example.com/hook?api_key=EXAMPLE0123456789", V, "query-param-key"),
    case("RANDOM_SALT_VALUE", RANDOM_B64, V, "generic-high-entropy"),
    case("ADMIN_INIT", RANDOM_PW, V, "generic-high-entropy-symbols"),
    case(None, AWS_KEY_ID, V, "no-name-value-secret"),
]

# --------------------------------------------------------------------------- values that are not secrets

NOT_SECRET_VALUE_CASES = [
    case("GIT_SHA", GIT_SHA, None, "git-sha-40-hex"),
    case("CHECKSUM", SHA256, None, "sha256-hex"),
    case("ETAG", MD5, None, "md5-hex"),
    case("REQUEST_ID", UUID, None, "uuid"),
    case("APP_VERSION", "1.2.3", None, "version"),
    case("RELEASE", "v2.0.0-rc1", None, "version-rc"),
    case("IMAGE", ECR_IMAGE, None, "ecr-image-reference"),
    case("BASE_IMAGE", "ghcr.io/acme/payments-api@sha256:" + SHA256, None, "image-digest"),
    case("REDIS_URL", "redis://host:6379/0", None, "url-without-credentials"),
    case("API_BASE_URL", "https://api.example.com/v1", None, "https-url"),
    case("HEALTH", "http://localhost:8080/healthz", None, "localhost-url"),
    # the interpolated password lands in plaintext in the task definition at apply time
    case("DATABASE_URL", "postgres://${var.user}:${var.password}@db/app", "value", "url-interpolated-password"),
    case("DATABASE_URL", "postgres://${var.user}@db/app", None, "url-interpolated-user-only"),
    # a lone user part named like a secret is the credential (Redis AUTH, GitHub tokens in URLs)
    case("CACHE_ENDPOINT", "redis://${var.cache_auth_token}@${var.cache_host}:6379", "value", "url-user-part-token"),
    case("CACHE_ENDPOINT", "redis://${var.cache_host}@proxy:6379", None, "url-user-part-host"),
    case("DATABASE_URL", "postgres://app:dummy@db/app", None, "url-placeholder-word-password"),
    case("DATABASE_URL", "postgres://app:changeme@db/app", None, "url-changeme-password"),
    # an AUTH-only name holding a mode word is a setting, not a credential
    case("KAFKA_AUTH", "iam", None, "auth-mode-iam"),
    # vendor keys that are server-side secrets; AUTHENTICATION as a word of its own
    case("MAILGUN_KEY", "${var.mailgun_key}", "name", "vendor-mailgun-key"),
    case("DATADOG_KEY", None, "name", "vendor-datadog-key"),
    case("SKYLIGHT_AUTHENTICATION", None, "name", "authentication-last-token"),
    case("AUTHENTICATION_MODE", "oidc", None, "authentication-mode"),
    case("AUTH_MODE", "oidc", None, "auth-mode-oidc"),
    case("PROXY_AUTH", "hunter2pass9", "name", "auth-with-a-password"),
    case("DATABASE_URL", "postgres://app:$DB_PASSWORD@db/app", None, "url-runtime-env-password"),
    case("DATABASE_URL", "postgres://app:****@db/app", None, "url-masked-password"),
    case("WORKER", "disk-cleaner", None, "disk-cleaner-not-openai"),
    case("JOB", "task-runner", None, "task-runner-not-openai"),
    case("JOB_NAME", "sk-learn-model-training-job-runner", None, "sk-prefix-words"),
    case("PATH_X", "/usr/local/bin", None, "path"),
    case("ENTRY", "/usr/local/bin/docker-entrypoint.sh", None, "path-file"),
    case("EXEC_ROLE", "arn:aws:iam::123456789012:role/app-exec", None, "iam-role-arn"),
    case("SERVICE_HOST", "api.internal.example.com", None, "hostname"),
    case("ALERT_EMAIL", "noreply+alerts@example.com", None, "email"),
    case("MOTD", "The quick brown fox jumps over the lazy dog", None, "sentence"),
    case("GREETING_B64", "aGVsbG8gd29ybGQgZnJvbSBlY3M=", None, "base64-of-plain-words"),
    case("ENDPOINT_SERVICE", "com.amazonaws.eu-west-1.secretsmanager", None, "endpoint-service-name"),
    case("POD", "app-7d9f8c6b5d-x2k4p", None, "pod-like-identifier"),
    case("MAIN_CLASS", "com.example.payments.ApplicationMain", None, "java-class"),
    case("CLUSTER", "my-service-production-cluster-01", None, "kebab-identifier"),
    case("DB_HOST", "cluster-abc123def456.eu-west-1.rds.amazonaws.com", None, "rds-endpoint"),
    case("JVM_FLAGS", "-XX:MaxRAMPercentage=75.0", None, "jvm-flag"),
    case("APP_ARGS", "--password-file=/run/secrets/db", None, "password-file-flag"),
    case("APP_ARGS", "--auth=basic", None, "auth-mode-flag"),
    case("APP_ARGS", "--password=$DB_PASSWORD", None, "flag-runtime-env"),
    case("APP_ARGS", "--token-ttl 3600", None, "flag-ttl"),
    case("AUTH_CHALLENGE", "Basic realm=secure", None, "basic-realm"),
    case("MESSAGE", "bearer authentication required", None, "bearer-words"),
    case("TIMEZONE", "America/Argentina/Buenos_Aires", None, "timezone"),
    case("NAME_PREFIX", "${var.prefix}-${var.env}-api-gateway-service", None, "template-pieces-no-entropy"),
    case("OUTBOUND_HTTP", "Bearer ${var.token}", None, "bearer-placeholder-no-name-hit"),
    case(
        "REPLICA_SET",
        "mongodb://mongo-0.mongo,mongo-1.mongo:27017/app?replicaSet=rs0",
        None,
        "mongo-url-no-creds",
    ),
]

# --------------------------------------------------------------------------- never secret, whatever the name

BENIGN_VALUE_CASES = [
    case("DB_PASSWORD", "", None, "empty-string"),
    case("DB_PASSWORD", "   ", None, "whitespace"),
    case("AUTH_REQUIRED_X", "true", None, "bool-true"),
    case("SECRET_FEATURE", "False", None, "bool-false-capitalised"),
    case("TOKEN_REFRESH", "yes", None, "bool-yes"),
    case("DB_PASSWORD", "NO", None, "bool-no-upper"),
    case("API_TOKEN", "on", None, "bool-on"),
    case("API_TOKEN", "off", None, "bool-off"),
    case("PASSWORD_ROUNDS_X", "12", None, "integer"),
    case("TOKEN_X", "0.75", None, "float"),
    case("TOKEN_LEEWAY", "30s", None, "duration-seconds"),
    case("SESSION_SECRET_X", "5m", None, "duration-minutes"),
    case("SECRET_TIMEOUTISH", "1h30m", None, "duration-compound"),
    case("SECRET_BUFFER", "512Mi", None, "size-mebibytes"),
    case("TOKEN_CACHE", "10MB", None, "size-megabytes"),
    case("SECRET_REGIONAL", "eu-west-1", None, "region"),
    case("SECRET_REGIONAL", "us-gov-west-1", None, "region-govcloud"),
    case("DB_PASSWORD", SM_ARN, None, "secrets-manager-arn"),
    case("DB_PASSWORD", SSM_ARN, None, "ssm-parameter-arn"),
    case("DB_SECRET_ARN", SM_ARN, None, "pointer-name-arn-value"),
    case("DB_PASSWORD", SM_ARN + ":password::", None, "secrets-manager-json-key-arn"),
    case("DB_PASSWORD", "/run/secrets/db_password", None, "file-path-value"),
    case("AUTH_ENABLED", "true", None, "auth-enabled-true"),
    case("TOKEN_TTL_SECONDS", "3600", None, "ttl-number"),
]

# --------------------------------------------------------------------------- name and value both

BOTH_CASES = [
    case("JWT_SECRET", JWT, B, "secret-name-jwt-value"),
    case("DATABASE_PASSWORD", "postgres://app:hunter2@db/app", B, "password-name-url-value"),
    case("AWS_ACCESS_KEY_ID", AWS_KEY_ID, B, "ecs8-name-and-key"),
    case("AWS_SECRET_ACCESS_KEY", AWS_SECRET, B, "ecs8-name-and-secret-key"),
    case("GITHUB_TOKEN", GITHUB, B, "token-name-github-value"),
    case("STRIPE_API_KEY", STRIPE_LIVE, B, "api-key-name-stripe-value"),
    case("PRIVATE_KEY", PEM, B, "private-key-name-pem-value"),
    case("AUTH_TOKEN", "Bearer EXAMPLEtoken0123456789", B, "auth-token-bearer"),
    case("SESSION_SECRET", RANDOM_B64, B, "secret-name-high-entropy"),
    case("GIT_SSH_KEY", PEM_OPENSSH, B, "ssh-key-private-key-value"),
    case("SSH_KEY", RANDOM_B64, B, "ssh-key-random-value"),
    case("SENTRY_DSN", "https://" + SENTRY_KEY + ":" + SENTRY_KEY + "@sentry.io/42", B, "sentry-dsn-with-secret-key"),
]

ALL_CASES = (
    NAME_CASES + LOOKALIKE_CASES + VALUE_CASES + NOT_SECRET_VALUE_CASES + BENIGN_VALUE_CASES + BOTH_CASES
)


@pytest.mark.parametrize(("name", "value", "expected"), ALL_CASES)
def test_classify(name: str | None, value: str | None, expected: str | None) -> None:
    verdict = classify(name, value)
    got = verdict.reason if verdict is not None else None
    assert got == expected, verdict


POSITIVE = [p for p in ALL_CASES if p.values[2] is not None and p.values[1]]


@pytest.mark.parametrize(("name", "value", "expected"), POSITIVE)
def test_why_never_contains_the_value(name: str | None, value: str, expected: str) -> None:
    verdict = classify(name, value)
    assert verdict is not None
    assert value not in verdict.why
    assert value.strip() not in verdict.why
    assert str(len(value)) not in verdict.why
    for secret_part in ("hunter2", "EXAMPLEtoken", "EXAMPLEkey", "dXNlcjpodW50ZXIy"):
        assert secret_part not in verdict.why


def test_why_texts() -> None:
    assert classify("DB_PASSWORD", "hunter2") == Verdict("name", "name contains the token PASSWORD")
    assert classify("X", AWS_KEY_ID) == Verdict("value", "value looks like an AWS access key id")
    both = classify("JWT_SECRET", JWT)
    assert both == Verdict("both", "name contains the token SECRET; value looks like a JWT")
    ecs8 = classify("ECS_ENGINE_AUTH_DATA", None)
    assert ecs8 is not None and "ECS.8" in ecs8.why
    url = classify("DATABASE_URL", "postgres://user:pass@host/db")
    assert url is not None and url.why == "value is a URL with an embedded password"


# --------------------------------------------------------------------------- name_is_secret


@pytest.mark.parametrize(
    ("name", "token"),
    [
        pytest.param("DB_PASSWORD", "PASSWORD", id="password"),
        pytest.param("stripeApiKey", "API_KEY", id="camel-api-key"),
        pytest.param("CLIENT_SECRET", "SECRET", id="client-secret"),
        pytest.param("HTTP_BASIC_AUTH", "AUTH", id="auth"),
        pytest.param("DB_CONNECTION_STRING", "CONNECTION_STRING", id="connection-string"),
        # a switch word after the first secret term does not make the name a switch (Checkov's own
        # ecs_heredoc.tf test case, value "RandomP@ssw0rd")
        pytest.param("TEST_PASSWORD_NO_PASSWORD", "PASSWORD", id="switch-word-after-the-term"),
    ],
)
def test_name_is_secret_names_the_token(name: str, token: str) -> None:
    assert name_is_secret(name) == f"name contains the token {token}"


@pytest.mark.parametrize("name", ["", "   ", "KEY", "KEYS", "PRIMARY_KEY", "AUTHOR_EMAIL", "OAUTH_CLIENT_ID",
                                  "ALLOW_NO_PASSWORD", "ENABLE_TOKEN_AUTH", "REQUIRE_PASSWORD_RESET"])
def test_name_is_secret_negative(name: str) -> None:
    assert name_is_secret(name) is None


# --------------------------------------------------------------------------- EF002 helpers


@pytest.mark.parametrize(
    ("value", "secret"),
    [
        pytest.param("--password=hunter2", True, id="password-equals"),
        pytest.param("--db-password=hunter2", True, id="db-password-equals"),
        pytest.param("-Dspring.datasource.password=hunter2", True, id="java-property"),
        pytest.param("sh -c 'export DB_PASSWORD=hunter2 && exec app'", True, id="shell-export"),
        pytest.param("DB_PASSWORD=hunter2 ./run.sh", True, id="shell-env-prefix"),
        pytest.param("exec app --api-key EXAMPLEkey0123", True, id="flag-space-in-one-string"),
        pytest.param(
            "curl -H 'Authorization: Bearer EXAMPLEtoken0123456789' http://svc", True, id="curl-bearer"
        ),
        pytest.param(
            f"traefik.http.middlewares.auth.basicauth.users=admin:{AWS_SECRET}", True, id="label-aws-secret"
        ),
        pytest.param("psql postgres://app:hunter2@db/app -c 'select 1'", True, id="psql-url"),
        pytest.param(AWS_KEY_ID, True, id="aws-key-id"),
        pytest.param("-p hunter2", False, id="short-flag-too-vague"),
        pytest.param("--password", False, id="flag-without-value"),
        pytest.param("--password=", False, id="flag-empty-value"),
        pytest.param("--password=${DB_PASSWORD}", False, id="flag-interpolated"),
        pytest.param("--password=$$DB_PASSWORD", False, id="flag-runtime-env"),
        pytest.param("--port=8080", False, id="port"),
        pytest.param("--auth=none", False, id="auth-none"),
        pytest.param("CMD-SHELL curl -f http://localhost:8080/health || exit 1", False, id="healthcheck"),
        pytest.param("hunter2", False, id="bare-word"),
        pytest.param("", False, id="empty"),
    ],
)
def test_classify_value(value: str, secret: bool) -> None:
    why = classify_value(value)
    assert (why is not None) is secret, why
    if why is not None:
        assert "hunter2" not in why and value not in why


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        pytest.param("--password", True, id="password"),
        pytest.param("--api-key", True, id="api-key"),
        pytest.param("--token", True, id="token"),
        pytest.param("--db-password", True, id="db-password"),
        pytest.param("-password", True, id="single-dash-long"),
        pytest.param("--client-secret", True, id="client-secret"),
        pytest.param("-p", False, id="short-flag"),
        pytest.param("--password-file", False, id="password-file"),
        pytest.param("--token-ttl", False, id="token-ttl"),
        pytest.param("--no-auth", False, id="no-auth"),
        pytest.param("--port", False, id="port"),
        pytest.param("--password=hunter2", False, id="flag-with-value"),
        pytest.param("password", False, id="not-a-flag"),
        pytest.param("/usr/bin/password", False, id="path"),
        pytest.param("/secrets", False, id="path-is-not-a-flag"),
    ],
)
def test_secret_flag_name(arg: str, expected: bool) -> None:
    assert secret_flag_name(arg) is expected


# --------------------------------------------------------------------------- configuration


def test_config_extra_secret_token() -> None:
    cfg = DetectConfig(extra_secret_names=("PIN",))
    assert classify("CARD_PIN", "1234x", config=cfg) == Verdict("name", "name contains the token PIN")
    assert classify("CARD_PIN", None, config=cfg) is not None
    assert classify("PIN_LENGTH", None, config=cfg) is None  # pointer guards apply to user tokens
    assert classify("PINNED_VERSION", None, config=cfg) is None  # tokens, not substrings
    assert classify("CARD_PIN", None) is None  # not built in


def test_config_extra_secret_multi_token() -> None:
    cfg = DetectConfig(extra_secret_names=("otp_seed",))
    assert classify("MFA_OTP_SEED", None, config=cfg) is not None
    assert classify("OTP", None, config=cfg) is None


def test_config_extra_secret_regex() -> None:
    cfg = DetectConfig(extra_secret_names=(r".*_SIG(NATURE)?",))
    assert name_is_secret("WEBHOOK_SIG", cfg) == "name matches a configured secret-name pattern"
    assert name_is_secret("webhook_signature", cfg) is not None  # case-insensitive
    assert name_is_secret("SIGNATURE_HEADER_X", cfg) is None  # must match the whole name


def test_config_allowed_names() -> None:
    cfg = DetectConfig(allowed_names=("PUBLIC_*_TOKEN", "csrf_secret"))
    assert classify("PUBLIC_MAPBOX_TOKEN", "hunter2x", config=cfg) is None
    assert classify("public_mapbox_token", None, config=cfg) is None
    assert classify("CSRF_SECRET", None, config=cfg) is None
    assert classify("PRIVATE_MAPBOX_TOKEN", None, config=cfg) is not None
    # allowed by name, still secret by value
    verdict = classify("PUBLIC_MAPBOX_TOKEN", GITHUB, config=cfg)
    assert verdict is not None and verdict.reason == "value"


def test_config_allowed_beats_ecs8_name() -> None:
    cfg = DetectConfig(allowed_names=("AWS_ACCESS_KEY_ID",))
    assert classify("AWS_ACCESS_KEY_ID", None, config=cfg) is None


def test_config_extra_value_patterns() -> None:
    cfg = DetectConfig(extra_value_patterns=(r"^acme_[a-z0-9]{12}$", r"INTERNAL-\d{6}"))
    assert classify("PARTNER", "acme_abcdef123456", config=cfg) == Verdict(
        "value", "value matches a configured pattern"
    )
    assert classify_value("ref INTERNAL-123456 here", config=cfg) == "value matches a configured pattern"
    assert classify("PARTNER", "acme_abcdef123456") is None
    # a configured pattern wins over the "numbers are never secret" rule
    numeric = DetectConfig(extra_value_patterns=(r"^\d{6}$",))
    assert classify("DOOR_CODE", "123456", config=numeric) is not None
    assert classify("DOOR_CODE", "123456") is None


def test_config_accepts_lists_and_compares_by_value() -> None:
    cfg = DetectConfig(extra_secret_names=["PIN"], allowed_names=["X_*"])  # type: ignore[arg-type]
    assert cfg.extra_secret_names == ("PIN",)
    assert cfg == DetectConfig(extra_secret_names=("PIN",), allowed_names=("X_*",))
    assert hash(cfg) == hash(DetectConfig(extra_secret_names=("PIN",), allowed_names=("X_*",)))


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"extra_secret_names": ("(unclosed",)}, id="bad-name-regex"),
        pytest.param({"extra_value_patterns": ("[a-",)}, id="bad-value-regex"),
        pytest.param({"allowed_names": (1,)}, id="not-a-string"),
    ],
)
def test_config_rejects_invalid(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        DetectConfig(**kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- templates


def test_template_pieces_are_unknown() -> None:
    assert classify("X", "${aws_secretsmanager_secret.db.arn}") is None
    assert classify("X", '${jsonencode({a = "b"})}') is None
    assert classify("X", "prefix-${random_password.db.result}") is None
    # ... except in a URL's password position: that value reaches the task definition in plaintext
    verdict = classify("X", "postgres://app:${random_password.db.result}@db/app")
    assert verdict is not None and "interpolated from random_password.db.result" in verdict.why
    # a literal password next to an interpolated user is still committed
    verdict = classify("X", "postgres://${var.user}:hunter2@db/app")
    assert verdict is not None and verdict.reason == "value"
    # a secret literal around interpolations is still found
    verdict = classify("X", "${var.prefix} " + AWS_KEY_ID)
    assert verdict is not None and verdict.reason == "value"


# --------------------------------------------------------------------------- redact


@pytest.mark.parametrize(
    ("value", "preview"),
    [
        pytest.param("hunter2", "hu******", id="password"),
        pytest.param(AWS_KEY_ID, "AK******", id="aws-key"),
        pytest.param("abcd", "ab******", id="four-chars"),
        pytest.param("abc", "******", id="three-chars"),
        pytest.param("a", "******", id="one-char"),
        pytest.param("", "******", id="empty"),
    ],
)
def test_redact(value: str, preview: str) -> None:
    assert redact(value) == preview


def test_redact_never_reveals_length() -> None:
    assert redact("hunter2") == redact("hunter2" * 50)[:2] + "******"
    assert len(redact("x" * 4)) == len(redact("x" * 4000))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_redact_reveals_at_most_two_characters(value: str) -> None:
    preview = redact(value)
    assert preview.endswith("******")
    shown = preview[: -len("******")]
    assert len(shown) <= 2 and value.startswith(shown)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.none(), st.text(max_size=40)),
    st.one_of(st.none(), st.text(min_size=1, max_size=120)),
)
def test_classify_never_raises(name: str | None, value: str | None) -> None:
    verdict = classify(name, value)
    if verdict is not None:
        assert verdict.reason in ("name", "value", "both")
    classify_value(value or "")
    secret_flag_name(value or "")
    name_is_secret(name or "")


_SECRET_SHAPED = st.one_of(
    st.text(max_size=60),
    st.sampled_from([AWS_KEY_ID, AWS_SECRET, GITHUB, STRIPE_LIVE, JWT, "postgres://u:p@h/db", "Bearer "]),
).map(lambda s: s + "!#")  # "!#" never occurs in a why text, so `value in why` means a leak


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["DB_PASSWORD", "X", "API_TOKEN", "AWS_SECRET_ACCESS_KEY"]), _SECRET_SHAPED)
def test_why_hides_arbitrary_values(name: str, value: str) -> None:
    for text in (value, "--password=" + value, '{"password":"' + value + '"}'):
        verdict = classify(name, text)
        if verdict is not None:
            assert value not in verdict.why
        why = classify_value(text)
        if why is not None:
            assert value not in why


@pytest.mark.parametrize(("reference", "pointer"), [
    ("aws_secretsmanager_secret.db.arn", True),
    ("aws_secretsmanager_secret.db[0].arn", True),
    ("var.db_password_arn", True),
    ("aws_ssm_parameter.token.name", True),
    ("var.password_length", True),
    ("each.value.secretArn", True),
    ("var.db_password", False),
    ("random_password.db.result", False),
    ("aws_iam_access_key.ci.secret", False),
    ("data.aws_secretsmanager_secret_version.db.secret_string", False),
    ('var.secrets["db"]', False),
])
def test_points_elsewhere(reference: str, pointer: bool) -> None:
    assert points_elsewhere(reference) is pointer


# --------------------------------------------------------------------------- names that carry credentials, prose


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("DATABASE_URL", True), ("DB_URL", True), ("REDIS_URL", True), ("MONGO_URI", True), ("MONGODB_URI", True),
        ("CELERY_BROKER_URL", True), ("AIRFLOW__CELERY__BROKER_URL", True), ("AIRFLOW__CORE__SQL_ALCHEMY_CONN", True),
        ("AIRFLOW__CELERY__RESULT_BACKEND", True), ("AIRFLOW_CONN_WAREHOUSE", True), ("SQLALCHEMY_DATABASE_URI", True),
        ("SPRING_DATASOURCE_URL", True), ("MAIL_URL", True), ("rabbitmqUrl", True),
        ("CACHE_URL", False), ("API_URL", False), ("DB_HOST", False), ("DB_CONNECTION", False), ("BACKEND", False),
        ("STORAGE_BACKEND", False), ("AIRFLOW_HOME", False), ("REDIS_HOST", False), ("DATABASE_NAME", False),
    ],
)
def test_carries_credentials(name: str, expected: bool) -> None:
    assert carries_credentials(name) is expected


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("LaunchDarkly server-side SDK key", "SDK_KEY"),
        ("API key for the payments provider", "API_KEY"),
        ("Password of the admin user", "PASSWORD"),
        ("Map of secrets injected into the containers", "SECRETS"),
        ("MongoDB connection string", "CONNECTION_STRING"),
        ("Secret key used to sign sessions", "SECRET_KEY"),
        ("ARN of the Secrets Manager secret holding the DB password", None),
        ("Name of the SSM parameter with the API token", None),
        ("Whether to enable token authentication", None),
        ("Minimum password length", None),
        ("Password rotation period in days", None),
        ("Enable basic auth", None),
        ("The environment name", None),
        ("Authentication method", None),
        # where the value is found, not what it is (real-world: OIDC claim names "returned in token")
        ("Applicant OIDC login user email returned in token", None),
        ("User locale claim read from the ID token", None),
        ("Audience expected in the JWT", None),
        ("List of API keys accepted by the gateway", "API_KEY"),
    ],
)
def test_prose_says_secret(text: str, kind: str | None) -> None:
    assert prose_says_secret(text) == kind
