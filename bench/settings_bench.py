"""Settings for benchmark processes: the product's settings plus the bench-only URLs.

Selected with ``DJANGO_SETTINGS_MODULE=bench.settings_bench``; every ``XIETONG_*`` variable
is still read by ``xietong.settings``, so the production and embedded shapes differ only in
their environment, exactly as real deployments do.
"""

from xietong.settings import *  # noqa: F403

# The bare ``/bench/hello`` view lives here so that it never reaches the product's URLs.
ROOT_URLCONF = "bench.urls"

# Loopback-only: the benchmark talks plain HTTP to 127.0.0.1, with no TLS proxy in front.
# Production marks cookies Secure, which an http:// client never sends back, so the session
# would be lost after login. This relaxes nothing outside benchmark processes.
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_SSL_REDIRECT = False
