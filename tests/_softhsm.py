"""One SoftHSM2 token folder per test process, holding every token the PKCS#11 tests use.

python-pkcs11 loads the SoftHSM library once per process, and SoftHSM reads its configuration (the token folder)
only then: a second folder set up later in the same process is never seen ("No token matching …"). So every
token any test needs is made here, before the first test uses PKCS#11, and SOFTHSM2_CONF stays set for the rest of
the process.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from functools import cache
from pathlib import Path

MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
PIN = "123456"
SO_PIN = "12345678"

# token label -> (key label, key type, id)
TOKENS = {
    "consentkit": (
        ("physician", "EC:prime256v1", "01"),
        ("clinic-seal", "EC:prime256v1", "02"),
        ("tsa", "rsa:2048", "03"),
    ),
    "review": (("legal", "EC:prime256v1", "02"),),
}


@cache
def softhsm_conf() -> Path:
    """The process's SoftHSM2 configuration with every token of :data:`TOKENS` (PIN :data:`PIN`)."""
    folder = Path(tempfile.mkdtemp(prefix="ck-softhsm-"))
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {folder / 'tokens'}/\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    for token, keys in TOKENS.items():
        subprocess.run(
            ["softhsm2-util", "--init-token", "--free", "--label", token, "--pin", PIN, "--so-pin", SO_PIN],
            check=True,
            capture_output=True,
        )
        for label, key_type, key_id in keys:
            subprocess.run(
                ["pkcs11-tool", "--module", str(MODULE), "--token-label", token, "--login", "--pin", PIN,
                 "--keypairgen", "--key-type", key_type, "--id", key_id, "--label", label],
                check=True,
                capture_output=True,
            )  # fmt: skip
    return conf
