"""``ipr-vision keys ...`` and ``ipr-vision package ...``: signed brand packages between a right
holder's gallery and customs galleries (the format: docs/packages.md)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from ...domain import json_safe
from ...gallery import Gallery, local_actor
from ...packages import PASSPHRASE_ENV, SigningKey
from .parser import PROG

#: Who the audit trail names for a change made here: the OS user.
_BY = local_actor("cli")


def keys(args: argparse.Namespace) -> int:
    if args.verb == "new":
        key = SigningKey.generate()
        private, public = key.write(args.out, args.name)
        print(f"private key {private} (keep it; never share it)")
        print(f"public key  {public} (hand it to each customs service)")
        print(f"fingerprint {key.public.fingerprint}")
        print(f"(to protect the private key with a passphrase, set {PASSPHRASE_ENV} before "
              "making it)")
        return 0
    # Trusting a key is how a customs installation starts taking a brand's packages: like
    # `import`, it makes the gallery when there is none yet.
    with Gallery(args.gallery, create=args.verb == "trust") as gallery:
        if args.verb == "trust":
            trusted = gallery.trust_key(args.pubkey, brand=args.brand, name=args.name, by=_BY)
            print(f"trusted for {trusted.brand}: key {trusted.fingerprint}"
                  + (f" ({trusted.name})" if trusted.name else ""))
            print("compare this fingerprint with the one the right holder gave you")
        elif args.verb == "revoke":
            if not gallery.revoke_key(args.fingerprint, brand=args.brand, reason=args.reason,
                                      by=_BY):
                print(f"{PROG}: no active key {args.fingerprint} for {args.brand}")
                return 1
            print(f"revoked {args.fingerprint} for {args.brand}: its packages are refused "
                  "from now on (references it brought stay)")
        else:
            for trusted in gallery.trusted_keys(args.brand):
                row = {k: v for k, v in asdict(trusted).items() if k != "public_key"}
                if args.json:
                    print(json.dumps(row, ensure_ascii=False))
                else:
                    state = (f"revoked {trusted.revoked_at}" if trusted.revoked_at
                             else "active")
                    print(f"{trusted.brand}\t{trusted.fingerprint}\t{trusted.name or '-'}\t"
                          f"{trusted.added_by}\t{trusted.added_at}\t{state}")
    return 0


def package(args: argparse.Namespace) -> int:
    with Gallery(args.gallery, create=args.verb == "import") as gallery:
        if args.verb == "export":
            written = gallery.export_package(args.brand, args.key, args.out, since=args.since,
                                             embeddings=args.embeddings, by=_BY)
            if args.json:
                print(json.dumps(written.to_dict()))
            else:
                print(f"wrote {written.path}: package {written.brand} #{written.sequence} "
                      f"({written.kind}{f' since #{written.since}' if written.since else ''}), "
                      f"{written.references} photo(s), {written.withdrawn} withdrawn, "
                      f"{written.bytes / 1e6:.1f} MB, key {written.key[:16]}…, "
                      f"{written.seconds:.1f} s")
        elif args.verb == "import":
            report = gallery.import_package(args.file, brand=args.brand, by=_BY)
            print(json.dumps(report.to_dict()) if args.json else report.summary())
        else:
            imported, exported = gallery.packages(args.brand)
            for origin in imported:
                row = {"direction": "imported", **asdict(origin)}
                print(json.dumps(json_safe(row)) if args.json else
                      f"imported\t#{origin.sequence}\t{origin.hash[:16]}…\tkey "
                      f"{origin.key[:16]}…\t{origin.signed_by}\t{origin.imported_at}")
            for made in exported:
                row = {"direction": "exported", **{k: v for k, v in asdict(made).items()
                                                   if k != "state"}}
                print(json.dumps(json_safe(row)) if args.json else
                      f"exported\t#{made.sequence}\t{made.hash[:16]}…\tkey {made.key[:16]}…\t"
                      f"{made.kind}\t{made.created_at}")
    return 0
