"""Proof that a disclosure was shown and signed before the procedure: the pre-procedure gate (:mod:`.gate`), the
evidence bundle (:mod:`.bundle`) with its disclosure certificate (:mod:`.certificate`) and VERIFY.md
(:mod:`.verify_md`), and its offline verification (:mod:`.verify_bundle`). See docs/evidence.md."""
