"""The shell pieces VERIFY.md's blocks share: the strict header, the block and expected-output formats, and the
functions a block defines for itself — folding an inclusion proof, checking a signature's CMS over its byte
ranges, cutting and checking its RFC 3161 token — so that a block that needs one carries it and stands alone."""

from __future__ import annotations

import datetime as dt

from consentkit.evidence.signatures import PacketSignature

STRICT = "set -eu -o pipefail  # stop at the first command that fails"
TSA_TIME = "tsa_time() { openssl ts -reply -in \"$1\" -text | sed -n 's/^Time stamp: //p'; }"
TSA_ANCHORS = "-CAfile certs/trust-roots.pem -untrusted certs/issuing-ca.pem"
DUMP = "pdfsig -dump packet/packet.pdf > /dev/null  # each signature's CMS as packet.pdf.sig<N>"


def sh(*lines: str) -> str:
    """A bash block that stops, with a non-zero exit status, at the first command that fails — its checks are
    commands whose failure is that exit status, never an ``a && echo ok`` that exits 0 when ``a`` fails."""
    return "```bash\n" + "\n".join((STRICT, *lines)) + "\n```\n"


def out(*lines: str) -> str:
    return "```\n" + "\n".join(lines) + "\n```\n"


FOLD = (
    "root_of() {  # EVENT PATH: the root that the event's proof path leads to",
    "  h=$( (printf '\\000'; cat \"$1\") | sha256sum | cut -c1-64)",
    "  while read -r side sibling; do",
    '    if [ "$side" = L ]; then h=$( (printf \'\\001\'; echo "$sibling$h" | xxd -r -p) | sha256sum | cut -c1-64)',
    "    else h=$( (printf '\\001'; echo \"$h$sibling\" | xxd -r -p) | sha256sum | cut -c1-64); fi",
    '  done < "$2"',
    '  echo "$h"',
    "}",
)

CHECK = (
    "check() {  # N, length of the first range, start and length of the second, signing time",
    '  head -c "$2" packet/packet.pdf > "sig$1.signed"',
    '  head -c "$(($3 + $4))" packet/packet.pdf | tail -c "$4" >> "sig$1.signed"',
    '  openssl cms -verify -binary -inform DER -in "packet.pdf.sig$1" -content "sig$1.signed" \\',
    '    -CAfile certs/clinic-root.pem -purpose any ${5:+-attime "$5"} -out /dev/null',
    "}",
)

LENGTH = (
    "_len() {  # the whole length of an asn1parse line's object: header + content",
    "  echo \"$1\" | sed -E 's/.*hl= *([0-9]+) +l= *([0-9]+).*/\\1 \\2/' | { read -r h l; echo $((h + l)); }",
    "}",
)

STAMP = (
    *LENGTH,
    "stamp() {  # N, role",
    '  P=$(openssl asn1parse -inform DER -in "packet.pdf.sig$1")',
    "  echo \"$P\" | grep -B1 'd=5 .*cont \\[ 1 \\]' | sed -n 1p | sed 's/.*\\[HEX DUMP\\]://' \\",
    '    | xxd -r -p > "sig$1.value"',
    '  T=$(echo "$P" | grep -A2 id-smime-aa-timeStampToken | tail -1)  # the token: offset, header and length',
    "  O=$(echo \"$T\" | cut -d: -f1 | tr -d ' ')",
    '  openssl asn1parse -inform DER -in "packet.pdf.sig$1" -offset "$O" -length "$(_len "$T")" \\',
    '    -out "sig$1.token" -noout',
    '  openssl ts -verify -data "sig$1.value" -in "sig$1.token" -token_in -CAfile certs/trust-roots.pem \\',
    "    -untrusted certs/issuing-ca.pem",
    '  openssl ts -reply -in "timestamps/$2.tsr" -token_out -out "$2.token"',
    '  cmp "$2.token" "sig$1.token"  # the .tsr in this bundle is the token in the packet',
    '  echo "$2: $(openssl ts -reply -in "timestamps/$2.tsr" -text | grep \'^Time stamp\')"',
    "}",
)


def check_call(s: PacketSignature, when: dt.datetime | None) -> str:
    """``check`` for one signature, at its logged RFC 3161 time (seconds since 1970) when known."""
    _, first, start, length = s.ranges
    at = f" {int(when.timestamp())}" if when is not None else ""
    return f"check {s.number} {first} {start} {length}{at}   # {s.field} ({s.role})"
