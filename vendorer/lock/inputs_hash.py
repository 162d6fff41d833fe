"""The inputs hash: what a lock depends on (requirement files, profile, indexes, choices, and
the lock's FORMAT), so that a stale lock is told quickly, offline, and without any secret."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from vendorer._util.urls import redact
from vendorer.inputs.options import BEST_MATCH, FIRST_INDEX, IndexSettings, LockOptions, indexes_for
from vendorer.inputs.requirements import RequirementsFile, parse_requirements
from vendorer.lock.model import Lock
from vendorer.lock.pylock import FORMAT
from vendorer.target.profile import Profile, profile_to_dict

__all__ = ["current_inputs_hash", "inputs_hash"]


def current_inputs_hash(
    profile: Profile, requirements_path: Path, lock: Lock, options: LockOptions
) -> str:
    """The hash a lock made now from these inputs would carry (no network), with the lock's
    own choices (--prefer-newest, --pre, --index-strategy)."""
    requirements = parse_requirements(requirements_path)
    chosen = dataclasses.replace(
        options, prefer_newest=lock.prefer_newest, pre=lock.pre, index_strategy=lock.index_strategy
    )
    return inputs_hash(profile, requirements, indexes_for(requirements, chosen), chosen)


def inputs_hash(
    profile: Profile, requirements: RequirementsFile, indexes: IndexSettings, options: LockOptions
) -> str:
    """What the lock depends on: requirement files, profile, indexes and choices (no secrets)."""
    document = {
        "format": FORMAT,
        "profile": profile_to_dict(profile),
        "requirements": [
            hashlib.sha256(path.read_bytes()).hexdigest() for path in requirements.files
        ],
        "indexes": [redact(url) for url in indexes.index_urls],
        "find-links": [redact(link) for link in indexes.find_links],
        "prefer-newest": options.prefer_newest,
        "pre": options.pre,
        # only when not pip's way, so that the locks made before the choice existed stay current
        **({} if indexes.strategy == BEST_MATCH else {"index-strategy": FIRST_INDEX}),
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()
