"""Duplicates: structural fingerprints, near-duplicate pairs, the check of a change (git),
suppressions and SARIF."""
