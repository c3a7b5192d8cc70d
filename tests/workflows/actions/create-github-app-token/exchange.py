"""Sign a JWT as the App and exchange it for an installation token (ACT_INSTALLATION_ID)."""

import json
import os
import time
import urllib.request

import jwt

now = int(time.time())
claims = {"iat": now - 60, "exp": now + 540, "iss": os.environ["APP_ID"]}
signed = jwt.encode(claims, os.environ["PRIVATE_KEY"], algorithm="RS256")
request = urllib.request.Request(  # noqa: S310 - the GitHub test server's URL
    f"{os.environ['GITHUB_API_URL']}/app/installations/{os.environ['ACT_INSTALLATION_ID']}"
    "/access_tokens",
    method="POST",
    headers={"Authorization": f"Bearer {signed}", "Accept": "application/vnd.github+json"},
)
with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
    print(f"token={json.load(answer)['token']}")  # noqa: T201
